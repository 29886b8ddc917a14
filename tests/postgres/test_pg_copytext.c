/* Unit tests (no server): plugins/postgres/pg_copytext.c writes JSON values
 * as COPY text fields, and pg_columns.c checks identifiers and the shape of
 * `columns`. What the server makes of the text is tested by sink_modes.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cunit_main.h"
#include "pg_columns.h"
#include "pg_copytext.h"

static char out[512];

/* The field pgt_append writes for v. */
static const char *field(mf_json_view v, pgt_kind kind)
{
    mf_buffer b = {0};
    pgt_append(&b, &v, kind);
    snprintf(out, sizeof out, "%.*s", (int)b.len, b.data ? (const char *)b.data : "");
    mf_buffer_free(&b);
    return out;
}

static mf_json_view str(const char *s)
{
    return (mf_json_view){.type = MF_JSON_STRING, .str = s, .len = strlen(s)};
}

static mf_json_view integer(int64_t i)
{
    return (mf_json_view){.type = MF_JSON_INT, .integer = i, .number = (double)i};
}

static mf_json_view dbl(double d)
{
    return (mf_json_view){.type = MF_JSON_DOUBLE, .number = d};
}

static void test_text(void)
{
    CU_ASSERT_STRING_EQUAL(field((mf_json_view){.type = MF_JSON_MISSING}, PGT_AUTO), "\\N");
    CU_ASSERT_STRING_EQUAL(field((mf_json_view){.type = MF_JSON_NULL}, PGT_JSON), "\\N");
    CU_ASSERT_STRING_EQUAL(field(str("plain"), PGT_AUTO), "plain");
    CU_ASSERT_STRING_EQUAL(field(str("a\tb\nc\rd\\e"), PGT_AUTO), "a\\tb\\nc\\rd\\\\e");
    CU_ASSERT_STRING_EQUAL(field(str("\\N"), PGT_AUTO), "\\\\N"); /* the text \N, not NULL */
    CU_ASSERT_STRING_EQUAL(field(str(""), PGT_AUTO), "");
    CU_ASSERT_STRING_EQUAL(field(str("ünï ✓"), PGT_AUTO), "ünï ✓");
    CU_ASSERT_STRING_EQUAL(field((mf_json_view){.type = MF_JSON_BOOL, .boolean = true}, PGT_AUTO), "true");
    CU_ASSERT_STRING_EQUAL(field((mf_json_view){.type = MF_JSON_BOOL, .boolean = false}, PGT_JSON), "false");
    const char *obj = "{\"a\": \"x\\\"y\",\n\t\"b\": [1]}";
    CU_ASSERT_STRING_EQUAL(field((mf_json_view){.type = MF_JSON_OBJECT, .str = obj, .len = strlen(obj)}, PGT_JSON),
                           "{\"a\": \"x\\\\\"y\",\\n\\t\"b\": [1]}");
}

static void test_json_strings(void)
{
    /* a JSON string, whose own backslashes COPY then doubles */
    CU_ASSERT_STRING_EQUAL(field(str("abc"), PGT_JSON), "\"abc\"");
    CU_ASSERT_STRING_EQUAL(field(str("q\"b\\"), PGT_JSON), "\"q\\\\\"b\\\\\\\\\"");
    CU_ASSERT_STRING_EQUAL(field(str("t\tn\n"), PGT_JSON), "\"t\\\\u0009n\\\\u000a\"");
}

static void test_numbers(void)
{
    CU_ASSERT_STRING_EQUAL(field(integer(0), PGT_AUTO), "0");
    CU_ASSERT_STRING_EQUAL(field(integer(-42), PGT_INTEGER), "-42");
    CU_ASSERT_STRING_EQUAL(field(integer(INT64_MIN), PGT_AUTO), "-9223372036854775808");
    CU_ASSERT_STRING_EQUAL(field(integer(INT64_MAX), PGT_AUTO), "9223372036854775807");
    CU_ASSERT_STRING_EQUAL(field(dbl(0.1), PGT_AUTO), "0.1");
    CU_ASSERT_STRING_EQUAL(field(dbl(1.0 / 3.0), PGT_AUTO), "0.3333333333333333");
    CU_ASSERT_STRING_EQUAL(field(dbl(1e300), PGT_AUTO), "1e+300");
    CU_ASSERT_STRING_EQUAL(field(dbl(12.0), PGT_AUTO), "12");
    CU_ASSERT_STRING_EQUAL(field(dbl(12.0), PGT_INTEGER), "12");
    CU_ASSERT_STRING_EQUAL(field(dbl(1e3), PGT_INTEGER), "1000");
    CU_ASSERT_STRING_EQUAL(field(dbl(2.5), PGT_INTEGER), "2.5"); /* the server refuses it */
    CU_ASSERT_STRING_EQUAL(field(dbl(1e20), PGT_INTEGER), "1e+20");
}

static void test_times(void)
{
    CU_ASSERT_STRING_EQUAL(field(integer(0), PGT_TIMESTAMP), "1970-01-01 00:00:00.000000+00");
    CU_ASSERT_STRING_EQUAL(field(integer(1700000000123), PGT_TIMESTAMP), "2023-11-14 22:13:20.123000+00");
    CU_ASSERT_STRING_EQUAL(field(integer(-1), PGT_TIMESTAMP), "1969-12-31 23:59:59.999000+00");
    CU_ASSERT_STRING_EQUAL(field(dbl(1700000000123.25), PGT_TIMESTAMP), "2023-11-14 22:13:20.123250+00");
    CU_ASSERT_STRING_EQUAL(field(str("2024-02-29T12:00:00Z"), PGT_TIMESTAMP), "2024-02-29T12:00:00Z");
}

/* The hand-made calendar against the C library's, over leap days, century
 * years, before 1970 and far ahead (every 1,000,003rd second over +-2^40 s
 * would take long: pseudo-random instants plus the edges). */
static void test_times_calendar(void)
{
    int64_t edges[] = {0, -1, 951782400, 951868800, 4107542399LL, 4107542400LL, -2203891200LL, -2208988800LL,
                       -62135596800LL, 253402300799LL, 68256000, 1709164800};
    unsigned seed = 7;
    for (int i = 0; i < 20000; i++) {
        int64_t secs = i < (int)(sizeof edges / sizeof *edges)
                           ? edges[i]
                           : (int64_t)(((uint64_t)rand_r(&seed) << 31 | (uint64_t)rand_r(&seed)) % 253402300800ULL) -
                                 62135596800LL;
        int64_t ms = secs * 1000 + (i % 1000);
        time_t t = (time_t)secs;
        struct tm tm;
        CU_ASSERT_PTR_NOT_NULL_FATAL(gmtime_r(&t, &tm));
        char want[64];
        snprintf(want, sizeof want, "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (i % 1000) * 1000);
        const char *got = field(integer(ms), PGT_TIMESTAMP);
        if (strcmp(got, want)) {
            CU_FAIL("calendar differs from gmtime_r");
            fprintf(stderr, "%lld ms: got %s, want %s\n", (long long)ms, got, want);
            return;
        }
    }
    CU_ASSERT_STRING_EQUAL(field(integer(-62167219200001LL), PGT_TIMESTAMP), "-001-12-31 23:59:59.999000+00");
    CU_ASSERT_STRING_EQUAL(field(integer(253402300800000LL), PGT_TIMESTAMP), "10000-01-01 00:00:00.000000+00");
}

static void test_kinds_and_identifiers(void)
{
    pgt_kind k;
    CU_ASSERT_TRUE(pgt_kind_of("jsonb", &k) && k == PGT_JSON);
    CU_ASSERT_TRUE(pgt_kind_of("timestamptz", &k) && k == PGT_TIMESTAMP);
    CU_ASSERT_TRUE(pgt_kind_of("smallint", &k) && k == PGT_INTEGER);
    CU_ASSERT_FALSE(pgt_kind_of("varchar2", &k));
    CU_ASSERT_PTR_NULL(pg_ident_problem("interaction_fact", false));
    CU_ASSERT_PTR_NULL(pg_ident_problem("Gim.Fact$1", true));
    CU_ASSERT_PTR_NOT_NULL(pg_ident_problem("a.b", false));
    CU_ASSERT_PTR_NOT_NULL(pg_ident_problem("a.b.c", true));
    CU_ASSERT_PTR_NOT_NULL(pg_ident_problem("1a", false));
    CU_ASSERT_PTR_NOT_NULL(pg_ident_problem("a-b", false));
    CU_ASSERT_PTR_NOT_NULL(pg_ident_problem("a;drop", true));
    CU_ASSERT_PTR_NOT_NULL(pg_ident_problem("", true));
    CU_ASSERT_PTR_NOT_NULL(pg_ident_problem("a.", true));
    char long_name[70];
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    CU_ASSERT_PTR_NOT_NULL(pg_ident_problem(long_name, false));
    long_name[63] = '\0';
    CU_ASSERT_PTR_NULL(pg_ident_problem(long_name, false));
    char *q = pg_ident_quote("Gim.User");
    CU_ASSERT_STRING_EQUAL(q, "\"gim\".\"user\"");
    free(q);
}

static int problems;
static void count_problem(void *arg, const json_t *at, const char *message)
{
    (void)arg;
    (void)at;
    (void)message;
    problems++;
}

static void test_columns(void)
{
    json_t *ok = json_loads("{\"Id\": \"id\", \"at\": {\"field\": \"a.b\", \"type\": \"timestamptz\"}}", 0, NULL);
    struct pgcol_spec spec;
    problems = 0;
    CU_ASSERT_TRUE(pgcol_parse(ok, &spec, count_problem, NULL));
    CU_ASSERT_EQUAL(problems, 0);
    CU_ASSERT_EQUAL_FATAL(spec.n, 2);
    CU_ASSERT_STRING_EQUAL(spec.cols[0].name, "id");
    CU_ASSERT_STRING_EQUAL(spec.cols[0].quoted, "\"id\"");
    CU_ASSERT_STRING_EQUAL(spec.cols[1].path, "a.b");
    CU_ASSERT_EQUAL(spec.cols[1].kind, PGT_TIMESTAMP);
    CU_ASSERT_EQUAL(pgcol_find(&spec, "ID"), 0);
    CU_ASSERT_EQUAL(pgcol_find(&spec, "nope"), -1);
    pgcol_spec_free(&spec);
    json_decref(ok);

    /* every problem is reported, not just the first */
    json_t *bad = json_loads("{\"id\": 1, \"ID\": \"x\", \"a\": {\"type\": \"text\"}, \"b\": \"x..y\"}", 0, NULL);
    problems = 0;
    CU_ASSERT_FALSE(pgcol_parse(bad, &spec, count_problem, NULL));
    CU_ASSERT_EQUAL(problems, 3); /* 1 is not a path, a has no field, x..y is a bad path (ID is fine: id failed) */
    pgcol_spec_free(&spec);
    json_decref(bad);
}

int main(void)
{
    static const mf_test copytext[] = {{"text and escapes", test_text},
                                       {"strings into json", test_json_strings},
                                       {"numbers", test_numbers},
                                       {"epoch milliseconds", test_times},
                                       {"the calendar of timestamps", test_times_calendar},
                                       {"types and identifiers", test_kinds_and_identifiers},
                                       {"columns", test_columns},
                                       {NULL, NULL}};
    static const mf_suite suites[] = {{"postgres sink: COPY text and columns", copytext}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
