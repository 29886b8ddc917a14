/* Unit tests: loading pipeline files (YAML and JSON) with locations, and
 * ${env:}/${file:}/${json:} substitution. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "cunit_main.h"
#include "subst.h"

static mf_config *load(const char *name, const char *text, mf_diag *d)
{
    return mf_config_load_text(name, text, strlen(text), d);
}

static void test_types_and_locations(void)
{
    mf_diag d = {0};
    mf_config *c = load("p.yaml",
                        "pipeline: demo\n"
                        "settings:\n"
                        "  n: 12\n"
                        "  f: 1.5\n"
                        "  b: true\n"
                        "  z: ~\n"
                        "  s: '12'\n"
                        "  l: [a, 2]\n",
                        &d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    json_t *root = mf_config_root(c);
    json_t *s = json_object_get(root, "settings");
    CU_ASSERT(json_is_integer(json_object_get(s, "n")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(s, "n")), 12);
    CU_ASSERT(json_is_real(json_object_get(s, "f")));
    CU_ASSERT(json_is_true(json_object_get(s, "b")));
    CU_ASSERT(json_is_null(json_object_get(s, "z")));
    CU_ASSERT(json_is_string(json_object_get(s, "s"))); /* quoted stays a string */
    mf_loc k = mf_config_key_loc(c, s, "f");
    CU_ASSERT_EQUAL(k.line, 4);
    CU_ASSERT_EQUAL(k.col, 3);
    mf_loc v = mf_config_value_loc(c, s, "f");
    CU_ASSERT_EQUAL(v.line, 4);
    CU_ASSERT_EQUAL(v.col, 6);
    json_t *l = json_object_get(s, "l");
    mf_loc i1 = mf_config_index_loc(c, l, 1);
    CU_ASSERT_EQUAL(i1.line, 8);
    CU_ASSERT_EQUAL(i1.col, 10);
    CU_ASSERT_STRING_EQUAL(i1.file, "p.yaml");
    mf_config_free(c);
    mf_diag_free(&d);
}

static void test_syntax_error_location(void)
{
    mf_diag d = {0};
    mf_config *c = load("bad.yaml", "a: 1\nb: [1, 2\nc: 3\n", &d);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL(d.errors, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text.data, "bad.yaml:3:"));
    mf_diag_free(&d);
}

static void test_duplicate_key(void)
{
    mf_diag d = {0};
    mf_config *c = load("dup.yaml", "a: 1\nb: 2\na: 3\n", &d);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text.data, "dup.yaml:3:1: duplicate key 'a' (first at line 1)"));
    mf_diag_free(&d);
}

static void test_alias_and_second_document(void)
{
    mf_diag d = {0};
    mf_config *c = load("a.yaml", "base: &b {x: 1}\nuse: *b\n", &d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    json_t *use = json_object_get(mf_config_root(c), "use");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(use, "x")), 1);
    mf_config_free(c);
    c = load("rec.yaml", "a: &x {b: [*x]}\n", &d);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text.data, "rec.yaml:1:12: alias '*x' refers to a node that contains it"));
    c = load("two.yaml", "a: 1\n---\nb: 2\n", &d);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text.data, "two.yaml:2:1: a pipeline file holds one YAML document"));
    mf_diag_free(&d);
}

/* text repeated n times, then tail */
static char *repeat(const char *head, const char *unit, size_t n, const char *mid, const char *end_unit,
                    const char *tail)
{
    mf_str s = {0};
    mf_str_puts(&s, head);
    for (size_t i = 0; i < n; i++)
        mf_str_puts(&s, unit);
    mf_str_puts(&s, mid);
    for (size_t i = 0; i < n; i++)
        mf_str_puts(&s, end_unit);
    mf_str_puts(&s, tail);
    return mf_str_take(&s);
}

/* 9 levels of 9 aliases: 600 bytes that would expand to ~400 million nodes. */
/* The time bounds below are 250 times what the bounded loader takes and far
 * under what the unbounded one took (10 s and more), so a sanitizer build on a
 * busy machine passes and a regression still fails. */
static void test_alias_bomb(void)
{
    mf_str s = {0};
    mf_str_puts(&s, "set:\n  a0: &a0 \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n");
    for (int i = 1; i <= 9; i++) {
        mf_str_printf(&s, "  a%d: &a%d [", i, i);
        for (int j = 0; j < 9; j++)
            mf_str_printf(&s, "%s*a%d", j ? ", " : "", i - 1);
        mf_str_puts(&s, "]\n");
    }
    mf_diag d = {0};
    int64_t t0 = mf_time_mono_ms();
    mf_config *c = load("bomb.yaml", s.data, &d);
    CU_ASSERT(mf_time_mono_ms() - t0 < 5000);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL(d.errors, 1);
    /* 9^6 * 2 nodes at a6 pass 1,000,000: the first alias of a7 crosses it */
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text.data, "bomb.yaml:9:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text.data, "alias '*a6' expands the document past 1000000 nodes"));
    mf_diag_free(&d);
    mf_str_free(&s);

    /* the text limit: a 1 MiB string aliased 65 times */
    mf_str_puts(&s, "a: &big \"");
    for (int i = 0; i < 1024 * 1024; i++)
        mf_str_puts(&s, "x");
    mf_str_puts(&s, "\"\nb: [");
    for (int i = 0; i < 65; i++)
        mf_str_puts(&s, i ? ", *big" : "*big");
    mf_str_puts(&s, "]\n");
    c = load("text.yaml", s.data, &d);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text.data, "text.yaml:2:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text.data, "alias '*big' expands the document past 64 MiB of keys and scalars"));
    mf_diag_free(&d);
    mf_str_free(&s);

    /* aliases within the limits still load, shared */
    c = load("ok.yaml", "a: &x [1, 2, {b: 3}]\nc: [*x, *x, *x]\n", &d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    json_t *cc = json_object_get(mf_config_root(c), "c");
    CU_ASSERT_EQUAL(json_array_size(cc), 3);
    CU_ASSERT_PTR_EQUAL(json_array_get(cc, 2), json_object_get(mf_config_root(c), "a"));
    mf_config_free(c);
    mf_diag_free(&d);
}

static void expect_too_deep(const char *name, char *text, const char *where)
{
    mf_diag d = {0};
    int64_t t0 = mf_time_mono_ms();
    mf_config *c = load(name, text, &d);
    int64_t took = mf_time_mono_ms() - t0;
    CU_ASSERT(took < 5000);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL(d.errors, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text.data, where));
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text.data, "deeper than 64 levels"));
    if (!strstr(d.text.data, where))
        fprintf(stderr, "%s (%lld ms): %s", name, (long long)took, d.text.data);
    mf_diag_free(&d);
    free(text);
}

/* 100,000 levels took libyaml 44 s (flow) before; now the 65th level stops it. */
static void test_depth_limit(void)
{
    expect_too_deep("flow.yaml", repeat("a: ", "[", 100000, "", "]", "\n"), "flow.yaml:1:67: collections nest");
    expect_too_deep("map.yaml", repeat("a: ", "{a: ", 100000, "1", "}", "\n"), "map.yaml:1:256: collections nest");
    expect_too_deep("seq.yaml", repeat("", "- ", 100000, "x", "", "\n"), "seq.yaml:1:129: collections nest");
    /* block maps: each level one more space (100,000 would be 5 GB) */
    mf_str s = {0};
    for (int i = 0; i < 3000; i++)
        mf_str_printf(&s, "%*sk:\n", i, "");
    mf_str_puts(&s, "v\n");
    expect_too_deep("block.yaml", mf_str_take(&s), "block.yaml:65:65: collections nest");
    /* JSON: jansson's own limit is 2048 */
    expect_too_deep("deep.json", repeat("{\"a\": ", "[", 100, "", "]", "}\n"), "deep.json:1:");
    /* 64 levels are fine */
    mf_diag d = {0};
    char *text = repeat("", "[", 64, "", "]", "\n");
    mf_config *c = load("ok.yaml", text, &d);
    CU_ASSERT_PTR_NOT_NULL(c);
    mf_config_free(c);
    free(text);
    /* an alias cannot stack a deep node deeper */
    text = repeat("a: &x ", "[", 40, "", "]", "\nb: ");
    char *more = repeat(text, "[", 30, "*x", "]", "\n");
    expect_too_deep("alias.yaml", more, "alias.yaml:2:34: alias '*x' nests the document deeper");
    free(text);
    mf_diag_free(&d);
}

/* JSON that libyaml cannot read (a leading tab) falls back to jansson's tree:
 * the limits hold there too. */
static void test_json_fallback_limits(void)
{
    mf_diag d = {0};
    char *text = repeat("\t{\"a\": ", "[", 100, "", "]", "}\n");
    mf_config *c = load("tabs.json", text, &d);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text.data, "tabs.json: the document nests deeper than 64 levels"));
    free(text);
    mf_diag_free(&d);
}

/* 1e400 is a number no double holds: say so, not "not valid UTF-8". */
static void test_number_out_of_range(void)
{
    mf_diag d = {0};
    mf_config *c = load("n.yaml", "a:\n  rate: 1e400\n  low: -1e400\n  text: '1e400'\n", &d);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text.data, "n.yaml:2:9: number '1e400' is out of range for a double"));
    CU_ASSERT_PTR_NULL(strstr(d.text.data, "UTF-8"));
    mf_diag_free(&d);
    c = load("n.yaml", "a: '1e400'\nb: 1e300\n", &d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(mf_config_root(c), "a")), "1e400");
    CU_ASSERT(json_is_real(json_object_get(mf_config_root(c), "b")));
    mf_config_free(c);
    mf_diag_free(&d);
}

/* Aliases are looked up by hash: 50,000 anchors and as many aliases to the
 * first took 47 s with a linear search, 0.5 s now. The bound leaves room for
 * a sanitizer build on a busy shared machine and still fails the quadratic
 * search. A name defined again names the newer node from then on. */
static void test_many_anchors(void)
{
    mf_str s = {0};
    for (int i = 0; i < 50000; i++)
        mf_str_printf(&s, "a%d: &a%d %d\n", i, i, i);
    for (int i = 0; i < 50000; i++)
        mf_str_printf(&s, "b%d: *a0\n", i);
    mf_str_puts(&s, "c: &a0 new\nd: *a0\n");
    mf_diag d = {0};
    int64_t t0 = mf_time_mono_ms();
    mf_config *c = load("many.yaml", s.data, &d);
    /* valgrind runs ~20x slower (tests/valgrind.sh says so); the quadratic search would take far longer still. */
    const char *scale = getenv("MARTFLOW_TEST_TIME_SCALE");
    CU_ASSERT(mf_time_mono_ms() - t0 < 10000 * (scale && atoi(scale) > 0 ? atoi(scale) : 1));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    json_t *root = mf_config_root(c);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(root, "b49999")), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(root, "d")), "new");
    mf_config_free(c);
    mf_diag_free(&d);
    mf_str_free(&s);
}

/* A plugin's validate() names values by pointer: find where they were written. */
static void test_find_loc(void)
{
    mf_diag d = {0};
    mf_config *c = load("f.yaml",
                        "node:\n"
                        "  plugin: x\n"
                        "  set: {a: [1, two], b: &s {c: 3}}\n"
                        "  flag: true\n"
                        "  twice: [null, null]\n"
                        "  again: *s\n",
                        &d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    json_t *node = json_object_get(mf_config_root(c), "node");
    json_t *set = json_object_get(node, "set");
    json_t *two = json_array_get(json_object_get(set, "a"), 1);
    mf_loc l = mf_config_find_loc(c, node, two);
    CU_ASSERT_EQUAL(l.line, 3);
    CU_ASSERT_EQUAL(l.col, 16);
    l = mf_config_find_loc(c, node, set);
    CU_ASSERT_EQUAL(l.line, 3);
    CU_ASSERT_EQUAL(l.col, 8);
    /* an aliased node: where it first occurs */
    l = mf_config_find_loc(c, node, json_object_get(set, "b"));
    CU_ASSERT_EQUAL(l.line, 3);
    CU_ASSERT_EQUAL(l.col, 25); /* the anchor starts the node */
    /* true occurs once in node: found; null twice: the node itself */
    l = mf_config_find_loc(c, node, json_object_get(node, "flag"));
    CU_ASSERT_EQUAL(l.line, 4);
    CU_ASSERT_EQUAL(l.col, 9);
    l = mf_config_find_loc(c, node, json_null());
    CU_ASSERT_EQUAL(l.line, 2);
    CU_ASSERT_EQUAL(l.col, 3);
    /* NULL, the node itself, or a value from elsewhere: the node */
    CU_ASSERT_EQUAL(mf_config_find_loc(c, node, NULL).line, 2);
    CU_ASSERT_EQUAL(mf_config_find_loc(c, node, node).line, 2);
    json_t *other = json_string("elsewhere");
    CU_ASSERT_EQUAL(mf_config_find_loc(c, node, other).line, 2);
    json_decref(other);
    mf_config_free(c);
    mf_diag_free(&d);
}

static void test_json_file(void)
{
    mf_diag d = {0};
    mf_config *c = load("p.json", "{\n  \"pipeline\": \"j\",\n  \"settings\": {\"n\": 3, \"s\": \"3\"}\n}\n", &d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    json_t *s = json_object_get(mf_config_root(c), "settings");
    CU_ASSERT(json_is_integer(json_object_get(s, "n")));
    CU_ASSERT(json_is_string(json_object_get(s, "s")));
    CU_ASSERT_EQUAL(mf_config_key_loc(c, s, "s").line, 3);
    mf_config_free(c);
    /* a JSON syntax error is reported by jansson with its line */
    c = load("bad.json", "{\n \"a\": 1,\n \"b\": ]\n}\n", &d);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text.data, "bad.json:3:"));
    /* tabs: valid JSON that libyaml cannot read still loads (without locations) */
    mf_diag d2 = {0};
    c = load("tabs.json", "{\n\t\"a\":\t1\n}\n", &d2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(d2.errors, 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(mf_config_root(c), "a")), 1);
    mf_config_free(c);
    mf_diag_free(&d);
    mf_diag_free(&d2);
}

static void test_subst_env(void)
{
    setenv("MF_T_X", "hello", 1);
    setenv("MF_T_EMPTY", "", 1);
    unsetenv("MF_T_UNSET");
    bool sens = false;
    char *err = NULL;
    char *s = mf_subst_string("a-${env:MF_T_X}-b", &sens, &err);
    CU_ASSERT_STRING_EQUAL(s, "a-hello-b");
    CU_ASSERT_FALSE(sens);
    free(s);
    s = mf_subst_string("${env:MF_T_UNSET:-dflt}", &sens, &err);
    CU_ASSERT_STRING_EQUAL(s, "dflt");
    free(s);
    s = mf_subst_string("${env:MF_T_EMPTY:-dflt}", &sens, &err);
    CU_ASSERT_STRING_EQUAL(s, "dflt");
    free(s);
    s = mf_subst_string("${env:MF_T_EMPTY}", &sens, &err);
    CU_ASSERT_STRING_EQUAL(s, "");
    free(s);
    /* VAR-default: the default only when unset; empty stays empty */
    s = mf_subst_string("${env:MF_T_UNSET-dflt}", &sens, &err);
    CU_ASSERT_STRING_EQUAL(s, "dflt");
    free(s);
    s = mf_subst_string("${env:MF_T_EMPTY-dflt}", &sens, &err);
    CU_ASSERT_STRING_EQUAL(s, "");
    free(s);
    s = mf_subst_string("${env:MF_T_X-dflt}", &sens, &err);
    CU_ASSERT_STRING_EQUAL(s, "hello");
    free(s);
    s = mf_subst_string("${env:MF_T_UNSET-a:-b}", &sens, &err);
    CU_ASSERT_STRING_EQUAL(s, "a:-b");
    free(s);
    s = mf_subst_string("${env:MF_T_UNSET-dflt-x}", &sens, &err);
    CU_ASSERT_STRING_EQUAL(s, "dflt-x");
    free(s);
    s = mf_subst_string("cost $${env:MF_T_X} $5", &sens, &err);
    CU_ASSERT_STRING_EQUAL(s, "cost ${env:MF_T_X} $5");
    free(s);
    s = mf_subst_string("${env:MF_T_UNSET}", &sens, &err);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "MF_T_UNSET is not set"));
    free(err);
    s = mf_subst_string("${nope:x}", &sens, &err);
    CU_ASSERT_PTR_NULL(s);
    free(err);
    s = mf_subst_string("${env:MF_T_X", &sens, &err);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unterminated"));
    free(err);
}

static void test_subst_files(void)
{
    char dir[] = "/tmp/mf-subst-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char path[256], jpath[256];
    snprintf(path, sizeof path, "%s/pw", dir);
    snprintf(jpath, sizeof jpath, "%s/kafka.json", dir);
    FILE *f = fopen(path, "w");
    fputs("s3cret\n", f);
    fclose(f);
    f = fopen(jpath, "w");
    fputs("{\"bootstrap\": \"127.0.0.1:9092\", \"username\": \"u\", \"port\": 9092}", f);
    fclose(f);
    bool sens = false;
    char *err = NULL;
    char spec[600];
    snprintf(spec, sizeof spec, "${file:%s}", path);
    char *s = mf_subst_string(spec, &sens, &err);
    CU_ASSERT_STRING_EQUAL(s, "s3cret");
    CU_ASSERT_TRUE(sens);
    free(s);
    snprintf(spec, sizeof spec, "${json:%s#bootstrap}/${json:%s#port}", jpath, jpath);
    s = mf_subst_string(spec, &sens, &err);
    CU_ASSERT_STRING_EQUAL(s, "127.0.0.1:9092/9092");
    free(s);
    snprintf(spec, sizeof spec, "${json:%s#missing}", jpath);
    s = mf_subst_string(spec, &sens, &err);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no key 'missing'"));
    free(err);

    /* in a tree: the value is marked sensitive, errors carry the location */
    char text[800];
    snprintf(text, sizeof text, "a:\n  pw: ${file:%s}\n  user: x\nb: ${env:MF_T_UNSET_TOO}\n", path);
    unsetenv("MF_T_UNSET_TOO");
    mf_diag d = {0};
    mf_config *c = load("s.yaml", text, &d);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text.data, "s.yaml:4:4: environment variable MF_T_UNSET_TOO is not set"));
    mf_diag_free(&d);
    snprintf(text, sizeof text, "a:\n  pw: ${file:%s}\n  user: x\n", path);
    c = load("s.yaml", text, &d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    json_t *a = json_object_get(mf_config_root(c), "a");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "pw")), "s3cret");
    CU_ASSERT_TRUE(mf_config_is_sensitive(c, a, "pw", 0));
    CU_ASSERT_FALSE(mf_config_is_sensitive(c, a, "user", 0));
    mf_config_free(c);
    unlink(path);
    unlink(jpath);
    rmdir(dir);
}

static const mf_test load_tests[] = {
    {"scalar types and locations", test_types_and_locations},
    {"syntax error names line", test_syntax_error_location},
    {"duplicate key", test_duplicate_key},
    {"alias, second document", test_alias_and_second_document},
    {"JSON pipeline files", test_json_file},
    {"alias expansion is bounded", test_alias_bomb},
    {"nesting depth is bounded", test_depth_limit},
    {"JSON read by jansson alone is bounded", test_json_fallback_limits},
    {"numbers beyond a double", test_number_out_of_range},
    {"locations of values found by pointer", test_find_loc},
    {"many anchors", test_many_anchors},
    {NULL, NULL},
};
static const mf_test subst_tests[] = {
    {"env with defaults and escapes", test_subst_env},
    {"file and json secrets", test_subst_files},
    {NULL, NULL},
};

int main(void)
{
    static const mf_suite suites[] = {{"config load", load_tests}, {"substitution", subst_tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
