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
 */
#ifndef MARTFLOW_FIELDPATH_H
#define MARTFLOW_FIELDPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
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

/* The key bytes of value (see above). Returns false for no key (value NULL
 * or null). *key points into value (a string) or into buf (anything else;
 * buf is reset first): valid while both are unchanged. */
bool mf_json_key(const json_t *value, mf_buffer *buf, const uint8_t **key, size_t *len);

/* mf_fieldpath_get, then mf_json_key. */
bool mf_fieldpath_key(const mf_fieldpath *path, const json_t *root, mf_buffer *buf, const uint8_t **key,
                      size_t *len);

#ifdef __cplusplus
}
#endif
#endif
