/* Unit tests: martflow/fieldpath.h — path syntax and escapes, lookup, and
 * the key bytes of every JSON type. Links only the public libmartflow. */
#include <stdarg.h>
#include <stdio.h>
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

/* A view of the value written as text, made as the host makes one: scalars
 * typed (a string unescaped), arrays and objects their text as written. */
static mf_json_view view_of(const char *text, json_t **parsed)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    mf_json_view v = {0};
    switch (json_typeof(j)) {
    case JSON_STRING:
        v.type = MF_JSON_STRING;
        v.str = json_string_value(j);
        v.len = json_string_length(j);
        break;
    case JSON_INTEGER:
        v.type = MF_JSON_INT;
        v.integer = json_integer_value(j);
        v.number = (double)v.integer;
        break;
    case JSON_REAL:
        v.type = MF_JSON_DOUBLE;
        v.number = json_real_value(j);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        v.type = MF_JSON_BOOL;
        v.boolean = json_is_true(j);
        break;
    case JSON_NULL:
        v.type = MF_JSON_NULL;
        break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        v.type = json_is_array(j) ? MF_JSON_ARRAY : MF_JSON_OBJECT;
        v.str = text;
        v.len = strlen(text);
        break;
    }
    *parsed = j;
    return v;
}

/* mf_json_view_key gives mf_json_key's bytes, type by type. */
static void test_view_key(void)
{
    static const char *const values[] = {
        "\"plain\"", "\"\"", "\"caf\\u00e9 \\\"q\\\"\"", "0", "-0", "42", "-7", "9223372036854775807",
        "-9223372036854775808", "1.5", "-0.0", "1e2", "1E-3", "0.1", "123456789.123456789", "1e-400", "1.7976931348623157e308",
        "true", "false", "{}", "[]", "{ \"z\" : 1, \"a\" : [true, null, \"x\\ty\"], \"m\": {\"b\": 2, \"a\": 1.0} }",
        "[ 3 , {\"k\":\"\\u00e9\"} ]", "null",
    };
    mf_buffer view_buf = {0}, tree_buf = {0};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        json_t *j;
        mf_json_view v = view_of(values[i], &j);
        const uint8_t *vk = (const uint8_t *)"junk", *tk = NULL;
        size_t vl = 99, tl = 0;
        bool vfound = mf_json_view_key(&v, &view_buf, &vk, &vl);
        bool tfound = mf_json_key(j, &tree_buf, &tk, &tl);
        if (vfound != tfound || vl != tl || (vfound && memcmp(vk, tk, vl) != 0))
            fprintf(stderr, "\n%s: view key \"%.*s\", jansson \"%.*s\"\n", values[i], (int)vl, vk ? (const char *)vk : "",
                    (int)tl, tk ? (const char *)tk : "");
        CU_ASSERT_EQUAL(vfound, tfound);
        CU_ASSERT_TRUE(vl == tl && (!vfound || memcmp(vk, tk, vl) == 0));
        if (!vfound)
            CU_ASSERT_PTR_NULL(vk);
        if (v.type == MF_JSON_STRING)
            CU_ASSERT_PTR_EQUAL(vk, (const uint8_t *)v.str); /* no copy */
        json_decref(j);
    }
    const uint8_t *key = (const uint8_t *)"junk";
    size_t len = 99;
    mf_json_view missing = {.type = MF_JSON_MISSING};
    CU_ASSERT_FALSE(mf_json_view_key(&missing, &view_buf, &key, &len));
    CU_ASSERT_TRUE(key == NULL && len == 0);
    CU_ASSERT_FALSE(mf_json_view_key(NULL, &view_buf, &key, &len));
    mf_json_view empty = {.type = MF_JSON_STRING}; /* str NULL, len 0: still the key "" */
    CU_ASSERT_TRUE(mf_json_view_key(&empty, &view_buf, &key, &len));
    CU_ASSERT_TRUE(key != NULL && len == 0);
    mf_json_view broken = {.type = MF_JSON_OBJECT, .str = "{\"a\":", .len = 5};
    CU_ASSERT_FALSE(mf_json_view_key(&broken, &view_buf, &key, &len));
    mf_buffer_free(&view_buf);
    mf_buffer_free(&tree_buf);
}

static mf_fieldpath *compile(const char *text)
{
    char err[128];
    mf_fieldpath *p = mf_fieldpath_new(text, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    return p;
}

static void test_parent(void)
{
    json_t *j = doc();
    const char *last = NULL;
    mf_fieldpath *p = compile("a.b.c");
    CU_ASSERT_PTR_EQUAL(mf_fieldpath_parent(p, j, false, &last), json_object_get(json_object_get(j, "a"), "b"));
    CU_ASSERT_STRING_EQUAL(last, "c");
    mf_fieldpath_free(p);

    p = compile("a\\.b"); /* the top-level "a.b": its parent is the root */
    CU_ASSERT_PTR_EQUAL(mf_fieldpath_parent(p, j, false, &last), j);
    CU_ASSERT_STRING_EQUAL(last, "a.b");
    CU_ASSERT_PTR_EQUAL(mf_fieldpath_parent(p, j, false, NULL), j);
    mf_fieldpath_free(p);

    /* without create: a missing step, or one that is not an object, is no parent */
    p = compile("new.x.y");
    CU_ASSERT_PTR_NULL(mf_fieldpath_parent(p, j, false, &last));
    CU_ASSERT_STRING_EQUAL(last, "y");
    CU_ASSERT_PTR_NULL(json_object_get(j, "new")); /* nothing created */
    mf_fieldpath_free(p);
    p = compile("s.x");
    CU_ASSERT_PTR_NULL(mf_fieldpath_parent(p, j, false, &last));
    mf_fieldpath_free(p);
    /* the last step itself need not exist */
    p = compile("a.missing");
    CU_ASSERT_PTR_EQUAL(mf_fieldpath_parent(p, j, false, &last), json_object_get(j, "a"));
    mf_fieldpath_free(p);

    /* with create: missing steps become objects, a non-object step is replaced */
    p = compile("new.x.y");
    json_t *parent = mf_fieldpath_parent(p, j, true, &last);
    CU_ASSERT_PTR_NOT_NULL_FATAL(parent);
    json_object_set_new(parent, last, json_integer(5));
    CU_ASSERT_EQUAL(json_integer_value(mf_fieldpath_get(p, j)), 5);
    mf_fieldpath_free(p);
    p = compile("s.x");
    parent = mf_fieldpath_parent(p, j, true, &last);
    CU_ASSERT_TRUE(json_is_object(parent));
    CU_ASSERT_PTR_EQUAL(json_object_get(j, "s"), parent);
    CU_ASSERT_EQUAL(json_object_size(parent), 0);
    /* the root must be an object, even with create */
    json_t *arr = json_array();
    CU_ASSERT_PTR_NULL(mf_fieldpath_parent(p, arr, true, &last));
    CU_ASSERT_EQUAL(json_array_size(arr), 0);
    json_decref(arr);
    mf_fieldpath_free(p);
    json_decref(j);
}

/* A fake mf_check that keeps the last problem. */
struct seen {
    mf_check check;
    int count;
    const json_t *at;
    char msg[256];
};

static void note_problem(mf_check *check, const json_t *at, const char *fmt, ...)
{
    struct seen *s = (struct seen *)check;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
    s->count++;
    s->at = at;
}

static void test_check(void)
{
    json_error_t e;
    json_t *config = json_loads("{\"good\": \"a.b\", \"bad\": \"a..b\", \"empty\": \"\", \"num\": 3,"
                                " \"esc\": \"a\\\\x\"}", 0, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(config);
    struct seen s = {.check = {.problem = note_problem}};
    static const char *const fine[] = {"good", "empty", "num", "absent"};
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
        mf_fieldpath_check(config, fine[i], &s.check);
    CU_ASSERT_EQUAL(s.count, 0);

    mf_fieldpath_check(config, "bad", &s.check);
    CU_ASSERT_EQUAL(s.count, 1);
    CU_ASSERT_PTR_EQUAL(s.at, json_object_get(config, "bad")); /* reported at the value */
    char err[128];
    CU_ASSERT_PTR_NULL(mf_fieldpath_new("a..b", err, sizeof err));
    char want[256];
    snprintf(want, sizeof want, "option 'bad': %s", err); /* the compiler's own words */
    CU_ASSERT_STRING_EQUAL(s.msg, want);

    mf_fieldpath_check(config, "esc", &s.check);
    CU_ASSERT_EQUAL(s.count, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.msg, "option 'esc': field path 'a\\x': '\\' must be followed by"));
    json_decref(config);
}

static const mf_test tests[] = {
    {"lookup, escapes, arrays not indexed", test_lookup},
    {"invalid paths", test_invalid},
    {"key bytes of every type", test_key_bytes},
    {"key bytes of a view: the same as jansson's", test_view_key},
    {"parent of the last step, with and without create", test_parent},
    {"validate() reports bad paths in the compiler's words", test_check},
    {NULL, NULL},
};

int main(void)
{
    static const mf_suite suites[] = {{"fieldpath", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
