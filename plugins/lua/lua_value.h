/*
 * lua_value.h — the JSON <-> Lua bridge.
 *
 * A record's JSON value reaches Lua as a lazy *proxy*: a userdata over the
 * json_t (holding a reference to it) that converts only what the script
 * reads. Scalars come out as Lua values (integers stay integers, floats stay
 * floats, JSON null is the martflow.null sentinel); objects and arrays come
 * out as proxies again, cached so that `v.a == v.a` and writes through
 * `v.a.b = 1` stick. The first write to a proxy *materializes* that one level
 * into a Lua table (keeping the JSON key order); the json_t is never modified,
 * since records share it. A proxy knows whether it or anything below it was
 * written, so an untouched value is emitted as the original bytes.
 *
 * Plain Lua tables (built by scripts, params, restored state) carry an
 * optional marker metatable (martflow.array / martflow.object) so that empty
 * arrays and objects keep their kind; unmarked tables are arrays when their
 * keys are exactly 1..n (n > 0), objects otherwise (keys must be strings;
 * they are written in sorted order).
 *
 * Errors are Lua errors: call these from protected code.
 */
#ifndef MF_LUA_VALUE_H
#define MF_LUA_VALUE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <lua.h>

#define LV_MAX_DEPTH 2048 /* as jansson's parser */

/* Create the metatables and the null sentinel of this state; add null, array,
 * object, is_array, is_null, totable, json_encode and json_decode to the table
 * at index `lib`, and replace the globals type() and next() by versions that
 * know proxies (type(proxy) == "table"). json_decode's tree is held against
 * the memory cap while any proxy of it lives (lua_decode.c). */
void lv_register(lua_State *L, int lib);

/* Push j as seen by a script: scalars converted, objects and arrays as lazy
 * proxies (which take a reference). j is borrowed. */
void lv_push(lua_State *L, json_t *j);
/* Push j fully converted to plain tables (arrays marked). */
void lv_push_plain(lua_State *L, const json_t *j);
void lv_push_null(lua_State *L);

bool lv_is_proxy(lua_State *L, int idx);
bool lv_is_null(lua_State *L, int idx);
/* A proxy that was written, or has a written proxy below it. Plain values:
 * false. */
bool lv_is_dirty(lua_State *L, int idx);

/* Raise an error unless the value at idx can be stored in a JSON value (nil,
 * boolean, number, string, table, null, proxy). `what` names it in the
 * message. */
void lv_check_storable(lua_State *L, int idx, const char *what);

/* The value at idx as new JSON. Untouched parts of proxies are deep-copied
 * (never shared: a consumer may edit the result). The tree is built against
 * the sandbox's memory cap and instruction budget (lua_sandbox.h): its
 * estimated size is held against max_memory while it is built, and the
 * work spends one instruction per node and per KiB of strings.
 * The caller owns the reference and *held bytes held against the cap for it:
 * lsb_release them (or lsb_keep_for_call) when it frees the tree.
 * Raises a Lua error (cycles, NaN, non-string keys, bad UTF-8, the cap, the
 * budget); everything built so far is freed and released then. */
json_t *lv_encode(lua_State *L, int idx, size_t *held);

/* Push the compact JSON text of the value at idx as a Lua string. The tree
 * and the text are built under the cap and budget as for lv_encode, and both
 * are freed before this returns or when it raises. */
void lv_push_text(lua_State *L, int idx);

/* For the encoder: the state of a proxy. */
typedef struct lv_proxy lv_proxy;

#endif
