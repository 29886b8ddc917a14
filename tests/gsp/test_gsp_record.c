/* The GSP output record writer (gsp_record.h) and the integer text it and
 * the ids use (gsp_text.h): exact text with every escape, integers at their
 * limits, and a record that grows the buffer in the middle of a string,
 * read back with jansson. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cunit_main.h"
#include "gsp_record.h"
#include "gsp_text.h"

static void int_is(int64_t v, const char *want)
{
    char out[GSP_INT_TEXT];
    size_t n = gsp_int_text(out, v);
    CU_ASSERT_EQUAL(n, strlen(want));
    CU_ASSERT(n == strlen(want) && memcmp(out, want, n) == 0);
}

static void test_int_text(void)
{
    int_is(0, "0");
    int_is(7, "7");
    int_is(-1, "-1");
    int_is(1234567890123, "1234567890123");
    int_is(INT64_MAX, "9223372036854775807");
    int_is(INT64_MIN, "-9223372036854775808");
    for (int64_t v = -1000; v <= 1000; v += 37) { /* against printf */
        char want[32];
        snprintf(want, sizeof want, "%lld", (long long)v);
        int_is(v, want);
    }
}

static void text_is(const gsp_rec *w, const char *want)
{
    bool same = w->buf.len == strlen(want) && memcmp(w->buf.data, want, w->buf.len) == 0;
    if (!same)
        fprintf(stderr, "\ngot  %.*s\nwant %s\n", (int)w->buf.len, (const char *)w->buf.data, want);
    CU_ASSERT(same);
}

static void test_escapes(void)
{
    gsp_rec w = {0};
    gsp_rec_begin(&w, "T", "upsert", "t\"1", 3);
    gsp_rec_int(&w, "a", -42);
    gsp_rec_cstr(&w, "plain", "caf\xc3\xa9");
    gsp_rec_cstr(&w, "esc", "q\"b\\n\nt\tr\r\x01\x1f.");
    gsp_rec_str(&w, "empty", "", 0);
    gsp_rec_null(&w, "none");
    gsp_rec_obj(&w, "o");
    gsp_rec_int(&w, "x", INT64_MIN);
    gsp_rec_obj(&w, "in");
    gsp_rec_end_obj(&w);
    gsp_rec_end_obj(&w);
    gsp_rec_cstr(&w, "last", "\"");
    gsp_rec_finish(&w);
    text_is(&w, "{\"table\":\"T\",\"op\":\"upsert\",\"tenant\":\"t\\\"1\",\"row\":{\"a\":-42,\"plain\":\"caf\xc3\xa9\","
                "\"esc\":\"q\\\"b\\\\n\\nt\\tr\\r\\u0001\\u001f.\",\"empty\":\"\",\"none\":null,"
                "\"o\":{\"x\":-9223372036854775808,\"in\":{}},\"last\":\"\\\"\"}}");
    /* the writer starts afresh on the next record */
    gsp_rec_begin(&w, "U", "update", "t", 1);
    gsp_rec_finish(&w);
    text_is(&w, "{\"table\":\"U\",\"op\":\"update\",\"tenant\":\"t\",\"row\":{}}");
    gsp_rec_free(&w);
}

/* Strings long enough that the buffer grows while one is written, with
 * escapes at both ends, read back as JSON. */
static void test_growth(void)
{
    enum { LEN = 9000 };
    char *s = malloc(LEN + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (size_t i = 0; i < LEN; i++)
        s[i] = (char)('a' + i % 26);
    s[0] = '"';
    s[LEN - 1] = '\n';
    s[LEN / 2] = '\\';
    s[LEN] = '\0';
    gsp_rec w = {0};
    gsp_rec_begin(&w, "T", "upsert", "t", 1);
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "s%d", i);
        gsp_rec_str(&w, name, s + i, LEN - (size_t)i);
        snprintf(name, sizeof name, "n%d", i);
        gsp_rec_int(&w, name, INT64_MAX - i);
    }
    gsp_rec_finish(&w);
    json_error_t e;
    json_t *j = json_loadb((const char *)w.buf.data, w.buf.len, 0, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    json_t *row = json_object_get(j, "row");
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "s%d", i);
        const json_t *v = json_object_get(row, name);
        size_t want = LEN - (size_t)i;
        CU_ASSERT(json_string_length(v) == want && memcmp(json_string_value(v), s + i, want) == 0);
        snprintf(name, sizeof name, "n%d", i);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(row, name)), INT64_MAX - i);
    }
    json_decref(j);
    gsp_rec_free(&w);
    free(s);
}

int main(void)
{
    static const mf_test tests[] = {
        {"integer text: limits and against printf", test_int_text},
        {"every escape, nesting, null, a second record", test_escapes},
        {"growth in the middle of a string", test_growth},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {{"gsp_record", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
