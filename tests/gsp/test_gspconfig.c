/* The gspconfig transform through the harness: the golden file
 * tests/gsp/cfg/gspconfig.input.jsonl gives exactly the records of
 * gspconfig.expected.jsonl (key and value, in order): joins, re-emission on
 * a person's change, stale and unchanged records emitting nothing, renames
 * and deletes as dimension deletes, an invalid record rejected and counted.
 * The same with a snapshot taken half-way and restored into a new node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "harness.h"
#include "scenario.h"

static char *path_of(const char *name)
{
    const char *top = getenv("top_srcdir");
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/tests/gsp/cfg/%s", top ? top : ".", name);
    return buf;
}

/* The lines of a file (each a JSON text), NULL-terminated; caller frees. */
static char **read_lines(const char *name, size_t *n)
{
    FILE *f = fopen(path_of(name), "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char **v = NULL, *line = NULL;
    size_t cap = 0;
    *n = 0;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = '\0';
        v = realloc(v, (*n + 2) * sizeof *v);
        v[(*n)++] = strdup(line);
        v[*n] = NULL;
    }
    free(line);
    fclose(f);
    return v;
}

static void free_lines(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static mfh *open_node(void)
{
    return sc_open("gspconfig", "max_objects: 100\n");
}

/* Push inputs [from, to) one by one; append what each emitted to *got as
 * {"key":..,"value":..} objects. */
static void run(mfh *h, char **in, size_t from, size_t to, json_t *got)
{
    for (size_t i = from; i < to; i++) {
        mfh_push(h, NULL, in[i]);
        CU_ASSERT_EQUAL_FATAL(mfh_process(h), MF_OK);
        for (size_t k = 0; k < mfh_count(h, "default"); k++) {
            const mf_record *r = mfh_record(h, "default", k);
            json_t *v = json_loads(mfh_value(h, "default", k), 0, NULL);
            CU_ASSERT_PTR_NOT_NULL_FATAL(v);
            json_array_append_new(got, json_pack("{s:s%, s:o}", "key", (const char *)r->key, (size_t)r->key_len,
                                                 "value", v));
        }
        mfh_consume(h);
    }
}

static bool same(const json_t *got, char **expected, size_t n_exp)
{
    bool ok = json_array_size(got) == n_exp;
    for (size_t i = 0; ok && i < n_exp; i++) {
        json_t *e = json_loads(expected[i], 0, NULL);
        ok = json_equal(e, json_array_get(got, i));
        if (!ok)
            fprintf(stderr, "\nrecord %zu:\n expected %s\n", i, expected[i]);
        json_decref(e);
    }
    if (!ok) {
        char *dump = json_dumps(got, JSON_COMPACT);
        fprintf(stderr, "\ngot %zu records: %s\n", json_array_size(got), dump);
        free(dump);
    }
    return ok;
}

static void test_golden(void)
{
    size_t n_in, n_exp;
    char **in = read_lines("gspconfig.input.jsonl", &n_in);
    char **exp = read_lines("gspconfig.expected.jsonl", &n_exp);
    mfh *h = open_node();
    json_t *got = json_array();
    run(h, in, 0, n_in, got);
    CU_ASSERT(same(got, exp, n_exp));
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 0); /* consumed with the rest */
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_gspconfig_rejected_total{reason=\"invalid\"}"), 1);
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_gspconfig_stale_total"), 1);
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_gspconfig_rows_total{op=\"delete\"}"), 6);
    for (size_t i = 0; i < n_in; i++)
        CU_ASSERT(mfh_input_acked(h, i));
    json_decref(got);
    mfh_close(h);
    free_lines(in);
    free_lines(exp);
}

static void test_snapshot_half_way(void)
{
    size_t n_in, n_exp;
    char **in = read_lines("gspconfig.input.jsonl", &n_in);
    char **exp = read_lines("gspconfig.expected.jsonl", &n_exp);
    mfh *a = open_node();
    json_t *got = json_array();
    run(a, in, 0, n_in / 2, got);
    mf_buffer snap = {0};
    CU_ASSERT_EQUAL_FATAL(mfh_snapshot(a, 1, &snap), MF_OK);
    mfh_close(a);
    mfh *b = open_node();
    CU_ASSERT_EQUAL_FATAL(mfh_restore(b, snap.data, snap.len), MF_OK);
    CU_ASSERT_EQUAL(mfh_metric(b, "martflow_gspconfig_objects"), 10);
    run(b, in, n_in / 2, n_in, got);
    CU_ASSERT(same(got, exp, n_exp));
    static const uint8_t junk[] = "MFC1 not a snapshot";
    CU_ASSERT_NOT_EQUAL(mfh_restore(b, junk, sizeof junk), MF_OK);
    mf_buffer_free(&snap);
    json_decref(got);
    mfh_close(b);
    free_lines(in);
    free_lines(exp);
}

/* A login and a DN before their switch (the configuration in another
 * order): no RESOURCE_ row with switch "" (a second resource the facts would
 * resolve to); the switch brings both rows, named with it. */
static void test_switch_after_login(void)
{
    char *in[] = {
        "{\"op\":\"upsert\",\"type\":\"CfgAgentLogin\",\"dbid\":2001,\"tenant\":\"t1\",\"version\":1,"
        "\"data\":{\"login_code\":\"1001\",\"switch_dbid\":101}}",
        "{\"op\":\"upsert\",\"type\":\"CfgDN\",\"dbid\":305,\"tenant\":\"t1\",\"version\":1,"
        "\"data\":{\"number\":\"7001\",\"switch_dbid\":101,\"type\":\"ACDQueue\",\"name\":\"Sales\"}}",
        "{\"op\":\"upsert\",\"type\":\"CfgSwitch\",\"dbid\":101,\"tenant\":\"t1\",\"version\":1,"
        "\"data\":{\"name\":\"SIP_Switch\"}}",
    };
    mfh *h = open_node();
    json_t *before = json_array(), *after = json_array();
    run(h, in, 0, 2, before);
    size_t i;
    json_t *r;
    json_array_foreach(before, i, r) {
        CU_ASSERT_STRING_NOT_EQUAL(json_string_value(json_object_get(json_object_get(r, "value"), "table")),
                                   "RESOURCE_");
    }
    run(h, in, 2, 3, after);
    int named = 0;
    json_array_foreach(after, i, r) {
        json_t *v = json_object_get(r, "value");
        if (strcmp(json_string_value(json_object_get(v, "table")), "RESOURCE_") != 0)
            continue;
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(v, "row"), "switch_name")),
                               "SIP_Switch");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "op")), "upsert");
        named++;
    }
    CU_ASSERT_EQUAL(named, 2); /* the agent and the queue */
    json_decref(before);
    json_decref(after);
    mfh_close(h);
}

int main(void)
{
    static const mf_test tests[] = {
        {"golden gca-cfg -> gsp-cfg", test_golden},
        {"snapshot half-way", test_snapshot_half_way},
        {"a login and a DN before their switch", test_switch_after_login},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {{"gspconfig", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
