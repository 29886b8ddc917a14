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

#endif
