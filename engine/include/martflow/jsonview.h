/*
 * martflow/jsonview.h — typed, zero-copy reads of a record's JSON value, without
 * a jansson tree (host API 1.2: json_check, json_get, fieldset_new,
 * json_fields, json_iter, json_next; see plugin.h).
 *
 * A view is one value of the document: its type and, by type, a bool, an
 * int64, a double, a string or the JSON text of an array or object (which
 * json_iter walks). Numbers written without a fraction or an exponent are
 * MF_JSON_INT (an integer outside int64 makes the document invalid, see
 * docs/architecture.md "What is valid JSON"); every other number is
 * MF_JSON_DOUBLE.
 *
 * Lifetime: a view borrows. A string without escapes points into the
 * record's own value bytes; an escaped string is unescaped into memory the
 * node owns for the current callback (NUL-terminated then). Either way a
 * view, its text and the members of an iteration are valid until the plugin
 * callback in which they were read returns, and only while the record is not
 * edited (record_json_mut, record_set_json). Copy what you keep longer.
 * Strings are UTF-8 and never contain a NUL byte; they are not NUL-terminated
 * when they point into the record: always use len.
 *
 * Paths use the field-path syntax of martflow/fieldpath.h: names separated by
 * '.', "\." a literal dot, "\\" a backslash; each step a member of an object
 * (arrays are not indexed). A path through a non-object is MF_JSON_MISSING.
 */
#ifndef MARTFLOW_JSONVIEW_H
#define MARTFLOW_JSONVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mf_json_type {
    MF_JSON_MISSING = 0, /* no such member (or a step is not an object) */
    MF_JSON_NULL,
    MF_JSON_BOOL,
    MF_JSON_INT,
    MF_JSON_DOUBLE,
    MF_JSON_STRING,
    MF_JSON_ARRAY,
    MF_JSON_OBJECT
} mf_json_type;

typedef struct mf_json_view {
    mf_json_type type;
    bool boolean;        /* BOOL */
    int64_t integer;     /* INT */
    double number;       /* INT and DOUBLE: the value as a double */
    const char *str;     /* STRING: the unescaped text; ARRAY, OBJECT: the value's
                            JSON text as it is in the record (not unescaped) */
    size_t len;          /* bytes at str */
    size_t engine_avail; /* the engine's: bytes readable from str (padding) */
    void *reserved[2];
} mf_json_view;

/* One member of an object (key set) or element of an array (key NULL). */
typedef struct mf_json_member {
    const char *key;     /* unescaped, same lifetime rules as a string view */
    size_t key_len;
    mf_json_view value;
} mf_json_member;

/* An iteration over an array or object view (json_iter, then json_next). */
typedef struct mf_json_iter {
    size_t count;        /* members or elements in the container */
    const mf_json_member *engine_members; /* the engine's */
    size_t engine_pos;
    void *reserved[2];
} mf_json_iter;

/* A compiled set of paths (host->fieldset_new), read in one pass by
 * host->json_fields. Immutable once made: the workers of a node may share one. */
typedef struct mf_json_fieldset mf_json_fieldset;

#ifdef __cplusplus
}
#endif
#endif
