/*
 * lua_source.c — see lua_source.h.
 *
 * User value 1: the copy of the value bytes (a Lua string), which the
 * source's own record `copy` points into.
 */
#include "lua_source.h"

#include <lauxlib.h>

#include "lua_proxy.h"
#include "lua_value.h"

typedef struct lv_source {
    lp_env *env;
    mf_record *rec;      /* the input record, read while generation is current */
    uint64_t generation;
    mf_record copy;      /* the value bytes of uv1, read after the call; its
                            json (built then) is the source's reference */
} lv_source;

static const char source_mt_key = 0;

static lv_source *to_source(lua_State *L, int idx)
{
    return lua_touserdata(L, idx); /* ours: made only by lvs_push_value */
}

/* The record to read: the input during its call, else the copy. */
static mf_record *record_of(lv_source *s)
{
    return s->generation == s->env->generation ? s->rec : &s->copy;
}

void lvs_push_scalar(lua_State *L, const mf_json_view *v)
{
    switch (v->type) {
    case MF_JSON_BOOL:
        lua_pushboolean(L, v->boolean);
        break;
    case MF_JSON_INT:
        lua_pushinteger(L, (lua_Integer)v->integer);
        break;
    case MF_JSON_DOUBLE:
        lua_pushnumber(L, v->number);
        break;
    case MF_JSON_STRING:
        lua_pushlstring(L, v->str ? v->str : "", v->len);
        break;
    case MF_JSON_NULL:
    default:
        lv_push_null(L);
        break;
    }
}

/* A valid JSON value's type shows in its first byte past whitespace. */
static int container_kind(const uint8_t *v, size_t len)
{
    size_t i = 0;
    while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r'))
        i++;
    if (i < len && v[i] == '{')
        return LV_OBJECT;
    if (i < len && v[i] == '[')
        return LV_ARRAY;
    return 0;
}

const char *lvs_push_value(lua_State *L, lp_env *env, mf_record *rec)
{
    const char *err = NULL;
    if (env->host->json_check(env->node, rec, &err) != MF_OK)
        return err ? err : "?";
    size_t len;
    const uint8_t *bytes = env->host->record_value(env->node, rec, &len);
    int kind = container_kind(bytes, len);
    if (!kind) {
        mf_json_view v;
        if (env->host->json_get(env->node, rec, NULL, &v, &err) != MF_OK)
            return err ? err : "?";
        lvs_push_scalar(L, &v);
        return NULL;
    }
    lv_source *s = lua_newuserdatauv(L, sizeof *s, 1);
    *s = (lv_source){.env = env, .rec = rec, .generation = env->generation};
    lua_rawgetp(L, LUA_REGISTRYINDEX, &source_mt_key);
    lua_setmetatable(L, -2);
    lua_pushlstring(L, (const char *)bytes, len);
    s->copy.value = (const uint8_t *)lua_tostring(L, -1);
    s->copy.value_len = (uint32_t)len;
    s->copy.time_ms = MF_TIME_UNSET;
    lua_setiuservalue(L, -2, 1);
    lvp_push_lazy(L, -1, 0, (uint8_t)kind);
    lua_remove(L, -2);
    return NULL;
}

void lvs_get(lua_State *L, int src, const char *path, mf_json_view *out)
{
    lv_source *s = to_source(L, src);
    const char *err = NULL;
    if (s->env->host->json_get(s->env->node, record_of(s), path, out, &err) != MF_OK)
        luaL_error(L, "record value: %s", err ? err : "?");
}

json_t *lvs_tree(lua_State *L, int src)
{
    lv_source *s = to_source(L, src);
    const char *err = NULL;
    json_t *j = s->env->host->record_json(s->env->node, record_of(s), &err);
    if (!j)
        luaL_error(L, "record value: %s", err ? err : "?");
    return j;
}

static int source_gc(lua_State *L)
{
    lv_source *s = lua_touserdata(L, 1);
    json_decref(s->copy.json);
    s->copy.json = NULL;
    return 0;
}

void lvs_register(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, source_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, "martflow.source");
    lua_setfield(L, -2, "__metatable");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &source_mt_key);
}
