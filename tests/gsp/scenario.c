/* scenario.c — see scenario.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gsp_ids.h"
#include "scenario.h"

static char *scenario_path(const char *name, const char *suffix)
{
    const char *top = getenv("top_srcdir");
    return mf_xasprintf("%s/tests/scenarios/%s%s", top ? top : "..", name, suffix);
}

char **sc_load_events(const char *name, size_t *n)
{
    char *path = scenario_path(name, ".events.jsonl");
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        abort();
    }
    free(path);
    size_t cap = 16;
    char **lines = mf_xcalloc(cap, sizeof *lines);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    *n = 0;
    while ((len = getline(&line, &lcap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (*n + 1 >= cap)
            lines = mf_xrealloc(lines, (cap *= 2) * sizeof *lines);
        lines[(*n)++] = mf_xstrdup(line);
    }
    lines[*n] = NULL;
    free(line);
    fclose(f);
    return lines;
}

void sc_lines_free(char **lines)
{
    for (char **l = lines; l && *l; l++)
        free(*l);
    free(lines);
}

void sc_push(mfh *h, char **lines, size_t from, size_t to, size_t batch)
{
    size_t queued = 0;
    for (size_t i = from; i < to; i++) {
        json_t *j = json_loads(lines[i], 0, NULL);
        const char *key = json_string_value(json_object_get(j, "key"));
        mfh_push(h, key, lines[i]);
        json_decref(j);
        if (++queued == batch) {
            mfh_process(h);
            queued = 0;
        }
    }
    if (queued)
        mfh_process(h);
}

static const char *const ports[] = {"interactions", "segments", "resources"};

json_t *sc_collect(mfh *h)
{
    json_t *out = json_object();
    for (size_t p = 0; p < 3; p++) {
        json_t *list = json_array();
        for (size_t i = 0; i < mfh_count(h, ports[p]); i++) {
            json_error_t err;
            json_t *rec = json_loads(mfh_value(h, ports[p], i), 0, &err);
            if (!rec) {
                fprintf(stderr, "%s record %zu is not JSON: %s\n", ports[p], i, err.text);
                rec = json_string(mfh_value(h, ports[p], i));
            }
            const mf_record *r = mfh_record(h, ports[p], i);
            json_object_set_new(rec, "key", r->flags & MF_RECORD_KEY_NULL
                                                ? json_null()
                                                : json_stringn((const char *)r->key, r->key_len));
            json_array_append_new(list, rec);
        }
        json_object_set_new(out, ports[p], list);
    }
    json_t *errors = json_array();
    for (size_t i = 0; i < mfh_count(h, "errors"); i++)
        json_array_append_new(errors, json_string(mfh_header(h, "errors", i, MF_HEADER_ERROR)));
    json_object_set_new(out, "errors", errors);
    mfh_consume(h);
    return out;
}

/* A copy of expected with every {"$id": [...]} replaced by its id. */
static json_t *resolve(json_t *v, const char *tenant, mf_buffer *scratch)
{
    if (json_is_object(v)) {
        json_t *spec = json_object_get(v, "$id");
        if (spec && json_is_array(spec) && json_array_size(spec) >= 1) {
            gsp_idpart parts[16];
            size_t n = json_array_size(spec) - 1;
            for (size_t i = 0; i < n && i < 16; i++) {
                json_t *k = json_array_get(spec, i + 1);
                parts[i] = json_is_integer(k) ? GSP_ID_INT(json_integer_value(k))
                                              : GSP_ID_STR(json_string_value(k), json_string_length(k));
            }
            const char *kind = json_string_value(json_array_get(spec, 0));
            return json_integer(gsp_id(scratch, kind, tenant, strlen(tenant), parts, n < 16 ? n : 16));
        }
        json_t *copy = json_object();
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m) json_object_set_new(copy, k, resolve(m, tenant, scratch));
        return copy;
    }
    if (json_is_array(v)) {
        json_t *copy = json_array();
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_append_new(copy, resolve(json_array_get(v, i), tenant, scratch));
        return copy;
    }
    return json_incref(v);
}

static void print_diff(const char *what, const json_t *exp, const json_t *act)
{
    char *e = json_dumps(exp, JSON_SORT_KEYS | JSON_COMPACT), *a = json_dumps(act, JSON_SORT_KEYS | JSON_COMPACT);
    fprintf(stderr, "  %s:\n    expected %s\n    actual   %s\n", what, e ? e : "(none)", a ? a : "(none)");
    free(e);
    free(a);
}

/* Per column of a row, so a failure names the column. */
static bool compare_record(const char *where, const json_t *exp, const json_t *act)
{
    if (json_equal(exp, act))
        return true;
    const json_t *er = json_object_get(exp, "row"), *ar = json_object_get(act, "row");
    const char *k;
    json_t *v;
    char what[160];
    json_object_foreach((json_t *)exp, k, v) if (strcmp(k, "row") && !json_equal(v, json_object_get(act, k)))
    {
        snprintf(what, sizeof what, "%s %s", where, k);
        print_diff(what, v, json_object_get(act, k));
    }
    json_object_foreach((json_t *)er, k, v) if (!json_equal(v, json_object_get(ar, k)))
    {
        snprintf(what, sizeof what, "%s row.%s", where, k);
        print_diff(what, v, json_object_get(ar, k));
    }
    json_object_foreach((json_t *)ar, k, v) if (!json_object_get(er, k))
    {
        snprintf(what, sizeof what, "%s row.%s (not expected)", where, k);
        print_diff(what, NULL, v);
    }
    return false;
}

bool sc_compare(const char *name, mfh *h, json_t *actual, bool check_metrics)
{
    char *path = scenario_path(name, ".expected.json");
    json_error_t err;
    json_t *expected = json_load_file(path, 0, &err);
    const char *write_dir = getenv("MF_SCENARIO_WRITE");
    if (write_dir) { /* writing new golden files: see tests/scenarios/README.md */
        char *out = mf_xasprintf("%s/%s.actual.json", write_dir, name);
        json_dump_file(actual, out, JSON_INDENT(1));
        free(out);
    }
    if (!expected) {
        fprintf(stderr, "\n%s: %s:%d: %s\n", path, err.source, err.line, err.text);
        free(path);
        return false;
    }
    free(path);
    bool ok = true;
    mf_buffer scratch = {0};
    fprintf(stderr, "\n");
    const char *member;
    json_t *exp_list;
    json_object_foreach(expected, member, exp_list) {
        if (!strcmp(member, "metrics") || !strcmp(member, "comment"))
            continue;
        json_t *act_list = json_object_get(actual, member);
        if (json_array_size(exp_list) != json_array_size(act_list)) {
            fprintf(stderr, "%s: %s: expected %zu records, got %zu\n", name, member, json_array_size(exp_list),
                    json_array_size(act_list));
            ok = false;
        }
        for (size_t i = 0; i < json_array_size(exp_list) && i < json_array_size(act_list); i++) {
            json_t *e = json_array_get(exp_list, i);
            const char *tenant = json_string_value(json_object_get(e, "tenant"));
            json_t *resolved = resolve(e, tenant ? tenant : "", &scratch);
            char where[96];
            snprintf(where, sizeof where, "%s: %s[%zu]", name, member, i);
            if (!compare_record(where, resolved, json_array_get(act_list, i))) {
                if (json_is_string(resolved))
                    print_diff(where, resolved, json_array_get(act_list, i));
                ok = false;
            }
            json_decref(resolved);
        }
    }
    json_t *metrics = json_object_get(expected, "metrics");
    json_t *v;
    json_object_foreach(metrics, member, v) {
        double got = mfh_metric(h, member);
        if (check_metrics && got != json_number_value(v)) {
            fprintf(stderr, "%s: metric %s: expected %g, got %g\n", name, member, json_number_value(v), got);
            ok = false;
        }
    }
    if (!ok || getenv("MF_SCENARIO_DUMP")) {
        char *a = json_dumps(actual, JSON_INDENT(1));
        fprintf(stderr, "%s: actual output:\n%s\n", name, a);
        free(a);
    }
    mf_buffer_free(&scratch);
    json_decref(expected);
    return ok;
}
