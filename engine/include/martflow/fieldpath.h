/*
 * martflow/fieldpath.h — one meaning for a field path (the `key_field` of
 * every plugin, and any option naming a field): compile it once, look it up
 * in a record's JSON, and turn the value found into key bytes.
 *
 * Syntax: names separated by '.', each step a member of an object: "a.b.c"
 * is root["a"]["b"]["c"]. Inside a name, "\." is a literal dot and "\\" a
 * backslash; no other escape exists. So the top-level member "a.b" is the path
 * `a\.b` (in YAML: 'a\.b' single-quoted, or "a\\.b"). Arrays are not indexed:
 * a step never selects an element, and "items.0" looks for the member "0".
 * Invalid: an empty path, an empty name ("a..b", ".a", "a."), a lone
 * trailing backslash, any other escape.
 *
 * Key bytes of the value found:
 *   string          its UTF-8 bytes, as they are (no quotes)
 *   number, bool    its JSON text: 42, 1.5, true
 *   object, array   its JSON text, compact, object members sorted by name (so
 *                   the same value gives the same key, whatever the order)
 *   null, missing   no key (distinct from an empty key "")
 *
 * Editing (mf_fieldpath_parent) walks the same steps; validate() callbacks
 * report bad paths with mf_fieldpath_check, so every plugin states the same
 * rule in the same words. mf_json_view_key gives the same key bytes for a
 * value read without a tree (the host's json_get/json_fields).
 */
#ifndef MARTFLOW_FIELDPATH_H
#define MARTFLOW_FIELDPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <martflow/plugin.h>
#include <martflow/record.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mf_fieldpath mf_fieldpath; /* opaque */

/* Compile text. Returns a path the caller frees with mf_fieldpath_free, or
 * NULL with a message in error (error_cap bytes) naming what is wrong. */
mf_fieldpath *mf_fieldpath_new(const char *text, char *error, size_t error_cap);
void mf_fieldpath_free(mf_fieldpath *path);

/* The value at path in root (borrowed from root), or NULL when a step is
 * missing or is not an object. */
json_t *mf_fieldpath_get(const mf_fieldpath *path, const json_t *root);

/* The object holding the last step of path in root, where an edit (set,
 * delete) of that step happens; *last_name (if last_name is not NULL) is set
 * to that step's name, borrowed from path. NULL when root is not an object,
 * or, without create, when a step before the last is missing or not an
 * object. With create, such a step is made a new empty object (replacing a
 * value that is not an object): root is changed, and for an object root the
 * result is NULL only if a name is not UTF-8. Borrowed from root. */
json_t *mf_fieldpath_parent(const mf_fieldpath *path, json_t *root, bool create, const char **last_name);

/* The key bytes of value (see above). Returns false for no key (value NULL
 * or null). *key points into value (a string) or into buf (anything else;
 * buf is reset first): valid while both are unchanged. */
bool mf_json_key(const json_t *value, mf_buffer *buf, const uint8_t **key, size_t *len);

/* The key bytes of a view read by the host (json_get, json_fields, an
 * iteration; martflow/jsonview.h): exactly what mf_json_key gives for the
 * same value parsed by jansson. Returns false for no key (v NULL, null,
 * missing). *key points into the view's text (a string: no copy), at static
 * text (true, false) or into buf (anything else; buf is reset first); valid
 * while the view and buf are. Strings, booleans and integers allocate
 * nothing (beyond buf's first growth); a double, array or object is made a
 * jansson value and given to mf_json_key, so both agree by construction. An
 * array or object whose text does not parse (a view not read by the host)
 * has no key. */
bool mf_json_view_key(const mf_json_view *v, mf_buffer *buf, const uint8_t **key, size_t *len);

/* mf_fieldpath_get, then mf_json_key. */
bool mf_fieldpath_key(const mf_fieldpath *path, const json_t *root, mf_buffer *buf, const uint8_t **key,
                      size_t *len);

/* For a plugin's validate(): when the raw node config holds option as a
 * non-empty string that is not a valid path, report "option '<option>':
 * <what mf_fieldpath_new says>" at that value. Absent, "" (the usual "not
 * used") and non-string values pass (the option table reports the type). */
void mf_fieldpath_check(const json_t *config, const char *option, mf_check *check);

#ifdef __cplusplus
}
#endif
#endif
