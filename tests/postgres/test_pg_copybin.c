/* Unit tests (no server): plugins/postgres/pg_copybin.c writes JSON values
 * as binary COPY fields where they store exactly what pg_copytext's text
 * would, and refuses (false: the batch goes as text) everywhere else. What
 * the server makes of the fields is tested by sink_binary.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "pg_copybin.h"

static mf_buffer buf;

/* pgb_append of v into buf (reset first); its result. */
static bool enc(mf_json_view v, pgt_kind kind, pgb_type type)
{
    mf_buffer_reset(&buf);
    bool ok = pgb_append(&buf, &v, kind, type);
    if (!ok)
        CU_ASSERT_EQUAL(buf.len, 0); /* nothing appended when refused */
    return ok;
}

/* buf is the field of these bytes (after its 4-byte length). */
static bool is_field(const void *bytes, size_t len)
{
    if (buf.len != 4 + len)
        return false;
    uint32_t n = (uint32_t)buf.data[0] << 24 | (uint32_t)buf.data[1] << 16 | (uint32_t)buf.data[2] << 8 | buf.data[3];
    return n == len && !memcmp(buf.data + 4, bytes, len);
}

static uint64_t be_value(size_t from, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | buf.data[from + i];
    return v;
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

static mf_json_view boolean(bool b)
{
    return (mf_json_view){.type = MF_JSON_BOOL, .boolean = b};
}

static void test_types(void)
{
    CU_ASSERT_EQUAL(pgb_type_of_oid(20), PGB_INT8);
    CU_ASSERT_EQUAL(pgb_type_of_oid(23), PGB_INT4);
    CU_ASSERT_EQUAL(pgb_type_of_oid(21), PGB_INT2);
    CU_ASSERT_EQUAL(pgb_type_of_oid(1043), PGB_TEXT);
    CU_ASSERT_EQUAL(pgb_type_of_oid(1184), PGB_TIMESTAMPTZ);
    CU_ASSERT_EQUAL(pgb_type_of_oid(3802), PGB_JSONB);
    CU_ASSERT_EQUAL(pgb_type_of_oid(1700), PGB_NONE); /* numeric */
    CU_ASSERT_EQUAL(pgb_type_of_oid(2950), PGB_NONE); /* uuid */
    CU_ASSERT_EQUAL(pgb_type_of_oid(1082), PGB_NONE); /* date */
    CU_ASSERT_EQUAL(pgb_type_of_name("bigint"), PGB_INT8);
    CU_ASSERT_EQUAL(pgb_type_of_name("integer"), PGB_INT4);
    CU_ASSERT_EQUAL(pgb_type_of_name("smallint"), PGB_INT2);
    CU_ASSERT_EQUAL(pgb_type_of_name("character varying(20)"), PGB_TEXT);
    CU_ASSERT_EQUAL(pgb_type_of_name("timestamp with time zone"), PGB_TIMESTAMPTZ);
    CU_ASSERT_EQUAL(pgb_type_of_name("timestamp(3) with time zone"), PGB_NONE); /* a precision rounds */
    CU_ASSERT_EQUAL(pgb_type_of_name("double"), PGB_FLOAT8);
    CU_ASSERT_EQUAL(pgb_type_of_name("numeric"), PGB_NONE);
    CU_ASSERT_EQUAL(pgb_type_of_name("numeric(10,2)"), PGB_NONE);
    CU_ASSERT_EQUAL(pgb_type_of_name("character(3)"), PGB_NONE);
    CU_ASSERT_EQUAL(pgb_type_of_name("uuid"), PGB_NONE);
    CU_ASSERT_EQUAL(pgb_type_of_name("date"), PGB_NONE);
}

static void test_stream(void)
{
    mf_buffer_reset(&buf);
    pgb_header(&buf);
    CU_ASSERT_EQUAL(buf.len, 19);
    CU_ASSERT(!memcmp(buf.data, "PGCOPY\n\377\r\n\0", 11));
    CU_ASSERT_EQUAL(be_value(11, 8), 0); /* flags, extension length */
    pgb_row(&buf, 3);
    CU_ASSERT_EQUAL(be_value(19, 2), 3);
    pgb_trailer(&buf);
    CU_ASSERT_EQUAL(be_value(21, 2), 0xffff);
}

static void test_null(void)
{
    static const pgb_type all[] = {PGB_INT2, PGB_INT4, PGB_INT8, PGB_BOOL, PGB_FLOAT4, PGB_FLOAT8,
                                   PGB_TIMESTAMP, PGB_TIMESTAMPTZ, PGB_TEXT, PGB_JSON, PGB_JSONB};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        CU_ASSERT_TRUE(enc((mf_json_view){.type = MF_JSON_NULL}, PGT_AUTO, all[i]));
        CU_ASSERT_EQUAL(buf.len, 4);
        CU_ASSERT_EQUAL(be_value(0, 4), 0xffffffffu);
        CU_ASSERT_TRUE(enc((mf_json_view){.type = MF_JSON_MISSING}, PGT_TIMESTAMP, all[i]));
        CU_ASSERT_EQUAL(be_value(0, 4), 0xffffffffu);
    }
    CU_ASSERT_FALSE(enc((mf_json_view){.type = MF_JSON_NULL}, PGT_AUTO, PGB_NONE));
}

static void test_integers(void)
{
    /* each width its own size, big-endian, two's complement */
    CU_ASSERT_TRUE(enc(integer(-2), PGT_AUTO, PGB_INT2));
    CU_ASSERT_TRUE(is_field("\xff\xfe", 2));
    CU_ASSERT_TRUE(enc(integer(258), PGT_AUTO, PGB_INT4));
    CU_ASSERT_TRUE(is_field("\0\0\1\2", 4));
    CU_ASSERT_TRUE(enc(integer(1), PGT_INTEGER, PGB_INT8));
    CU_ASSERT_TRUE(is_field("\0\0\0\0\0\0\0\1", 8));
    /* the bounds of each width, and one beyond: text's server error */
    CU_ASSERT_TRUE(enc(integer(32767), PGT_AUTO, PGB_INT2));
    CU_ASSERT_TRUE(enc(integer(-32768), PGT_AUTO, PGB_INT2));
    CU_ASSERT_FALSE(enc(integer(32768), PGT_AUTO, PGB_INT2));
    CU_ASSERT_FALSE(enc(integer(-32769), PGT_AUTO, PGB_INT2));
    CU_ASSERT_TRUE(enc(integer(INT32_MAX), PGT_AUTO, PGB_INT4));
    CU_ASSERT_TRUE(is_field("\x7f\xff\xff\xff", 4));
    CU_ASSERT_TRUE(enc(integer(INT32_MIN), PGT_AUTO, PGB_INT4));
    CU_ASSERT_FALSE(enc(integer((int64_t)INT32_MAX + 1), PGT_AUTO, PGB_INT4));
    CU_ASSERT_FALSE(enc(integer((int64_t)INT32_MIN - 1), PGT_AUTO, PGB_INT4));
    CU_ASSERT_TRUE(enc(integer(INT64_MIN), PGT_AUTO, PGB_INT8));
    CU_ASSERT_TRUE(is_field("\x80\0\0\0\0\0\0\0", 8));
    CU_ASSERT_TRUE(enc(integer(INT64_MAX), PGT_AUTO, PGB_INT8));
    /* numbers as the text writes them: integral doubles are digits */
    CU_ASSERT_TRUE(enc(dbl(7.0), PGT_AUTO, PGB_INT4));
    CU_ASSERT_TRUE(is_field("\0\0\0\7", 4));
    CU_ASSERT_TRUE(enc(dbl(-0.0), PGT_AUTO, PGB_INT8));
    CU_ASSERT_TRUE(is_field("\0\0\0\0\0\0\0\0", 8));
    CU_ASSERT_TRUE(enc(dbl(999999999999999.0), PGT_AUTO, PGB_INT8));  /* %.15g: digits */
    CU_ASSERT_FALSE(enc(dbl(1e15), PGT_AUTO, PGB_INT8));              /* %.15g: 1e+15, refused by int8in */
    CU_ASSERT_TRUE(enc(dbl(9007199254740992.0), PGT_INTEGER, PGB_INT8)); /* bigint writes digits up to 2^53 */
    CU_ASSERT_FALSE(enc(dbl(18014398509481984.0), PGT_INTEGER, PGB_INT8));
    /* fallback triggers: what the text leaves to the server */
    CU_ASSERT_FALSE(enc(dbl(2.5), PGT_INTEGER, PGB_INT8));
    CU_ASSERT_FALSE(enc(str("12"), PGT_AUTO, PGB_INT4));
    CU_ASSERT_FALSE(enc(boolean(true), PGT_AUTO, PGB_INT4));
    CU_ASSERT_FALSE(enc((mf_json_view){.type = MF_JSON_ARRAY, .str = "[1]", .len = 3}, PGT_AUTO, PGB_INT8));
    CU_ASSERT_FALSE(enc(integer(5), PGT_TIMESTAMP, PGB_INT8)); /* the text is a time */
}

static void test_bool_float(void)
{
    CU_ASSERT_TRUE(enc(boolean(true), PGT_AUTO, PGB_BOOL));
    CU_ASSERT_TRUE(is_field("\1", 1));
    CU_ASSERT_TRUE(enc(boolean(false), PGT_AUTO, PGB_BOOL));
    CU_ASSERT_TRUE(is_field("\0", 1));
    CU_ASSERT_FALSE(enc(integer(1), PGT_AUTO, PGB_BOOL)); /* boolin reads "1": the server's */
    CU_ASSERT_FALSE(enc(str("t"), PGT_AUTO, PGB_BOOL));

    double d = 0.1;
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    CU_ASSERT_TRUE(enc(dbl(0.1), PGT_AUTO, PGB_FLOAT8));
    CU_ASSERT_EQUAL(be_value(4, 8), bits);
    CU_ASSERT_TRUE(enc(dbl(-0.0), PGT_AUTO, PGB_FLOAT8)); /* "-0" */
    CU_ASSERT_EQUAL(be_value(4, 8), 0x8000000000000000ULL);
    CU_ASSERT_TRUE(enc(dbl(-0.0), PGT_INTEGER, PGB_FLOAT8)); /* bigint's text: "0" */
    CU_ASSERT_EQUAL(be_value(4, 8), 0);
    CU_ASSERT_TRUE(enc(integer(3), PGT_AUTO, PGB_FLOAT8));
    d = 3;
    memcpy(&bits, &d, sizeof bits);
    CU_ASSERT_EQUAL(be_value(4, 8), bits);
    CU_ASSERT_FALSE(enc(integer(((int64_t)1 << 53) + 1), PGT_AUTO, PGB_FLOAT8));
    CU_ASSERT_FALSE(enc(str("1.5"), PGT_AUTO, PGB_FLOAT8));
    CU_ASSERT_FALSE(enc(dbl(1.5), PGT_TIMESTAMP, PGB_FLOAT8));

    float f = 1.25f;
    uint32_t fb;
    memcpy(&fb, &f, sizeof fb);
    CU_ASSERT_TRUE(enc(dbl(1.25), PGT_AUTO, PGB_FLOAT4));
    CU_ASSERT_EQUAL(buf.len, 8);
    CU_ASSERT_EQUAL(be_value(4, 4), fb);
    CU_ASSERT_FALSE(enc(dbl(0.1), PGT_AUTO, PGB_FLOAT4)); /* not a float: float4in rounds the digits */
    CU_ASSERT_TRUE(enc(integer(16777216), PGT_AUTO, PGB_FLOAT4));
    CU_ASSERT_FALSE(enc(integer(16777217), PGT_AUTO, PGB_FLOAT4));
    CU_ASSERT_FALSE(enc(dbl(1e300), PGT_AUTO, PGB_FLOAT4));
}

static void test_times(void)
{
    /* µs since 2000-01-01 */
    CU_ASSERT_TRUE(enc(integer(946684800000), PGT_TIMESTAMP, PGB_TIMESTAMPTZ));
    CU_ASSERT_TRUE(is_field("\0\0\0\0\0\0\0\0", 8));
    CU_ASSERT_TRUE(enc(integer(946684800001), PGT_TIMESTAMP, PGB_TIMESTAMP));
    CU_ASSERT_EQUAL(be_value(4, 8), 1000);
    CU_ASSERT_TRUE(enc(integer(0), PGT_TIMESTAMP, PGB_TIMESTAMPTZ));
    CU_ASSERT_EQUAL((int64_t)be_value(4, 8), -946684800000000LL);
    CU_ASSERT_TRUE(enc(dbl(946684800000.5), PGT_TIMESTAMP, PGB_TIMESTAMPTZ)); /* llround, as the text */
    CU_ASSERT_EQUAL(be_value(4, 8), 500);
    CU_ASSERT_TRUE(enc(dbl(-0.0015), PGT_TIMESTAMP, PGB_TIMESTAMPTZ));
    CU_ASSERT_EQUAL((int64_t)be_value(4, 8), -946684800000000LL - 2);
    /* the years 1 and 9999, and beyond */
    CU_ASSERT_TRUE(enc(integer(PGB_MIN_MS), PGT_TIMESTAMP, PGB_TIMESTAMPTZ));
    CU_ASSERT_TRUE(enc(integer(PGB_MAX_MS), PGT_TIMESTAMP, PGB_TIMESTAMPTZ));
    CU_ASSERT_FALSE(enc(integer(PGB_MIN_MS - 1), PGT_TIMESTAMP, PGB_TIMESTAMPTZ));
    CU_ASSERT_FALSE(enc(integer(PGB_MAX_MS + 1), PGT_TIMESTAMP, PGB_TIMESTAMP));
    CU_ASSERT_FALSE(enc(dbl(1e16), PGT_TIMESTAMP, PGB_TIMESTAMPTZ));
    /* only what the text writes as a time */
    CU_ASSERT_FALSE(enc(integer(1700000000000), PGT_AUTO, PGB_TIMESTAMPTZ));
    CU_ASSERT_FALSE(enc(str("2024-01-01T00:00:00Z"), PGT_TIMESTAMP, PGB_TIMESTAMPTZ));
    CU_ASSERT_FALSE(enc(boolean(true), PGT_TIMESTAMP, PGB_TIMESTAMPTZ));
}

static void test_textual(void)
{
    /* the unescaped text: no COPY backslashes */
    CU_ASSERT_TRUE(enc(str("a\tb\\c\nd"), PGT_AUTO, PGB_TEXT));
    CU_ASSERT_TRUE(is_field("a\tb\\c\nd", 7));
    CU_ASSERT_TRUE(enc(str(""), PGT_AUTO, PGB_TEXT));
    CU_ASSERT_TRUE(is_field("", 0)); /* not NULL */
    CU_ASSERT_TRUE(enc(integer(-42), PGT_AUTO, PGB_TEXT));
    CU_ASSERT_TRUE(is_field("-42", 3));
    CU_ASSERT_TRUE(enc(boolean(false), PGT_AUTO, PGB_TEXT));
    CU_ASSERT_TRUE(is_field("false", 5));
    CU_ASSERT_TRUE(enc(dbl(0.1), PGT_AUTO, PGB_TEXT));
    CU_ASSERT_TRUE(is_field("0.1", 3));
    CU_ASSERT_TRUE(enc(integer(0), PGT_TIMESTAMP, PGB_TEXT));
    CU_ASSERT_TRUE(is_field("1970-01-01 00:00:00.000000+00", 29));
    /* json: a string as a JSON string; jsonb: its version byte first */
    CU_ASSERT_TRUE(enc(str("x\"y\\z\x01"), PGT_JSON, PGB_JSON));
    CU_ASSERT_TRUE(is_field("\"x\\\"y\\\\z\\u0001\"", 15));
    CU_ASSERT_TRUE(enc((mf_json_view){.type = MF_JSON_OBJECT, .str = "{\"a\": [1]}", .len = 10}, PGT_JSON,
                       PGB_JSONB));
    CU_ASSERT_TRUE(is_field("\1{\"a\": [1]}", 11));
    CU_ASSERT_TRUE(enc(integer(5), PGT_JSON, PGB_JSONB));
    CU_ASSERT_TRUE(is_field("\0015", 2));
    /* fields follow one another: the length is patched in place */
    mf_buffer_reset(&buf);
    mf_json_view a = str("ab"), b = integer(7);
    CU_ASSERT_TRUE(pgb_append(&buf, &a, PGT_AUTO, PGB_TEXT));
    CU_ASSERT_TRUE(pgb_append(&buf, &b, PGT_AUTO, PGB_INT2));
    CU_ASSERT_EQUAL(buf.len, 6 + 6);
    CU_ASSERT_EQUAL(be_value(0, 4), 2);
    CU_ASSERT_EQUAL(be_value(6, 4), 2);
    CU_ASSERT_EQUAL(be_value(10, 2), 7);
    /* values kept as COPY text (the loader's) */
    mf_buffer_reset(&buf);
    CU_ASSERT_TRUE(pgb_copytext(&buf, "a\\tb\\\\c\\nd\\re", 13, PGB_TEXT));
    CU_ASSERT_TRUE(is_field("a\tb\\c\nd\re", 9));
    mf_buffer_reset(&buf);
    CU_ASSERT_TRUE(pgb_copytext(&buf, "-9223372036854775808", 20, PGB_INT8));
    CU_ASSERT_TRUE(is_field("\x80\0\0\0\0\0\0\0", 8));
    mf_buffer_reset(&buf);
    CU_ASSERT_FALSE(pgb_copytext(&buf, "9223372036854775808", 19, PGB_INT8));
    CU_ASSERT_FALSE(pgb_copytext(&buf, "70000", 5, PGB_INT2));
    CU_ASSERT_FALSE(pgb_copytext(&buf, " 1", 2, PGB_INT4));
    CU_ASSERT_FALSE(pgb_copytext(&buf, "-", 1, PGB_INT4));
    CU_ASSERT_FALSE(pgb_copytext(&buf, "", 0, PGB_INT4));
    CU_ASSERT_FALSE(pgb_copytext(&buf, "1", 1, PGB_TIMESTAMPTZ));
    CU_ASSERT_EQUAL(buf.len, 0);
    CU_ASSERT_TRUE(pgb_copytext(&buf, "300", 3, PGB_INT2));
    CU_ASSERT_TRUE(is_field("\1\x2c", 2));
    /* pgb_text, for the loader's text */
    mf_buffer_reset(&buf);
    pgb_text(&buf, "q", 1, PGB_JSONB);
    CU_ASSERT_TRUE(is_field("\1q", 2));
}

int main(void)
{
    static const mf_test copybin[] = {{"type codecs", test_types},
                                      {"header, row, trailer", test_stream},
                                      {"NULL and missing", test_null},
                                      {"integers: widths and bounds", test_integers},
                                      {"boolean, float4, float8", test_bool_float},
                                      {"timestamps from epoch ms", test_times},
                                      {"text, json, jsonb", test_textual},
                                      {NULL, NULL}};
    static const mf_suite suites[] = {{"postgres: binary COPY fields", copybin}, {NULL, NULL}};
    int rc = mf_cunit_run(suites);
    mf_buffer_free(&buf);
    return rc;
}
