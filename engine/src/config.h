/*
 * config.h — a pipeline file loaded into a jansson tree, plus a side table of
 * where every key and value came from (file, line, column), so that every later
 * error can name its place. YAML is read with libyaml; JSON files are YAML too
 * for this purpose, with a jansson pre-check for exact JSON syntax errors.
 *
 * Limits: a loaded document nests at most MF_CONFIG_MAX_DEPTH collections and
 * holds at most MF_CONFIG_MAX_NODES nodes (keys, scalars and collections) and
 * MF_CONFIG_MAX_TEXT bytes of keys and scalars, counting every alias as a copy
 * of what it names: the tree shares aliased nodes, but a record that carries
 * one (a fields `set:` value) is printed in full. The loader stops at the
 * collection or alias past a limit, with its location, so a nesting or alias
 * bomb fails in milliseconds.
 *
 * Loading also performs value substitution (${env:..}, ${file:..}, ${json:..};
 * see subst.h). Values substituted from files are marked sensitive and are
 * redacted wherever configuration is printed.
 */
#ifndef MF_CONFIG_H
#define MF_CONFIG_H

#include <jansson.h>
#include <stdbool.h>

#include "diag.h"

#define MF_CONFIG_MAX_DEPTH 64
#define MF_CONFIG_MAX_NODES 1000000
#define MF_CONFIG_MAX_NODES_TEXT "1000000"
#define MF_CONFIG_MAX_TEXT ((size_t)64 << 20)
#define MF_CONFIG_MAX_TEXT_TEXT "64 MiB"

typedef struct mf_config mf_config;

/* Load a file. NULL (with diagnostics) on syntax or substitution errors. */
mf_config *mf_config_load(const char *path, mf_diag *diag);
/* Load from memory; `name` is used in locations. */
mf_config *mf_config_load_text(const char *name, const char *text, size_t len, mf_diag *diag);
void mf_config_free(mf_config *cfg);

json_t *mf_config_root(const mf_config *cfg);
const char *mf_config_file(const mf_config *cfg);

/* Locations. `obj` is an object (key lookups) or array (index lookups). An
 * unknown place yields the file with line 0. */
mf_loc mf_config_key_loc(const mf_config *cfg, const json_t *obj, const char *key);
mf_loc mf_config_value_loc(const mf_config *cfg, const json_t *obj, const char *key);
mf_loc mf_config_index_loc(const mf_config *cfg, const json_t *array, size_t index);
/* Where a container (object or array) starts. */
mf_loc mf_config_container_loc(const mf_config *cfg, const json_t *container);
/* Where `value`, a node of the tree `within` found by identity, was written;
 * within's start when value is `within` or not inside it. A node shared by
 * aliases is named where it first occurs; null, true and false (one node each
 * in jansson) only when they occur once in `within`. */
mf_loc mf_config_find_loc(const mf_config *cfg, const json_t *within, const json_t *value);

/* Mark / query values that came from secret material. */
void mf_config_mark_sensitive(mf_config *cfg, const json_t *obj, const char *key, size_t index);
bool mf_config_is_sensitive(const mf_config *cfg, const json_t *obj, const char *key, size_t index);

/* Record a location for a value added after loading (e.g. --set overrides). */
void mf_config_set_loc(mf_config *cfg, const json_t *obj, const char *key, mf_loc loc);

#endif
