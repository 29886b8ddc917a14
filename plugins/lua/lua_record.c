/*
 * lua_record.c — records as scripts see them, and emit().
 *
 * A record object is a userdata over an input mf_record, valid during the
 * call that received it. Fields are converted when read (key, value, time,
 * headers, origin, raw) and replaced when assigned; the value is read without
 * a tree until the script needs one (lua_source.h), unless it has one. emit(record) of a record
 * whose fields were not replaced and whose value was not written queues the
 * input itself: it goes out byte for byte as it came. Otherwise, and for
 * plain tables {key=, value=, time=, headers=, raw=}, emit builds a new record
 * in the outbox.
 *
 * User values: 1 value (read or assigned), 2 key, 3 headers table, 4 raw.
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lua_env.h"
#include "lua_source.h"
#include "lua_value.h"

enum {
    LR_KEY = 0x1,          /* assigned */
    LR_VALUE = 0x2,
    LR_TIME = 0x4,
    LR_HEADERS = 0x8,
    LR_RAW = 0x10,
    LR_VALUE_READ = 0x20,  /* uv1 holds the value as read */
    LR_HEADERS_READ = 0x40 /* uv3 holds the headers as read (may be edited) */
};

enum { UV_VALUE = 1, UV_KEY = 2, UV_HEADERS = 3, UV_RAW = 4 };

struct lr_record {
    mf_record *rec;
    uint64_t generation; /* the call it belongs to (lp_env.generation) */
    uint32_t set;
    int64_t time;
};

static const char record_mt_key = 0, emit_key = 0, ports_key = 0;

/* The outbox's arena rounds every copy up to this. */
#define ARENA_ALIGN 16u
/* A number's text is shorter than this (lua_tolstring's buffer). */
#define NUMBER_TEXT_MAX 64u

/* Hold n bytes of this call's output against the memory cap before they are
 * allocated: they stay in the outbox until the call returns. */
static void out_hold(lua_State *L, lp_env *env, size_t n)
{
    if (!lsb_hold(L, n))
        lsb_raise_cap(L, "by the output of this call");
    lsb_keep_for_call(&env->sb, n);
}

#define FIELDS "key, value, time, headers, origin, raw"

typedef enum field { F_NONE, F_KEY, F_VALUE, F_TIME, F_HEADERS, F_ORIGIN, F_RAW } field;

static field field_of(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TSTRING)
        return F_NONE;
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(s, lit, n) == 0)
    if (IS("value"))
        return F_VALUE;
    if (IS("key"))
        return F_KEY;
    if (IS("time"))
        return F_TIME;
    if (IS("headers"))
        return F_HEADERS;
    if (IS("origin"))
        return F_ORIGIN;
    if (IS("raw"))
        return F_RAW;
#undef IS
    return F_NONE;
}

static lr_record *check_live(lua_State *L, int idx)
{
    lr_record *r = lua_touserdata(L, idx);
    if (r->generation != lp_env_of(L)->generation)
        luaL_error(L, "this record belongs to a call that has returned; keep the values you need "
                      "(e.g. record.value) instead of the record");
    return r;
}

static lr_record *test_record(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx))
        return NULL;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &record_mt_key);
    bool is = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return is ? lua_touserdata(L, idx) : NULL;
}

void lr_push(lua_State *L, lp_env *env, mf_record *rec)
{
    lr_record *r = lua_newuserdatauv(L, sizeof *r, 4);
    r->rec = rec;
    r->generation = env->generation;
    r->set = 0;
    r->time = MF_TIME_UNSET;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &record_mt_key);
    lua_setmetatable(L, -2);
}

/* ---- reading -------------------------------------------------------------------------- */

static void push_headers(lua_State *L, const mf_record *rec)
{
    lua_createtable(L, 0, rec->n_headers);
    for (uint16_t i = 0; i < rec->n_headers; i++) {
        const mf_header *h = &rec->headers[i];
        if (lua_getfield(L, -1, h->name) == LUA_TNIL) { /* the first of a name wins */
            lua_pop(L, 1);
            lua_pushlstring(L, (const char *)h->value, h->value_len);
            lua_setfield(L, -2, h->name);
        } else {
            lua_pop(L, 1);
        }
    }
}

static void push_origin(lua_State *L, const mf_record *rec)
{
    lua_createtable(L, 0, 4);
    if (rec->origin.source) {
        lua_pushstring(L, rec->origin.source);
        lua_setfield(L, -2, "source");
    }
    if (rec->origin.topic) {
        lua_pushstring(L, rec->origin.topic);
        lua_setfield(L, -2, "topic");
    }
    if (rec->origin.partition >= 0) {
        lua_pushinteger(L, rec->origin.partition);
        lua_setfield(L, -2, "partition");
    }
    if (rec->origin.offset >= 0) {
        lua_pushinteger(L, rec->origin.offset);
        lua_setfield(L, -2, "offset");
    }
}

static int rec_index(lua_State *L)
{
    field f = field_of(L, 2);
    if (f == F_NONE)
        return luaL_error(L, "a record has no field '%s' (fields: " FIELDS ")", luaL_tolstring(L, 2, NULL));
    lr_record *r = check_live(L, 1);
    mf_record *rec = r->rec;
    lp_env *env = lp_env_of(L);
    switch (f) {
    case F_VALUE:
        if (r->set & (LR_VALUE | LR_VALUE_READ)) {
            lua_getiuservalue(L, 1, UV_VALUE);
        } else if (r->set & LR_RAW) {
            return luaL_error(L, "record.value: the record's raw bytes were replaced; read record.raw");
        } else {
            if (rec->flags & MF_RECORD_VALUE_NULL) {
                lua_pushnil(L);
            } else if (rec->json) {
                lv_push(L, rec->json); /* parsed already: read that tree */
            } else {
                const char *err = lvs_push_value(L, env, rec); /* read without a tree */
                if (err)
                    return luaL_error(L, "record value is not JSON (%s); record.raw has the bytes", err);
            }
            lua_pushvalue(L, -1);
            lua_setiuservalue(L, 1, UV_VALUE);
            r->set |= LR_VALUE_READ;
        }
        return 1;
    case F_KEY:
        if (r->set & LR_KEY)
            lua_getiuservalue(L, 1, UV_KEY);
        else if (rec->flags & MF_RECORD_KEY_NULL)
            lua_pushnil(L);
        else
            lua_pushlstring(L, (const char *)rec->key, rec->key_len);
        return 1;
    case F_TIME: {
        int64_t t = (r->set & LR_TIME) ? r->time : rec->time_ms;
        if (t == MF_TIME_UNSET)
            lua_pushnil(L);
        else
            lua_pushinteger(L, t);
        return 1;
    }
    case F_HEADERS:
        if (r->set & (LR_HEADERS | LR_HEADERS_READ)) {
            lua_getiuservalue(L, 1, UV_HEADERS);
        } else {
            push_headers(L, rec);
            lua_pushvalue(L, -1);
            lua_setiuservalue(L, 1, UV_HEADERS);
            r->set |= LR_HEADERS_READ;
        }
        return 1;
    case F_ORIGIN:
        push_origin(L, rec);
        return 1;
    case F_RAW:
        if (r->set & LR_RAW) {
            lua_getiuservalue(L, 1, UV_RAW);
        } else if (r->set & LR_VALUE) {
            return luaL_error(L, "record.raw: the record's value was replaced; read record.value");
        } else if (rec->flags & MF_RECORD_VALUE_NULL) {
            lua_pushnil(L);
        } else {
            size_t len;
            const uint8_t *v = env->host->record_value(env->node, rec, &len);
            lua_pushlstring(L, (const char *)v, len);
        }
        return 1;
    default:
        return 0;
    }
}

/* ---- writing -------------------------------------------------------------------------------- */

static int rec_newindex(lua_State *L)
{
    field f = field_of(L, 2);
    if (f == F_NONE)
        return luaL_error(L, "a record has no field '%s' (fields: " FIELDS ")", luaL_tolstring(L, 2, NULL));
    lr_record *r = check_live(L, 1);
    switch (f) {
    case F_VALUE:
        lv_check_storable(L, 3, "record.value");
        lua_settop(L, 3);
        lua_setiuservalue(L, 1, UV_VALUE);
        r->set = (r->set | LR_VALUE) & ~(uint32_t)(LR_VALUE_READ | LR_RAW);
        lua_pushnil(L);
        lua_setiuservalue(L, 1, UV_RAW);
        return 0;
    case F_RAW:
        if (!lua_isnil(L, 3))
            luaL_checktype(L, 3, LUA_TSTRING);
        lua_settop(L, 3);
        lua_setiuservalue(L, 1, UV_RAW);
        r->set = (r->set | LR_RAW) & ~(uint32_t)(LR_VALUE | LR_VALUE_READ);
        lua_pushnil(L);
        lua_setiuservalue(L, 1, UV_VALUE);
        return 0;
    case F_KEY:
        if (!lua_isnil(L, 3)) {
            if (lua_type(L, 3) != LUA_TSTRING && lua_type(L, 3) != LUA_TNUMBER)
                return luaL_error(L, "record.key must be a string or nil, not %s", luaL_typename(L, 3));
            lua_tostring(L, 3); /* numbers as text */
        }
        lua_settop(L, 3);
        lua_setiuservalue(L, 1, UV_KEY);
        r->set |= LR_KEY;
        return 0;
    case F_TIME:
        if (lua_isnil(L, 3)) {
            r->time = MF_TIME_UNSET;
        } else {
            int isint;
            lua_Integer t = lua_tointegerx(L, 3, &isint);
            if (!isint)
                return luaL_error(L, "record.time must be integer epoch milliseconds or nil");
            r->time = t;
        }
        r->set |= LR_TIME;
        return 0;
    case F_HEADERS:
        if (!lua_isnil(L, 3))
            luaL_checktype(L, 3, LUA_TTABLE);
        lua_settop(L, 3);
        lua_setiuservalue(L, 1, UV_HEADERS);
        r->set = (r->set | LR_HEADERS) & ~(uint32_t)LR_HEADERS_READ;
        return 0;
    case F_ORIGIN:
        return luaL_error(L, "record.origin is read-only");
    default:
        return 0;
    }
}

static int rec_tostring(lua_State *L)
{
    lr_record *r = lua_touserdata(L, 1);
    bool live = r->generation == lp_env_of(L)->generation;
    lua_pushfstring(L, "martflow.record: %p%s", (void *)r, live ? "" : " (expired)");
    return 1;
}

/* ---- building output ---------------------------------------------------------------------------- */

static int header_cmp(const void *a, const void *b)
{
    return strcmp(((const mf_header *)a)->name, ((const mf_header *)b)->name);
}

/* The headers table at idx into outbox memory: the input's header order
 * first (when given), then new names in sorted order. Values: strings or
 * numbers. */
static void headers_out(lua_State *L, lp_env *env, int idx, const mf_record *orig, mf_record *out)
{
    lp_outbox *o = &env->out;
    idx = lua_absindex(L, idx);
    size_t n = 0, bytes = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "header names are strings, not %s", luaL_typename(L, -2));
        if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "header '%s': the value must be a string, not %s", lua_tostring(L, -2),
                       luaL_typename(L, -1));
        bytes += lua_rawlen(L, -2) + (lua_type(L, -1) == LUA_TSTRING ? lua_rawlen(L, -1) : NUMBER_TEXT_MAX) +
                 2 * (1 + ARENA_ALIGN);
        lua_pop(L, 1);
        n++;
    }
    if (n > UINT16_MAX)
        luaL_error(L, "too many headers");
    out_hold(L, env, bytes + (n ? n : 1) * sizeof(mf_header) + ARENA_ALIGN);
    mf_header *h = lpo_alloc(o, (n ? n : 1) * sizeof *h);
    size_t k = 0;
    /* names of the input first, in their order */
    for (uint16_t i = 0; orig && i < orig->n_headers; i++) {
        const char *name = orig->headers[i].name;
        bool dup = false;
        for (size_t j = 0; j < k && !dup; j++)
            dup = strcmp(h[j].name, name) == 0;
        if (dup || lua_getfield(L, idx, name) == LUA_TNIL) {
            if (!dup)
                lua_pop(L, 1);
            continue;
        }
        size_t len;
        const char *v = lua_tolstring(L, -1, &len);
        h[k++] = (mf_header){(const char *)lpo_copy(o, name, strlen(name)), lpo_copy(o, v, len), (uint32_t)len};
        lua_pop(L, 1);
    }
    size_t first_new = k;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *name = lua_tostring(L, -2);
        bool seen = false;
        for (size_t j = 0; j < first_new && !seen; j++)
            seen = strcmp(h[j].name, name) == 0;
        if (!seen) {
            size_t len;
            lua_pushvalue(L, -1);
            const char *v = lua_tolstring(L, -1, &len); /* a copy: never convert a key in place */
            h[k++] = (mf_header){(const char *)lpo_copy(o, name, strlen(name)), lpo_copy(o, v, len),
                                 (uint32_t)len};
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    /* new names in sorted order, not the table's hash order */
    qsort(h + first_new, k - first_new, sizeof *h, header_cmp);
    out->headers = h;
    out->n_headers = (uint16_t)k;
}

/* Is the headers table at idx the same as the input's headers? */
static bool headers_same(lua_State *L, int idx, const mf_record *rec)
{
    idx = lua_absindex(L, idx);
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        n++;
    }
    size_t distinct = 0;
    for (uint16_t i = 0; i < rec->n_headers; i++) {
        const mf_header *h = &rec->headers[i];
        const mf_header *first = NULL;
        for (uint16_t j = 0; j <= i && !first; j++)
            if (strcmp(rec->headers[j].name, h->name) == 0)
                first = &rec->headers[j];
        if (first != h)
            continue;
        distinct++;
        lua_getfield(L, idx, h->name);
        size_t len;
        const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        bool same = v && len == h->value_len && memcmp(v, h->value, len) == 0;
        lua_pop(L, 1);
        if (!same)
            return false;
    }
    return distinct == n;
}

/* The value at idx (nil: no value) into out: raw bytes or JSON. */
static void value_out(lua_State *L, lp_env *env, int idx, bool raw, mf_record *out, json_t **json)
{
    out->json = NULL;
    out->value = NULL;
    out->value_len = 0;
    out->flags &= ~(uint32_t)(MF_RECORD_VALUE_NULL | MF_RECORD_VALUE_STALE);
    if (lua_isnil(L, idx)) {
        out->flags |= MF_RECORD_VALUE_NULL;
        return;
    }
    if (raw) {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        if (len > UINT32_MAX)
            luaL_error(L, "value too large");
        out_hold(L, env, len + 1 + ARENA_ALIGN);
        out->value = lpo_copy(&env->out, s, len);
        out->value_len = (uint32_t)len;
        return;
    }
    size_t held;
    *json = lv_encode(L, idx, &held); /* last: nothing after it may raise */
    lsb_keep_for_call(&env->sb, held);
    out->json = *json;
    out->flags |= MF_RECORD_VALUE_STALE;
}

static void key_out(lua_State *L, lp_env *env, int idx, mf_record *out)
{
    if (lua_isnil(L, idx)) {
        out->key = NULL;
        out->key_len = 0;
        out->flags |= MF_RECORD_KEY_NULL;
        return;
    }
    size_t len;
    const char *k = lua_tolstring(L, idx, &len);
    if (!k)
        luaL_error(L, "a record key must be a string or nil, not %s", luaL_typename(L, idx));
    out_hold(L, env, len + 1 + ARENA_ALIGN);
    out->key = lpo_copy(&env->out, k, len);
    out->key_len = (uint32_t)len;
    out->flags &= ~(uint32_t)MF_RECORD_KEY_NULL;
}

static void emit_record(lua_State *L, lp_env *env, int idx, lr_record *r, int port)
{
    mf_record *rec = r->rec;
    bool value_changed = (r->set & (LR_VALUE | LR_RAW)) != 0;
    if (!value_changed && (r->set & LR_VALUE_READ)) {
        lua_getiuservalue(L, idx, UV_VALUE);
        value_changed = lv_is_dirty(L, -1);
        lua_pop(L, 1);
    }
    bool headers_changed = (r->set & LR_HEADERS) != 0;
    if (!headers_changed && (r->set & LR_HEADERS_READ)) {
        lua_getiuservalue(L, idx, UV_HEADERS);
        headers_changed = !headers_same(L, -1, rec);
        lua_pop(L, 1);
    }
    if (!value_changed && !headers_changed && !(r->set & (LR_KEY | LR_TIME))) {
        lpo_forward(&env->out, port, rec);
        return;
    }
    mf_record out = *rec;
    if (r->set & LR_KEY) {
        lua_getiuservalue(L, idx, UV_KEY);
        key_out(L, env, -1, &out);
        lua_pop(L, 1);
    }
    if (r->set & LR_TIME)
        out.time_ms = r->time;
    if (headers_changed) {
        if (lua_getiuservalue(L, idx, UV_HEADERS) == LUA_TNIL) {
            out.headers = NULL;
            out.n_headers = 0;
        } else {
            headers_out(L, env, -1, rec, &out);
        }
        lua_pop(L, 1);
    }
    json_t *json = NULL;
    if (value_changed) {
        bool raw = r->set & LR_RAW;
        lua_getiuservalue(L, idx, raw ? UV_RAW : UV_VALUE);
        value_out(L, env, -1, raw, &out, &json);
        lua_pop(L, 1);
    } else if (out.flags & MF_RECORD_VALUE_STALE) {
        /* an edited upstream value: the bytes come from its JSON */
    }
    lpo_item *it = lpo_add(&env->out, port, rec->ack);
    it->rec = out;
    it->json = json;
    it->rec.ack = NULL;
}

/* A plain table {key=, value=, time=, headers=, raw=} as a new record. */
static void emit_table(lua_State *L, lp_env *env, int idx, int port)
{
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        field f = field_of(L, -1);
        if (f == F_NONE || f == F_ORIGIN)
            luaL_error(L, "emit: a new record has the fields key, value, time, headers, raw; not '%s' "
                          "(to emit a JSON object, use emit({value = {...}}))", luaL_tolstring(L, -1, NULL));
    }
    mf_ack *ack = lp_env_new_record_ack(L, env);
    mf_record out = {.time_ms = MF_TIME_UNSET, .origin = {.partition = -1, .offset = -1}};
    lua_getfield(L, idx, "key");
    key_out(L, env, -1, &out);
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "time") != LUA_TNIL) {
        int isint;
        out.time_ms = lua_tointegerx(L, -1, &isint);
        if (!isint)
            luaL_error(L, "emit: time must be integer epoch milliseconds");
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "headers") != LUA_TNIL) {
        luaL_checktype(L, -1, LUA_TTABLE);
        headers_out(L, env, -1, NULL, &out);
    }
    lua_pop(L, 1);
    json_t *json = NULL;
    bool raw = lua_getfield(L, idx, "raw") != LUA_TNIL;
    if (raw) {
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "emit: raw must be a string");
        lua_getfield(L, idx, "value");
        bool both = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (both)
            luaL_error(L, "emit: give value or raw, not both");
    } else {
        lua_pop(L, 1);
        lua_getfield(L, idx, "value");
    }
    value_out(L, env, -1, raw, &out, &json);
    lua_pop(L, 1);
    lpo_item *it = lpo_add(&env->out, port, ack);
    it->rec = out;
    it->json = json;
}

/* The port id for the name at idx (nil: default), cached per state. */
static int port_of(lua_State *L, lp_env *env, int idx)
{
    if (lua_isnoneornil(L, idx))
        return MF_PORT_DEFAULT;
    const char *name = luaL_checkstring(L, idx);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &ports_key);
    lua_pushvalue(L, idx);
    if (lua_rawget(L, -2) == LUA_TNUMBER) {
        int id = (int)lua_tointeger(L, -1);
        lua_pop(L, 2);
        return id;
    }
    lua_pop(L, 1);
    if (strcmp(name, "errors") == 0)
        luaL_error(L, "emit: to reject a record, raise an error or call martflow.reject(record, reason)");
    int id = env->host->port(env->node, name);
    if (id < 0)
        luaL_error(L, "emit to undeclared port '%s' (declare it in the node's config: ports: [%s])", name, name);
    lua_pushvalue(L, idx);
    lua_pushinteger(L, id);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    return id;
}

/* emit(record [, port]) */
static int l_emit(lua_State *L)
{
    lp_env *env = lp_env_of(L);
    if (env->call == LP_CALL_NONE)
        return luaL_error(L, "emit: records can be emitted only from process, process_batch, timer and shutdown");
    int port = port_of(L, env, 2);
    out_hold(L, env, sizeof(lpo_item)); /* its place in the outbox */
    lr_record *r = test_record(L, 1);
    if (r) {
        check_live(L, 1);
        emit_record(L, env, 1, r, port);
    } else if (lua_type(L, 1) == LUA_TTABLE) {
        emit_table(L, env, 1, port);
    } else {
        return luaL_error(L, "emit: expected a record (the one given to process, or a table with key, value, "
                             "...), got %s", luaL_typename(L, 1));
    }
    return 0;
}

/* martflow.reject(record, reason) */
static int l_reject(lua_State *L)
{
    lp_env *env = lp_env_of(L);
    lr_record *r = test_record(L, 1);
    if (!r)
        return luaL_error(L, "martflow.reject: expected an input record, got %s", luaL_typename(L, 1));
    check_live(L, 1);
    size_t len;
    const char *reason = luaL_optlstring(L, 2, "rejected by the script", &len);
    out_hold(L, env, sizeof(lpo_item) + len + 6 + ARENA_ALIGN);
    lua_pushfstring(L, "lua: %s", reason);
    lpo_reject(&env->out, r->rec, lua_tostring(L, -1));
    return 0;
}

void lr_push_emit(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &emit_key);
}

void lr_register(lua_State *L, int lib)
{
    lib = lua_absindex(L, lib);
    lua_newtable(L);
    lua_pushcfunction(L, rec_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, rec_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, rec_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "martflow.record");
    lua_setfield(L, -2, "__metatable");
    lua_pushliteral(L, "martflow.record");
    lua_setfield(L, -2, "__name");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &record_mt_key);
    lvs_register(L);

    lua_pushcfunction(L, l_emit);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &emit_key);
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &ports_key);

    lua_pushcfunction(L, l_reject);
    lua_setfield(L, lib, "reject");
}
