/*
 * lua_json.c — Lua values to JSON (the encoder used by emit, snapshots and
 * json_encode), JSON to plain Lua tables (params, restored state), and the
 * value functions of the `martflow` table. See lua_value.h for the rules.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lua_proxy.h"
#include "lua_sandbox.h"
#include "lua_value.h"

/* What a JSON node costs in memory (jansson's node and the slot or object
 * entry pointing to it, with malloc's overhead), charged against max_memory
 * with the bytes of its string and key. */
#define NODE_COST 64u
#define MEMBER_COST 64u
#define ENCODING "while encoding JSON"

static const char holder_mt_key = 0, textbuf_mt_key = 0;

typedef struct enc {
    lua_State *L;
    lv_holder *h;
} enc;

void lvh_free(lv_holder *h)
{
    json_decref(h->root);
    h->root = NULL;
    lsb_release(h->sb, h->held);
    h->held = 0;
}

static int holder_gc(lua_State *L)
{
    lvh_free(lua_touserdata(L, 1));
    return 0;
}

lv_holder *lvh_new(lua_State *L, json_t *root)
{
    lv_holder *h = lua_newuserdatauv(L, sizeof *h, 0);
    h->root = root;
    h->held = 0;
    h->sb = lsb_from(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &holder_mt_key);
    lua_setmetatable(L, -2);
    return h;
}

/* Push a to-be-closed holder of j (may be NULL): an error unwinding the
 * encoder (or the slot being closed) frees the tree and releases the bytes
 * at once. Containers are attached to their parent before they are filled,
 * so the root owns everything built so far. */
static lv_holder *push_holder(lua_State *L, json_t *j)
{
    lv_holder *h = lvh_new(L, j);
    lua_toclose(L, -1);
    return h;
}

/* Count bytes about to be allocated for the tree against the cap, and the
 * work against the instruction budget; raise before allocating past either. */
static void charge(enc *e, size_t bytes)
{
    if (!lsb_hold(e->L, bytes))
        lsb_raise_cap(e->L, ENCODING);
    e->h->held += bytes;
    lsb_spend(e->L, 1 + (int64_t)(bytes / LV_WORK_BYTES), ENCODING);
}

static bool is_container(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TTABLE || lvp_test(L, idx) != NULL;
}

static void fill(enc *e, int idx, json_t *dst, int depth);

/* The new JSON for a non-container value (charged by the caller, except
 * for the bytes of strings). */
static json_t *scalar(enc *e, int idx)
{
    lua_State *L = e->L;
    json_t *j = NULL;
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        j = json_boolean(lua_toboolean(L, idx));
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            j = json_integer((json_int_t)lua_tointeger(L, idx));
        } else {
            double d = lua_tonumber(L, idx);
            if (!isfinite(d))
                luaL_error(L, "cannot encode %f as JSON (NaN and infinities have no JSON form)", d);
            j = json_real(d);
        }
        break;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        charge(e, len + 1);
        j = json_stringn(s, len);
        if (!j)
            luaL_error(L, "cannot encode a string that is not valid UTF-8 as JSON");
        break;
    }
    case LUA_TUSERDATA:
        if (lv_is_null(L, idx)) {
            j = json_null();
            break;
        }
        /* fall through */
    default:
        luaL_error(L, "cannot encode a %s as JSON", luaL_typename(L, idx));
    }
    if (!j)
        luaL_error(L, "out of memory");
    return j;
}

/* Append v to the array dst, or set it under key (which may come from Lua:
 * checked for UTF-8). Takes v. */
static void attach(enc *e, json_t *dst, const char *key, size_t key_len, json_t *v)
{
    if (!key)
        json_array_append_new(dst, v);
    else if (json_object_setn_new(dst, key, key_len, v) != 0)
        luaL_error(e->L, "cannot encode an object key that is not valid UTF-8 as JSON");
}

/* Append or set the value at vidx into dst (an array when key is NULL). */
static void put(enc *e, json_t *dst, const char *key, size_t key_len, int vidx, int depth)
{
    charge(e, NODE_COST + (key ? MEMBER_COST + key_len : 0));
    if (is_container(e->L, vidx)) {
        /* The kind of the container decides what to create. */
        lv_proxy *p = lvp_test(e->L, vidx);
        bool array;
        if (p) {
            array = p->kind == LV_ARRAY;
        } else {
            lua_State *L = e->L;
            array = false;
            if (lua_getmetatable(L, vidx)) {
                lua_rawgetp(L, LUA_REGISTRYINDEX, &lvp_array_mt_key);
                array = lua_rawequal(L, -1, -2);
                lua_pop(L, 2);
            }
            if (!array) {
                bool marked_object = false;
                if (lua_getmetatable(L, vidx)) {
                    lua_rawgetp(L, LUA_REGISTRYINDEX, &lvp_object_mt_key);
                    marked_object = lua_rawequal(L, -1, -2);
                    lua_pop(L, 2);
                }
                if (!marked_object) {
                    /* Unmarked: an array when the keys are exactly 1..n, n > 0. */
                    lua_Integer n = 0;
                    bool seq = true;
                    lua_pushnil(L);
                    while (lua_next(L, vidx)) {
                        lua_pop(L, 1);
                        n++;
                        if (seq && (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1))
                            seq = false;
                    }
                    array = seq && n > 0 && (lua_Integer)lua_rawlen(L, vidx) == n;
                }
            }
        }
        json_t *c = array ? json_array() : json_object();
        if (!c)
            luaL_error(e->L, "out of memory");
        attach(e, dst, key, key_len, c);
        fill(e, vidx, c, depth + 1);
        return;
    }
    attach(e, dst, key, key_len, scalar(e, vidx));
}

/* Deep copy of untouched JSON into dst's child (top-down, so nothing leaks
 * when the size bound raises). */
static void copy_into(enc *e, json_t *dst, const char *key, size_t key_len, json_t *src, int depth);

static void copy_children(enc *e, json_t *dst, json_t *src, int depth)
{
    if (depth > LV_MAX_DEPTH)
        luaL_error(e->L, "JSON value nested too deeply");
    if (json_is_object(src)) {
        for (void *it = json_object_iter(src); it; it = json_object_iter_next(src, it))
            copy_into(e, dst, json_object_iter_key(it), json_object_iter_key_len(it), json_object_iter_value(it),
                      depth);
    } else {
        for (size_t i = 0; i < json_array_size(src); i++)
            copy_into(e, dst, NULL, 0, json_array_get(src, i), depth);
    }
}

static void copy_into(enc *e, json_t *dst, const char *key, size_t key_len, json_t *src, int depth)
{
    json_t *c;
    bool container = json_is_object(src) || json_is_array(src);
    charge(e, NODE_COST + (key ? MEMBER_COST + key_len : 0) + (json_is_string(src) ? json_string_length(src) + 1 : 0));
    if (container)
        c = json_is_object(src) ? json_object() : json_array();
    else if (json_is_string(src))
        c = json_stringn_nocheck(json_string_value(src), json_string_length(src));
    else
        c = json_copy(src); /* scalars: a fresh node */
    if (!c)
        luaL_error(e->L, "out of memory");
    if (key)
        json_object_setn_new_nocheck(dst, key, key_len, c);
    else
        json_array_append_new(dst, c);
    if (container)
        copy_children(e, c, src, depth + 1);
}

/* Sorting the string keys of plain tables. */
typedef struct skey {
    const char *s;
    size_t len;
} skey;

static int skey_cmp(const void *a, const void *b)
{
    const skey *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Fill the (already attached) container dst from the container at idx. */
static void fill(enc *e, int idx, json_t *dst, int depth)
{
    lua_State *L = e->L;
    if (depth > LV_MAX_DEPTH)
        luaL_error(L, "value nested too deeply for JSON (over %d levels, or a cycle)", LV_MAX_DEPTH);
    luaL_checkstack(L, 8, "value nested too deeply");
    idx = lua_absindex(L, idx);
    lv_proxy *p = lvp_test(L, idx);
    if (p && !p->materialized) {
        /* A view: untouched children are copied, read ones may be written. */
        lvp_resolve(L, idx, p);
        bool cached = lua_getiuservalue(L, idx, 1) == LUA_TTABLE;
        int cache = lua_gettop(L);
        if (json_is_object(p->json)) {
            for (void *it = json_object_iter(p->json); it; it = json_object_iter_next(p->json, it)) {
                const char *k = json_object_iter_key(it);
                size_t kl = json_object_iter_key_len(it);
                if (cached && (lua_pushlstring(L, k, kl), lua_rawget(L, cache)) != LUA_TNIL) {
                    put(e, dst, k, kl, lua_gettop(L), depth);
                    lua_pop(L, 1);
                    continue;
                }
                if (cached)
                    lua_pop(L, 1);
                copy_into(e, dst, k, kl, json_object_iter_value(it), depth);
            }
        } else {
            for (size_t i = 0; i < json_array_size(p->json); i++) {
                if (cached && lua_rawgeti(L, cache, (lua_Integer)i + 1) != LUA_TNIL) {
                    put(e, dst, NULL, 0, lua_gettop(L), depth);
                    lua_pop(L, 1);
                    continue;
                }
                if (cached)
                    lua_pop(L, 1);
                copy_into(e, dst, NULL, 0, json_array_get(p->json, i), depth);
            }
        }
        lua_settop(L, cache - 1);
        return;
    }
    if (p) {
        /* Materialized: the data table, in key order for objects. */
        lua_getiuservalue(L, idx, 1);
        int data = lua_gettop(L);
        if (p->kind == LV_ARRAY) {
            lua_Integer n = (lua_Integer)lua_rawlen(L, data);
            for (lua_Integer i = 1; i <= n; i++) {
                lua_rawgeti(L, data, i);
                put(e, dst, NULL, 0, lua_gettop(L), depth);
                lua_pop(L, 1);
            }
        } else {
            lua_getiuservalue(L, idx, 2);
            int order = lua_gettop(L);
            lua_Integer n = (lua_Integer)lua_rawlen(L, order);
            for (lua_Integer i = 1; i <= n; i++) {
                lua_rawgeti(L, order, i);
                lua_pushvalue(L, -1);
                if (lua_rawget(L, data) != LUA_TNIL) {
                    size_t kl;
                    const char *k = lua_tolstring(L, -2, &kl);
                    put(e, dst, k, kl, lua_gettop(L), depth);
                }
                lua_pop(L, 2);
            }
        }
        lua_settop(L, data - 1);
        return;
    }
    /* A plain table. */
    if (json_is_array(dst)) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            lua_pop(L, 1);
            if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n)
                luaL_error(L, "a JSON array (martflow.array) has only the keys 1..n; found key %s",
                           luaL_tolstring(L, -1, NULL));
        }
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            put(e, dst, NULL, 0, lua_gettop(L), depth);
            lua_pop(L, 1);
        }
        return;
    }
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            const char *type = luaL_typename(L, -1);
            luaL_error(L, "JSON object keys are strings; this table has the %s key %s "
                          "(use tostring(key), or martflow.array for a list)",
                       type, luaL_tolstring(L, -1, NULL));
        }
        n++;
    }
    if (n == 0)
        return;
    /* Sorted keys, so the output does not depend on the hash order. The key
     * array is a userdata: the GC frees it if an error unwinds. */
    skey *keys = lua_newuserdatauv(L, n * sizeof *keys, 0);
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        keys[i].s = lua_tolstring(L, -1, &keys[i].len); /* alive: keys of the table */
        i++;
    }
    qsort(keys, n, sizeof *keys, skey_cmp);
    for (i = 0; i < n; i++) {
        lua_pushlstring(L, keys[i].s, keys[i].len);
        lua_rawget(L, idx);
        put(e, dst, keys[i].s, keys[i].len, lua_gettop(L), depth);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* Encode the value at idx into a to-be-closed holder pushed on the stack. */
static lv_holder *encode_push(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lv_holder *h = push_holder(L, NULL);
    enc e = {L, h};
    if (lua_isnil(L, idx)) {
        charge(&e, NODE_COST);
        h->root = json_null();
        return h;
    }
    /* An array to hold the root while it is built: put() decides its kind. */
    charge(&e, NODE_COST);
    h->root = json_array();
    if (!h->root)
        luaL_error(L, "out of memory");
    put(&e, h->root, NULL, 0, idx, 0);
    json_t *root = json_incref(json_array_get(h->root, 0));
    json_decref(h->root);
    h->root = root;
    return h;
}

json_t *lv_encode(lua_State *L, int idx, size_t *held)
{
    lv_holder *h = encode_push(L, idx);
    json_t *j = h->root;
    *held = h->held;
    h->root = NULL;
    h->held = 0;
    lua_closeslot(L, -1);
    lua_pop(L, 1);
    return j;
}

/* ---- JSON text -------------------------------------------------------------------------------- */

/* The text of an encode, outside the Lua heap but held against the cap; a
 * to-be-closed userdata like the holder. */
typedef struct textbuf {
    lua_State *L;
    lsb *sb;
    char *data;
    size_t len, cap;
    bool refused; /* the cap refused to let it grow */
} textbuf;

static int textbuf_gc(lua_State *L)
{
    textbuf *b = lua_touserdata(L, 1);
    free(b->data);
    b->data = NULL;
    lsb_release(b->sb, b->cap);
    b->cap = b->len = 0;
    return 0;
}

/* json_dump_callback's sink: must not raise (jansson has its own
 * allocations on the stack), so a refusal is reported with -1. */
static int text_add(const char *s, size_t n, void *ud)
{
    textbuf *b = ud;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2)
                return -1;
            cap *= 2;
        }
        /* the old and the new buffer both exist while realloc copies */
        if (!lsb_hold(b->L, cap)) {
            b->refused = true;
            return -1;
        }
        char *p = realloc(b->data, cap);
        if (!p) {
            lsb_release(b->sb, cap);
            return -1;
        }
        lsb_release(b->sb, b->cap);
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

void lv_push_text(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_pushnil(L); /* the result's slot, below the to-be-closed ones */
    int res = lua_gettop(L);
    lv_holder *h = encode_push(L, idx);
    textbuf *b = lua_newuserdatauv(L, sizeof *b, 0);
    *b = (textbuf){.L = L, .sb = lsb_from(L)};
    lua_rawgetp(L, LUA_REGISTRYINDEX, &textbuf_mt_key);
    lua_setmetatable(L, -2);
    lua_toclose(L, -1);
    if (json_dump_callback(h->root, text_add, b, JSON_COMPACT | JSON_ENCODE_ANY) != 0) {
        if (b->refused)
            lsb_raise_cap(L, ENCODING);
        luaL_error(L, "out of memory");
    }
    lvh_free(h); /* before the copy into Lua */
    /* The copy is a Lua string: check that it fits, for the clear message. */
    if (!lsb_hold(L, b->len + NODE_COST))
        lsb_raise_cap(L, ENCODING);
    lsb_release(b->sb, b->len + NODE_COST);
    lua_pushlstring(L, b->data, b->len);
    lua_replace(L, res);
    lua_closeslot(L, res + 2);
    lua_closeslot(L, res + 1);
    lua_settop(L, res);
}

/* ---- JSON to plain tables ------------------------------------------------------------------ */

static void push_plain(lua_State *L, const json_t *j, int depth)
{
    if (depth > LV_MAX_DEPTH)
        luaL_error(L, "JSON value nested too deeply");
    luaL_checkstack(L, 4, "JSON value nested too deeply");
    if (json_is_object(j)) {
        lua_createtable(L, 0, (int)json_object_size(j));
        for (void *it = json_object_iter((json_t *)j); it; it = json_object_iter_next((json_t *)j, it)) {
            lua_pushlstring(L, json_object_iter_key(it), json_object_iter_key_len(it));
            push_plain(L, json_object_iter_value(it), depth + 1);
            lua_rawset(L, -3);
        }
    } else if (json_is_array(j)) {
        size_t n = json_array_size(j);
        lua_createtable(L, (int)n, 0);
        for (size_t i = 0; i < n; i++) {
            push_plain(L, json_array_get(j, i), depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_rawgetp(L, LUA_REGISTRYINDEX, &lvp_array_mt_key);
        lua_setmetatable(L, -2);
    } else {
        lv_push(L, (json_t *)j);
    }
}

void lv_push_plain(lua_State *L, const json_t *j)
{
    push_plain(L, j, 0);
}

void lv_check_storable(lua_State *L, int idx, const char *what)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
    case LUA_TBOOLEAN:
    case LUA_TNUMBER:
    case LUA_TSTRING:
    case LUA_TTABLE:
        return;
    case LUA_TUSERDATA:
        if (lv_is_null(L, idx) || lvp_test(L, idx))
            return;
        /* fall through */
    default:
        luaL_error(L, "cannot store a %s in %s", luaL_typename(L, idx), what);
    }
}

/* ---- the martflow functions -------------------------------------------------------------------- */

static int mark(lua_State *L, const void *key, const char *name)
{
    if (lua_isnoneornil(L, 1))
        lua_newtable(L);
    else
        luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    if (lua_getmetatable(L, 1)) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, key);
        bool same = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (!same)
            return luaL_error(L, "martflow.%s: the table already has a metatable", name);
    }
    lua_rawgetp(L, LUA_REGISTRYINDEX, key);
    lua_setmetatable(L, 1);
    return 1;
}

static int mf_array(lua_State *L)
{
    return mark(L, &lvp_array_mt_key, "array");
}

static int mf_object(lua_State *L)
{
    return mark(L, &lvp_object_mt_key, "object");
}

static int mf_is_null(lua_State *L)
{
    lua_pushboolean(L, lv_is_null(L, 1));
    return 1;
}

static int mf_is_array(lua_State *L)
{
    lv_proxy *p = lvp_test(L, 1);
    bool is = false;
    if (p) {
        is = p->kind == LV_ARRAY;
    } else if (lua_type(L, 1) == LUA_TTABLE) {
        if (lua_getmetatable(L, 1)) {
            lua_rawgetp(L, LUA_REGISTRYINDEX, &lvp_array_mt_key);
            is = lua_rawequal(L, -1, -2);
            lua_pop(L, 2);
        } else {
            lua_Integer n = 0;
            bool seq = true;
            lua_pushnil(L);
            while (lua_next(L, 1)) {
                lua_pop(L, 1);
                n++;
                seq = seq && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1;
            }
            is = seq && n > 0 && (lua_Integer)lua_rawlen(L, 1) == n;
        }
    }
    lua_pushboolean(L, is);
    return 1;
}

static int mf_totable(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    if (!is_container(L, 1))
        return 1;
    lv_holder *h = encode_push(L, 1);
    lv_push_plain(L, h->root); /* Lua tables: counted by the state's allocator */
    lvh_free(h);
    return 1; /* closes the holder */
}

static int mf_json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    lv_push_text(L, 1);
    return 1;
}

/* type(): proxies are tables as far as scripts are concerned. */
static int mf_type(lua_State *L)
{
    luaL_checkany(L, 1);
    if (lvp_test(L, 1))
        lua_pushliteral(L, "table");
    else
        lua_pushstring(L, luaL_typename(L, 1));
    return 1;
}

static int mf_next(lua_State *L)
{
    if (lvp_test(L, 1))
        return lvp_next(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (lua_next(L, 1))
        return 2;
    lua_pushnil(L);
    return 1;
}

void lv_register(lua_State *L, int lib)
{
    lib = lua_absindex(L, lib);
    lvp_register(L);
    lua_newtable(L);
    lua_pushcfunction(L, holder_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, holder_gc);
    lua_setfield(L, -2, "__close");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &holder_mt_key);
    lua_newtable(L);
    lua_pushcfunction(L, textbuf_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, textbuf_gc);
    lua_setfield(L, -2, "__close");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &textbuf_mt_key);

    static const luaL_Reg fns[] = {
        {"array", mf_array},     {"object", mf_object},           {"is_null", mf_is_null},
        {"is_array", mf_is_array}, {"totable", mf_totable},       {"json_encode", mf_json_encode},
        {"json_decode", lvd_json_decode}, {NULL, NULL},
    };
    lua_pushvalue(L, lib);
    luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
    lv_push_null(L);
    lua_setfield(L, lib, "null");
    lua_pushcfunction(L, mf_type);
    lua_setglobal(L, "type");
    lua_pushcfunction(L, mf_next);
    lua_setglobal(L, "next");
}
