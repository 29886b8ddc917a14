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
 */
#ifndef MF_TEST_SCENARIO_H
#define MF_TEST_SCENARIO_H

#include <jansson.h>
#include <stdbool.h>

#include "harness.h"

/* The lines of a scenario's events file (without blank lines); NULL-ended,
 * free with sc_lines_free. *n set. Aborts the test on a missing file. */
char **sc_load_events(const char *name, size_t *n);
void sc_lines_free(char **lines);

/* Push lines[from .. to) (their "key" as the record key) and process them,
 * `batch` lines per process call. */
void sc_push(mfh *h, char **lines, size_t from, size_t to, size_t batch);

/* What the node emitted since the last consume, in the expected file's shape
 * (records as JSON with "key"; errors as their reasons); then mfh_consume. */
json_t *sc_collect(mfh *h);

/* Compare collected output with <name>.expected.json (ids resolved); only
 * the members expected has ("metrics" checked against h when given).
 * Prints the differences (and, with MF_SCENARIO_DUMP set, the whole actual
 * output) and returns false when they differ. */
bool sc_compare(const char *name, mfh *h, json_t *actual, bool check_metrics);

#endif
