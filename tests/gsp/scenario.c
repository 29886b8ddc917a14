/* scenario.c — see scenario.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

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

static const char *const call_ports[] = {"interactions", "segments", "resources", NULL};

json_t *sc_collect(mfh *h)
{
    return sc_collect_ports(h, call_ports);
}

json_t *sc_collect_ports(mfh *h, const char *const *ports)
{
    json_t *out = json_object();
    for (size_t p = 0; ports[p]; p++) {
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

void sc_extend(json_t *into, const json_t *more)
{
    const char *k;
    json_t *list;
    json_object_foreach((json_t *)more, k, list) {
        json_t *have = json_object_get(into, k);
        if (!have)
            json_object_set_new(into, k, json_array());
        json_array_extend(json_object_get(into, k), list);
    }
}

/* ---- disorder ------------------------------------------------------------------- */

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

struct slot {
    int64_t order;
    size_t n;
    const char *line;
};

static int cmp_slot(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return (x->n > y->n) - (x->n < y->n);
}

static int64_t line_time(const char *line)
{
    json_t *j = json_loads(line, 0, NULL), *t = json_object_get(j, "time");
    int64_t ms = 0;
    if (json_is_integer(t))
        ms = json_integer_value(t);
    else if (!json_is_string(t) || !mf_parse_time_ms(json_string_value(t), &ms)) {
        fprintf(stderr, "a scenario line without a time: %s\n", line);
        abort();
    }
    json_decref(j);
    return ms;
}

char **sc_disorder(char **lines, size_t count, uint64_t *seed, size_t *out_n)
{
    struct slot *s = mf_xcalloc(count * 2 + 1, sizeof *s);
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        int64_t t = line_time(lines[i]);
        s[n] = (struct slot){t + (int64_t)(rng(seed) % 4000), n, lines[i]};
        n++;
        if (rng(seed) % 3 == 0) {
            s[n] = (struct slot){t + (int64_t)(rng(seed) % 4000), n, lines[i]};
            n++;
        }
    }
    qsort(s, n, sizeof *s, cmp_slot);
    char **out = mf_xcalloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = mf_xstrdup(s[i].line);
    free(s);
    *out_n = n;
    return out;
}

/* ---- the agent chain ------------------------------------------------------------ */

static const char *const chain_ports[] = {"interactions", "segments", "resources", "agent_events", NULL};

void sc_push_agents(mfh *ct, mfh *as, char **lines, size_t from, size_t to, json_t *ct_out)
{
    for (size_t i = from; i < to; i++) {
        json_t *j = json_loads(lines[i], 0, NULL);
        const char *key = json_string_value(json_object_get(j, "key"));
        const char *dest = json_string_value(json_object_get(j, "to"));
        bool call = json_object_get(j, "CallThreadID") && !(dest && !strcmp(dest, "agentstate"));
        if (!call) {
            mfh_push(as, key, lines[i]);
            mfh_process(as);
        } else {
            mfh_push(ct, key, lines[i]);
            mfh_process(ct);
            size_t n = mfh_count(ct, "agent_events");
            for (size_t e = 0; e < n; e++) {
                const mf_record *r = mfh_record(ct, "agent_events", e);
                /* another stream than the agent-state events (in a pipeline:
                 * another upstream worker) */
                mf_record fwd = *r;
                fwd.origin.topic = "agent_events";
                mfh_push_record(as, &fwd);
            }
            if (n)
                mfh_process(as);
            json_t *got = sc_collect_ports(ct, chain_ports);
            sc_extend(ct_out, got);
            json_decref(got);
        }
        json_decref(j);
    }
}

/* ---- the tiling property -------------------------------------------------------- */

/* The last upsert of each row of a port, by its id column. */
static json_t *last_rows(const json_t *actual, const char *port, const char *id)
{
    json_t *by = json_object();
    size_t i;
    json_t *rec;
    json_array_foreach(json_object_get(actual, port), i, rec) {
        json_t *row = json_object_get(rec, "row");
        char k[32];
        snprintf(k, sizeof k, "%lld", (long long)json_integer_value(json_object_get(row, id)));
        json_object_set(by, k, row);
    }
    return by;
}

static json_int_t col(const json_t *row, const char *name)
{
    return json_integer_value(json_object_get(row, name));
}

static int cmp_start(const void *a, const void *b)
{
    json_int_t x = col(*(json_t *const *)a, "start_ts"), y = col(*(json_t *const *)b, "start_ts");
    return (x > y) - (x < y);
}

bool sc_check_tiling(const char *name, const json_t *actual)
{
    json_t *sessions = last_rows(actual, "sessions", "sm_res_session_fact_key");
    json_t *states = last_rows(actual, "states", "sm_res_state_fact_key");
    bool ok = json_object_size(sessions) > 0;
    const char *sk;
    json_t *session;
    json_object_foreach(sessions, sk, session) {
        json_t *mine[256];
        size_t n = 0;
        const char *k;
        json_t *st;
        json_object_foreach(states, k, st) if (col(st, "sm_res_session_fact_key") ==
                                                   col(session, "sm_res_session_fact_key") && n < 256) mine[n++] = st;
        qsort(mine, n, sizeof *mine, cmp_start);
        json_int_t at = col(session, "start_ts"), sum = 0;
        for (size_t i = 0; i < n; i++) {
            if (col(mine[i], "start_ts") != at) {
                fprintf(stderr, "%s: session %s: a state starts at %lld, not where the one before ends (%lld)\n",
                        name, sk, (long long)col(mine[i], "start_ts"), (long long)at);
                ok = false;
            }
            at = col(mine[i], "start_ts") + col(mine[i], "total_duration");
            sum += col(mine[i], "total_duration");
        }
        json_int_t end = col(session, "start_ts") + col(session, "total_duration");
        if (at != end || sum != col(session, "total_duration")) {
            fprintf(stderr, "%s: session %s: %zu states add up to %lld s ending at %lld; the session lasts %lld s to %lld\n",
                    name, sk, n, (long long)sum, (long long)at, (long long)col(session, "total_duration"),
                    (long long)end);
            ok = false;
        }
    }
    if (!json_object_size(sessions))
        fprintf(stderr, "%s: no session\n", name);
    json_decref(sessions);
    json_decref(states);
    return ok;
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
        if (!strcmp(member, "metrics") || !strcmp(member, "comment") || !strcmp(member, "config") ||
            !strcmp(member, "events"))
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
        double got = check_metrics ? mfh_metric(h, member) : 0;
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

/* ---- one transform through its scenarios -------------------------------------------- */

mfh *sc_open(const char *plugin, const char *config)
{
    char *err = NULL;
    mfh *h = mfh_open(MF_KIND_TRANSFORM, plugin, config, &err);
    if (!h)
        fprintf(stderr, "\n%s\n", err);
    free(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL_FATAL(mfh_init(h), MF_OK);
    return h;
}

json_t *sc_expected(const char *name)
{
    char *path = scenario_path(name, ".expected.json");
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fprintf(stderr, "%s: %s\n", path, err.text);
    free(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    return j;
}

const char *sc_config(const json_t *expected)
{
    return json_string_value(json_object_get(expected, "config"));
}

bool sc_all_acked(mfh *h)
{
    for (size_t i = 0; i < mfh_inputs(h); i++)
        if (!mfh_input_acked(h, i))
            return false;
    return true;
}

bool sc_same_output(const char *what, size_t mid, const json_t *uninterrupted, const json_t *restored)
{
    if (json_equal(uninterrupted, restored))
        return true;
    char *x = json_dumps(uninterrupted, JSON_COMPACT), *y = json_dumps(restored, JSON_COMPACT);
    fprintf(stderr, "\n%s (snapshot after %zu events): uninterrupted %s\nrestored %s\n", what, mid, x, y);
    free(x);
    free(y);
    return false;
}

mfh *sc_node_open(const sc_node *n, const char *config)
{
    mfh *h = sc_open(n->plugin, config);
    if (n->upstreams)
        mfh_set_upstreams(h, n->upstreams);
    return h;
}

static void node_push(const sc_node *n, mfh *h, char **lines, size_t from, size_t to, size_t batch)
{
    (n->push ? n->push : sc_push)(h, lines, from, to, batch);
}

json_t *sc_node_run(const sc_node *n, const char *config, char **lines, size_t count, size_t batch, mfh **h)
{
    mfh *node = sc_node_open(n, config);
    node_push(n, node, lines, 0, count, batch);
    CU_ASSERT_EQUAL(mfh_flush(node, MF_FLUSH_END), MF_OK);
    json_t *out = sc_collect_ports(node, n->ports);
    if (h)
        *h = node;
    else
        mfh_close(node);
    return out;
}

void sc_golden(const sc_node *n, const char *const *names, size_t batch)
{
    for (const char *const *name = names; *name; name++) {
        json_t *expected = sc_expected(*name);
        size_t count;
        char **lines = sc_load_events(*name, &count);
        mfh *h;
        json_t *out = sc_node_run(n, sc_config(expected), lines, count, batch, &h);
        bool ok = sc_compare(*name, h, out, true);
        if (!ok)
            fprintf(stderr, "scenario %s differs\n", *name);
        CU_ASSERT(ok);
        if (n->tiling)
            CU_ASSERT(sc_check_tiling(*name, out));
        CU_ASSERT(sc_all_acked(h)); /* everything handled once the facts are */
        json_decref(out);
        json_decref(expected);
        mfh_close(h);
        sc_lines_free(lines);
    }
}

void sc_shuffled(const sc_node *n, const char *const *names, const char *skip, uint64_t seed, int rounds,
                 size_t batch)
{
    for (const char *const *name = names; *name; name++) {
        if (skip && !strcmp(*name, skip))
            continue;
        json_t *expected = sc_expected(*name);
        size_t count;
        char **lines = sc_load_events(*name, &count);
        double dups = json_number_value(json_object_get(json_object_get(expected, "metrics"), n->duplicates));
        for (int round = 0; round < rounds; round++) {
            size_t shuffled_n;
            char **shuffled = sc_disorder(lines, count, &seed, &shuffled_n);
            mfh *h;
            json_t *out = sc_node_run(n, sc_config(expected), shuffled, shuffled_n, batch, &h);
            bool ok = sc_compare(*name, NULL, out, false) && (!n->tiling || sc_check_tiling(*name, out));
            if (!ok)
                fprintf(stderr, "scenario %s shuffled (round %d) differs\n", *name, round);
            CU_ASSERT(ok);
            CU_ASSERT(sc_all_acked(h));
            CU_ASSERT_EQUAL(mfh_metric(h, n->duplicates), dups + (double)(shuffled_n - count));
            json_decref(out);
            mfh_close(h);
            sc_lines_free(shuffled);
        }
        json_decref(expected);
        sc_lines_free(lines);
    }
}

void sc_snapshot_each(const sc_node *n, const char *const *names)
{
    for (const char *const *name = names; *name; name++) {
        json_t *expected = sc_expected(*name);
        const char *config = sc_config(expected);
        size_t count;
        char **lines = sc_load_events(*name, &count);
        for (size_t mid = 1; mid < count; mid++) {
            mfh *h = sc_node_open(n, config);
            node_push(n, h, lines, 0, mid, 1);
            json_t *before = sc_collect_ports(h, n->ports);
            mf_buffer snap = {0}, again = {0};
            CU_ASSERT_EQUAL_FATAL(mfh_snapshot(h, 1, &snap), MF_OK);
            CU_ASSERT(snap.len > 0);
            if (n->at_snapshot)
                n->at_snapshot(h);
            mfh *h2 = sc_node_open(n, config);
            CU_ASSERT_EQUAL_FATAL(mfh_restore(h2, snap.data, snap.len), MF_OK);
            for (const char *const *g = n->gauges; g && *g; g++)
                CU_ASSERT_EQUAL(mfh_metric(h2, *g), mfh_metric(h, *g));
            CU_ASSERT_EQUAL(mfh_snapshot(h2, 2, &again), MF_OK); /* what was restored is what was saved */
            CU_ASSERT(again.len == snap.len && memcmp(again.data, snap.data, snap.len) == 0);
            json_t *after[2];
            mfh *both[2] = {h, h2};
            for (int i = 0; i < 2; i++) {
                node_push(n, both[i], lines, mid, count, 1);
                CU_ASSERT_EQUAL(mfh_flush(both[i], MF_FLUSH_END), MF_OK);
                after[i] = sc_collect_ports(both[i], n->ports);
            }
            CU_ASSERT(sc_same_output(*name, mid, after[0], after[1]));
            sc_extend(before, after[1]);
            /* the errors of the restored run miss what the first part rejected: compared via `before` */
            CU_ASSERT(sc_compare(*name, NULL, before, false));
            json_decref(before);
            json_decref(after[0]);
            json_decref(after[1]);
            mf_buffer_free(&snap);
            mf_buffer_free(&again);
            mfh_close(h);
            mfh_close(h2);
        }
        json_decref(expected);
        sc_lines_free(lines);
    }
}
