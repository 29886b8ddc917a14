/*
 * Fuzz target: the GSP transforms on arbitrary event streams. The input is
 * lines; a line that is a JSON object with a string "key" uses it as the
 * record key (as the golden scenarios do), others go without a key. Lines
 * with a "CallThreadID" (or, for lines that are not JSON, an odd first byte)
 * go to `callthread`, whose agent_events go on to `agentstate`, as
 * pipelines/gsp.yaml wires them; lines with a "CampaignID" go to `outbound`
 * (and so does every line that is not JSON); the rest go to `agentstate`.
 * Every line also goes to `digitalagentstate` (which rejects what is not
 * its own: a hostile neighbour is input too).
 * The corpus (tests/fuzz/corpus_gsp) holds hostile inputs on purpose, e.g.
 * outbound_odd: a 70,000-byte RecordDisposition (texts are cut, test_outbound).
 * Whatever the input, no transform may crash or trip a sanitizer, and:
 *   - every record emitted on a fact port is a GSP output record
 *     (docs/events.md §2: an object with string table/op/tenant and a row);
 *   - a snapshot restored into a fresh instance snapshots back to the same
 *     bytes (the state survives a restart exactly);
 *   - after the end of input, the states of every agent session tile it
 *     (INFOMART-MODEL.md §4), as in every golden scenario (when a session
 *     came out at all).
 * Breaking one aborts. tests/fuzz/replay.c runs tests/fuzz/corpus_gsp (the
 * golden scenarios' events and hand-made broken streams) in `make check`.
 * Not yet in tests/fuzz/run.sh: the transforms are loaded as plugins, so
 * coverage-guided fuzzing needs them built with clang's fuzzer
 * instrumentation too (no clang on the build machines so far).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"
#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BROKEN(...)                                                                                            \
    do {                                                                                                       \
        fprintf(stderr, "fuzz_gsp: " __VA_ARGS__);                                                             \
        fputc('\n', stderr);                                                                                   \
        abort();                                                                                               \
    } while (0)

static const char *const ct_ports[] = {"interactions", "resources", "segments", NULL};
static const char *const as_ports[] = {"sessions", "states", "reasons", "resources", NULL};
static const char *const ob_ports[] = {"attempts", NULL};
static const char *const dg_ports[] = {"sessions", "states", "reasons", NULL};

static mfh *open_node(const char *name)
{
    char *error = NULL;
    mfh *h = mfh_open(MF_KIND_TRANSFORM, name, NULL, &error);
    if (!h || mfh_init(h) != MF_OK)
        BROKEN("cannot open transform %s: %s", name, error ? error : "init failed");
    return h;
}

/* Every record on the ports is a GSP output record. */
static void check_records(mfh *h, const char *const *ports)
{
    for (size_t p = 0; ports[p]; p++)
        for (size_t i = 0; i < mfh_count(h, ports[p]); i++) {
            const char *text = mfh_value(h, ports[p], i);
            json_t *r = json_loads(text, 0, NULL);
            if (!json_is_object(r) || !json_is_string(json_object_get(r, "table")) ||
                !json_is_string(json_object_get(r, "op")) || !json_is_string(json_object_get(r, "tenant")) ||
                !json_is_object(json_object_get(r, "row")))
                BROKEN("port %s emitted a record that is not a GSP output record: %s", ports[p], text);
            json_decref(r);
        }
}

/* Move what ct emitted on agent_events on to as (and process it). */
static void forward_agent_events(mfh *ct, mfh *as)
{
    size_t n = mfh_count(ct, "agent_events");
    for (size_t e = 0; e < n; e++) {
        const mf_record *r = mfh_record(ct, "agent_events", e);
        char *k = r->key ? strndup((const char *)r->key, r->key_len) : NULL;
        mfh_push(as, k, mfh_value(ct, "agent_events", e));
        free(k);
    }
    if (n)
        mfh_process(as);
}

/* Snapshot h, restore it into a fresh instance, snapshot that: equal bytes. */
static void check_round_trip(mfh *h, const char *name)
{
    mf_buffer a = {0}, b = {0};
    if (mfh_snapshot(h, 1, &a) != MF_OK)
        BROKEN("%s: snapshot failed", name);
    mfh *fresh = open_node(name);
    if (mfh_restore(fresh, a.data, a.len) != MF_OK)
        BROKEN("%s: its own snapshot (%zu bytes) does not restore", name, a.len);
    if (mfh_snapshot(fresh, 2, &b) != MF_OK)
        BROKEN("%s: snapshot after restore failed", name);
    if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len)))
        BROKEN("%s: a restored state snapshots to %zu bytes, not the %zu it was restored from", name, b.len, a.len);
    mfh_close(fresh);
    free(a.data);
    free(b.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mfh *ct = open_node("callthread"), *as = open_node("agentstate"), *ob = open_node("outbound");
    mfh *dg = open_node("digitalagentstate");
    json_t *out = json_object(), *dg_out = json_object();
    char *text = strndup((const char *)data, size); /* a NUL byte ends the input */
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *key = json_string_value(json_object_get(j, "key"));
        mfh_push(dg, key, line);
        mfh_process(dg);
        check_records(dg, dg_ports);
        json_t *dg_got = sc_collect_ports(dg, dg_ports);
        sc_extend(dg_out, dg_got);
        json_decref(dg_got);
        if (!j || json_object_get(j, "CampaignID")) {
            mfh_push(ob, key, line);
            mfh_process(ob);
            check_records(ob, ob_ports);
            mfh_consume(ob);
            if (j) {
                json_decref(j);
                continue;
            }
        }
        bool call = j ? json_object_get(j, "CallThreadID") != NULL : (line[0] & 1);
        mfh *to = call ? ct : as;
        mfh_push(to, key, line);
        mfh_process(to);
        if (call) {
            forward_agent_events(ct, as);
            check_records(ct, ct_ports);
            mfh_consume(ct);
        }
        check_records(as, as_ports);
        json_t *got = sc_collect_ports(as, as_ports);
        sc_extend(out, got);
        json_decref(got);
        json_decref(j);
    }
    check_round_trip(ct, "callthread");
    check_round_trip(as, "agentstate");
    check_round_trip(ob, "outbound");
    check_round_trip(dg, "digitalagentstate");

    mfh_flush(ct, MF_FLUSH_END);
    forward_agent_events(ct, as);
    check_records(ct, ct_ports);
    mfh_consume(ct);
    mfh_flush(as, MF_FLUSH_END);
    check_records(as, as_ports);
    json_t *got = sc_collect_ports(as, as_ports);
    sc_extend(out, got);
    json_decref(got);
    if (json_array_size(json_object_get(out, "sessions")) && !sc_check_tiling("fuzz", out))
        BROKEN("agent states do not tile their sessions (above)");

    mfh_flush(ob, MF_FLUSH_END);
    check_records(ob, ob_ports);

    mfh_flush(dg, MF_FLUSH_END);
    check_records(dg, dg_ports);
    got = sc_collect_ports(dg, dg_ports);
    sc_extend(dg_out, got);
    json_decref(got);
    if (json_array_size(json_object_get(dg_out, "sessions")) && !sc_check_tiling("fuzz digital", dg_out))
        BROKEN("digital agent states do not tile their sessions (above)");

    json_decref(dg_out);
    json_decref(out);
    free(text);
    mfh_close(ct);
    mfh_close(as);
    mfh_close(ob);
    mfh_close(dg);
    return 0;
}
