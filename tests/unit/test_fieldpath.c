/* Unit tests: martflow/fieldpath.h — path syntax and escapes, lookup, and
 * the key bytes of every JSON type. Links only the public libmartflow. */
#include <stdlib.h>
#include <string.h>

#include <martflow/fieldpath.h>
#include <martflow/helpers.h>

#include "cunit_main.h"

static json_t *doc(void)
{
    json_error_t e;
    json_t *j = json_loads("{\"a\": {\"b\": {\"c\": \"deep\"}, \"n\": 7, \"arr\": [1, 2]},"
                           " \"a.b\": \"dotted\", \"back\\\\slash\": 1, \"x\": null,"
                           " \"s\": \"caf\\u00e9\", \"e\": \"\", \"f\": 1.5, \"t\": true,"
                           " \"o\": {\"z\": 1, \"a\": [true, null]}, \"items\": [\"zero\"]}",
                           0, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    return j;
}

/* The value at text in j, compiled fresh. */
static json_t *at(json_t *j, const char *text)
{
    char err[128];
    mf_fieldpath *p = mf_fieldpath_new(text, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    json_t *v = mf_fieldpath_get(p, j);
    mf_fieldpath_free(p);
    return v;
}

static void test_lookup(void)
{
    json_t *j = doc();
    CU_ASSERT_STRING_EQUAL(json_string_value(at(j, "a.b.c")), "deep");
    CU_ASSERT_EQUAL(json_integer_value(at(j, "a.n")), 7);
    CU_ASSERT_TRUE(json_is_object(at(j, "a")));
    CU_ASSERT_STRING_EQUAL(json_string_value(at(j, "a\\.b")), "dotted"); /* the top-level "a.b" */
    CU_ASSERT_EQUAL(json_integer_value(at(j, "back\\\\slash")), 1);
    CU_ASSERT_PTR_NULL(at(j, "a.b.c.d"));  /* through a string */
    CU_ASSERT_PTR_NULL(at(j, "a.missing"));
    CU_ASSERT_PTR_NULL(at(j, "items.0"));  /* arrays are not indexed */
    CU_ASSERT_TRUE(json_is_null(at(j, "x")));
    json_t *arr = json_array();
    CU_ASSERT_PTR_NULL(at(arr, "a"));      /* the root is not an object */
    json_decref(arr);
    json_decref(j);
}

static void test_invalid(void)
{
    static const char *const bad[] = {"", ".", "a..b", ".a", "a.", "a\\", "a\\x", "\\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[128] = "";
        CU_ASSERT_PTR_NULL(mf_fieldpath_new(bad[i], err, sizeof err));
        CU_ASSERT_NOT_EQUAL(err[0], '\0');
    }
    char err[128];
    CU_ASSERT_PTR_NULL(mf_fieldpath_new(NULL, err, sizeof err));
    mf_fieldpath_new("a..b", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'a..b': empty name"));
}

/* The key of the value at text, as a string ("<none>" for no key). */
static char *key_at(json_t *j, const char *text, mf_buffer *buf)
{
    char err[128];
    mf_fieldpath *p = mf_fieldpath_new(text, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    const uint8_t *key = (const uint8_t *)"junk";
    size_t len = 99;
    char *out;
    if (mf_fieldpath_key(p, j, buf, &key, &len)) {
        CU_ASSERT_PTR_NOT_NULL(key);
        out = strndup((const char *)key, len);
    } else {
        CU_ASSERT_PTR_NULL(key);
        CU_ASSERT_EQUAL(len, 0);
        out = strdup("<none>");
    }
    mf_fieldpath_free(p);
    return out;
}

static void test_key_bytes(void)
{
    json_t *j = doc();
    mf_buffer buf = {0};
    static const char *const cases[][2] = {
        {"a.b.c", "deep"},               /* a string: its bytes, no quotes */
        {"s", "caf\xc3\xa9"},            /* UTF-8 */
        {"e", ""},                       /* an empty key is a key */
        {"a.n", "7"},                    /* numbers and booleans: JSON text */
        {"f", "1.5"},
        {"t", "true"},
        {"o", "{\"a\":[true,null],\"z\":1}"}, /* compact, members sorted */
        {"a.arr", "[1,2]"},
        {"x", "<none>"},                 /* null: no key */
        {"nope", "<none>"},              /* missing: no key */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *k = key_at(j, cases[i][0], &buf);
        CU_ASSERT_STRING_EQUAL(k, cases[i][1]);
        free(k);
    }
    /* a string key points into the document, not into buf */
    const uint8_t *key;
    size_t len;
    json_t *s = json_object_get(j, "s");
    CU_ASSERT_TRUE(mf_json_key(s, &buf, &key, &len));
    CU_ASSERT_PTR_EQUAL(key, (const uint8_t *)json_string_value(s));
    CU_ASSERT_FALSE(mf_json_key(NULL, &buf, &key, &len));
    mf_buffer_free(&buf);
    json_decref(j);
}

static const mf_test tests[] = {
    {"lookup, escapes, arrays not indexed", test_lookup},
    {"invalid paths", test_invalid},
    {"key bytes of every type", test_key_bytes},
    {NULL, NULL},
};

int main(void)
{
    static const mf_suite suites[] = {{"fieldpath", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
