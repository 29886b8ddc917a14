/*
 * lua_lib.c — the `martflow` table scripts see (API version, node identity,
 * JSON helpers, hashing, time, logging, reject) and print(), which writes to
 * the engine's log instead of stdout.
 */
#include <string.h>

#include <lauxlib.h>
#include <martflow/crypto.h>

#include "lua_env.h"
#include "lua_value.h"

#define LP_API_VERSION 1

/* The arguments from `first` on, tostring'ed and joined by tabs. */
static const char *join_args(lua_State *L, int first)
{
    luaL_Buffer b;
    int n = lua_gettop(L);
    luaL_buffinit(L, &b);
    for (int i = first; i <= n; i++) {
        if (i > first)
            luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

static int l_print(lua_State *L)
{
    lp_env *env = lp_env_of(L);
    const char *msg = join_args(L, 1);
    env->host->log(env->node, MF_LOG_INFO, "lua: %s", msg);
    return 0;
}

static int l_log(lua_State *L)
{
    static const char *const names[] = {"error", "warn", "info", "debug", NULL};
    static const mf_log_level levels[] = {MF_LOG_ERROR, MF_LOG_WARN, MF_LOG_INFO, MF_LOG_DEBUG};
    lp_env *env = lp_env_of(L);
    int level = luaL_checkoption(L, 1, NULL, names);
    if (!env->host->log_enabled(env->node, levels[level]))
        return 0;
    const char *msg = join_args(L, 2);
    env->host->log(env->node, levels[level], "lua: %s", msg);
    return 0;
}

static int l_now_ms(lua_State *L)
{
    lua_pushinteger(L, lp_env_of(L)->host->now_ms());
    return 1;
}

static void push_hex(lua_State *L, const uint8_t d[MF_SHA256_LEN])
{
    char s[2 * MF_SHA256_LEN + 1];
    mf_hex_encode(d, MF_SHA256_LEN, s);
    lua_pushlstring(L, s, 2 * MF_SHA256_LEN);
}

/* martflow.sha256(text) -> 64 hex digits */
static int l_sha256(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    uint8_t d[MF_SHA256_LEN];
    mf_sha256(s, n, d);
    push_hex(L, d);
    return 1;
}

/* martflow.hmac_sha256(key, text) -> 64 hex digits */
static int l_hmac_sha256(lua_State *L)
{
    size_t kn, n;
    const char *k = luaL_checklstring(L, 1, &kn);
    const char *s = luaL_checklstring(L, 2, &n);
    uint8_t d[MF_SHA256_LEN];
    mf_hmac_sha256(k, kn, s, n, d);
    push_hex(L, d);
    return 1;
}

void lp_lib_open(lua_State *L, lp_env *env)
{
    lua_newtable(L);
    int lib = lua_gettop(L);
    lv_register(L, lib);
    lr_register(L, lib);
    static const luaL_Reg fns[] = {
        {"log", l_log}, {"now_ms", l_now_ms}, {"sha256", l_sha256}, {"hmac_sha256", l_hmac_sha256}, {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
    lua_pushinteger(L, LP_API_VERSION);
    lua_setfield(L, lib, "api");
    lua_pushstring(L, env->host->node_name(env->node));
    lua_setfield(L, lib, "node");
    lua_pushstring(L, env->host->pipeline_name(env->node));
    lua_setfield(L, lib, "pipeline");
    int count = 1;
    int worker = env->host->worker(env->node, &count);
    lua_pushinteger(L, worker);
    lua_setfield(L, lib, "worker");
    lua_pushinteger(L, count);
    lua_setfield(L, lib, "workers");
    lua_setglobal(L, "martflow");

    lua_pushcfunction(L, l_print);
    lua_setglobal(L, "print");
}
