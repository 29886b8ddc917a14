/* The memory cap and the instruction budget cover what the plugin does for a
 * script outside the Lua heap: the encoders (json_encode, tostring of a
 * value, totable), the trees json_decode parses, and the output of a call
 * (emit). Each bomb rejects only its
 * record, with a reason naming the cap, and the memory really allocated
 * stays bounded: jansson's allocations (the trees, and before the fix the
 * text of json_dumps) are counted through its allocator hooks, and what is
 * still allocated once the record is handled must be back at the baseline
 * (no leak on the error paths; the ASan build checks the rest). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lua_test.h"

#define MiB (1024 * 1024)
#define CAP (4 * MiB)
#define CAP_YAML "max_memory: 4MiB\n"
#define CAP_MSG "memory limit exceeded (max_memory 4194304 bytes)"

/* ---- jansson's allocations, counted ------------------------------------------------------ */

static long long live, peak;

static void *count_malloc(size_t n)
{
    void *p = malloc(n);
    if (p) {
        live += (long long)malloc_usable_size(p);
        if (live > peak)
            peak = live;
    }
    return p;
}

static void count_free(void *p)
{
    if (p)
        live -= (long long)malloc_usable_size(p); /* blocks from before the hooks: below 0, harmless */
    free(p);
}

/* Start counting; returns the baseline. */
static long long count_start(void)
{
    json_set_alloc_funcs(count_malloc, count_free);
    peak = live;
    return live;
}

static void count_stop(void)
{
    json_set_alloc_funcs(malloc, free);
}

/* ---- helpers -------------------------------------------------------------------------------- */

/* {"s": "<n x's>", "n": 0} */
static char *big_record(size_t n)
{
    char *v = malloc(n + 32);
    int k = snprintf(v, n + 32, "{\"n\":0,\"s\":\"");
    memset(v + k, 'x', n);
    strcpy(v + k + n, "\"}");
    return v;
}

/* Run the bomb record and then a normal one through a node with the 4 MiB
 * cap; the bomb must be rejected with `reason`, jansson's peak stay under a
 * few caps, nothing stay allocated, and the next record pass. Returns how
 * much jansson's peak grew. */
static long long expect_bomb_rejected(const char *code, const char *bomb, const char *reason, const char *reason2)
{
    mfh *h = lt_open(code, CAP_YAML "max_instructions: 0\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    long long base = count_start();
    const char *in[] = {bomb, "{\"n\":1}"};
    lt_run(h, in, 2);
    long long grew = peak - base;
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 1);
    const char *why = mfh_header(h, "errors", 0, MF_HEADER_ERROR);
    CU_ASSERT_TRUE(lt_contains(why, reason));
    if (reason2)
        CU_ASSERT_TRUE(lt_contains(why, reason2));
    if (!lt_contains(why, reason) || (reason2 && !lt_contains(why, reason2)))
        fprintf(stderr, "\n  got '%s'\n", why);
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_lua_errors_total{kind=\"memory\"}"), 1);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"n\":1}");
    CU_ASSERT_TRUE(grew < 3 * CAP);
    if (grew >= 3 * CAP)
        fprintf(stderr, "\n  jansson peak grew by %lld bytes (cap %d)\n", grew, CAP);
    mfh_consume(h);
    /* nothing of the bomb is left: neither a tree nor a text */
    CU_ASSERT_TRUE(live - base < 256 * 1024);
    if (live - base >= 256 * 1024)
        fprintf(stderr, "\n  %lld bytes still allocated\n", live - base);
    /* the state is usable and its garbage collected */
    CU_ASSERT_TRUE(mfh_metric(h, "martflow_lua_memory_bytes") < CAP);
    count_stop();
    mfh_close(h);
    return grew;
}

/* One 1 MiB string referenced 300 times: little Lua memory, 300 MiB of
 * JSON. */
#define BOMB_TABLE "local s = string.rep('x', 1024 * 1024)\n" \
                   "local t = {}\n" \
                   "for i = 1, 300 do t[i] = s end\n"

static void test_json_encode_bomb(void)
{
    expect_bomb_rejected("function process(r, emit)\n"
                         "  if r.value.n == 0 then\n"
                         "    " BOMB_TABLE "    emit({value = {len = #martflow.json_encode(t)}})\n"
                         "  else emit(r) end\n"
                         "end\n",
                         "{\"n\":0}", CAP_MSG " while encoding JSON", "code:6:");
}

/* The same through a view: a record value written (materialized) holding the
 * string under 300 keys. */
static void test_tostring_view_bomb(void)
{
    expect_bomb_rejected("function process(r, emit)\n"
                         "  if r.value.n == 0 then\n"
                         "    local v, s = r.value, string.rep('x', 1024 * 1024)\n"
                         "    for i = 1, 300 do v['k' .. i] = s end\n"
                         "    emit({value = {len = #tostring(v)}})\n"
                         "  else emit(r) end\n"
                         "end\n",
                         "{\"n\":0}", CAP_MSG " while encoding JSON", NULL);
}

static void test_totable_bomb(void)
{
    expect_bomb_rejected("function process(r, emit)\n"
                         "  if r.value.n == 0 then\n"
                         "    local v, s = r.value, string.rep('x', 1024 * 1024)\n"
                         "    for i = 1, 300 do v['k' .. i] = s end\n"
                         "    emit({value = {len = #martflow.totable(v)}})\n"
                         "  else emit(r) end\n"
                         "end\n",
                         "{\"n\":0}", CAP_MSG " while encoding JSON", NULL);
}

/* A failed encode caught by pcall leaves nothing behind, however often. */
static void test_caught_encode_bombs(void)
{
    expect_bomb_rejected("function process(r, emit)\n"
                         "  if r.value.n == 0 then\n"
                         "    " BOMB_TABLE "    for i = 1, 50 do assert(not pcall(martflow.json_encode, t)) end\n"
                         "    local v = r.value\n"
                         "    for i = 1, 300 do v['k' .. i] = s end\n"
                         "    for i = 1, 50 do assert(not pcall(tostring, v)) end\n"
                         "    local ok, err = pcall(martflow.totable, t)\n"
                         "    error(err, 0)\n"
                         "  else emit(r) end\n"
                         "end\n",
                         "{\"n\":0}", CAP_MSG " while encoding JSON", NULL);
}

/* emit of an edited 1 MiB record, again and again in one call: the output
 * waiting in the outbox counts. */
static void test_repeated_emit_of_edited_record(void)
{
    char *bomb = big_record(MiB);
    bomb[5] = '0'; /* {"n":0,...}: the bomb */
    expect_bomb_rejected("function process(r, emit)\n"
                         "  if r.value.n == 0 then\n"
                         "    for i = 1, 300 do r.value.n = i; emit(r) end\n"
                         "  else emit(r) end\n"
                         "end\n",
                         bomb, CAP_MSG, "the output of this call holds");
    free(bomb);
}

/* The same with raw bytes and keys, which are copied into the outbox. */
static void test_repeated_emit_of_raw_bytes(void)
{
    expect_bomb_rejected("function process(r, emit)\n"
                         "  if r.value.n == 0 then\n"
                         "    local s = string.rep('x', 1024 * 1024)\n"
                         "    for i = 1, 300 do emit({raw = s, key = s}) end\n"
                         "  else emit(r) end\n"
                         "end\n",
                         "{\"n\":0}", CAP_MSG " by the output of this call", "the output of this call holds");
}

/* Output under the cap is emitted whole: the cap is per call, released once
 * the call returns. */
static void test_output_under_cap_passes(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  for i = 1, 2 do r.value.n = i; emit(r) end\n"
                     "end\n",
                     CAP_YAML);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    char *rec = big_record(MiB);
    for (int i = 0; i < 5; i++)
        mfh_push(h, NULL, rec);
    mfh_process(h);
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 0);
    if (mfh_count(h, "errors"))
        fprintf(stderr, "\n  got '%s'\n", mfh_header(h, "errors", 0, MF_HEADER_ERROR));
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 10);
    free(rec);
    mfh_close(h);
}

/* Encoding work spends the instruction budget: a DAG of 2^16 leaves is few
 * Lua instructions to build but 131,071 nodes to encode. */
static void test_encode_spends_budget(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  if r.value.n == 0 then\n"
                     "    local t = {1}\n"
                     "    for i = 1, 16 do t = {t, t} end\n"
                     "    emit({value = {len = #martflow.json_encode(t)}})\n"
                     "  else emit(r) end\n"
                     "end\n",
                     "max_instructions: 10000\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"n\":0}", "{\"n\":1}"};
    lt_run(h, in, 2);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 1);
    const char *why = mfh_header(h, "errors", 0, MF_HEADER_ERROR);
    CU_ASSERT_TRUE(lt_contains(why, "instruction budget exceeded (10000 instructions) while encoding JSON"));
    if (!lt_contains(why, "instruction budget exceeded"))
        fprintf(stderr, "\n  got '%s'\n", why);
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_lua_errors_total{kind=\"instructions\"}"), 1);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 1);
    mfh_close(h);

    /* the same value within a budget that covers it is encoded */
    h = lt_open("function process(r, emit)\n"
                "  local t = {1}\n"
                "  for i = 1, 8 do t = {t, t} end\n"
                "  emit({value = {len = #martflow.json_encode(t)}})\n"
                "end\n",
                "max_instructions: 10000\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    lt_run(h, in, 1);
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 0);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"len\":1533}");
    mfh_close(h);
}

/* A snapshot of a state table is encoded under the cap too. */
static void test_snapshot_under_cap(void)
{
    mfh *h = lt_open("acc = {}\n"
                     "function process(r, emit)\n"
                     "  local s = string.rep('x', 1024 * 1024)\n"
                     "  for i = 1, 300 do acc[i] = s end\n"
                     "end\n",
                     CAP_YAML "state: acc\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{}"};
    lt_run(h, in, 1);
    long long base = count_start();
    mf_buffer out = {0};
    CU_ASSERT_EQUAL(mfh_snapshot(h, 1, &out), MF_FATAL);
    CU_ASSERT_TRUE(lt_contains(mfh_log(h), CAP_MSG " while encoding JSON"));
    CU_ASSERT_TRUE(peak - base < 3 * CAP);
    CU_ASSERT_TRUE(live - base < 256 * 1024);
    count_stop();
    free(out.data);
    mfh_close(h);
}

/* ---- json_decode ------------------------------------------------------------------------ */

/* A JSON text of about 1 MiB: 1040 strings of 1000 bytes, and a 0. */
#define MIB_TEXT "local text = '[' .. string.rep('\"' .. string.rep('x', 1000) .. '\",', 1040) .. '0]'\n"

/* Every decoded tree is kept: the third does not fit. */
static void test_json_decode_bomb(void)
{
    expect_bomb_rejected("function process(r, emit)\n"
                         "  if r.value.n == 0 then\n"
                         "    " MIB_TEXT "    local keep = {}\n"
                         "    for i = 1, 3000 do keep[i] = martflow.json_decode(text) end\n"
                         "    emit({value = {n = #keep}})\n"
                         "  else emit(r) end\n"
                         "end\n",
                         "{\"n\":0}", CAP_MSG " while decoding JSON", "code:5:");
}

/* A text whose tree could not fit is refused before jansson allocates. */
static void test_json_decode_refused_before_parsing(void)
{
    long long grew = expect_bomb_rejected("function process(r, emit)\n"
                                          "  if r.value.n == 0 then\n"
                                          "    martflow.json_decode('[' .. string.rep('{},', 300000) .. '{}]')\n"
                                          "  else emit(r) end\n"
                                          "end\n",
                                          "{\"n\":0}", CAP_MSG " while decoding JSON", NULL);
    CU_ASSERT_TRUE(grew < 64 * 1024);
    if (grew >= 64 * 1024)
        fprintf(stderr, "\n  jansson allocated %lld bytes for a refused decode\n", grew);
}

/* Run one record {"n": n}; the script emits the Lua heap it counts after a
 * full collection. Returns the bytes held outside the Lua heap (the gauge,
 * which is the Lua heap plus the held bytes, minus that), or -1. */
static long long held_after(mfh *h, int n)
{
    char rec[32];
    snprintf(rec, sizeof rec, "{\"n\":%d}", n);
    const char *in[] = {rec};
    lt_run(h, in, 1);
    if (mfh_count(h, "errors") || mfh_count(h, "default") != 1) {
        if (mfh_count(h, "errors"))
            fprintf(stderr, "\n  record %d: '%s'\n", n, mfh_header(h, "errors", 0, MF_HEADER_ERROR));
        mfh_consume(h);
        return -1;
    }
    const char *v = mfh_value(h, "default", 0);
    const char *at = strstr(v, "\"lua\":");
    long long lua = at ? strtoll(at + 6, NULL, 10) : 0;
    long long held = (long long)mfh_metric(h, "martflow_lua_memory_bytes") - lua;
    mfh_consume(h);
    return held;
}

/* The script's Lua heap, counted after a full collection, last. */
#define EMIT_LUA_HEAP "  local out = {value = {lua = 0}}\n" \
                      "  collectgarbage(); collectgarbage()\n" \
                      "  out.value.lua = math.tointeger(collectgarbage('count') * 1024)\n" \
                      "  emit(out)\n"

/* Decoded trees are held while a proxy of them lives, released once the
 * last one is collected: dropping them in a loop never fills the cap. */
static void test_json_decode_released_when_collected(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  local n = r.value.n\n"
                     "  " MIB_TEXT "  if n == 1 then\n"
                     "    for i = 1, 200 do local v = martflow.json_decode(text); assert(v[1041] == 0) end\n"
                     "  elseif n == 2 then\n"
                     "    kept = martflow.json_decode('{\"a\":' .. text .. '}').a\n"
                     "  elseif n == 3 then\n"
                     "    kept = nil\n"
                     "    local d = martflow.json_decode('{\"a\":' .. text .. ', \"b\":1}')\n"
                     "    d.b = 2; kept = d\n"
                     "  elseif n == 4 then\n"
                     "    kept = nil\n"
                     "  end\n"
                     "  text = nil\n" EMIT_LUA_HEAP "end\n",
                     CAP_YAML);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    long long base = count_start();
    long long held0 = held_after(h, 0);
    long long held1 = held_after(h, 1); /* 200 decodes, dropped */
    long long live1 = live;
    long long held2 = held_after(h, 2); /* a child of a decoded tree kept */
    long long held3 = held_after(h, 3); /* a materialized decoded value kept: its child holds the tree */
    long long held4 = held_after(h, 4); /* dropped */
    long long live4 = live;
    count_stop();
    CU_ASSERT_TRUE(held0 >= 0 && held1 >= 0 && held2 >= 0 && held3 >= 0 && held4 >= 0);
    CU_ASSERT_TRUE(llabs(held1 - held0) < 16 * 1024);
    CU_ASSERT_TRUE(held2 - held0 > MiB);
    CU_ASSERT_TRUE(held3 - held0 > MiB);
    CU_ASSERT_TRUE(llabs(held4 - held0) < 16 * 1024);
    CU_ASSERT_TRUE(live1 - base < 256 * 1024);
    CU_ASSERT_TRUE(live4 - base < 256 * 1024);
    if (llabs(held1 - held0) >= 16 * 1024 || held2 - held0 <= MiB || held3 - held0 <= MiB ||
        llabs(held4 - held0) >= 16 * 1024)
        fprintf(stderr, "\n  held: %lld %lld %lld %lld %lld\n", held0, held1, held2, held3, held4);
    mfh_close(h);
}

/* The bytes held for a decoded tree bound what jansson really allocated for
 * it, and not by much: shapes from containers to long strings and keys. */
static void test_json_decode_cost_bounds_jansson(void)
{
    static const char *const names[] = {
        "", "empty objects", "empty arrays", "integers", "reals", "literals",
        "short strings", "members", "a long string", "a long key", "nesting",
    };
    mfh *h = lt_open("local big = string.rep('x', 1024 * 1024)\n"
                     "local keys = {}\n"
                     "for i = 1, 20000 do keys[i] = '\"k' .. i .. '\":1' end\n"
                     "local shapes = {\n"
                     "  '[' .. string.rep('{},', 20000) .. '{}]',\n"
                     "  '[' .. string.rep('[],', 20000) .. '[]]',\n"
                     "  '[' .. string.rep('12,', 20000) .. '12]',\n"
                     "  '[' .. string.rep('1.5,', 20000) .. '1.5]',\n"
                     "  '[' .. string.rep('null,', 20000) .. 'true]',\n"
                     "  '[' .. string.rep('\"ab\",', 20000) .. '\"ab\"]',\n"
                     "  '{' .. table.concat(keys, ',') .. '}',\n"
                     "  '[\"' .. big .. '\"]',\n"
                     "  '{\"' .. big .. '\":1}',\n"
                     "  string.rep('[', 2000) .. string.rep(']', 2000),\n"
                     "}\n"
                     "function process(r, emit)\n"
                     "  kept = nil\n"
                     "  if r.value.n > 0 then kept = assert(martflow.json_decode(shapes[r.value.n])) end\n"
                     EMIT_LUA_HEAP "end\n",
                     "max_memory: 32MiB\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    count_start();
    long long held0 = held_after(h, 0);
    long long live0 = live;
    CU_ASSERT_TRUE_FATAL(held0 >= 0);
    for (int n = 1; n <= 10; n++) {
        /* the call drops the previous shape: what jansson has live now is this one */
        long long est = held_after(h, n) - held0, real = live - live0;
        CU_ASSERT_TRUE(real > 0 && real <= est && est <= 3 * real + 64 * 1024);
        if (!(real > 0 && real <= est && est <= 3 * real + 64 * 1024))
            fprintf(stderr, "\n  %s: jansson holds %lld bytes, the cap counts %lld\n", names[n], real, est);
    }
    count_stop();
    mfh_close(h);
}

/* Parsing spends the instruction budget: 100,001 numbers in one call of a C
 * function. */
static void test_json_decode_spends_budget(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  local n = r.value.n\n"
                     "  local v = martflow.json_decode('[' .. string.rep('1,', n) .. '1]')\n"
                     "  emit({value = {len = #v}})\n"
                     "end\n",
                     "max_instructions: 10000\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"n\":100000}", "{\"n\":1000}"};
    lt_run(h, in, 2);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 1);
    const char *why = mfh_header(h, "errors", 0, MF_HEADER_ERROR);
    CU_ASSERT_TRUE(lt_contains(why, "instruction budget exceeded (10000 instructions) while decoding JSON"));
    if (!lt_contains(why, "while decoding JSON"))
        fprintf(stderr, "\n  got '%s'\n", why);
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_lua_errors_total{kind=\"instructions\"}"), 1);
    /* within the budget: decoded */
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"len\":1001}");
    mfh_close(h);
}

/* Reading members of a record's value (top level and nested) builds no
 * tree: jansson allocates nothing at all, so nothing escapes the cap. */
static void test_view_reads_allocate_nothing(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  local v = r.value\n"
                     "  if v.id == 'a' and v.n == 1 and v.ok and v.u.case == 7 and v.u.x.y == nil then emit(r) end\n"
                     "end\n",
                     CAP_YAML);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    char *big = big_record(MiB); /* {"n":0,"s":"xxx..."}: read past, never copied into a tree */
    const char *in[] = {"{\"id\":\"a\",\"n\":1,\"ok\":true,\"u\":{\"case\":7,\"x\":{}}}", big};
    long long base = count_start();
    lt_run(h, in, 2);
    long long grew = peak - base;
    count_stop();
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 0);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 1);
    CU_ASSERT_EQUAL(grew, 0);
    if (grew)
        fprintf(stderr, "\n  jansson allocated %lld bytes\n", grew);
    free(big);
    mfh_close(h);
}

const mf_test lt_caps_tests[] = {    {"json_encode of a huge value stops at the cap", test_json_encode_bomb},
    {"tostring of a huge view stops at the cap", test_tostring_view_bomb},
    {"totable of a huge view stops at the cap", test_totable_bomb},
    {"caught encode failures leave nothing behind", test_caught_encode_bombs},
    {"repeated emit of an edited 1 MiB record stops at the cap", test_repeated_emit_of_edited_record},
    {"repeated emit of raw bytes stops at the cap", test_repeated_emit_of_raw_bytes},
    {"output under the cap is emitted; the cap is per call", test_output_under_cap_passes},
    {"encoding spends the instruction budget", test_encode_spends_budget},
    {"a snapshot is encoded under the cap", test_snapshot_under_cap},
    {"json_decode of a kept 1 MiB text, 3000 times, stops at the cap", test_json_decode_bomb},
    {"json_decode refuses a tree that cannot fit before parsing", test_json_decode_refused_before_parsing},
    {"decoded trees are held while referenced, released when collected", test_json_decode_released_when_collected},
    {"the bytes held for a decoded tree bound jansson's", test_json_decode_cost_bounds_jansson},
    {"decoding spends the instruction budget", test_json_decode_spends_budget},
    {"member reads of a record value allocate no tree", test_view_reads_allocate_nothing},
    {NULL, NULL},
};
