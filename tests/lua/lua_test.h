/*
 * lua_test.h — helpers shared by the lua plugin's CUnit tests: open a `lua`
 * node in the harness from inline code plus extra YAML, and look at results.
 */
#ifndef MF_LUA_TEST_H
#define MF_LUA_TEST_H

#include <stdbool.h>
#include <stddef.h>

#include "cunit_main.h"
#include "harness.h"

/* A lua node with `code` (indented into a YAML block) and extra config lines
 * ("max_memory: 4MiB\nports: [a]\n", may be NULL), api 1, init called. NULL
 * if open or init failed; then lt_error() says why (open error or the log). */
mfh *lt_open(const char *code, const char *extra_yaml);
/* Same, but returns the harness even when init fails (init_status set). */
mfh *lt_open_status(const char *code, const char *extra_yaml, int *init_status);
const char *lt_error(void);

/* Push one record per value (keys NULL), process them as one batch. */
int lt_run(mfh *h, const char *const *values, size_t n);

/* A fixture file under $top_srcdir/tests/lua/fixtures, read whole (malloc'd;
 * NULL if missing). */
char *lt_fixture(const char *rel);
/* $top_srcdir (or "."). */
const char *lt_srcdir(void);

/* Does the text contain the substring? (for reasons and logs) */
bool lt_contains(const char *text, const char *sub);
/* Two JSON texts equal as jansson values (types, order-insensitive). */
bool lt_json_equal(const char *a, const char *b);

extern const mf_test lt_api_tests[];
extern const mf_test lt_value_tests[];
extern const mf_test lt_sandbox_tests[];
extern const mf_test lt_filter_tests[];
extern const mf_test lt_caps_tests[];

#endif
