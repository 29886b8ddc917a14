/*
 * lua_proxy.c — lazy proxies over JSON values (see lua_value.h, lua_proxy.h):
 * reading, writing (materializing one level on the first write), length,
 * iteration in JSON order, tostring, and the dirty check the emitter uses to
 * forward untouched records as they came. A record's value starts lazy: its
 * members are read from the record's bytes (lua_source.h) until something
 * needs the tree.
 */
#include "lua_proxy.h"

#include <string.h>

#include <lauxlib.h>
#include <martflow/fieldpath.h>

#include "lua_source.h"
#include "lua_value.h"

const char lvp_null_key = 0, lvp_array_mt_key = 0, lvp_object_mt_key = 0;
static const char proxy_mt_key = 0;

#define PROXY_NAME "martflow.value"

lv_proxy *lvp_test(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx))
        return NULL;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &proxy_mt_key);
    bool is = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return is ? lua_touserdata(L, idx) : NULL;
}

bool lv_is_proxy(lua_State *L, int idx)
{
    return lvp_test(L, idx) != NULL;
}

void lv_push_null(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &lvp_null_key);
}

bool lv_is_null(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TUSERDATA)
        return false;
    lv_push_null(L);
    bool is = lua_rawequal(L, idx, -1);
    lua_pop(L, 1);
    return is;
}

static lv_proxy *new_proxy(lua_State *L, json_t *j, uint8_t kind, bool lazy)
{
    lv_proxy *p = lua_newuserdatauv(L, sizeof *p, 4);
    *p = (lv_proxy){.json = json_incref(j), .kind = kind, .lazy = lazy};
    lua_rawgetp(L, LUA_REGISTRYINDEX, &proxy_mt_key);
    lua_setmetatable(L, -2);
    return p;
}

static void push_proxy(lua_State *L, json_t *j)
{
    new_proxy(L, j, json_is_array(j) ? LV_ARRAY : LV_OBJECT, false);
}

void lvp_push_lazy(lua_State *L, int src, int path, uint8_t kind)
{
    src = lua_absindex(L, src);
    path = path ? lua_absindex(L, path) : 0;
    new_proxy(L, NULL, kind, true);
    lua_pushvalue(L, src);
    lua_setiuservalue(L, -2, 4);
    if (path) {
        lua_pushvalue(L, path);
        lua_setiuservalue(L, -2, 2);
    }
}

void lvp_resolve(lua_State *L, int idx, lv_proxy *p)
{
    if (!p->lazy)
        return;
    idx = lua_absindex(L, idx);
    lua_getiuservalue(L, idx, 4);
    json_t *j = lvs_tree(L, -1);
    if (lua_getiuservalue(L, idx, 2) == LUA_TSTRING) {
        mf_fieldpath *path = mf_fieldpath_new(lua_tostring(L, -1), NULL, 0);
        j = path ? mf_fieldpath_get(path, j) : NULL;
        mf_fieldpath_free(path);
    }
    lua_pop(L, 2);
    /* The reads and the tree follow one rule: this cannot fail. */
    if (!(p->kind == LV_ARRAY ? json_is_array(j) : json_is_object(j)))
        luaL_error(L, "record value: its tree does not match its bytes");
    p->json = json_incref(j);
    p->lazy = false;
    lua_pushnil(L);
    lua_setiuservalue(L, idx, 2);
    lua_pushnil(L); /* the tree holds what the view needs; the source may go */
    lua_setiuservalue(L, idx, 4);
}

void lvp_push_owned(lua_State *L, json_t *j, int owner)
{
    owner = lua_absindex(L, owner);
    push_proxy(L, j);
    lua_pushvalue(L, owner);
    lua_setiuservalue(L, -2, 3);
}

void lv_push(lua_State *L, json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        push_proxy(L, j);
        break;
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer)json_integer_value(j));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(j));
        break;
    case JSON_TRUE:
        lua_pushboolean(L, 1);
        break;
    case JSON_FALSE:
        lua_pushboolean(L, 0);
        break;
    case JSON_NULL:
    default:
        lv_push_null(L);
        break;
    }
}

/* ---- reading ---------------------------------------------------------------------- */

/* The JSON child of a view for the key at kidx, or NULL. For arrays the key
 * must be an integer (or an integral float) in 1..n; *pos gets it. */
static json_t *view_child(lua_State *L, lv_proxy *p, int kidx, lua_Integer *pos)
{
    if (p->kind == LV_OBJECT) {
        if (lua_type(L, kidx) != LUA_TSTRING)
            return NULL;
        size_t len;
        const char *k = lua_tolstring(L, kidx, &len);
        return json_object_getn(p->json, k, len);
    }
    int isnum;
    lua_Integer i = lua_tointegerx(L, kidx, &isnum);
    if (!isnum || i < 1 || (size_t)i > json_array_size(p->json))
        return NULL;
    *pos = i;
    return json_array_get(p->json, (size_t)i - 1);
}

/* Push the child proxy of the proxy at pidx cached under key (its key at
 * kidx, or pos for an array) and return true; false with nothing pushed when
 * there is none yet. */
static bool cached_child(lua_State *L, int pidx, lv_proxy *p, int kidx, lua_Integer pos)
{
    if (lua_getiuservalue(L, pidx, 1) != LUA_TTABLE) {
        lua_pop(L, 1);
        return false;
    }
    if (p->kind == LV_ARRAY)
        lua_pushinteger(L, pos);
    else
        lua_pushvalue(L, kidx);
    if (lua_rawget(L, -2) == LUA_TNIL) {
        lua_pop(L, 2);
        return false;
    }
    lua_remove(L, -2);
    return true;
}

/* Cache the proxy on top of the stack (left there) as that child. */
static void cache_child(lua_State *L, int pidx, lv_proxy *p, int kidx, lua_Integer pos)
{
    if (lua_getiuservalue(L, pidx, 1) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 2);
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, pidx, 1);
    }
    if (p->kind == LV_ARRAY)
        lua_pushinteger(L, pos);
    else
        lua_pushvalue(L, kidx);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* Push the value of the view's child j under the key at kidx: containers come
 * from (or go into) the cache, so each is one proxy. */
static void push_view_child(lua_State *L, int pidx, lv_proxy *p, int kidx, json_t *child, lua_Integer pos)
{
    if (!json_is_object(child) && !json_is_array(child)) {
        lv_push(L, child);
        return;
    }
    if (cached_child(L, pidx, p, kidx, pos))
        return;
    push_proxy(L, child);
    lua_getiuservalue(L, pidx, 3); /* the tree's owner, if any, is the parent's */
    lua_setiuservalue(L, -2, 3);
    cache_child(L, pidx, p, kidx, pos);
}

/* The path of the member named by the string at kidx, in the lazy object at
 * pidx: the name escaped ('\' before '.' and '\'), after the object's own
 * path and a '.'. */
typedef enum member_path { MP_PUSHED, MP_NO_MEMBER, MP_NEEDS_TREE } member_path;

static member_path push_member_path(lua_State *L, int pidx, int kidx)
{
    size_t len;
    const char *k = lua_tolstring(L, kidx, &len);
    if (memchr(k, '\0', len))
        return MP_NO_MEMBER; /* no member name holds a NUL (the rule) */
    if (len == 0)
        return MP_NEEDS_TREE; /* "" is a member name but no path */
    bool plain = !memchr(k, '.', len) && !memchr(k, '\\', len);
    size_t plen = 0;
    const char *parent = lua_getiuservalue(L, pidx, 2) == LUA_TSTRING ? lua_tolstring(L, -1, &plen) : NULL;
    if (!parent && plain) {
        lua_pop(L, 1);
        lua_pushvalue(L, kidx);
        return MP_PUSHED;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    if (parent) {
        luaL_addlstring(&b, parent, plen);
        luaL_addchar(&b, '.');
    }
    for (size_t i = 0; i < len; i++) {
        if (k[i] == '.' || k[i] == '\\')
            luaL_addchar(&b, '\\');
        luaL_addchar(&b, k[i]);
    }
    luaL_pushresult(&b);
    lua_remove(L, -2);
    return MP_PUSHED;
}

/* Push the member named by the string at kidx of the lazy object at pidx,
 * read from the record's bytes. Containers are lazy proxies again, cached. */
static void push_lazy_member(lua_State *L, int pidx, lv_proxy *p, int kidx)
{
    int path = lua_gettop(L);
    lua_getiuservalue(L, pidx, 4);
    int src = lua_gettop(L);
    mf_json_view v;
    lvs_get(L, src, lua_tostring(L, path), &v);
    if (v.type == MF_JSON_MISSING) {
        lua_pushnil(L);
    } else if (v.type == MF_JSON_OBJECT || v.type == MF_JSON_ARRAY) {
        if (!cached_child(L, pidx, p, kidx, 0)) {
            lvp_push_lazy(L, src, path, v.type == MF_JSON_ARRAY ? LV_ARRAY : LV_OBJECT);
            cache_child(L, pidx, p, kidx, 0);
        }
    } else {
        lvs_push_scalar(L, &v);
    }
    lua_replace(L, path);
    lua_settop(L, path);
}

static int px_index(lua_State *L)
{
    lv_proxy *p = lua_touserdata(L, 1); /* our own metamethod: it is a proxy */
    if (p->materialized) {
        lua_getiuservalue(L, 1, 1);
        lua_pushvalue(L, 2);
        lua_rawget(L, -2);
        lua_remove(L, -2); /* exactly one value pushed: lvp_next relies on it */
        return 1;
    }
    if (p->lazy && p->kind == LV_OBJECT) {
        if (lua_type(L, 2) != LUA_TSTRING) {
            lua_pushnil(L);
            return 1;
        }
        member_path mp = push_member_path(L, 1, 2);
        if (mp == MP_NO_MEMBER) {
            lua_pushnil(L);
            return 1;
        }
        if (mp == MP_PUSHED) {
            push_lazy_member(L, 1, p, 2);
            return 1;
        }
    }
    lvp_resolve(L, 1, p);
    lua_Integer pos = 0;
    json_t *child = view_child(L, p, 2, &pos);
    if (!child) {
        lua_pushnil(L);
        return 1;
    }
    push_view_child(L, 1, p, 2, child, pos);
    return 1;
}

/* ---- writing ------------------------------------------------------------------------ */

/* Turn the view at idx into Lua tables (one level; children stay proxies,
 * the cached ones reused). */
static void materialize(lua_State *L, int idx, lv_proxy *p)
{
    if (p->materialized)
        return;
    idx = lua_absindex(L, idx);
    lvp_resolve(L, idx, p);
    luaL_checkstack(L, 8, NULL);
    json_t *j = p->json;
    if (p->kind == LV_ARRAY) {
        size_t n = json_array_size(j);
        lua_createtable(L, (int)n, 0);
        int data = lua_gettop(L);
        for (size_t i = 0; i < n; i++) {
            lua_pushinteger(L, (lua_Integer)i + 1);
            push_view_child(L, idx, p, lua_gettop(L), json_array_get(j, i), (lua_Integer)i + 1);
            lua_rawseti(L, data, (lua_Integer)i + 1);
            lua_pop(L, 1);
        }
        lua_pushnil(L);
    } else {
        size_t n = json_object_size(j);
        lua_createtable(L, 0, (int)n);
        int data = lua_gettop(L);
        lua_createtable(L, (int)n, 0);
        int order = lua_gettop(L);
        lua_Integer i = 0;
        for (void *it = json_object_iter(j); it; it = json_object_iter_next(j, it)) {
            lua_pushlstring(L, json_object_iter_key(it), json_object_iter_key_len(it));
            int k = lua_gettop(L);
            push_view_child(L, idx, p, k, json_object_iter_value(it), 0);
            lua_pushvalue(L, k);
            lua_insert(L, -2);
            lua_rawset(L, data);
            lua_rawseti(L, order, ++i);
        }
    }
    /* stack: data, order-or-nil */
    lua_setiuservalue(L, idx, 2);
    lua_setiuservalue(L, idx, 1);
    lua_pushnil(L); /* the tree is no longer read here; the child proxies keep its owner */
    lua_setiuservalue(L, idx, 3);
    p->materialized = true;
    p->json = NULL;
    json_decref(j);
}

static lua_Integer order_find(lua_State *L, int order, lv_proxy *p, int kidx)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, order);
    if (p->hint >= 1 && p->hint <= n) {
        lua_rawgeti(L, order, p->hint);
        bool same = lua_rawequal(L, -1, kidx);
        lua_pop(L, 1);
        if (same)
            return p->hint;
    }
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, order, i);
        bool same = lua_rawequal(L, -1, kidx);
        lua_pop(L, 1);
        if (same)
            return i;
    }
    return 0;
}

static int px_newindex(lua_State *L)
{
    lv_proxy *p = lua_touserdata(L, 1);
    lv_check_storable(L, 3, "a JSON value");
    if (p->kind == LV_OBJECT && lua_type(L, 2) != LUA_TSTRING)
        return luaL_error(L, "JSON object keys are strings, not %s (use tostring(key))", luaL_typename(L, 2));
    materialize(L, 1, p);
    lua_getiuservalue(L, 1, 1);
    int data = lua_gettop(L);
    if (p->kind == LV_OBJECT) {
        lua_pushvalue(L, 2);
        bool absent = lua_rawget(L, data) == LUA_TNIL;
        lua_pop(L, 1);
        if (absent && !lua_isnil(L, 3)) {
            lua_getiuservalue(L, 1, 2);
            int order = lua_gettop(L);
            if (!order_find(L, order, p, 2)) { /* a removed key keeps its place */
                lua_pushvalue(L, 2);
                lua_rawseti(L, order, (lua_Integer)lua_rawlen(L, order) + 1);
            }
            lua_pop(L, 1);
        }
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 3);
        lua_rawset(L, data);
        return 0;
    }
    int isnum;
    lua_Integer i = lua_tointegerx(L, 2, &isnum);
    lua_Integer n = (lua_Integer)lua_rawlen(L, data);
    if (!isnum)
        return luaL_error(L, "JSON array index must be an integer, not %s", luaL_typename(L, 2));
    if (lua_isnil(L, 3)) {
        if (i == n)
            lua_pushnil(L), lua_rawseti(L, data, i);
        else if (i >= 1 && i < n)
            return luaL_error(L, "cannot remove element %I of a JSON array of %I with nil "
                                 "(use table.remove, or martflow.null for a JSON null)", i, n);
        return 0;
    }
    if (i < 1 || i > n + 1)
        return luaL_error(L, "JSON array index %I out of range (1..%I)", i, n + 1);
    lua_pushvalue(L, 3);
    lua_rawseti(L, data, i);
    return 0;
}

/* ---- length, iteration ------------------------------------------------------------------ */

static int px_len(lua_State *L)
{
    lv_proxy *p = lua_touserdata(L, 1);
    if (p->kind == LV_OBJECT) {
        lua_pushinteger(L, 0);
    } else if (p->materialized) {
        lua_getiuservalue(L, 1, 1);
        lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
    } else {
        lvp_resolve(L, 1, p);
        lua_pushinteger(L, (lua_Integer)json_array_size(p->json));
    }
    return 1;
}

/* next(proxy, key) -> key, value | nil, in JSON order for objects. */
int lvp_next(lua_State *L)
{
    lv_proxy *p = lvp_test(L, 1);
    if (!p)
        return luaL_error(L, "next: not a JSON value");
    lua_settop(L, 2);
    if (!p->materialized)
        lvp_resolve(L, 1, p);
    if (p->kind == LV_ARRAY) {
        lua_Integer i = 1;
        if (!lua_isnil(L, 2)) {
            int isnum;
            i = lua_tointegerx(L, 2, &isnum) + 1;
            if (!isnum)
                return luaL_error(L, "invalid key to 'next'");
        }
        lua_Integer n;
        if (p->materialized) {
            lua_getiuservalue(L, 1, 1);
            n = (lua_Integer)lua_rawlen(L, -1);
            lua_pop(L, 1);
        } else {
            n = (lua_Integer)json_array_size(p->json);
        }
        if (i > n) {
            lua_pushnil(L);
            return 1;
        }
        lua_pushinteger(L, i);
        lua_pushvalue(L, -1);
        lua_replace(L, 2);
        px_index(L);
        return 2;
    }
    if (!p->materialized) {
        void *it;
        if (lua_isnil(L, 2)) {
            it = json_object_iter(p->json);
        } else {
            size_t len;
            const char *k = lua_tolstring(L, 2, &len);
            it = k && strlen(k) == len ? json_object_iter_at(p->json, k) : NULL;
            if (!it)
                for (it = json_object_iter(p->json); it; it = json_object_iter_next(p->json, it))
                    if (k && json_object_iter_key_len(it) == len && memcmp(json_object_iter_key(it), k, len) == 0)
                        break;
            if (!it)
                return luaL_error(L, "invalid key to 'next'");
            it = json_object_iter_next(p->json, it);
        }
        if (!it) {
            lua_pushnil(L);
            return 1;
        }
        lua_pushlstring(L, json_object_iter_key(it), json_object_iter_key_len(it));
        push_view_child(L, 1, p, 3, json_object_iter_value(it), 0);
        return 2;
    }
    lua_getiuservalue(L, 1, 1);
    int data = lua_gettop(L);
    lua_getiuservalue(L, 1, 2);
    int order = lua_gettop(L);
    lua_Integer pos = 1;
    if (!lua_isnil(L, 2)) {
        lua_Integer at = order_find(L, order, p, 2);
        if (!at)
            return luaL_error(L, "invalid key to 'next'");
        pos = at + 1;
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, order);
    for (; pos <= n; pos++) {
        lua_rawgeti(L, order, pos);
        lua_pushvalue(L, -1);
        if (lua_rawget(L, data) != LUA_TNIL) {
            p->hint = pos;
            return 2;
        }
        lua_pop(L, 2); /* removed: skip */
    }
    lua_pushnil(L);
    return 1;
}

static int px_pairs(lua_State *L)
{
    lua_pushcfunction(L, lvp_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int px_tostring(lua_State *L)
{
    lv_push_text(L, 1);
    return 1;
}

static int px_gc(lua_State *L)
{
    lv_proxy *p = lua_touserdata(L, 1);
    json_decref(p->json);
    p->json = NULL;
    return 0;
}

/* ---- dirty ------------------------------------------------------------------------------------ */

static bool dirty(lua_State *L, int idx, int depth)
{
    lv_proxy *p = lvp_test(L, idx);
    if (!p)
        return false;
    if (p->materialized)
        return true;
    if (depth > LV_MAX_DEPTH)
        return true;
    idx = lua_absindex(L, idx);
    if (lua_getiuservalue(L, idx, 1) != LUA_TTABLE) { /* no child was read */
        lua_pop(L, 1);
        return false;
    }
    luaL_checkstack(L, 4, NULL);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (dirty(L, -1, depth + 1)) {
            lua_pop(L, 3);
            return true;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return false;
}

bool lv_is_dirty(lua_State *L, int idx)
{
    return dirty(L, idx, 0);
}

/* ---- registration ------------------------------------------------------------------------------- */

static int null_tostring(lua_State *L)
{
    lua_pushliteral(L, "null");
    return 1;
}

static int null_index(lua_State *L)
{
    return luaL_error(L, "attempt to index martflow.null (a JSON null) with key '%s'", luaL_tolstring(L, 2, NULL));
}

void lvp_register(lua_State *L)
{
    static const luaL_Reg proxy_mt[] = {
        {"__index", px_index},       {"__newindex", px_newindex}, {"__len", px_len},
        {"__pairs", px_pairs},       {"__tostring", px_tostring}, {"__gc", px_gc},
        {NULL, NULL},
    };
    lua_newtable(L);
    luaL_setfuncs(L, proxy_mt, 0);
    lua_pushliteral(L, PROXY_NAME);
    lua_setfield(L, -2, "__metatable");
    lua_pushliteral(L, PROXY_NAME);
    lua_setfield(L, -2, "__name");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &proxy_mt_key);

    lua_newuserdatauv(L, 1, 0);
    lua_newtable(L);
    lua_pushcfunction(L, null_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, null_index);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "martflow.null");
    lua_setfield(L, -2, "__metatable");
    lua_pushliteral(L, "martflow.null");
    lua_setfield(L, -2, "__name");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &lvp_null_key);

    /* Marker metatables for plain tables: no behaviour, only the kind. */
    lua_newtable(L);
    lua_pushliteral(L, "martflow.array");
    lua_setfield(L, -2, "__name");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &lvp_array_mt_key);
    lua_newtable(L);
    lua_pushliteral(L, "martflow.object");
    lua_setfield(L, -2, "__name");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &lvp_object_mt_key);
}
