/* Harness tests of the core plugins: fields, file source, file sink, null. */
#include <fcntl.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cunit_main.h"
#include "harness.h"
#include "../../plugins/file/watermark.h"

static char tmpdir[64];

static void write_file(const char *name, const char *text, const char *mode)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, mode);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static mfh *open_ok(mf_kind kind, const char *name, const char *cfg)
{
    char *err = NULL;
    mfh *h = mfh_open(kind, name, cfg, &err);
    if (!h)
        fprintf(stderr, "\n%s\n", err);
    free(err);
    CU_ASSERT_PTR_NOT_NULL(h);
    if (h && mfh_init(h) != MF_OK) {
        fprintf(stderr, "\ninit failed:\n%s", mfh_log(h));
        mfh_close(h);
        return NULL;
    }
    return h;
}

/* ---- fields ---------------------------------------------------------------------- */

static void test_fields_ops(void)
{
    mfh *h = open_ok(MF_KIND_TRANSFORM, "fields",
                     "require: [id]\nremove: [drop]\nrename: {a.old: a.new}\nset: {tag: x, n.deep: [1]}\n"
                     "key_field: id\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    mfh_push(h, NULL, "{\"id\":\"c1\",\"drop\":1,\"a\":{\"old\":2},\"keep\":null}");
    mfh_push(h, NULL, "{\"no_id\":1}");
    mfh_push(h, NULL, "[1,2]");
    mfh_push(h, NULL, "not json");
    mfh_push(h, NULL, "{\"id\":7}");
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 2);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0),
                           "{\"id\":\"c1\",\"a\":{\"new\":2},\"keep\":null,\"tag\":\"x\",\"n\":{\"deep\":[1]}}");
    mf_record *r = mfh_record(h, "default", 0);
    CU_ASSERT_EQUAL(r->key_len, 2);
    CU_ASSERT_EQUAL(memcmp(r->key, "c1", 2), 0);
    r = mfh_record(h, "default", 1);
    CU_ASSERT_EQUAL(memcmp(r->key, "7", 1), 0); /* integer key */
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 3);
    CU_ASSERT_STRING_EQUAL(mfh_header(h, "errors", 0, "mf.error"), "missing required field 'id'");
    CU_ASSERT_STRING_EQUAL(mfh_header(h, "errors", 1, "mf.error"), "value is not a JSON object");
    CU_ASSERT_PTR_NOT_NULL(strstr(mfh_header(h, "errors", 2, "mf.error"), "invalid JSON"));
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "errors", 2), "not json"); /* the original bytes */
    /* acks: nothing is complete while downstream holds the outputs */
    CU_ASSERT_FALSE(mfh_input_acked(h, 0));
    mfh_consume(h);
    for (size_t i = 0; i < 5; i++)
        CU_ASSERT_TRUE(mfh_input_acked(h, i));
    mfh_close(h);
}

/* The key of emitted record i, as a string. */
static char *key_of(mfh *h, size_t i)
{
    mf_record *r = mfh_record(h, "default", i);
    CU_ASSERT_FALSE(r->flags & MF_RECORD_KEY_NULL);
    return strndup((const char *)r->key, r->key_len);
}

/* Paths and keys are martflow/fieldpath.h's: escapes, and every JSON type. */
static void test_fields_paths_and_keys(void)
{
    mfh *h = open_ok(MF_KIND_TRANSFORM, "fields",
                     "key_field: a.k\n"
                     "rename: {'top\\.dot': a.moved}\n"
                     "remove: ['a.b\\.c']\n"
                     "set: {'x\\\\y': 1}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    mfh_push(h, NULL, "{\"a\":{\"k\":\"s\",\"b.c\":1,\"b\":{\"c\":2}},\"top.dot\":3}");
    mfh_push(h, NULL, "{\"a\":{\"k\":1.5}}");
    mfh_push(h, NULL, "{\"a\":{\"k\":true}}");
    mfh_push(h, NULL, "{\"a\":{\"k\":{\"z\":1,\"b\":[null]}}}");
    mfh_push(h, NULL, "{\"a\":{\"k\":\"\"}}");
    mfh_push(h, NULL, "{\"a\":{\"k\":null}}");
    mfh_push(h, NULL, "{\"a\":1}");
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 5);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0),
                           "{\"a\":{\"k\":\"s\",\"b\":{\"c\":2},\"moved\":3},\"x\\\\y\":1}");
    static const char *const keys[] = {"s", "1.5", "true", "{\"b\":[null],\"z\":1}", ""};
    for (size_t i = 0; i < 5; i++) {
        char *k = key_of(h, i);
        CU_ASSERT_STRING_EQUAL(k, keys[i]);
        free(k);
    }
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 2); /* null and missing: no key, rejected */
    CU_ASSERT_STRING_EQUAL(mfh_header(h, "errors", 0, "mf.error"), "key field 'a.k' is missing or null");
    CU_ASSERT_STRING_EQUAL(mfh_header(h, "errors", 1, "mf.error"), "key field 'a.k' is missing or null");
    mfh_consume(h);
    mfh_close(h);
}

static void test_fields_pass_through_untouched(void)
{
    mfh *h = open_ok(MF_KIND_TRANSFORM, "fields", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *odd = "{ \"b\" : 1.50, \"a\":[ ] }"; /* not canonical: must come out byte-identical */
    mfh_push(h, "k", odd);
    mfh_process(h);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), odd);
    CU_ASSERT_PTR_NULL(mfh_record(h, "default", 0)->json); /* never parsed */
    mfh_close(h);
}

/* require and key_field alone read without a tree (host JSON views): no
 * record gets a jansson tree, values leave byte-identical, and the keys and
 * reasons are those of the tree path above. */
static void test_fields_reads_without_tree(void)
{
    mfh *h = open_ok(MF_KIND_TRANSFORM, "fields", "require: [id, 'a.b\\.c']\nkey_field: a.k\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    static const char *const in[] = {
        "{ \"id\" : 1, \"a\": {\"b.c\": 0, \"k\": \"s\"} }",
        "{\"id\":1,\"a\":{\"b.c\":0,\"k\":\"q\\\"u\\u00e9\"}}",
        "{\"id\":1,\"a\":{\"b.c\":0,\"k\":-7}}",
        "{\"id\":1,\"a\":{\"b.c\":0,\"k\":1.5}}",
        "{\"id\":1,\"a\":{\"b.c\":0,\"k\":1e2}}",
        "{\"id\":1,\"a\":{\"b.c\":0,\"k\":false}}",
        "{\"id\":1,\"a\":{\"b.c\":0,\"k\":{ \"z\":1, \"b\":[ null ] }}}",
        "{\"id\":1,\"a\":{\"b.c\":0,\"k\":\"\"}}",
        /* rejected: */
        "{\"id\":1,\"a\":{\"b.c\":0,\"k\":null}}",
        "{\"id\":1,\"a\":{\"b.c\":0}}",
        "{\"id\":1,\"a\":{\"b\":{\"c\":0},\"k\":1}}",
        "[1,2]",
        "\"scalar\"",
        "{\"id\":1,\"id\":2}",
    };
    static const char *const keys[] = {"s", "q\"u\xc3\xa9", "-7", "1.5", "100.0", "false", "{\"b\":[null],\"z\":1}",
                                       ""};
    static const char *const reasons[] = {
        "key field 'a.k' is missing or null",
        "key field 'a.k' is missing or null",
        "missing required field 'a.b\\.c'",
        "value is not a JSON object",
        "value is not a JSON object",
        "invalid JSON at byte 12: duplicate key \"id\"",
    };
    size_t n_in = sizeof in / sizeof *in, n_ok = sizeof keys / sizeof *keys;
    for (size_t i = 0; i < n_in; i++)
        mfh_push(h, NULL, in[i]);
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), n_ok);
    for (size_t i = 0; i < n_ok; i++) {
        mf_record *r = mfh_record(h, "default", i);
        CU_ASSERT_PTR_NULL(r->json); /* never parsed into a tree */
        CU_ASSERT_EQUAL(r->value_len, strlen(in[i]));
        CU_ASSERT_EQUAL(memcmp(r->value, in[i], r->value_len), 0);
        char *k = key_of(h, i);
        CU_ASSERT_STRING_EQUAL(k, keys[i]);
        free(k);
    }
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), n_in - n_ok);
    for (size_t i = 0; i < n_in - n_ok; i++) {
        CU_ASSERT_PTR_NULL(mfh_record(h, "errors", i)->json);
        CU_ASSERT_STRING_EQUAL(mfh_header(h, "errors", i, "mf.error"), reasons[i]);
        if (strcmp(mfh_header(h, "errors", i, "mf.error"), reasons[i]) != 0)
            fprintf(stderr, "\n  got '%s'\n", mfh_header(h, "errors", i, "mf.error"));
        CU_ASSERT_STRING_EQUAL(mfh_value(h, "errors", i), in[n_ok + i]);
    }
    mfh_consume(h);
    mfh_close(h);
}

/* route: the first entry whose field the record has (null counts), else the
 * default port; bytes untouched, no tree; a port not in `ports:` fails init. */
static void test_fields_route(void)
{
    mfh *h = open_ok(MF_KIND_TRANSFORM, "fields",
                     "ports: [calls, outbound]\nroute: {calls: CallThreadID, outbound: a.CampaignName}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    static const char *const in[] = {
        "{\"CallThreadID\":\"t1\",\"a\":{\"CampaignName\":\"c\"}}", /* calls: the first entry wins */
        "{\"a\":{\"CampaignName\":\"c\"}}",                          /* outbound */
        "{\"CallThreadID\":null}",                                      /* calls: null is present */
        "{\"AgentID\":\"a1\"}",                                         /* default */
        "{\"a\":1}",                                                    /* default: a is not an object */
        "[1]",                                                           /* rejected */
        "{\"CallThreadID\":",                                           /* rejected */
    };
    for (size_t i = 0; i < sizeof in / sizeof *in; i++)
        mfh_push(h, NULL, in[i]);
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "calls"), 2);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "calls", 0), in[0]);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "calls", 1), in[2]);
    CU_ASSERT_PTR_NULL(mfh_record(h, "calls", 0)->json);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "outbound"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "outbound", 0), in[1]);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 2);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), in[3]);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 1), in[4]);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 2);
    CU_ASSERT_STRING_EQUAL(mfh_header(h, "errors", 0, "mf.error"), "value is not a JSON object");
    mfh_consume(h);
    mfh_close(h);

    char *err = NULL;
    h = mfh_open(MF_KIND_TRANSFORM, "fields", "ports: [calls]\nroute: {agents: AgentID}\n", &err);
    CU_ASSERT_TRUE(h == NULL || mfh_init(h) != MF_OK);
    CU_ASSERT_TRUE((err && strstr(err, "'agents' is not listed")) || (h && strstr(mfh_log(h), "agents")));
    free(err);
    if (h)
        mfh_close(h);
}

/* ---- file sink --------------------------------------------------------------------- */

static void test_file_sink_holds_until_sync(void)
{
    char cfg[300];
    snprintf(cfg, sizeof cfg, "path: %s/sub/dir/out.jsonl\n", tmpdir);
    mfh *h = open_ok(MF_KIND_SINK, "file", cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    mfh_push(h, "a", "{\"n\":1}");
    mfh_push(h, "b", "{\"n\":2}");
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    char *text = read_file("sub/dir/out.jsonl");
    CU_ASSERT_STRING_EQUAL(text, "{\"n\":1}\n{\"n\":2}\n"); /* written (flush on batch) */
    free(text);
    CU_ASSERT_FALSE(mfh_input_acked(h, 0)); /* ... but not acknowledged before fsync */
    CU_ASSERT_FALSE(mfh_input_acked(h, 1));
    CU_ASSERT_EQUAL(mfh_flush(h, MF_FLUSH_CHECKPOINT), MF_OK);
    CU_ASSERT_TRUE(mfh_input_acked(h, 0));
    CU_ASSERT_TRUE(mfh_input_acked(h, 1));
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_file_fsyncs_total"), 1);
    mfh_close(h);
}

static void test_file_sink_envelope(void)
{
    char cfg[300];
    snprintf(cfg, sizeof cfg, "path: %s/env.jsonl\nformat: envelope\nfsync: batch\n", tmpdir);
    mfh *h = open_ok(MF_KIND_SINK, "file", cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    mfh_push(h, "key1", "{\"n\":1}");
    mfh_push(h, NULL, "plain \"text\"");
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    CU_ASSERT_TRUE(mfh_input_acked(h, 0)); /* fsync: batch acknowledges at once */
    char *text = read_file("env.jsonl");
    CU_ASSERT_STRING_EQUAL(text,
                           "{\"key\":\"key1\",\"value\":{\"n\":1},\"time\":null,\"headers\":{},"
                           "\"origin\":{\"source\":\"harness\"}}\n"
                           "{\"key\":null,\"value\":\"plain \\\"text\\\"\",\"time\":null,\"headers\":{},"
                           "\"origin\":{\"source\":\"harness\"}}\n");
    free(text);
    mfh_close(h);
}

/* ---- file source ---------------------------------------------------------------------- */

static void test_file_source_finite(void)
{
    write_file("a.jsonl",
               "{\"id\":\"x\",\"t\":\"2026-11-30T09:00:00Z\"}\n\n   \n{bad json}\n{\"id\":5,\"t\":1000}\n"
               "{\"id\":\"tail\"}",
               "w");
    write_file("b.jsonl", "{\"id\":\"b1\"}\n", "w");
    char cfg[300];
    snprintf(cfg, sizeof cfg, "path: %s/[ab].jsonl\nkey_field: id\ntime_field: t\nlines_per_poll: 2\n", tmpdir);
    mfh *h = open_ok(MF_KIND_SOURCE, "file", cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    int st, polls = 0;
    while ((st = mfh_poll(h, 10)) == MF_OK && polls < 100)
        polls++;
    CU_ASSERT_EQUAL(st, MF_EOF);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 4);
    mf_record *r = mfh_record(h, "default", 0);
    CU_ASSERT_EQUAL(memcmp(r->key, "x", 1), 0);
    CU_ASSERT_EQUAL(r->time_ms, 1796029200000LL);
    CU_ASSERT_PTR_NULL(r->json);                   /* no tree is built here */
    CU_ASSERT_TRUE(r->flags & MF_RECORD_JSON_VALID); /* validated once, here: never again downstream */
    r = mfh_record(h, "default", 1);
    CU_ASSERT_EQUAL(r->time_ms, 1000);
    CU_ASSERT_EQUAL(memcmp(r->key, "5", 1), 0);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 2), "{\"id\":\"tail\"}"); /* no final newline */
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 3), "{\"id\":\"b1\"}");   /* second file */
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 1);
    const char *why = mfh_header(h, "errors", 0, "mf.error");
    /* the rule's reason and the byte in the line (docs/architecture.md, "What is valid JSON") */
    CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "a.jsonl line 4: invalid JSON at byte 4: string or '}' expected near 'bad'"));
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "errors", 0), "{bad json}");
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_file_invalid_lines_total"), 1);
    mfh_close(h);
}

/* A line is valid by martflow's rule, the one every reader applies: what
 * jansson alone would take (a duplicate key) is rejected here, with the
 * reason and the byte in the line; a valid line's key and time are read
 * without a tree. */
static void test_file_source_rule(void)
{
    write_file("rule.jsonl",
               "{\"id\":\"a\",\"id\":\"b\"}\n"
               "{\"id\":\"big\",\"n\":9223372036854775808}\n"
               "\xEF\xBB\xBF{\"id\":\"bom\"}\n"
               "  {\"t\":\"2026-11-30T09:00:00.250+01:00\",\"id\":{\"z\":[1.50],\"a\":\"\\u00e9\"}}\n",
               "w");
    char cfg[300];
    snprintf(cfg, sizeof cfg, "path: %s/rule.jsonl\nkey_field: id\ntime_field: t\npositions: false\n", tmpdir);
    mfh *h = open_ok(MF_KIND_SOURCE, "file", cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    while (mfh_poll(h, 10) == MF_OK)
        ;
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    mf_record *r = mfh_record(h, "default", 0);
    const char *key = "{\"a\":\"\xC3\xA9\",\"z\":[1.5]}"; /* an object: sorted compact JSON */
    CU_ASSERT_TRUE(r->key_len == strlen(key) && memcmp(r->key, key, r->key_len) == 0);
    CU_ASSERT_EQUAL(r->time_ms, 1796025600250LL);
    CU_ASSERT_TRUE(r->flags & MF_RECORD_JSON_VALID);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 3);
    static const char *const why[] = {
        "rule.jsonl line 1: invalid JSON at byte 14: duplicate key \"id\"",
        "rule.jsonl line 2: invalid JSON at byte ",
        "rule.jsonl line 3: invalid JSON at byte 0: a byte order mark",
    };
    for (size_t i = 0; i < 3; i++) {
        const char *got = mfh_header(h, "errors", i, "mf.error");
        if (!got || !strstr(got, why[i]))
            fprintf(stderr, "\nerror %zu: %s\n", i, got ? got : "(none)");
        CU_ASSERT_PTR_NOT_NULL(got && strstr(got, why[i]));
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(mfh_header(h, "errors", 1, "mf.error"), "too big integer"));
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_file_invalid_lines_total"), 3);
    mfh_close(h);
}

/* key_field and time_field are field paths (martflow/fieldpath.h). */
static char *file_key(const char *key_field, const char *lines, size_t *count)
{
    write_file("keys.jsonl", lines, "w");
    char cfg[300];
    snprintf(cfg, sizeof cfg, "path: %s/keys.jsonl\nkey_field: '%s'\ntime_field: m.t\npositions: false\n", tmpdir,
             key_field);
    mfh *h = open_ok(MF_KIND_SOURCE, "file", cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    while (mfh_poll(h, 10) == MF_OK)
        ;
    /* the keys of all records, "|"-separated, "-" for no key */
    mf_buffer out = {0};
    *count = mfh_count(h, "default");
    for (size_t i = 0; i < *count; i++) {
        mf_record *r = mfh_record(h, "default", i);
        if (i)
            mf_buffer_append(&out, "|", 1);
        if (r->flags & MF_RECORD_KEY_NULL)
            mf_buffer_append(&out, "-", 1);
        else
            mf_buffer_append(&out, r->key, r->key_len);
        if (i == 0)
            CU_ASSERT_EQUAL(r->time_ms, 1000); /* time_field m.t, nested */
    }
    mf_buffer_append(&out, "", 1);
    char *text = strdup((const char *)out.data);
    mf_buffer_free(&out);
    mfh_close(h);
    return text;
}

static void test_file_source_key_paths(void)
{
    const char *lines = "{\"a\":{\"b\":\"nested\"},\"a.b\":\"dotted\",\"m\":{\"t\":1000}}\n"
                        "{\"a\":{\"b\":42},\"a.b\":{\"z\":1,\"y\":[true]}}\n"
                        "{\"a\":{\"b\":null},\"a.b\":1.5}\n"
                        "{\"a\":7}\n";
    size_t n;
    char *keys = file_key("a.b", lines, &n);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_STRING_EQUAL(keys, "nested|42|-|-"); /* an integer as its text; null, missing: no key */
    free(keys);
    keys = file_key("a\\.b", lines, &n); /* the top-level "a.b" */
    CU_ASSERT_STRING_EQUAL(keys, "dotted|{\"y\":[true],\"z\":1}|1.5|-"); /* an object: sorted compact JSON */
    free(keys);
}

static void test_file_source_missing_file(void)
{
    char cfg[300];
    snprintf(cfg, sizeof cfg, "path: %s/none-*.jsonl\n", tmpdir);
    char *err = NULL;
    mfh *h = mfh_open(MF_KIND_SOURCE, "file", cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(mfh_init(h), MF_FATAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(mfh_log(h), "no file matches"));
    mfh_close(h);
}

static void test_file_source_long_line(void)
{
    char *line = malloc(300);
    memset(line, 'x', 299);
    line[0] = '"';
    line[298] = '"';
    line[299] = 0;
    write_file("long.jsonl", "{\"ok\":1}\n", "w");
    write_file("long.jsonl", line, "a");
    write_file("long.jsonl", "\n{\"ok\":2}\n", "a");
    free(line);
    char cfg[300];
    snprintf(cfg, sizeof cfg, "path: %s/long.jsonl\nmax_line: 100\n", tmpdir);
    mfh *h = open_ok(MF_KIND_SOURCE, "file", cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    while (mfh_poll(h, 10) == MF_OK)
        ;
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 2);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 1), "{\"ok\":2}"); /* the next line is intact */
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 1);
    const char *why = mfh_header(h, "errors", 0, "mf.error");
    CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "line 2: longer than max_line"));
    mfh_close(h);
}

static void test_file_source_follow_rotation(void)
{
    write_file("f.jsonl", "{\"n\":1}\n", "w");
    char cfg[300];
    snprintf(cfg, sizeof cfg, "path: %s/f.jsonl\nfollow: true\nrescan_interval: 10ms\n", tmpdir);
    mfh *h = open_ok(MF_KIND_SOURCE, "file", cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(mfh_poll(h, 5), MF_OK);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 1);
    write_file("f.jsonl", "{\"n\":2", "a"); /* a partial line waits for its newline */
    mfh_poll(h, 5);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 1);
    write_file("f.jsonl", "}\n", "a");
    mfh_poll(h, 5);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 2);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 1), "{\"n\":2}");
    /* rotate: the old file moves away, a new one takes its name */
    char a[256], b[256];
    snprintf(a, sizeof a, "%s/f.jsonl", tmpdir);
    snprintf(b, sizeof b, "%s/f.jsonl.1", tmpdir);
    CU_ASSERT_EQUAL(rename(a, b), 0);
    write_file("f.jsonl", "{\"n\":3}\n", "w");
    for (int i = 0; i < 20 && mfh_count(h, "default") < 3; i++) {
        usleep(15000);
        mfh_poll(h, 5);
    }
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 3);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 2), "{\"n\":3}");
    /* truncation (copytruncate): the file shrinks, reading starts again at 0 */
    write_file("f.jsonl", "{}\n", "w");
    for (int i = 0; i < 20 && mfh_count(h, "default") < 4; i++) {
        usleep(15000);
        mfh_poll(h, 5);
    }
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 4);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 3), "{}");
    mfh_close(h);
}


/* ---- file source: positions ------------------------------------------------------------ */

static char *path_in(const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

/* A file source on `file` whose state lives in tmpdir/<state>. */
static mfh *open_source_with_state(const char *file, const char *extra, const char *state)
{
    char cfg[512];
    snprintf(cfg, sizeof cfg, "path: %s/%s\n%s", tmpdir, file, extra ? extra : "");
    char *err = NULL;
    mfh *h = mfh_open(MF_KIND_SOURCE, "file", cfg, &err);
    if (!h) {
        fprintf(stderr, "\n%s\n", err);
        free(err);
        return NULL;
    }
    mfh_set_data_dir(h, path_in(state));
    if (mfh_init(h) != MF_OK) {
        fprintf(stderr, "\ninit failed:\n%s", mfh_log(h));
        mfh_close(h);
        return NULL;
    }
    return h;
}

/* Poll a finite source to its end; returns how many records it emitted. */
static size_t drain(mfh *h)
{
    for (int i = 0; i < 1000 && mfh_poll(h, 5) == MF_OK; i++)
        ;
    return mfh_count(h, "default");
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_file_source_positions_resume(void)
{
    write_file("p.jsonl", "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n{\"n\":5}\n{\"n\":6}\n", "w");
    const char *opts = "lines_per_poll: 2\npositions_interval: 1h\n";
    mfh *h = open_source_with_state("p.jsonl", opts, "st-resume");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(mfh_poll(h, 5), MF_OK);
    CU_ASSERT_EQUAL(mfh_poll(h, 5), MF_OK);
    mfh_consume(h); /* the first two polls are acknowledged */
    CU_ASSERT_EQUAL(mfh_poll(h, 5), MF_OK);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 2); /* in flight: lines 5 and 6 */
    char state[256];
    snprintf(state, sizeof state, "%s/st-resume/positions.json", tmpdir);
    CU_ASSERT_FALSE(exists(state)); /* rate-limited: not on every acknowledgement */
    CU_ASSERT_EQUAL(mfh_stop(h), MF_OK);
    CU_ASSERT_TRUE(exists(state)); /* but at stop */
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_file_position_saves_total"), 1);
    mfh_close(h);

    /* restart: what was in flight is read again, nothing before it */
    h = open_source_with_state("p.jsonl", opts, "st-resume");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL_FATAL(drain(h), 2);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"n\":5}");
    mfh_consume(h);
    mfh_stop(h);
    mfh_close(h);

    /* everything acknowledged: nothing again; an appended line once */
    h = open_source_with_state("p.jsonl", opts, "st-resume");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(drain(h), 0);
    mfh_stop(h);
    mfh_close(h);
    write_file("p.jsonl", "{bad\n{\"n\":7}\n", "a");
    h = open_source_with_state("p.jsonl", opts, "st-resume");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL_FATAL(drain(h), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"n\":7}");
    const char *why = mfh_header(h, "errors", 0, "mf.error");
    CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "p.jsonl line 7: invalid JSON")); /* line numbers go on */
    mfh_close(h);
}

/* Lines {"<field>":"<i as 4 digits>"<rest>} for i in [from, to). */
static void write_lines(const char *name, const char *field, const char *rest, int from, int to, const char *mode)
{
    FILE *f = fopen(path_in(name), mode);
    for (int i = from; i < to; i++)
        fprintf(f, "{\"%s\":\"%04d\"%s}\n", field, i, rest);
    fclose(f);
}

static void read_all_and_stop(const char *file, const char *state, size_t expect, const char *first)
{
    mfh *h = open_source_with_state(file, NULL, state);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    size_t got = drain(h);
    if (got != expect)
        fprintf(stderr, "\n%s: %zu records, expected %zu\n", file, got, expect);
    CU_ASSERT_EQUAL(got, expect);
    if (expect && first)
        CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), first);
    mfh_consume(h);
    mfh_stop(h);
    mfh_close(h);
}

static void test_file_source_positions_identity(void)
{
    /* 32-byte lines: the fingerprint covers the first 8 (256 bytes) */
    write_lines("id.jsonl", "n", ",\"pad\":\"xxxxxxxxxx\"", 0, 10, "w");
    read_all_and_stop("id.jsonl", "st-id", 10, NULL);
    read_all_and_stop("id.jsonl", "st-id", 0, NULL);
    /* truncated below the position, same first bytes: from the start */
    CU_ASSERT_EQUAL(truncate(path_in("id.jsonl"), 9 * 32), 0);
    read_all_and_stop("id.jsonl", "st-id", 9, "{\"n\":\"0000\",\"pad\":\"xxxxxxxxxx\"}");
    /* rewritten in place (same inode), longer, different start: from the start */
    write_lines("id.jsonl", "m", ",\"pad\":\"yyyyyyyyyy\"", 0, 12, "w");
    read_all_and_stop("id.jsonl", "st-id", 12, "{\"m\":\"0000\",\"pad\":\"yyyyyyyyyy\"}");
    /* replaced by another file (a new inode) with identical content: from the start */
    write_lines("id.new", "m", ",\"pad\":\"yyyyyyyyyy\"", 0, 12, "w");
    char to[256];
    snprintf(to, sizeof to, "%s", path_in("id.jsonl"));
    CU_ASSERT_EQUAL(rename(path_in("id.new"), to), 0);
    read_all_and_stop("id.jsonl", "st-id", 12, NULL);
    read_all_and_stop("id.jsonl", "st-id", 0, NULL);
}

static void test_file_source_positions_off(void)
{
    write_file("off.jsonl", "{\"n\":1}\n", "w");
    for (int run = 0; run < 2; run++) {
        mfh *h = open_source_with_state("off.jsonl", "positions: false\n", "st-off");
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        CU_ASSERT_EQUAL(drain(h), 1); /* every run reads it all */
        mfh_consume(h);
        mfh_stop(h);
        mfh_close(h);
    }
    CU_ASSERT_FALSE(exists(path_in("st-off/positions.json")));
}

/* Truncated and rewritten larger in one step, between two polls: every new
 * line is read (the fingerprint of the first bytes changed). */
static void test_file_source_follow_rewrite(void)
{
    write_lines("rw.jsonl", "old", "", 0, 1000, "w");
    mfh *h = open_source_with_state("rw.jsonl", "follow: true\nrescan_interval: 10ms\n", "st-rw");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    for (int i = 0; i < 100 && mfh_count(h, "default") < 1000; i++)
        mfh_poll(h, 5);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1000);
    mfh_consume(h);
    write_lines("rw.jsonl", "new", "", 0, 2000, "w");
    for (int i = 0; i < 100 && mfh_count(h, "default") < 2000; i++)
        mfh_poll(h, 5);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 2000);
    char want[32];
    bool all = true;
    for (size_t i = 0; i < 2000; i++) {
        snprintf(want, sizeof want, "{\"new\":\"%04zu\"}", i);
        all &= strcmp(mfh_value(h, "default", i), want) == 0;
    }
    CU_ASSERT_TRUE(all);
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(mfh_log(h), "rw.jsonl was truncated or rewritten"));
    mfh_close(h);
}

/* The position moves over contiguous acknowledged batches only. */
static void test_file_watermark(void)
{
    wm w;
    wm_init(&w, 10, 1);
    uint64_t a = wm_mark(&w, 20, 2), b = wm_mark(&w, 30, 3), c = wm_mark(&w, 40, 4);
    CU_ASSERT_FALSE(wm_done(&w, b)); /* a is still in flight */
    CU_ASSERT_EQUAL(w.offset, 10);
    CU_ASSERT_TRUE(wm_done(&w, a));
    CU_ASSERT_EQUAL(w.offset, 30);
    CU_ASSERT_EQUAL(w.line, 3);
    CU_ASSERT_EQUAL(wm_pending(&w), 1);
    wm_reset(&w, 0, 0); /* rewritten: c is forgotten */
    CU_ASSERT_FALSE(wm_done(&w, c));
    CU_ASSERT_EQUAL(w.offset, 0);
    for (int i = 1; i <= 20; i++) /* the ring grows and wraps */
        wm_mark(&w, i, i);
    uint64_t last = wm_mark(&w, 100, 21);
    for (uint64_t s = last - 20; s < last; s++)
        wm_done(&w, s);
    CU_ASSERT_EQUAL(w.offset, 20);
    CU_ASSERT_TRUE(wm_done(&w, last));
    CU_ASSERT_EQUAL(w.offset, 100);
    CU_ASSERT_EQUAL(wm_pending(&w), 0);
    wm_free(&w);

    /* batches: a poll's mark moves with each read; a poll that emitted
     * nothing is done at once; a reset file stays in use while a batch
     * refers to it */
    wm x, y;
    wm_init(&x, 0, 0);
    wm_init(&y, 0, 0);
    wm_batches bs = {0};
    wm_batch *b1 = wm_batch_open(&bs);
    wm_batch_note(&bs, &x, 10, 1);
    wm_batch_note(&bs, &y, 5, 1);
    wm_batch_note(&bs, &x, 20, 2);
    CU_ASSERT_FALSE(wm_batch_close(&bs, true));
    CU_ASSERT_EQUAL(wm_pending(&x), 1);
    wm_batch_open(&bs);
    wm_batch_note(&bs, &y, 7, 2);
    CU_ASSERT_FALSE(wm_batch_close(&bs, false)); /* y's head (b1) is still in flight */
    wm_reset(&x, 0, 0);
    CU_ASSERT_TRUE(wm_in_use(&x));
    CU_ASSERT_TRUE(wm_batch_done(&bs, b1)); /* y moves to 7; x, reset, stays */
    CU_ASSERT_EQUAL(y.offset, 7);
    CU_ASSERT_EQUAL(x.offset, 0);
    CU_ASSERT_FALSE(wm_in_use(&x));
    CU_ASSERT_PTR_NULL(bs.outstanding);
    wm_batches_free(&bs);
    wm_free(&x);
    wm_free(&y);
}

/* ---- null -------------------------------------------------------------------------------- */

static void test_null_rate(void)
{
    mfh *h = open_ok(MF_KIND_SINK, "null", "rate: 1000\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    for (int i = 0; i < 200; i++)
        mfh_push(h, NULL, "{}");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CU_ASSERT(secs >= 0.18); /* 200 records at 1000/s */
    CU_ASSERT_TRUE(mfh_input_acked(h, 199));
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_null_records_total"), 200);
    mfh_close(h);
}

static const mf_test tests[] = {
    {"fields: operations, rejects, acks", test_fields_ops},
    {"fields: untouched records pass byte-identical", test_fields_pass_through_untouched},
    {"fields: paths and keys follow martflow/fieldpath.h", test_fields_paths_and_keys},
    {"fields: require and key_field read without a tree", test_fields_reads_without_tree},
    {"fields: route by a field's presence", test_fields_route},
    {"file sink: acks wait for fsync", test_file_sink_holds_until_sync},
    {"file sink: envelope format", test_file_sink_envelope},
    {"file source: finite read", test_file_source_finite},
    {"file source: key_field and time_field are field paths", test_file_source_key_paths},
    {"file source: martflow's rule of valid JSON, no tree", test_file_source_rule},
    {"file source: nothing matches", test_file_source_missing_file},
    {"file source: over-long line", test_file_source_long_line},
    {"file source: follow, rotation, truncation", test_file_source_follow_rotation},
    {"file source: resumes at the acknowledged position", test_file_source_positions_resume},
    {"file source: identity (truncated, rewritten, replaced)", test_file_source_positions_identity},
    {"file source: positions: false", test_file_source_positions_off},
    {"file source: follow, truncated and rewritten larger", test_file_source_follow_rewrite},
    {"file source: watermark", test_file_watermark},
    {"null sink: rate", test_null_rate},
    {NULL, NULL},
};

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mf-core-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 2;
    static const mf_suite suites[] = {{"core plugins", tests}, {NULL, NULL}};
    int rc = mf_cunit_run(suites);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
