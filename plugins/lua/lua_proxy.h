/*
 * lua_proxy.h — internals of the lazy JSON proxies (see lua_value.h), shared
 * by lua_proxy.c (the proxy itself) and lua_json.c (encoding, the library).
 *
 * A proxy is a userdata with up to four user values:
 *   lazy (no tree yet):  a record's value read through its source
 *                        (lua_source.h): uv4 = the source, uv2 = the path
 *                        of this value in the record (field-path syntax;
 *                        nil for the value itself), uv1 = cache of child
 *                        proxies by key (or nil). Reading a member of an
 *                        object reads the record's bytes; anything else
 *                        first resolves the proxy into a view of the
 *                        record's tree (lvp_resolve).
 *   view (json != NULL): uv1 = cache of child proxies by key (or nil);
 *   materialized:        uv1 = data table (key -> Lua value, or 1..n for
 *                        arrays), uv2 = key order (objects; append-only: a
 *                        removed key stays listed while absent from data).
 *   view, materialized:  uv3 = the owner of the tree (an lv_holder) when
 *                        the plugin built it for the script (json_decode),
 *                        or nil (a record's value is the engine's). Child
 *                        proxies get their parent's; a view drops it when
 *                        it materializes (its children keep it).
 */
#ifndef MF_LUA_PROXY_H
#define MF_LUA_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <lua.h>

#include "lua_sandbox.h"

enum { LV_OBJECT = 1, LV_ARRAY = 2 };

struct lv_proxy {
    json_t *json;      /* held reference while a view; NULL when lazy or materialized */
    uint8_t kind;      /* LV_OBJECT or LV_ARRAY */
    bool lazy;
    bool materialized;
    lua_Integer hint;  /* order position of the key last returned by next() */
};
typedef struct lv_proxy lv_proxy;

/* The proxy at idx, or NULL. */
lv_proxy *lvp_test(lua_State *L, int idx);
/* Create the proxy and null metatables and the array/object markers. */
void lvp_register(lua_State *L);
/* next(proxy, key) for pairs() and the next() override. */
int lvp_next(lua_State *L);
/* Push j (an object or array) as a proxy owned by the lv_holder at index
 * owner: it and every proxy made from it keep the holder alive. j is
 * borrowed (the proxy takes a reference). */
void lvp_push_owned(lua_State *L, json_t *j, int owner);

/* Push a lazy proxy of kind over the source at index src, for the value at
 * the path at index path (a string), or for the whole value (path 0). */
void lvp_push_lazy(lua_State *L, int src, int path, uint8_t kind);
/* Make the proxy at idx a view of the record's tree if it is lazy (raises
 * when the tree cannot be built). Everything that reads p->json calls it. */
void lvp_resolve(lua_State *L, int idx, lv_proxy *p);

/* A JSON tree the plugin built for the script outside the Lua heap, and the
 * bytes held against the cap for it (lua_sandbox.h). A userdata whose __gc
 * (and __close, for the encoders' to-be-closed holders) frees the tree and
 * releases the bytes. */
typedef struct lv_holder {
    json_t *root; /* owned reference, or NULL */
    size_t held;
    lsb *sb;
} lv_holder;

/* Push a new holder of root (reference taken over; may be NULL) with
 * nothing held. Raises on memory. */
lv_holder *lvh_new(lua_State *L, json_t *root);
/* Free the tree and release the bytes now (the holder stays, empty). */
void lvh_free(lv_holder *h);

/* martflow.json_decode (lua_decode.c). */
int lvd_json_decode(lua_State *L);

/* C work for the script spends one instruction per node and one per this
 * many bytes of text. */
#define LV_WORK_BYTES 1024u

/* Registry keys. */
extern const char lvp_null_key, lvp_array_mt_key, lvp_object_mt_key;

#endif
