/* The sandbox: forbidden libraries and functions are refused, `allow` opens
 * exactly what it names, the instruction budget stops endless loops and the
 * memory cap stops memory bombs — each rejecting only the record at fault,
 * with the next record processed normally. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lua_test.h"

/* Each record names an action; the script runs it unprotected, so a refused
 * action rejects the record with the reason. */
static const char *actions =
    "local actions = {\n"
    "  io = function() return io.open('/etc/passwd') end,\n"
    "  os = function() return os.execute('true') end,\n"
    "  os_time = function() return os.time() end,\n"
    "  debug = function() return debug.getinfo(1) end,\n"
    "  package = function() return package.loadlib('libc.so.6', 'system') end,\n"
    "  require_c = function() return require('socket.core') end,\n"
    "  dofile = function() return dofile('/etc/passwd') end,\n"
    "  loadfile = function() return loadfile('/etc/passwd') end,\n"
    "  load_binary = function() return load('\\27Lua\\84\\0', 'x', 'b') end,\n"
    "  load_bytecode = function() local f, e = load('\\27LuaT\\0'); assert(f, e) end,\n"
    "  string_dump = function() return string.dump(function() end) end,\n"
    "  method_dump = function() return ('x').dump(print) end,\n"
    "  gc_stop = function() return collectgarbage('stop') end,\n"
    "  gc_generational = function() return collectgarbage('generational') end,\n"
    "  gc_finalizer = function() return setmetatable({}, {__gc = function() while true do end end}) end,\n"
    "  load_text = function() return load('return 1 + 1')() end,\n"
    "  gc_count = function() return collectgarbage('count') > 0 end,\n"
    "  setmetatable = function() return setmetatable({}, {__index = {x = 1}}).x end,\n"
    "  xpcall = function() return select(2, xpcall(function() error('x', 0) end, function(e) return 'handled ' .. e end)) end,\n"
    "}\n"
    "function process(r, emit)\n"
    "  local result = actions[r.value.action]()\n"
    "  emit({value = {action = r.value.action, result = tostring(result)}})\n"
    "end\n";

static const struct {
    const char *action, *reason; /* reason NULL: allowed */
} refused[] = {
    {"io", "attempt to index a nil value (global 'io')"},
    {"os", "attempt to index a nil value (global 'os')"},
    {"os_time", "attempt to index a nil value (global 'os')"},
    {"debug", "attempt to index a nil value (global 'debug')"},
    {"package", "attempt to index a nil value (global 'package')"},
    {"require_c", "module 'socket.core' not found (Lua files on lua_path only)"},
    {"dofile", "attempt to call a nil value (global 'dofile')"},
    {"loadfile", "attempt to call a nil value (global 'loadfile')"},
    {"load_binary", "load: only text chunks may be loaded (mode \"t\"), not mode \"b\""},
    {"load_bytecode", "attempt to load a binary chunk (mode is 't')"},
    {"string_dump", "attempt to call a nil value (field 'dump')"},
    {"method_dump", "attempt to call a nil value (field 'dump')"},
    {"gc_stop", "collectgarbage(\"stop\") is not allowed in the sandbox"},
    {"gc_generational", "collectgarbage(\"generational\") is not allowed in the sandbox"},
    {"gc_finalizer", "__gc finalizers are not allowed in the sandbox"},
    {"load_text", NULL},
    {"gc_count", NULL},
    {"setmetatable", NULL},
    {"xpcall", NULL},
};

static void test_forbidden_refused(void)
{
    mfh *h = lt_open(actions, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    size_t n = sizeof refused / sizeof *refused;
    size_t n_refused = 0;
    for (size_t i = 0; i < n; i++) {
        char v[128];
        snprintf(v, sizeof v, "{\"action\":\"%s\"}", refused[i].action);
        mfh_push(h, NULL, v);
        n_refused += refused[i].reason != NULL;
    }
    mfh_process(h);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), n - n_refused);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), n_refused);
    size_t e = 0;
    for (size_t i = 0; i < n; i++) {
        if (!refused[i].reason)
            continue;
        const char *why = mfh_header(h, "errors", e, MF_HEADER_ERROR);
        CU_ASSERT_TRUE(lt_contains(mfh_value(h, "errors", e), refused[i].action));
        CU_ASSERT_TRUE(lt_contains(why, refused[i].reason));
        if (!lt_contains(why, refused[i].reason))
            fprintf(stderr, "\n  %s: got '%s'\n", refused[i].action, why);
        e++;
    }
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"action\":\"load_text\",\"result\":\"2\"}");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 3), "{\"action\":\"xpcall\",\"result\":\"handled x\"}");
    mfh_close(h);
}

static void test_allow_opens_what_it_names(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  emit({value = {time = math.type(os.time()), date = type(os.date),\n"
                     "                 execute = type(os.execute), io = type(io), traceback = type(debug.traceback),\n"
                     "                 getinfo = type(debug.getinfo), dump = type(string.dump)}})\n"
                     "end\n",
                     "allow: [os.time, os.date, debug.traceback, string.dump]\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{}"};
    lt_run(h, in, 1);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0),
                           "{\"date\":\"function\",\"dump\":\"function\",\"execute\":\"nil\",\"getinfo\":\"nil\","
                           "\"io\":\"nil\",\"time\":\"integer\",\"traceback\":\"function\"}");
    mfh_close(h);

    h = lt_open("function process(r, emit) emit({value = {io = type(io.write), os = type(os.remove)}}) end\n",
                "allow: [io, os]\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    lt_run(h, in, 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"io\":\"function\",\"os\":\"function\"}");
    mfh_close(h);

    int st;
    h = lt_open_status("function process(r, emit) end\n", "allow: [os.tme]\n", &st);
    CU_ASSERT_EQUAL(st, MF_FATAL);
    CU_ASSERT_TRUE(lt_contains(lt_error(), "allow: unknown function 'os.tme'"));
    mfh_close(h);
    h = lt_open_status("function process(r, emit) end\n", "allow: [package.loadlib]\n", &st);
    CU_ASSERT_EQUAL(st, MF_FATAL);
    CU_ASSERT_TRUE(lt_contains(lt_error(), "C modules are never loadable"));
    mfh_close(h);
    h = lt_open_status("function process(r, emit) end\n", "allow: [sockets]\n", &st);
    CU_ASSERT_EQUAL(st, MF_FATAL);
    CU_ASSERT_TRUE(lt_contains(lt_error(), "allow: unknown library or function 'sockets'"));
    mfh_close(h);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Each kind of endless loop is stopped; the next record is processed. */
static void test_instruction_budget(void)
{
    mfh *h = lt_open("n = 0\n"
                     "function process(r, emit)\n"
                     "  local w = r.value.loop\n"
                     "  if w == 'plain' then while true do end\n"
                     "  elseif w == 'pcall' then while true do pcall(function() while true do end end) end\n"
                     "  elseif w == 'coroutine' then\n"
                     "    while true do coroutine.resume(coroutine.create(function() while true do end end)) end\n"
                     "  elseif w == 'xpcall' then\n"
                     "    while true do xpcall(function() while true do end end, function(e) while true do end end) end\n"
                     "  elseif w == 'recursion' then local function f() return f() end f()\n"
                     "  end\n"
                     "  n = n + 1\n"
                     "  emit({value = {n = n}})\n"
                     "end\n",
                     "max_instructions: 100000\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"loop\":\"plain\"}",  "{}", "{\"loop\":\"pcall\"}",     "{}",
                        "{\"loop\":\"coroutine\"}", "{}", "{\"loop\":\"xpcall\"}", "{}",
                        "{\"loop\":\"recursion\"}", "{}"};
    double t0 = now_s();
    lt_run(h, in, 10);
    double took = now_s() - t0;
    CU_ASSERT_TRUE(took < 10.0); /* stopped, not hanging (100k instructions each) */
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 5);
    for (size_t i = 0; i < 5; i++) {
        const char *why = mfh_header(h, "errors", i, MF_HEADER_ERROR);
        CU_ASSERT_TRUE(lt_contains(why, "instruction budget exceeded (100000 instructions)"));
        if (!lt_contains(why, "instruction budget exceeded"))
            fprintf(stderr, "\n  loop %zu: got '%s'\n", i, why);
        CU_ASSERT_TRUE(lt_contains(why, "code:")); /* where it was stopped */
    }
    /* each following record ran normally, and the state kept its globals */
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 5);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"n\":1}");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 4), "{\"n\":5}");
    mfh_close(h);
}

static void test_budget_is_per_record(void)
{
    /* 1000 records of ~2000 instructions each in one batch: fine with a
     * budget of 10000 per record, although the batch needs 2M in total */
    mfh *h = lt_open("function process_batch(records, emit)\n"
                     "  for i = 1, #records do\n"
                     "    local s = 0\n"
                     "    for j = 1, 500 do s = s + j end\n"
                     "    emit(records[i])\n"
                     "  end\n"
                     "end\n",
                     "max_instructions: 10000\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    for (int i = 0; i < 1000; i++)
        mfh_push(h, NULL, "{}");
    mfh_process(h);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 1000);
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 0);
    mfh_close(h);
}

static void test_memory_cap(void)
{
    mfh *h = lt_open("kept = {}\n"
                     "function process(r, emit)\n"
                     "  local w = r.value.bomb\n"
                     "  if w == 'table' then local t = {} while true do t[#t + 1] = string.rep('x', 1000) .. #t end\n"
                     "  elseif w == 'string' then local s = string.rep('x', 1e9)\n"
                     "  elseif w == 'concat' then local s = 'x' while true do s = s .. s end\n"
                     "  elseif w == 'caught' then\n"
                     "    local ok = pcall(function() local t = {} while true do t[#t + 1] = {} end end)\n"
                     "    local t = {} while true do t[#t + 1] = string.rep('y', 100) .. #t end\n"
                     "  end\n"
                     "  kept[#kept + 1] = #kept\n"
                     "  emit({value = {n = #kept}})\n"
                     "end\n",
                     "max_memory: 4MiB\nmax_instructions: 0\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"bomb\":\"table\"}", "{}", "{\"bomb\":\"string\"}", "{}",
                        "{\"bomb\":\"concat\"}", "{}", "{\"bomb\":\"caught\"}", "{}"};
    lt_run(h, in, 8);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 4);
    for (size_t i = 0; i < 4; i++) {
        const char *why = mfh_header(h, "errors", i, MF_HEADER_ERROR);
        CU_ASSERT_TRUE(lt_contains(why, "memory limit exceeded (max_memory 4194304 bytes)"));
        if (!lt_contains(why, "memory limit exceeded"))
            fprintf(stderr, "\n  bomb %zu: got '%s'\n", i, why);
    }
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 4);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 3), "{\"n\":4}");
    /* the garbage of the bombs is collected: the state is far below the cap */
    CU_ASSERT_TRUE(mfh_metric(h, "martflow_lua_memory_bytes") < 1024 * 1024);
    CU_ASSERT_TRUE(mfh_metric(h, "martflow_lua_memory_bytes") > 0);
    mfh_close(h);
}

static void test_memory_cap_in_batch(void)
{
    mfh *h = lt_open("function process_batch(records, emit)\n"
                     "  for i = 1, #records do\n"
                     "    if records[i].value.bomb then local s = string.rep('x', 1e9) end\n"
                     "    emit(records[i])\n"
                     "  end\n"
                     "end\n",
                     "max_memory: 4MiB\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"i\":1}", "{\"i\":2,\"bomb\":true}", "{\"i\":3}"};
    lt_run(h, in, 3);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "errors", 0), "{\"i\":2,\"bomb\":true}");
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 2);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"i\":1}");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 1), "{\"i\":3}");
    mfh_close(h);
}

static void test_budget_in_main_chunk_and_init(void)
{
    int st;
    mfh *h = lt_open_status("while true do end\nfunction process(r, emit) end\n", "max_instructions: 1000\n", &st);
    CU_ASSERT_EQUAL(st, MF_FATAL);
    CU_ASSERT_TRUE(lt_contains(lt_error(), "instruction budget exceeded"));
    mfh_close(h);
    h = lt_open_status("function init() local t = {} while true do t[#t + 1] = {} end end\n"
                       "function process(r, emit) end\n",
                       "max_memory: 1MiB\n", &st);
    CU_ASSERT_EQUAL(st, MF_FATAL);
    CU_ASSERT_TRUE(lt_contains(lt_error(), "memory limit exceeded"));
    mfh_close(h);
}

const mf_test lt_sandbox_tests[] = {
    {"forbidden libraries and functions are refused", test_forbidden_refused},
    {"allow opens exactly what it names", test_allow_opens_what_it_names},
    {"endless loops stop at the instruction budget", test_instruction_budget},
    {"the budget is per record in process_batch", test_budget_is_per_record},
    {"memory bombs stop at the cap", test_memory_cap},
    {"a memory bomb in a batch rejects only its record", test_memory_cap_in_batch},
    {"budget and cap apply to the main chunk and init", test_budget_in_main_chunk_and_init},
    {NULL, NULL},
};
