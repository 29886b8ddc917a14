/*
 * lua_proxy.h — internals of the lazy JSON proxies (see lua_value.h), shared
 * by lua_proxy.c (the proxy itself) and lua_json.c (encoding, the library).
 *
 * A proxy is a userdata with two user values:
 *   view (json != NULL): uv1 = cache of child proxies by key (or nil);
 *   materialized:        uv1 = data table (key -> Lua value, or 1..n for
 *                        arrays), uv2 = key order (objects; append-only: a
 *                        removed key stays listed while absent from data).
 */
#ifndef MF_LUA_PROXY_H
#define MF_LUA_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <lua.h>

enum { LV_OBJECT = 1, LV_ARRAY = 2 };

struct lv_proxy {
    json_t *json;      /* held reference while a view; NULL once materialized */
    uint8_t kind;      /* LV_OBJECT or LV_ARRAY */
    bool materialized;
    lua_Integer hint;  /* order position of the key last returned by next() */
};
typedef struct lv_proxy lv_proxy;

/* The proxy at idx, or NULL. */
lv_proxy *lvp_test(lua_State *L, int idx);
/* A new, empty, materialized proxy of the kind (martflow.array/object use
 * plain tables instead; this is for the bridge itself). */
void lvp_register(lua_State *L);
/* next(proxy, key) for pairs() and the next() override. */
int lvp_next(lua_State *L);
/* Registry keys. */
extern const char lvp_null_key, lvp_array_mt_key, lvp_object_mt_key;

#endif
