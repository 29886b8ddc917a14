/* Type fidelity of the JSON <-> Lua bridge over a corpus of tricky JSON:
 * untouched values are emitted byte for byte, values rebuilt through Lua keep
 * their types, order, nulls and empty containers; Lua-built values encode as
 * documented; what has no JSON form is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lua_test.h"

#define DEPTH 300

static const char *const corpus[] = {
    "{\"a\":[[],{}],\"b\":{\"c\":[],\"d\":{}},\"e\":[[[]]],\"f\":[{}]}",
    "[null,1,null]",
    "{\"n\":null,\"arr\":[null,{\"x\":null}],\"z\":[null]}",
    "{\"max\":9223372036854775807,\"min\":-9223372036854775808,\"zero\":0}",
    "{\"negzero\":-0.0,\"big\":1e300,\"tiny\":1.5e-300,\"f\":1.0,\"i\":1,\"neg\":-12,\"half\":0.5}",
    "{\"u\":\"\\u00e9\\ud83d\\ude00\\u2028\",\"esc\":\"q\\\"b\\\\s\\/t\\tn\\n\",\"ctl\":\"\\u0001\\u001f\"}",
    "{\"\":\"empty key\",\"k\\u00e9y\":1,\"b\":2,\"a\":3}",
    "\"just a string\"",
    "42",
    "1.25",
    "true",
    "false",
    "null",
    "[]",
    "{}",
    "{ \"spaced\" : [ 1 , 2.50 , \"x\" ] ,\n \"t\" : true }",
};
#define N_CORPUS (sizeof corpus / sizeof *corpus)

/* [[[...[1]...]]] and {"a":{"a":...{"a":1}}} DEPTH deep */
static char *deep(bool objects)
{
    size_t cap = DEPTH * 8 + 16, n = 0;
    char *s = malloc(cap);
    for (int i = 0; i < DEPTH; i++)
        n += (size_t)snprintf(s + n, cap - n, "%s", objects ? "{\"a\":" : "[");
    n += (size_t)snprintf(s + n, cap - n, "1");
    for (int i = 0; i < DEPTH; i++)
        n += (size_t)snprintf(s + n, cap - n, "%s", objects ? "}" : "]");
    return s;
}

static char *canonical(const char *text)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    return s;
}

/* Run the corpus (and the deep values) through `code`; check each output
 * with `check` against its input. */
static void run_corpus(const char *code, void (*check)(const char *in, const char *out))
{
    mfh *h = lt_open(code, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    char *d1 = deep(false), *d2 = deep(true);
    const char *all[N_CORPUS + 2];
    for (size_t i = 0; i < N_CORPUS; i++)
        all[i] = corpus[i];
    all[N_CORPUS] = d1;
    all[N_CORPUS + 1] = d2;
    lt_run(h, all, N_CORPUS + 2);
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 0);
    if (mfh_count(h, "errors"))
        fprintf(stderr, "first reject: %s\n", mfh_header(h, "errors", 0, MF_HEADER_ERROR));
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), N_CORPUS + 2);
    for (size_t i = 0; i < N_CORPUS + 2; i++)
        check(all[i], mfh_value(h, "default", i));
    free(d1);
    free(d2);
    mfh_close(h);
}

static void same_bytes(const char *in, const char *out)
{
    CU_ASSERT_STRING_EQUAL(out, in);
}

static void same_canonical(const char *in, const char *out)
{
    char *want = canonical(in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    CU_ASSERT_STRING_EQUAL(out, want); /* types (1 vs 1.0), order, nulls, empties */
    if (strcmp(out, want) != 0)
        fprintf(stderr, "\n  in:   %.200s\n  want: %.200s\n  got:  %.200s\n", in, want, out);
    CU_ASSERT_TRUE(lt_json_equal(in, out));
    free(want);
}

static void test_untouched_is_byte_identical(void)
{
    run_corpus("function process(r, emit) emit(r) end\n", same_bytes);
}

/* Reading every value (deeply, with pairs, #, ipairs) is not touching. */
static void test_read_everything_is_byte_identical(void)
{
    run_corpus("local function walk(v)\n"
               "  if type(v) ~= 'table' then return 1 end\n"
               "  local n = #v\n"
               "  for k, x in pairs(v) do n = n + walk(x) end\n"
               "  for i, x in ipairs(v) do n = n + 1 end\n"
               "  return n\n"
               "end\n"
               "function process(r, emit) walk(r.value); emit(r) end\n",
               same_bytes);
}

/* Rebuilding every container through Lua tables gives jansson's own
 * serialisation of the input: same types, order, nulls, empties. */
static void test_rebuilt_keeps_types(void)
{
    run_corpus("local function touch(v)\n"
               "  if type(v) ~= 'table' then return v end\n"
               "  for k, x in pairs(v) do v[k] = touch(x) end\n"
               "  return v\n"
               "end\n"
               "function process(r, emit) r.value = touch(r.value); emit(r) end\n",
               same_canonical);
}

static void test_totable_keeps_types(void)
{
    /* plain tables: object keys come out sorted; compare as JSON values */
    mfh *h = lt_open("function process(r, emit) r.value = martflow.totable(r.value); emit(r) end\n", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    lt_run(h, corpus, N_CORPUS);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), N_CORPUS);
    for (size_t i = 0; i < N_CORPUS; i++) {
        const char *out = mfh_value(h, "default", i);
        CU_ASSERT_TRUE(lt_json_equal(corpus[i], out));
        if (!lt_json_equal(corpus[i], out))
            fprintf(stderr, "\n  in:  %s\n  out: %s\n", corpus[i], out);
    }
    mfh_close(h);
}

static void test_lua_sees_types(void)
{
    mfh *h = lt_open(
        "function process(r, emit)\n"
        "  local v = r.value\n"
        "  local c = {\n"
        "    int = math.type(v.i) == 'integer',\n"
        "    float = math.type(v.f) == 'float' and v.f == 1,\n"
        "    maxint = v.max == math.maxinteger,\n"
        "    minint = v.min == math.mininteger,\n"
        "    negzero = v.negzero == 0 and 1 / v.negzero == -math.huge,\n"
        "    big = v.big == 1e300,\n"
        "    null = v.n == martflow.null and martflow.is_null(v.n),\n"
        "    null_in_array = v.arr[1] == martflow.null and #v.arr == 2,\n"
        "    absent = v.nothing == nil,\n"
        "    empty_array = martflow.is_array(v.e) and #v.e == 0 and type(v.e) == 'table',\n"
        "    empty_object = not martflow.is_array(v.o) and next(v.o) == nil and type(v.o) == 'table',\n"
        "    unicode = v.u == '\\u{e9}\\u{1F600}',\n"
        "    bool = v.t == true and v.fa == false,\n"
        "    identity = v.o == v.o and v.arr[2] == v.arr[2],\n"
        "    tostring = tostring(v.arr) == '[null,{\"x\":null}]',\n"
        "    null_tostring = tostring(martflow.null) == 'null',\n"
        "  }\n"
        "  emit({value = c})\n"
        "end\n",
        NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"i\":1,\"f\":1.0,\"max\":9223372036854775807,\"min\":-9223372036854775808,"
                        "\"negzero\":-0.0,\"big\":1e300,\"n\":null,\"arr\":[null,{\"x\":null}],\"e\":[],\"o\":{},"
                        "\"u\":\"\\u00e9\\ud83d\\ude00\",\"t\":true,\"fa\":false}"};
    lt_run(h, in, 1);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    json_t *j = json_loads(mfh_value(h, "default", 0), 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(json_object_size(j), 16);
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        CU_ASSERT_TRUE(json_is_true(v));
        if (!json_is_true(v))
            fprintf(stderr, "\n  check '%s' failed\n", k);
    }
    json_decref(j);
    mfh_close(h);
}

static void test_lua_built_values(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  emit({value = {i = 1, f = 1.0, e = martflow.array(), o = {}, mo = martflow.object(),\n"
                     "    n = martflow.null, arr = {1, 2, 3}, nested = {martflow.array(), {}}, neg0 = -0.0,\n"
                     "    s = '\\u{e9}', big = math.maxinteger, half = 0.5}})\n"
                     "  emit({value = 'text'}); emit({value = 7}); emit({value = martflow.null}); emit({})\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{}"};
    lt_run(h, in, 1);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 5);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0),
                           "{\"arr\":[1,2,3],\"big\":9223372036854775807,\"e\":[],\"f\":1.0,\"half\":0.5,\"i\":1,"
                           "\"mo\":{},\"n\":null,\"neg0\":-0.0,\"nested\":[[],{}],\"o\":{},\"s\":\"\xc3\xa9\"}");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 1), "\"text\"");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 2), "7");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 3), "null");
    /* no value at all: a record without a value (tombstone) */
    CU_ASSERT_TRUE(mfh_record(h, "default", 4)->flags & MF_RECORD_VALUE_NULL);
    mfh_close(h);
}

static void test_unencodable_values_reject(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  local w = r.value.what\n"
                     "  local v\n"
                     "  if w == 'nan' then v = {x = 0/0}\n"
                     "  elseif w == 'inf' then v = {x = math.huge}\n"
                     "  elseif w == 'mixed' then v = {1, 2, x = 3}\n"
                     "  elseif w == 'numkey' then v = {[5] = 1}\n"
                     "  elseif w == 'utf8' then v = {x = '\\xff'}\n"
                     "  elseif w == 'cycle' then v = {}; v.self = v\n"
                     "  elseif w == 'function' then r.value.x = print\n"
                     "  elseif w == 'objkey' then r.value[1] = 1\n"
                     "  elseif w == 'badkey' then v = {['\\xff'] = 1}\n"
                     "  end\n"
                     "  emit({value = v})\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    static const struct {
        const char *in, *reason;
    } cases[] = {
        {"{\"what\":\"nan\"}", "NaN and infinities have no JSON form"},
        {"{\"what\":\"inf\"}", "NaN and infinities have no JSON form"},
        {"{\"what\":\"mixed\"}", "JSON object keys are strings; this table has the number key"},
        {"{\"what\":\"numkey\"}", "JSON object keys are strings; this table has the number key 5"},
        {"{\"what\":\"utf8\"}", "not valid UTF-8"},
        {"{\"what\":\"cycle\"}", "nested too deeply"},
        {"{\"what\":\"function\"}", "code:10: cannot store a function in a JSON value"},
        {"{\"what\":\"objkey\"}", "code:11: JSON object keys are strings, not number"},
        {"{\"what\":\"badkey\"}", "object key that is not valid UTF-8"},
    };
    size_t n = sizeof cases / sizeof *cases;
    for (size_t i = 0; i < n; i++)
        mfh_push(h, NULL, cases[i].in);
    mfh_process(h);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 0);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), n);
    for (size_t i = 0; i < n; i++) {
        const char *why = mfh_header(h, "errors", i, MF_HEADER_ERROR);
        CU_ASSERT_TRUE(lt_contains(why, cases[i].reason));
        if (!lt_contains(why, cases[i].reason))
            fprintf(stderr, "\n  %s: got '%s'\n", cases[i].in, why);
    }
    mfh_close(h);
}

static void test_array_and_object_operations(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  local v = r.value\n"
                     "  local a = v.arr\n"
                     "  table.insert(a, 4); table.insert(a, 1, 0); table.remove(a, 2)\n"
                     "  a[#a + 1] = 5\n"
                     "  local sum = 0\n"
                     "  for _, x in ipairs(a) do sum = sum + x end\n"
                     "  local keys = {}\n"
                     "  for k in pairs(v.o) do keys[#keys + 1] = k end\n"
                     "  v.info = {sum = sum, len = #a, keys = table.concat(keys, ','), first = next(v.o),\n"
                     "            concat = table.concat(v.strs, '-')}\n"
                     "  v.errs = {}\n"
                     "  for i, f in ipairs({function() a[10] = 1 end, function() a[2] = nil end,\n"
                     "                      function() v.o[1] = 2 end}) do\n"
                     "    local ok, err = pcall(f)\n"
                     "    v.errs[i] = err:gsub('^code:%d+: ', '')\n"
                     "  end\n"
                     "  emit(r)\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"arr\":[1,2,3],\"o\":{\"b\":1,\"a\":2},\"strs\":[\"x\",\"y\"]}"};
    lt_run(h, in, 1);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(
        mfh_value(h, "default", 0),
        "{\"arr\":[0,2,3,4,5],\"o\":{\"b\":1,\"a\":2},\"strs\":[\"x\",\"y\"],"
        "\"info\":{\"concat\":\"x-y\",\"first\":\"b\",\"keys\":\"b,a\",\"len\":5,\"sum\":14},"
        "\"errs\":[\"JSON array index 10 out of range (1..6)\","
        "\"cannot remove element 2 of a JSON array of 5 with nil (use table.remove, or martflow.null for a JSON "
        "null)\",\"JSON object keys are strings, not number (use tostring(key))\"]}");
    mfh_close(h);
}

static void test_nested_writes_and_untouched_siblings(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  local u = r.value.UserData\n"
                     "  u.added = 'yes'\n"
                     "  r.value.x = 2\n"
                     "  emit(r)\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"keep\":{\"deep\":[1.0,-0.0,null,{},[]]},\"UserData\":{\"a\":1},\"x\":1,\"big\":1e300}"};
    lt_run(h, in, 1);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0),
                           "{\"keep\":{\"deep\":[1.0,-0.0,null,{},[]]},\"UserData\":{\"a\":1,\"added\":\"yes\"},"
                           "\"x\":2,\"big\":1.0000000000000001e300}");
    mfh_close(h);
}

static void test_json_helpers(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  local d = martflow.json_decode('{\"a\":[],\"b\":{},\"c\":[1,2.0,null]}')\n"
                     "  local bad, err = martflow.json_decode('{oops')\n"
                     "  emit({value = {enc = martflow.json_encode(d), bad = bad == nil, err = err ~= nil,\n"
                     "                 value = martflow.json_encode(r.value), nil_ = martflow.json_encode(nil),\n"
                     "                 t = type(d), is_arr = martflow.is_array(d.a)}})\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"x\":[{}]}"};
    lt_run(h, in, 1);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0),
                           "{\"bad\":true,\"enc\":\"{\\\"a\\\":[],\\\"b\\\":{},\\\"c\\\":[1,2.0,null]}\",\"err\":true,"
                           "\"is_arr\":true,\"nil_\":\"null\",\"t\":\"table\",\"value\":\"{\\\"x\\\":[{}]}\"}");
    mfh_close(h);
}

static void test_output_size_bound(void)
{
    /* 200 references to one 10 kB value cost the Lua state little, but would
     * make 2 MB of JSON: bounded by max_memory like the state itself */
    mfh *h = lt_open("function process(r, emit)\n"
                     "  local a = martflow.array()\n"
                     "  for i = 1, r.value.n do a[i] = r.value end\n"
                     "  emit({value = a})\n"
                     "end\n",
                     "max_memory: 1MiB\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    char *big = malloc(11000);
    int n = snprintf(big, 11000, "{\"n\":200,\"s\":\"");
    memset(big + n, 'x', 10000);
    strcpy(big + n + 10000, "\"}");
    char *small = strdup(big);
    memcpy(small, "{\"n\":2,  ", 9); /* same size, n = 2 */
    const char *in[] = {big, small};
    lt_run(h, in, 2);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 1);
    const char *why = "memory limit exceeded (max_memory 1048576 bytes) while encoding JSON";
    CU_ASSERT_TRUE(lt_contains(mfh_header(h, "errors", 0, MF_HEADER_ERROR), why));
    if (!lt_contains(mfh_header(h, "errors", 0, MF_HEADER_ERROR), why))
        fprintf(stderr, "\n  got '%s'\n", mfh_header(h, "errors", 0, MF_HEADER_ERROR));
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 1); /* the next record is fine */
    free(big);
    free(small);
    mfh_close(h);
}

/* ---- reads without a tree ------------------------------------------------------------ */

/* Emit the result of each check of the script as {name: true|false}, and
 * assert they all hold; returns the harness for more checks. */
static void all_true(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_TRUE(json_object_size(j) > 0);
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        CU_ASSERT_TRUE(json_is_true(v));
        if (!json_is_true(v))
            fprintf(stderr, "\n  check '%s' failed: %s\n", k, text);
    }
    json_decref(j);
}

/* Member reads of an unedited value (top level, nested, names with dots
 * and backslashes, absent ones) read the record's bytes: the forwarded
 * record leaves without a tree, byte for byte. */
static void test_reads_build_no_tree(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  local v = r.value\n"
                     "  local c = {\n"
                     "    str = v.s == 'x\"y', int = math.type(v.i) == 'integer' and v.i == -3,\n"
                     "    float = math.type(v.f) == 'float' and v.f == 100, bool = v.t == true and v.fa == false,\n"
                     "    null = v.n == martflow.null, absent = v.nothing == nil and v[1] == nil,\n"
                     "    nested = v.a.b == 1 and v.a.c.d == 'deep' and v.a.c.none == nil,\n"
                     "    dotted = v['a.b'] == 2 and v.a['x.y'] == 3, backslash = v['b\\\\s'] == 4,\n"
                     "    nul = v['s\\0'] == nil, scalar_step = v.s.x == nil,\n"
                     "    identity = v.a == v.a and v.a.c == v.a.c and v.arr == v.arr,\n"
                     "    kinds = martflow.is_array(v.arr) and not martflow.is_array(v.a) and type(v.a) == 'table',\n"
                     "  }\n"
                     "  emit(r)\n"
                     "  emit({value = c})\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"s\":\"x\\\"y\", \"i\":-3,\"f\":1e2,\"t\":true,\"fa\":false,\"n\":null,"
                        "\"a\":{\"b\":1,\"c\":{\"d\":\"deep\"},\"x.y\":3},\"a.b\":2,\"b\\\\s\":4,\"arr\":[1,{}]}"};
    lt_run(h, in, 1);
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 0);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 2);
    mf_record *fwd = mfh_record(h, "default", 0);
    CU_ASSERT_PTR_NULL(fwd->json); /* no tree was built */
    CU_ASSERT_EQUAL(fwd->value_len, strlen(in[0]));
    CU_ASSERT_EQUAL(memcmp(fwd->value, in[0], fwd->value_len), 0);
    all_true(mfh_value(h, "default", 1));
    mfh_close(h);
}

/* What needs a tree gets one, and sees what the lazy reads saw: the empty
 * name, array elements, iteration, length, tostring; an edit below lazy
 * reads keeps the order and the cached children. */
static void test_tree_when_needed(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  local v = r.value\n"
                     "  local a, c = v.a, v.a.c\n"
                     "  local keys = {}\n"
                     "  for k in pairs(v) do keys[#keys + 1] = k end\n"
                     "  local ck = {\n"
                     "    empty = v[''] == 'e', elem = v.arr[2].z == 1 and #v.arr == 2,\n"
                     "    order = table.concat(keys, ',') == ',a,arr,y',\n"
                     "    same = v.a == a and a.c == c and v.a.c == c,\n"
                     "    text = tostring(v.a) == '{\"c\":{\"d\":1},\"e\":2}',\n"
                     "  }\n"
                     "  c.d = 2\n"
                     "  v.z = 1\n"
                     "  emit(r)\n"
                     "  emit({value = ck})\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"\":\"e\",\"a\":{\"c\":{\"d\":1},\"e\":2},\"arr\":[0,{\"z\":1}],\"y\":3}"};
    lt_run(h, in, 1);
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 0);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 2);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0),
                           "{\"\":\"e\",\"a\":{\"c\":{\"d\":2},\"e\":2},\"arr\":[0,{\"z\":1}],\"y\":3,\"z\":1}");
    all_true(mfh_value(h, "default", 1));
    mfh_close(h);
}

/* A value kept past its call (and a part of it read lazily) is still read
 * in later calls, lazily or through a tree, as it was. */
static void test_kept_value_outlives_its_record(void)
{
    mfh *h = lt_open("local last, last_a, last_arr\n"
                     "function process(r, emit)\n"
                     "  if last then\n"
                     "    local keys = {}\n"
                     "    for k in pairs(last_a) do keys[#keys + 1] = k end\n"
                     "    emit({value = {\n"
                     "      id = last.id == 'first' and last.a.b == 1 and last_a.c.d == 'x',\n"
                     "      arr = last_arr[1] == 5 and #last.arr == 1,\n"
                     "      keys = table.concat(keys, ',') == 'b,c',\n"
                     "      text = tostring(last) == '{\"id\":\"first\",\"a\":{\"b\":1,\"c\":{\"d\":\"x\"}},\"arr\":[5]}',\n"
                     "      now = r.value.id == 'second',\n"
                     "    }})\n"
                     "  end\n"
                     "  last = r.value\n"
                     "  last_a, last_arr = last.a, last.arr\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *first[] = {"{\"id\":\"first\",\"a\":{\"b\":1,\"c\":{\"d\":\"x\"}},\"arr\":[5]}"};
    const char *second[] = {"{\"id\":\"second\"}"};
    lt_run(h, first, 1);
    lt_run(h, second, 1); /* the first batch is gone */
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 0);
    if (mfh_count(h, "errors"))
        fprintf(stderr, "\n  got '%s'\n", mfh_header(h, "errors", 0, MF_HEADER_ERROR));
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    all_true(mfh_value(h, "default", 0));
    mfh_close(h);
}

const mf_test lt_value_tests[] = {    {"untouched values are emitted byte for byte", test_untouched_is_byte_identical},
    {"reading everything is not touching", test_read_everything_is_byte_identical},
    {"values rebuilt through Lua keep types, order, nulls, empties", test_rebuilt_keeps_types},
    {"martflow.totable keeps types", test_totable_keeps_types},
    {"Lua sees integers, floats, null, empty arrays/objects", test_lua_sees_types},
    {"Lua-built values", test_lua_built_values},
    {"values with no JSON form reject the record", test_unencodable_values_reject},
    {"array and object operations on JSON values", test_array_and_object_operations},
    {"nested writes; untouched siblings keep their values", test_nested_writes_and_untouched_siblings},
    {"json_encode / json_decode", test_json_helpers},
    {"an emitted value is bounded by max_memory", test_output_size_bound},
    {"member reads of an unedited value build no tree", test_reads_build_no_tree},
    {"what needs a tree gets one, consistent with the reads", test_tree_when_needed},
    {"a value kept past its call is still read as it was", test_kept_value_outlives_its_record},
    {NULL, NULL},
};
