/*
 * pg_copytext.h — JSON values as fields of PostgreSQL's COPY text format
 * (tab-separated, \N for NULL, backslash escapes), for the postgres sink.
 *
 * How a value is written depends on what the column is declared as in the
 * sink's `columns` (a type name, mapped to one of the rendering kinds
 * below); the server converts the text to the column's real type and
 * refuses what does not fit (a data error, rejected per row):
 *   missing, null   \N (SQL NULL)
 *   string          its text; json/jsonb: as a JSON string ("a\"b")
 *   int             its digits; timestamp kinds: epoch milliseconds as an
 *                   ISO 8601 UTC time
 *   other number    the shortest text that reads back as the same double;
 *                   integer kinds: digits when the value is integral;
 *                   timestamp kinds: epoch milliseconds
 *   boolean         true / false
 *   array, object   its JSON text as it is in the record
 * Everything is escaped for COPY: backslash, tab, newline, carriage return.
 */
#ifndef MF_PG_COPYTEXT_H
#define MF_PG_COPYTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include <martflow/martflow.h>

typedef enum pgt_kind {
    PGT_AUTO = 0,  /* text, varchar, uuid, numeric, double, real, boolean, ... */
    PGT_INTEGER,   /* bigint, integer, smallint */
    PGT_TIMESTAMP, /* timestamptz, timestamp, date */
    PGT_JSON       /* json, jsonb */
} pgt_kind;

/* The kind for a type name of `columns` ("bigint", "timestamptz", ...);
 * false when the name is not one the sink knows. */
bool pgt_kind_of(const char *type, pgt_kind *kind);

/* The type names pgt_kind_of knows, for messages: "text, varchar, ...". */
const char *pgt_type_names(void);

/* Append one field (no delimiter) for v, as the kind says. */
void pgt_append(mf_buffer *out, const mf_json_view *v, pgt_kind kind);

/* Append the same text unescaped (binary COPY's text, json and jsonb
 * fields); nothing for missing and null. */
void pgt_append_raw(mf_buffer *out, const mf_json_view *v, pgt_kind kind);

/* Append s[0, len) escaped for COPY text (no delimiter). */
void pgt_append_escaped(mf_buffer *out, const char *s, size_t len);

#endif
