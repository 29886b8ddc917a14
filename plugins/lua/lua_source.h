/*
 * lua_source.h — a record's JSON value read without a jansson tree, for the
 * lazy proxies (lua_proxy.h): each field read of an unedited value is one
 * host->json_get on the value bytes (martflow/jsonview.h). A tree is built
 * (host->record_json) only when a proxy needs one: an edit, iteration,
 * length, totable, tostring, an array index.
 *
 * A source is a userdata shared by the proxies of one record value. It reads
 * the input record while the call that received it runs (the record is
 * validated once and parsed in place there). A script may keep a value past
 * its call (`last = record.value`), so the source also holds a copy of the
 * value bytes (a Lua string, under the memory cap like any) and reads that
 * copy afterwards.
 *
 * Errors are Lua errors: call these from protected code.
 */
#ifndef MF_LUA_SOURCE_H
#define MF_LUA_SOURCE_H

#include <stdbool.h>

#include <jansson.h>
#include <lua.h>

#include <martflow/martflow.h>

#include "lua_env.h"

/* Push the value of rec as a script sees it: a scalar as a Lua value, an
 * object or array as a lazy proxy over a new source. rec has a value and no
 * tree (rec->json NULL). Returns NULL, or (nothing pushed) the reason the
 * value is not JSON (node-owned text, valid until the next host call). */
const char *lvs_push_value(lua_State *L, lp_env *env, mf_record *rec);

/* The view at path (field-path syntax, martflow/fieldpath.h) in the value
 * of the source at index src; valid until the plugin callback returns. */
void lvs_get(lua_State *L, int src, const char *path, mf_json_view *out);

/* The value's tree, built on first use; borrowed (take a reference to keep
 * any part of it). */
json_t *lvs_tree(lua_State *L, int src);

/* Push a scalar view (null, bool, int, double, string) as lv_push does. */
void lvs_push_scalar(lua_State *L, const mf_json_view *v);

/* Create the sources' metatable. */
void lvs_register(lua_State *L);

#endif
