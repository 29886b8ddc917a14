/*
 * transform lua — records through a Lua 5.4 script (API version 1).
 *
 *   process(record, emit)         once per record
 *   process_batch(records, emit)  once per batch (fewer C<->Lua crossings)
 *   init(params), shutdown(emit), timer(emit)
 *
 * emit(record [, port]) queues output; drop = emit nothing, split = emit
 * several, route = emit to a port declared with `ports:`. What a call queued
 * reaches the engine only when the call returns without error; a Lua error,
 * an exhausted instruction budget or the memory cap rejects the record being
 * processed (errors port, reason in mf.error) and the state stays usable. In
 * a batch call the error cannot be pinned on one record, so the batch is run
 * again one record per call and only the failing records are rejected.
 *
 * One lua_State per instance (worker): no lock. This file: options, the
 * plugin callbacks and the calls into Lua. The sandbox, the JSON bridge,
 * records/emit and the outbox live in their own modules (see lua_env.h).
 */
#include <libgen.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lua_env.h"
#include "lua_value.h"

#define API_VERSION 1
#define SETUP_BUDGET_FACTOR 100 /* main chunk, init, timer, shutdown */
#define MIN_MEMORY (256u * 1024u)

struct ctx {
    /* options */
    int64_t api;
    const char *script;
    const char *code;
    const char *fn_process, *fn_batch, *fn_init, *fn_shutdown, *fn_timer;
    int64_t timer_ms;
    const json_t *params;
    const char *state;
    mf_strlist allow;
    mf_strlist lua_path;
    int64_t max_instructions;
    uint64_t max_memory;

    /* state */
    lp_env env;
    bool open;
    int ref_process, ref_batch, ref_shutdown, ref_timer;
    char *script_dir;
    const char *dir_item[1];
    mf_metric *m_runtime, *m_instructions, *m_memory, *m_mem_bytes, *m_cpu;
    uint64_t records, cpu_ns; /* for the summary at the end */
    char err[2048];
};

static const mf_option options[] = {
    MF_OPTION(MF_OPT_INT, "api", NULL, MF_OPT_REQUIRED, struct ctx, api,
              "Script API version the script is written for (only 1 exists)"),
    MF_OPTION(MF_OPT_STRING, "script", "", 0, struct ctx, script, "Path of the Lua script (or give code)"),
    MF_OPTION(MF_OPT_STRING, "code", "", 0, struct ctx, code, "Inline Lua source (or give script)"),
    MF_OPTION(MF_OPT_STRING, "process", "process", 0, struct ctx, fn_process,
              "Global function called as process(record, emit) for each record"),
    MF_OPTION(MF_OPT_STRING, "process_batch", "process_batch", 0, struct ctx, fn_batch,
              "Global function called as process_batch(records, emit) per batch; preferred when defined"),
    MF_OPTION(MF_OPT_STRING, "init", "init", 0, struct ctx, fn_init, "Global function called once as init(params)"),
    MF_OPTION(MF_OPT_STRING, "shutdown", "shutdown", 0, struct ctx, fn_shutdown,
              "Global function called as shutdown(emit) at the end of input"),
    MF_OPTION(MF_OPT_STRING, "timer", "timer", 0, struct ctx, fn_timer,
              "Global function called as timer(emit) every timer_interval"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "timer_interval", "0", 0, struct ctx, timer_ms, 0, 864e5,
                    "How often timer(emit) runs (0: never)"),
    MF_OPTION(MF_OPT_JSON, "params", NULL, 0, struct ctx, params, "Any value, given to init(params) as Lua tables"),
    MF_OPTION(MF_OPT_STRING, "state", "", 0, struct ctx, state,
              "Name of a global table saved by snapshot and loaded by restore (as JSON)"),
    MF_OPTION(MF_OPT_LIST, "allow", NULL, 0, struct ctx, allow,
              "Functions or libraries to open beyond the sandbox: os.time, os.date, os, io, debug.traceback, ..."),
    MF_OPTION(MF_OPT_LIST, "lua_path", NULL, 0, struct ctx, lua_path,
              "Directories require() loads Lua modules from (default: the script's directory)"),
    MF_OPTION_RANGE(MF_OPT_INT, "max_instructions", "1000000", 0, struct ctx, max_instructions, 0, 1e15,
                    "Lua instructions per record (0: no limit); exceeding them rejects the record"),
    MF_OPTION_RANGE(MF_OPT_SIZE, "max_memory", "64MiB", 0, struct ctx, max_memory, 0, 1e13,
                    "Memory cap of the Lua state and of what the plugin allocates for the script (0: none); "
                    "exceeding it rejects the record"),
    MF_OPTION_END,
};

/* ---- calls ------------------------------------------------------------------------------ */

mf_ack *lp_env_new_record_ack(lua_State *L, lp_env *env)
{
    switch (env->call) {
    case LP_CALL_RECORD:
        return env->input->ack;
    case LP_CALL_BATCH:
        if (!env->group) {
            env->group = env->host->ack_group_new(env->node);
            for (size_t i = 0; i < env->n_inputs; i++)
                env->host->ack_group_add(env->node, env->group, &env->inputs[i]);
        }
        return env->group;
    case LP_CALL_GROUP:
        if (!env->group)
            env->group = env->host->ack_group_new(env->node);
        return env->group;
    case LP_CALL_NONE:
    default:
        luaL_error(L, "emit: records can be emitted only from process, process_batch, timer and shutdown");
        return NULL;
    }
}

static int64_t budget(const struct ctx *c, int64_t factor)
{
    if (c->max_instructions <= 0)
        return 0;
    if (c->max_instructions > INT64_MAX / (factor > 0 ? factor : 1))
        return INT64_MAX;
    return c->max_instructions * factor;
}

static void count_error(struct ctx *c, lsb_error e)
{
    mf_metric *m = e == LSB_ERR_INSTRUCTIONS ? c->m_instructions : e == LSB_ERR_MEMORY ? c->m_memory : c->m_runtime;
    c->env.host->metric_add(m, 1);
}

/* After a call: hand over or throw away what it queued, release its group,
 * and expire the call's record objects. */
static int finish(struct ctx *c, lsb_error e)
{
    lp_env *env = &c->env;
    int st = MF_OK;
    env->call = LP_CALL_NONE;
    env->generation++;
    if (e == LSB_OK)
        st = lpo_flush(&env->out, env->node, env->host);
    else
        lpo_discard(&env->out);
    lsb_release_call(&env->sb); /* the output is the engine's now, or gone */
    if (env->group) {
        env->host->ack_release(env->node, env->group);
        env->group = NULL;
    }
    env->input = NULL;
    env->inputs = NULL;
    env->n_inputs = 0;
    return st;
}

/* The calls run inside these trampolines (under lsb_pcall), so that building
 * the arguments is protected too: at the memory cap, creating a record object
 * fails like anything else, with a Lua error. */
static int call_process(lua_State *L)
{
    struct ctx *c = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref_process);
    lr_push(L, &c->env, c->env.input);
    lr_push_emit(L);
    lua_call(L, 2, 0);
    return 0;
}

static int call_batch(lua_State *L)
{
    struct ctx *c = lua_touserdata(L, 1);
    lp_env *env = &c->env;
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref_batch);
    lua_createtable(L, (int)env->n_inputs, 0);
    for (size_t i = 0; i < env->n_inputs; i++) {
        lr_push(L, env, &env->inputs[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lr_push_emit(L);
    lua_call(L, 2, 0);
    return 0;
}

static int call_group(lua_State *L)
{
    int ref = (int)lua_tointeger(L, 2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    lr_push_emit(L);
    lua_call(L, 1, 0);
    return 0;
}

static int run_one(struct ctx *c, mf_record *rec)
{
    lp_env *env = &c->env;
    lua_State *L = env->sb.L;
    env->call = LP_CALL_RECORD;
    env->input = rec;
    lua_pushcfunction(L, call_process);
    lua_pushlightuserdata(L, c);
    lsb_arm(&env->sb, budget(c, 1));
    lsb_error e = lsb_pcall(&env->sb, 1, 0, c->err, sizeof c->err);
    int st = finish(c, e);
    if (e != LSB_OK && st == MF_OK) {
        count_error(c, e);
        st = env->host->reject(env->node, rec, "lua: %s", c->err);
    }
    return st;
}

static int run_batch(struct ctx *c, mf_record *recs, size_t n)
{
    lp_env *env = &c->env;
    lua_State *L = env->sb.L;
    env->call = LP_CALL_BATCH;
    env->inputs = recs;
    env->n_inputs = n;
    lua_pushcfunction(L, call_batch);
    lua_pushlightuserdata(L, c);
    lsb_arm(&env->sb, budget(c, (int64_t)n));
    lsb_error e = lsb_pcall(&env->sb, 1, 0, c->err, sizeof c->err);
    int st = finish(c, e);
    if (e == LSB_OK || st != MF_OK)
        return st;
    if (n == 1) {
        count_error(c, e);
        return env->host->reject(env->node, &recs[0], "lua: %s", c->err);
    }
    /* Which record failed? Run them one by one. */
    env->host->log(env->node, MF_LOG_DEBUG, "process_batch failed (%s): running its %zu records one by one",
                   c->err, n);
    for (size_t i = 0; i < n && st == MF_OK; i++)
        st = run_batch(c, &recs[i], 1);
    return st;
}

/* timer(emit) / shutdown(emit): output joins a fresh group. */
static int run_group(struct ctx *c, int ref, const char *what)
{
    lp_env *env = &c->env;
    lua_State *L = env->sb.L;
    env->call = LP_CALL_GROUP;
    lua_pushcfunction(L, call_group);
    lua_pushlightuserdata(L, c);
    lua_pushinteger(L, ref);
    lsb_arm(&env->sb, budget(c, SETUP_BUDGET_FACTOR));
    lsb_error e = lsb_pcall(&env->sb, 2, 0, c->err, sizeof c->err);
    int st = finish(c, e);
    if (e != LSB_OK) {
        count_error(c, e);
        env->host->log(env->node, MF_LOG_ERROR, "lua: %s failed: %s", what, c->err);
    }
    return st;
}

/* ---- init ------------------------------------------------------------------------------------ */

static int setup_protected(lua_State *L)
{
    struct ctx *c = lua_touserdata(L, 1);
    lp_lib_open(L, &c->env);
    mf_strlist dirs = c->lua_path;
    if (!dirs.count && c->script_dir) {
        c->dir_item[0] = c->script_dir;
        dirs = (mf_strlist){1, c->dir_item};
    }
    lsb_register_require(&c->env.sb, &dirs);
    return 0;
}

static int call_init(lua_State *L)
{
    struct ctx *c = lua_touserdata(L, 1);
    int ref = (int)lua_tointeger(L, 2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    if (c->params)
        lv_push_plain(L, c->params);
    else
        lua_pushnil(L);
    lua_call(L, 1, 0);
    return 0;
}

/* The global function `name` as a registry reference; LUA_NOREF if absent.
 * A missing function is an error only when its name was configured. */
static int resolve(lua_State *L, const char *name, const char *dflt, const char *option)
{
    int t = lua_getglobal(L, name);
    if (t == LUA_TFUNCTION)
        return luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);
    if (t != LUA_TNIL)
        luaL_error(L, "%s: the script's '%s' is a %s, not a function", option, name, lua_typename(L, t));
    if (strcmp(name, dflt) != 0)
        luaL_error(L, "%s: the script defines no function '%s'", option, name);
    return LUA_NOREF;
}

static int resolve_protected(lua_State *L)
{
    struct ctx *c = lua_touserdata(L, 1);
    int *ref_init = lua_touserdata(L, 2);
    c->ref_batch = resolve(L, c->fn_batch, "process_batch", "process_batch");
    c->ref_process = resolve(L, c->fn_process, "process", "process");
    *ref_init = resolve(L, c->fn_init, "init", "init");
    c->ref_shutdown = resolve(L, c->fn_shutdown, "shutdown", "shutdown");
    c->ref_timer = resolve(L, c->fn_timer, "timer", "timer");
    return 0;
}

static int fail(struct ctx *c, const char *what)
{
    c->env.host->log(c->env.node, MF_LOG_ERROR, "%s: %s", what, c->err);
    return MF_FATAL;
}

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    lp_env *env = &c->env;
    env->node = node;
    env->host = host;
    c->ref_process = c->ref_batch = c->ref_shutdown = c->ref_timer = LUA_NOREF;
    c->m_runtime = host->counter(node, "martflow_lua_errors_total", "kind=\"runtime\"",
                                 "Records rejected (or timer/shutdown calls failed) by a Lua error, by kind");
    c->m_instructions = host->counter(node, "martflow_lua_errors_total", "kind=\"instructions\"",
                                      "Records rejected (or timer/shutdown calls failed) by a Lua error, by kind");
    c->m_memory = host->counter(node, "martflow_lua_errors_total", "kind=\"memory\"",
                                "Records rejected (or timer/shutdown calls failed) by a Lua error, by kind");
    c->m_cpu = host->counter(node, "martflow_lua_cpu_seconds_total", NULL,
                             "CPU time of process calls (the script, the bridge and emitting)");
    c->m_mem_bytes = host->gauge(node, "martflow_lua_memory_bytes", NULL, "Memory held by the Lua state");

    if (c->api != API_VERSION) {
        host->log(node, MF_LOG_ERROR, "api: version %lld is not supported; this plugin implements the script "
                                      "API version %d (set api: %d and see lua/README.md)",
                  (long long)c->api, API_VERSION, API_VERSION);
        return MF_FATAL;
    }
    if (!!*c->script == !!*c->code) {
        host->log(node, MF_LOG_ERROR, *c->script ? "give either script or code, not both"
                                                 : "one of script (a file) or code (inline Lua) is required");
        return MF_FATAL;
    }
    if (c->max_memory && c->max_memory < MIN_MEMORY) {
        host->log(node, MF_LOG_ERROR, "max_memory: %llu bytes is too small for a Lua state (at least %u)",
                  (unsigned long long)c->max_memory, MIN_MEMORY);
        return MF_FATAL;
    }
    if (*c->script) {
        char *tmp = strdup(c->script);
        c->script_dir = tmp ? strdup(dirname(tmp)) : NULL;
        free(tmp);
    }
    if (!lsb_open(&env->sb, (size_t)c->max_memory, &c->allow, env, c->err, sizeof c->err))
        return fail(c, "lua");
    c->open = true;
    lua_State *L = env->sb.L;
    lua_pushcfunction(L, setup_protected);
    lua_pushlightuserdata(L, c);
    if (lsb_pcall(&env->sb, 1, 0, c->err, sizeof c->err) != LSB_OK)
        return fail(c, "lua: setting up the state");

    lsb_error e = *c->script ? lsb_load_file(&env->sb, c->script, c->err, sizeof c->err)
                             : lsb_load_string(&env->sb, c->code, "=code", c->err, sizeof c->err);
    if (e != LSB_OK)
        return fail(c, *c->script ? "script" : "code");
    lsb_arm(&env->sb, budget(c, SETUP_BUDGET_FACTOR));
    if (lsb_pcall(&env->sb, 0, 0, c->err, sizeof c->err) != LSB_OK)
        return fail(c, "lua: running the script");

    int ref_init = LUA_NOREF;
    lua_pushcfunction(L, resolve_protected);
    lua_pushlightuserdata(L, c);
    lua_pushlightuserdata(L, &ref_init);
    if (lsb_pcall(&env->sb, 2, 0, c->err, sizeof c->err) != LSB_OK)
        return fail(c, "lua");
    if (c->ref_batch == LUA_NOREF && c->ref_process == LUA_NOREF) {
        host->log(node, MF_LOG_ERROR, "the script defines neither %s(record, emit) nor %s(records, emit)",
                  c->fn_process, c->fn_batch);
        return MF_FATAL;
    }
    if (ref_init != LUA_NOREF) {
        lua_pushcfunction(L, call_init);
        lua_pushlightuserdata(L, c);
        lua_pushinteger(L, ref_init);
        lsb_arm(&env->sb, budget(c, SETUP_BUDGET_FACTOR));
        lsb_error e2 = lsb_pcall(&env->sb, 2, 0, c->err, sizeof c->err);
        luaL_unref(L, LUA_REGISTRYINDEX, ref_init);
        if (e2 != LSB_OK)
            return fail(c, "lua: init");
    }
    if (c->timer_ms > 0) {
        if (c->ref_timer == LUA_NOREF) {
            host->log(node, MF_LOG_ERROR, "timer_interval is set but the script defines no function '%s'",
                      c->fn_timer);
            return MF_FATAL;
        }
        host->set_tick(node, c->timer_ms);
    } else if (c->ref_timer != LUA_NOREF) {
        host->log(node, MF_LOG_WARN, "the script defines %s() but timer_interval is not set: it is never called",
                  c->fn_timer);
    }
    host->metric_set(c->m_mem_bytes, (double)(env->sb.used + env->sb.held));
    return MF_OK;
}

/* ---- callbacks ------------------------------------------------------------------------------- */

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int process(void *vctx, mf_batch *batch)
{
    struct ctx *c = vctx;
    int st = MF_OK;
    uint64_t t0 = thread_cpu_ns();
    if (c->ref_batch != LUA_NOREF) {
        if (batch->count)
            st = run_batch(c, batch->records, batch->count);
    } else {
        for (size_t i = 0; i < batch->count && st == MF_OK; i++)
            st = run_one(c, &batch->records[i]);
    }
    uint64_t ns = thread_cpu_ns() - t0;
    c->cpu_ns += ns;
    c->records += batch->count;
    c->env.host->metric_add(c->m_cpu, (double)ns / 1e9);
    c->env.host->metric_set(c->m_mem_bytes, (double)(c->env.sb.used + c->env.sb.held));
    return st == MF_FATAL ? MF_FATAL : MF_OK;
}

static int flush(void *vctx, mf_flush_reason reason)
{
    struct ctx *c = vctx;
    if (reason == MF_FLUSH_CHECKPOINT)
        return MF_OK;
    int st = MF_OK;
    if (reason == MF_FLUSH_END && c->ref_shutdown != LUA_NOREF)
        st = run_group(c, c->ref_shutdown, c->fn_shutdown) == MF_FATAL ? MF_FATAL : MF_OK;
    c->env.host->log(c->env.node, MF_LOG_INFO,
                     "lua: %llu records, %.3f s CPU in process calls (%.2f us/record), peak Lua memory %zu KiB",
                     (unsigned long long)c->records, (double)c->cpu_ns / 1e9,
                     c->records ? (double)c->cpu_ns / 1e3 / (double)c->records : 0.0, c->env.sb.peak / 1024);
    return st;
}

static int tick(void *vctx)
{
    struct ctx *c = vctx;
    if (c->ref_timer == LUA_NOREF)
        return MF_OK;
    return run_group(c, c->ref_timer, c->fn_timer) == MF_FATAL ? MF_FATAL : MF_OK;
}

/* ---- snapshot / restore of the state table ---------------------------------------------------- */

static int snapshot_protected(lua_State *L)
{
    struct ctx *c = lua_touserdata(L, 1);
    lua_getglobal(L, c->state);
    lv_push_text(L, -1); /* under the memory cap, as the script's own encodes */
    return 1;
}

static int snapshot(void *vctx, uint64_t checkpoint_id, mf_buffer *out)
{
    struct ctx *c = vctx;
    (void)checkpoint_id;
    if (!*c->state || !c->open)
        return MF_OK;
    lua_State *L = c->env.sb.L;
    lua_pushcfunction(L, snapshot_protected);
    lua_pushlightuserdata(L, c);
    lsb_arm(&c->env.sb, 0);
    if (lsb_pcall(&c->env.sb, 1, 1, c->err, sizeof c->err) != LSB_OK) {
        c->env.host->log(c->env.node, MF_LOG_ERROR, "snapshot of the state table '%s': %s", c->state, c->err);
        return MF_FATAL;
    }
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    int st = c->env.host->buffer_append(out, text, len);
    lua_pop(L, 1);
    return st;
}

static int restore_protected(lua_State *L)
{
    struct ctx *c = lua_touserdata(L, 1);
    const json_t *j = lua_touserdata(L, 2);
    if (json_is_null(j))
        lua_pushnil(L);
    else
        lv_push_plain(L, j);
    lua_setglobal(L, c->state);
    return 0;
}

static int restore(void *vctx, const uint8_t *data, size_t len)
{
    struct ctx *c = vctx;
    if (!*c->state || !c->open)
        return MF_OK;
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, len, JSON_DECODE_ANY, &jerr);
    if (!j) {
        c->env.host->log(c->env.node, MF_LOG_ERROR, "restore of the state table '%s': invalid JSON: %s", c->state,
                         jerr.text);
        return MF_FATAL;
    }
    lua_State *L = c->env.sb.L;
    lua_pushcfunction(L, restore_protected);
    lua_pushlightuserdata(L, c);
    lua_pushlightuserdata(L, j);
    lsb_arm(&c->env.sb, 0);
    lsb_error e = lsb_pcall(&c->env.sb, 2, 0, c->err, sizeof c->err);
    json_decref(j);
    if (e != LSB_OK) {
        c->env.host->log(c->env.node, MF_LOG_ERROR, "restore of the state table '%s': %s", c->state, c->err);
        return MF_FATAL;
    }
    return MF_OK;
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    if (c->open)
        lsb_close(&c->env.sb);
    c->open = false;
    lpo_free(&c->env.out);
    free(c->script_dir);
    c->script_dir = NULL;
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_TRANSFORM,
    .name = "lua",
    .version = "1.0.0",
    .description = "Filter, route, split and enrich records with a sandboxed Lua 5.4 script",
    .options = options,
    .flags = MF_PLUGIN_DYNAMIC_PORTS,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .free = free_cb,
    .process = process,
    .flush = flush,
    .tick = tick,
    .snapshot = snapshot,
    .restore = restore,
};
