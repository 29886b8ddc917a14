/*
 * scenario.h — golden scenarios for the GSP transforms, run in the plugin
 * harness: tests/scenarios/<name>.events.jsonl (one input event per line;
 * its "key" member, when present, is the record key, as a Kafka message key
 * would be) against <name>.expected.json:
 *   {"interactions": [record, ...], "segments": [...], "resources": [...],
 *    "errors": ["reason", ...], "metrics": {"name": value, ...}}
 * Each record is a GSP output record with its record key as "key". In
 * expected rows, {"$id": [kind, key1, ...]} stands for the id the scheme of
 * docs/events.md §2.3 gives for the record's tenant and those keys.
 *
 * Agent scenarios (agent_*) run callthread and agentstate chained as a
 * pipeline wires them (sc_run_agents): the expected file has the ports
 * "sessions", "states", "reasons", "resources" (agentstate's), optionally
 * "config" (agentstate's node YAML) and "events" (the name of another
 * scenario whose events to use).
 */
#ifndef MF_TEST_SCENARIO_H
#define MF_TEST_SCENARIO_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "harness.h"

/* The lines of a scenario's events file (without blank lines); NULL-ended,
 * free with sc_lines_free. *n set. Aborts the test on a missing file. */
char **sc_load_events(const char *name, size_t *n);
void sc_lines_free(char **lines);

/* Push lines[from .. to) (their "key" as the record key) and process them,
 * `batch` lines per process call. */
void sc_push(mfh *h, char **lines, size_t from, size_t to, size_t batch);

/* What the node emitted since the last consume, in the expected file's shape
 * (records as JSON with "key"; errors as their reasons); then mfh_consume.
 * sc_collect: callthread's ports; sc_collect_ports: the NULL-ended ports. */
json_t *sc_collect(mfh *h);
json_t *sc_collect_ports(mfh *h, const char *const *ports);
/* Append every list of more to the same member of into (created if absent). */
void sc_extend(json_t *into, const json_t *more);

/* Each event (and a copy of about every third one) moved to a random place
 * less than 4 s later, so every event still arrives within max_out_of_order
 * (5 s) of the latest before it. *seed: the xorshift state, advanced.
 * NULL-ended copies (sc_lines_free), *out_n set. */
char **sc_disorder(char **lines, size_t count, uint64_t *seed, size_t *out_n);

/* The agent chain: events with a "CallThreadID" go to ct (callthread) and
 * what it emits on agent_events goes on to as (agentstate), as a pipeline
 * wires them; the others go to as directly; a line with "to": "agentstate"
 * goes to as whatever it is. One line per process call from from to to. */
void sc_push_agents(mfh *ct, mfh *as, char **lines, size_t from, size_t to, json_t *ct_out);

/* The property of every agent scenario (INFOMART-MODEL.md §4): in the last
 * upsert of each row, the states of a session tile it (the first starts with
 * it, each ends where the next starts, the last ends with it) and their
 * durations add up to its total_duration. Prints what breaks it. */
bool sc_check_tiling(const char *name, const json_t *actual);

/* Compare collected output with <name>.expected.json (ids resolved); only
 * the members expected has ("metrics" checked against h when check_metrics;
 * h may be NULL otherwise).
 * Prints the differences (and, with MF_SCENARIO_DUMP set, the whole actual
 * output) and returns false when they differ. */
bool sc_compare(const char *name, mfh *h, json_t *actual, bool check_metrics);

/* ---- one transform through its scenarios (the runners of test_digital,
 * test_outbound, test_digitalagentstate, test_callthread) ------------------ */

/* The transform plugin `plugin` opened with the node YAML config (may be
 * NULL) and initialised; the test stops (CUnit fatal) when it does not. */
mfh *sc_open(const char *plugin, const char *config);
/* <name>.expected.json (the test stops when it does not load), and its
 * "config" member (the node YAML, or NULL). */
json_t *sc_expected(const char *name);
const char *sc_config(const json_t *expected);
/* Every input pushed so far is acknowledged. */
bool sc_all_acked(mfh *h);
/* Whether two runs' outputs (json) are the same; prints both when not
 * (what: the scenario, mid: the events before the snapshot). */
bool sc_same_output(const char *what, size_t mid, const json_t *uninterrupted, const json_t *restored);

/* A transform as the runners drive it. */
typedef struct sc_node {
    const char *plugin;
    const char *const *ports; /* NULL-ended: what is collected (sc_collect_ports) */
    /* Push lines [from, to): NULL: sc_push, `batch` lines per process call */
    void (*push)(mfh *h, char **lines, size_t from, size_t to, size_t batch);
    uint32_t upstreams;        /* mfh_set_upstreams when not 0 */
    const char *duplicates;    /* the counter of dropped copies (sc_shuffled) */
    const char *const *gauges; /* NULL-ended, may be NULL: the same after a restore (sc_snapshot_each) */
    bool tiling;               /* sc_check_tiling holds for its output */
    void (*at_snapshot)(mfh *h); /* more checks of a node just snapshotted; may be NULL */
} sc_node;

/* A node of n opened with config (sc_open, then its upstreams). */
mfh *sc_node_open(const sc_node *n, const char *config);
/* Every event of lines, `batch` per process, the end of input: what came out
 * on n's ports; *h the node (closed when h is NULL). */
json_t *sc_node_run(const sc_node *n, const char *config, char **lines, size_t count, size_t batch, mfh **h);

/* Each golden scenario of names: the expected output and metrics, the
 * tiling with n->tiling, and every input acknowledged. */
void sc_golden(const sc_node *n, const char *const *names, size_t batch);
/* Each scenario of names but skip (NULL: none), `rounds` times shuffled and
 * duplicated (sc_disorder from seed), `batch` events per process: the
 * expected rows (and tiling), every input acknowledged, and every copy
 * counted in n->duplicates on top of the expected metric's count. */
void sc_shuffled(const sc_node *n, const char *const *names, const char *skip, uint64_t seed, int rounds,
                 size_t batch);
/* For each scenario of names, a snapshot after every event (one per process
 * call) restored into a new node that is fed the rest: n->gauges the same
 * after the restore, the restored state saves to the same bytes, both nodes
 * emit the same, and the whole output is the expected one. */
void sc_snapshot_each(const sc_node *n, const char *const *names);

#endif
