/*
 * lua_sandbox.c — see lua_sandbox.h.
 *
 * What a script gets by default: the base library without dofile/loadfile (and
 * with load restricted to text chunks, collectgarbage to harmless options and
 * setmetatable refusing __gc finalizers, which would run outside the budget),
 * string without dump, table, math, utf8 and coroutine. Not io, os, debug or
 * package. `allow` opens single functions or whole libraries; package (C
 * modules) is never available: require() loads Lua files only.
 */
#include "lua_sandbox.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#define HOOK_GRANULARITY 1000
#define LOADED_KEY "martflow.loaded"

static void sb_hook(lua_State *L, lua_Debug *ar);

/* ---- memory cap ---------------------------------------------------------------- */

static void note_peak(lsb *sb)
{
    if (sb->used + sb->held > sb->peak)
        sb->peak = sb->used + sb->held;
}

static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    lsb *sb = ud;
    size_t old = ptr ? osize : 0; /* without ptr, osize is an object type */
    if (nsize == 0) {
        free(ptr);
        sb->used -= old;
        return NULL;
    }
    if (sb->limit && nsize > old && sb->used + sb->held + (nsize - old) > sb->limit) {
        sb->cap_hit = true;
        return NULL; /* Lua collects garbage and tries once more, then raises */
    }
    void *p = realloc(ptr, nsize);
    if (!p)
        return nsize <= old ? ptr : NULL; /* shrinking must not fail */
    sb->used = sb->used - old + nsize;
    note_peak(sb);
    return p;
}

static bool fits(const lsb *sb, size_t n)
{
    return !sb->limit || (sb->used + sb->held <= sb->limit && n <= sb->limit - sb->used - sb->held);
}

bool lsb_hold(lua_State *L, size_t n)
{
    lsb *sb = lsb_from(L);
    /* As Lua does before refusing an allocation, collect the garbage that
     * may be in the way, on the running thread (finalizers run there). Twice:
     * what a finalizer (a proxy's __gc) keeps alive, such as the tables of a
     * materialized value, is only freed by the cycle after it ran. */
    for (int pass = 0; !fits(sb, n); pass++) {
        if (pass == 2) {
            sb->cap_hit = true;
            return false;
        }
        lua_gc(L, LUA_GCCOLLECT);
    }
    sb->held += n;
    note_peak(sb);
    return true;
}

void lsb_release(lsb *sb, size_t n)
{
    sb->held -= n < sb->held ? n : sb->held;
}

void lsb_keep_for_call(lsb *sb, size_t n)
{
    sb->held_call += n;
}

void lsb_release_call(lsb *sb)
{
    lsb_release(sb, sb->held_call);
    sb->held_call = 0;
}

/* "file:line: " of the innermost Lua function running, or "". */
static void push_where(lua_State *L)
{
    lua_Debug ar;
    for (int level = 0; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        if (ar.currentline > 0) {
            lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
    }
    lua_pushliteral(L, "");
}

/* The cap's message (without location) into buf. */
static void cap_message(const lsb *sb, const char *what, char *buf, size_t len)
{
    int n = snprintf(buf, len, "memory limit exceeded (max_memory %zu bytes)%s%s", sb->limit, *what ? " " : "",
                     what);
    if (sb->held_call && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, "; the output of this call holds %zu bytes of it",
                 sb->held_call);
}

int lsb_raise_cap(lua_State *L, const char *what)
{
    lsb *sb = lsb_from(L);
    char msg[256];
    sb->cap_hit = true;
    cap_message(sb, what, msg, sizeof msg);
    push_where(L);
    lua_pushstring(L, msg);
    lua_concat(L, 2);
    return lua_error(L);
}

/* ---- instruction budget ------------------------------------------------------------- */

/* The budget is spent: from now on fail at every instruction, so that a
 * script catching the error with pcall cannot keep running. Raises. */
static int exhausted(lua_State *L, lsb *sb, const char *what)
{
    sb->budget_hit = true;
    lua_sethook(L, sb_hook, LUA_MASKCOUNT, 1);
    if (L != sb->L)
        lua_sethook(sb->L, sb_hook, LUA_MASKCOUNT, 1);
    push_where(L);
    lua_pushfstring(L, "instruction budget exceeded (%I instructions)%s%s", (lua_Integer)sb->budget,
                    *what ? " " : "", what);
    lua_concat(L, 2);
    return lua_error(L);
}

static void sb_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lsb *sb = lsb_from(L);
    int count = lua_gethookcount(L);
    sb->remaining -= count;
    if (sb->remaining > 0) {
        if (count != sb->granularity) /* a coroutine left at 1 by an earlier call */
            lua_sethook(L, sb_hook, LUA_MASKCOUNT, sb->granularity);
        return;
    }
    exhausted(L, sb, "");
}

void lsb_spend(lua_State *L, int64_t n, const char *what)
{
    lsb *sb = lsb_from(L);
    if (sb->budget <= 0)
        return;
    sb->remaining -= n;
    if (sb->remaining <= 0)
        exhausted(L, sb, what);
}

void lsb_arm(lsb *sb, int64_t instructions)
{
    sb->cap_hit = false;
    sb->budget_hit = false;
    sb->budget = instructions;
    sb->remaining = instructions;
    if (instructions <= 0) {
        lua_sethook(sb->L, NULL, 0, 0);
        return;
    }
    sb->granularity = instructions < HOOK_GRANULARITY ? (int)instructions : HOOK_GRANULARITY;
    if (lua_gethook(sb->L) != sb_hook || lua_gethookcount(sb->L) != sb->granularity)
        lua_sethook(sb->L, sb_hook, LUA_MASKCOUNT, sb->granularity);
}

/* ---- protected calls ------------------------------------------------------------------ */

/* "name:123: ..." */
static bool has_location(const char *msg)
{
    const char *colon = strchr(msg, ':');
    if (!colon || colon == msg || memchr(msg, '\n', (size_t)(colon - msg)))
        return false;
    const char *p = colon + 1;
    if (!isdigit((unsigned char)*p))
        return false;
    while (isdigit((unsigned char)*p))
        p++;
    return *p == ':';
}

/* Error messages: strings are kept as raised (Lua's runtime errors and
 * error("...") carry "file:line:" already; error("...", 0) asks for none).
 * Other error objects become text, with the location of the innermost Lua
 * function. */
static int sb_msgh(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TSTRING)
        return 1;
    const char *msg;
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
        msg = lua_tostring(L, -1);
    else
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    if (has_location(msg))
        return 1;
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        if (ar.currentline > 0) {
            lua_pushfstring(L, "%s:%d: %s", ar.short_src, ar.currentline, msg);
            return 1;
        }
    }
    return 1;
}

lsb_error lsb_pcall(lsb *sb, int nargs, int nresults, char *err, size_t errlen)
{
    lua_State *L = sb->L;
    int base = lua_gettop(L) - nargs; /* the function */
    lua_pushcfunction(L, sb_msgh);
    lua_insert(L, base);
    int st = lua_pcall(L, nargs, nresults, base);
    if (st == LUA_OK) {
        lua_remove(L, base);
        return LSB_OK;
    }
    lsb_error kind;
    if (st == LUA_ERRMEM || (st == LUA_ERRERR && sb->cap_hit)) {
        kind = LSB_ERR_MEMORY;
        if (sb->cap_hit)
            cap_message(sb, "", err, errlen);
        else
            snprintf(err, errlen, "out of memory");
    } else {
        /* lsb_raise_cap's errors are runtime errors that carry the cap's
         * message (cap_hit alone is not enough: the script may have caught
         * a refusal and failed otherwise later) */
        const char *msg = lua_tostring(L, -1);
        kind = sb->budget_hit ? LSB_ERR_INSTRUCTIONS
             : sb->cap_hit && msg && strstr(msg, "memory limit exceeded (max_memory") ? LSB_ERR_MEMORY
                                                                                       : LSB_ERR_RUNTIME;
        snprintf(err, errlen, "%s", msg ? msg : "error");
    }
    lua_settop(L, base - 1);
    if (kind == LSB_ERR_MEMORY)
        lua_gc(L, LUA_GCCOLLECT);
    return kind;
}

static lsb_error load_status(lsb *sb, int st, char *err, size_t errlen)
{
    if (st == LUA_OK)
        return LSB_OK;
    const char *msg = lua_tostring(sb->L, -1);
    snprintf(err, errlen, "%s", msg ? msg : "cannot load the script");
    lua_pop(sb->L, 1);
    return st == LUA_ERRMEM ? LSB_ERR_MEMORY : LSB_ERR_RUNTIME;
}

lsb_error lsb_load_file(lsb *sb, const char *path, char *err, size_t errlen)
{
    sb->cap_hit = false;
    return load_status(sb, luaL_loadfilex(sb->L, path, "t"), err, errlen);
}

lsb_error lsb_load_string(lsb *sb, const char *code, const char *chunkname, char *err, size_t errlen)
{
    sb->cap_hit = false;
    return load_status(sb, luaL_loadbufferx(sb->L, code, strlen(code), chunkname, "t"), err, errlen);
}

/* ---- restricted base functions ----------------------------------------------------------- */

/* load(chunk [, chunkname [, mode [, env]]]) with text chunks only. */
static int sb_load(lua_State *L)
{
    int n = lua_gettop(L);
    const char *mode = luaL_optstring(L, 3, "t");
    if (strcmp(mode, "t") != 0)
        return luaL_error(L, "load: only text chunks may be loaded (mode \"t\"), not mode \"%s\"", mode);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    if (n >= 2)
        lua_pushvalue(L, 2);
    else
        lua_pushnil(L);
    lua_pushliteral(L, "t");
    if (n >= 4)
        lua_pushvalue(L, 4);
    lua_call(L, n >= 4 ? 4 : 3, LUA_MULTRET);
    return lua_gettop(L) - n;
}

static int sb_collectgarbage(lua_State *L)
{
    static const char *const ok[] = {"collect", "count", "step", "isrunning", NULL};
    const char *opt = luaL_optstring(L, 1, "collect");
    bool allowed = false;
    for (int i = 0; ok[i]; i++)
        allowed |= strcmp(opt, ok[i]) == 0;
    if (!allowed)
        return luaL_error(L, "collectgarbage(\"%s\") is not allowed in the sandbox", opt);
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

static int sb_setmetatable(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_getfield(L, 2, "__gc");
        bool gc = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (gc)
            return luaL_error(L, "setmetatable: __gc finalizers are not allowed in the sandbox "
                                 "(they would run outside the instruction budget)");
    }
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, 1);
    return 1;
}

/* xpcall(f, handler, ...): the handler runs once the error has unwound.
 * Lua calls a message handler at the point of the error, and an error raised
 * by the instruction hook leaves hooks off until the stack unwinds, so a
 * handler running there would be outside the budget. */
static int xpcall_finish(lua_State *L, int status, lua_KContext extra)
{
    if (status != LUA_OK && status != LUA_YIELD) {
        lua_pushvalue(L, 2); /* the handler */
        lua_insert(L, -2);
        lua_pcall(L, 1, 1, 0); /* its result, or its own error */
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    return lua_gettop(L) - (int)extra;
}

static int sb_xpcall(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushboolean(L, 1); /* the first result */
    lua_pushvalue(L, 1);   /* the function */
    lua_rotate(L, 3, 2);   /* both below the function's arguments */
    int status = lua_pcallk(L, n - 2, LUA_MULTRET, 0, 2, xpcall_finish);
    return xpcall_finish(L, status, 2);
}

/* Replace _G[name] by a C closure over the original. */
static void wrap_global(lua_State *L, const char *name, lua_CFunction f)
{
    lua_getglobal(L, name);
    lua_pushcclosure(L, f, 1);
    lua_setglobal(L, name);
}

/* ---- require: Lua files from the configured directories ---------------------------------- */

static bool module_name_ok(const char *name)
{
    if (!*name || *name == '.')
        return false;
    for (const char *p = name; *p; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.'))
            return false;
        if (p[0] == '.' && p[1] == '.')
            return false;
    }
    return true;
}

static int sb_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, LOADED_KEY);
    int loaded = lua_gettop(L);
    if (lua_getfield(L, loaded, name) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    if (!module_name_ok(name))
        return luaL_error(L, "require: bad module name '%s'", name);
    luaL_Buffer tried;
    luaL_buffinit(L, &tried);
    int dirs = lua_upvalueindex(1);
    lua_Integer n = luaL_len(L, dirs);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, dirs, i);
        char path[4096];
        int len = snprintf(path, sizeof path, "%s/%s.lua", lua_tostring(L, -1), name);
        lua_pop(L, 1);
        if (len <= 0 || (size_t)len >= sizeof path)
            continue;
        /* dots in the name are subdirectories: a.b -> a/b.lua */
        for (char *c = path + (size_t)len - strlen(name) - 4; c < path + len - 4; c++)
            if (*c == '.')
                *c = '/';
        if (access(path, R_OK) == 0) {
            if (luaL_loadfilex(L, path, "t") != LUA_OK)
                return lua_error(L);
            lua_pushstring(L, name);
            lua_pushstring(L, path);
            lua_call(L, 2, 1);
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                lua_pushboolean(L, 1);
            }
            lua_pushvalue(L, -1);
            lua_setfield(L, loaded, name);
            return 1;
        }
        luaL_addstring(&tried, "; no file '");
        luaL_addstring(&tried, path);
        luaL_addstring(&tried, "'");
    }
    luaL_pushresult(&tried);
    return luaL_error(L, "module '%s' not found (Lua files on lua_path only):%s", name, lua_tostring(L, -1));
}

void lsb_register_require(lsb *sb, const mf_strlist *dirs)
{
    lua_State *L = sb->L;
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LOADED_KEY);
    lua_createtable(L, (int)dirs->count, 0);
    for (size_t i = 0; i < dirs->count; i++) {
        lua_pushstring(L, dirs->items[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_pushcclosure(L, sb_require, 1);
    lua_setglobal(L, "require");
}

/* ---- opening the state ----------------------------------------------------------------------- */

struct open_args {
    const mf_strlist *allow;
    char *err;
    size_t errlen;
};

/* Apply one allow entry; `full` (at index full) holds the complete libraries
 * and the unrestricted base functions. false with err set. */
static bool allow_one(lua_State *L, int full, const char *entry, char *err, size_t errlen)
{
    if (strcmp(entry, "package") == 0 || strncmp(entry, "package.", 8) == 0 || strcmp(entry, "require") == 0) {
        snprintf(err, errlen, "allow: '%s' cannot be opened: C modules are never loadable (require() loads "
                              "Lua files from lua_path)", entry);
        return false;
    }
    const char *dot = strchr(entry, '.');
    if (!dot) {
        lua_getfield(L, full, entry);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            snprintf(err, errlen, "allow: unknown library or function '%s'", entry);
            return false;
        }
        lua_setglobal(L, entry); /* a whole library, or an unrestricted base function */
        return true;
    }
    char lib[32];
    size_t len = (size_t)(dot - entry);
    if (len >= sizeof lib) {
        snprintf(err, errlen, "allow: unknown library in '%s'", entry);
        return false;
    }
    memcpy(lib, entry, len);
    lib[len] = '\0';
    if (lua_getfield(L, full, lib) != LUA_TTABLE) {
        lua_pop(L, 1);
        snprintf(err, errlen, "allow: unknown library '%s' in '%s'", lib, entry);
        return false;
    }
    if (lua_getfield(L, -1, dot + 1) != LUA_TFUNCTION) {
        lua_pop(L, 2);
        snprintf(err, errlen, "allow: unknown function '%s'", entry);
        return false;
    }
    if (lua_getglobal(L, lib) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setglobal(L, lib);
    }
    lua_insert(L, -2);
    lua_setfield(L, -2, dot + 1);
    lua_pop(L, 2);
    return true;
}

static int open_protected(lua_State *L)
{
    struct open_args *a = lua_touserdata(L, 1);
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
    lua_settop(L, 1);

    /* The complete libraries and base functions, for `allow` only; dropped
     * afterwards. */
    lua_newtable(L);
    int full = lua_gettop(L);
    luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
    lua_setfield(L, full, LUA_OSLIBNAME);
    luaL_requiref(L, LUA_IOLIBNAME, luaopen_io, 0);
    lua_setfield(L, full, LUA_IOLIBNAME);
    luaL_requiref(L, LUA_DBLIBNAME, luaopen_debug, 0);
    lua_setfield(L, full, LUA_DBLIBNAME);
    static const char *const base[] = {"dofile", "loadfile", "load", "collectgarbage", "setmetatable", "xpcall",
                                       NULL};
    for (int i = 0; base[i]; i++) {
        lua_getglobal(L, base[i]);
        lua_setfield(L, full, base[i]);
    }
    /* string: the whole library (with dump) for "string.dump" */
    lua_newtable(L);
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, -5);
    }
    lua_pop(L, 1);
    lua_setfield(L, full, LUA_STRLIBNAME);
    static const char *const keep[] = {LUA_TABLIBNAME, LUA_MATHLIBNAME, LUA_UTF8LIBNAME, LUA_COLIBNAME, NULL};
    for (int i = 0; keep[i]; i++) {
        lua_getglobal(L, keep[i]);
        lua_setfield(L, full, keep[i]);
    }

    /* The restrictions. */
    lua_pushnil(L);
    lua_setglobal(L, "dofile");
    lua_pushnil(L);
    lua_setglobal(L, "loadfile");
    lua_pushnil(L);
    lua_setglobal(L, "print"); /* redefined by the plugin: goes to the engine's log */
    wrap_global(L, "load", sb_load);
    wrap_global(L, "collectgarbage", sb_collectgarbage);
    wrap_global(L, "setmetatable", sb_setmetatable);
    lua_pushcfunction(L, sb_xpcall);
    lua_setglobal(L, "xpcall");
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);

    for (size_t i = 0; a->allow && i < a->allow->count; i++)
        if (!allow_one(L, full, a->allow->items[i], a->err, a->errlen))
            return 0;
    lua_settop(L, 0);
    lua_pushboolean(L, 1);
    return 1;
}

bool lsb_open(lsb *sb, size_t limit, const mf_strlist *allow, void *user, char *err, size_t errlen)
{
    memset(sb, 0, sizeof *sb);
    sb->limit = limit;
    sb->user = user;
    sb->granularity = HOOK_GRANULARITY;
    sb->L = lua_newstate(sb_alloc, sb);
    if (!sb->L) {
        snprintf(err, errlen, "cannot create a Lua state (max_memory %zu bytes too small?)", limit);
        return false;
    }
    *(lsb **)lua_getextraspace(sb->L) = sb;
    err[0] = '\0';
    struct open_args a = {allow, err, errlen};
    lua_pushcfunction(sb->L, open_protected);
    lua_pushlightuserdata(sb->L, &a);
    if (lua_pcall(sb->L, 1, 1, 0) != LUA_OK) {
        snprintf(err, errlen, "cannot set up the Lua state: %s", lua_tostring(sb->L, -1));
        lsb_close(sb);
        return false;
    }
    bool ok = lua_toboolean(sb->L, -1);
    lua_settop(sb->L, 0);
    if (!ok) {
        lsb_close(sb);
        return false;
    }
    return true;
}

void lsb_close(lsb *sb)
{
    if (sb->L)
        lua_close(sb->L);
    sb->L = NULL;
}
