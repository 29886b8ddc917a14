/*
 * pg_copybin.h — JSON values as fields of PostgreSQL's binary COPY format,
 * for the postgres sink and the GIM loader, where (and only where) the
 * binary form stores exactly what the COPY text of pg_copytext would.
 *
 * Why: the server parses binary fields at a fraction of the cost of text
 * (timestamptz above all): psql's \copy of bench/pg-load's rows takes ~55% as long
 * in binary as in CSV; the sink's server CPU drops by a quarter.
 *
 * The binary form of a field depends on the column's real type (its width:
 * an int4 column takes 4 bytes, never 8), which the caller reads from the
 * catalog (pgb_type_of_oid). Types with an encoding here: int2, int4, int8,
 * boolean, text, varchar, float4, float8, timestamp, timestamptz, json,
 * jsonb. A table with a column of any other type is written as text.
 *
 * pgb_append returns false, appending nothing, when a value has no binary
 * form that is certainly what the text would have stored: a string or a
 * boolean into a number or timestamp column, a number out of the column's
 * range, a non-integral number into an integer column, a float4 that is not
 * exact, a time outside the years 1..9999, ... The caller then writes the
 * whole batch as text, so the server judges (and rejects) exactly as
 * without binary. Textual types (text, varchar, json, jsonb) take the
 * unescaped COPY text (pgt_append_raw): the same characters.
 *
 * The stream: pgb_header once, then per row pgb_row (the field count) and
 * its fields, then pgb_trailer. All append to a caller's buffer: no
 * allocation once it has grown, no system call.
 */
#ifndef MF_PG_COPYBIN_H
#define MF_PG_COPYBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/martflow.h>

#include "pg_copytext.h"

typedef enum pgb_type {
    PGB_NONE = 0, /* no binary form here: the table goes as text */
    PGB_INT2,
    PGB_INT4,
    PGB_INT8,
    PGB_BOOL,
    PGB_FLOAT4,
    PGB_FLOAT8,
    PGB_TIMESTAMP,   /* without time zone: the UTC wall time, as the text's "+00" is ignored */
    PGB_TIMESTAMPTZ,
    PGB_TEXT,        /* text, varchar */
    PGB_JSON,
    PGB_JSONB
} pgb_type;

/* The codec of a type OID (pg_attribute.atttypid): PGB_NONE for any other. */
pgb_type pgb_type_of_oid(unsigned oid);

/* The codec of a type name as the postgres sink's `columns` or format_type
 * gives it ("bigint", "integer", "character varying(20)", "timestamp with
 * time zone", ...): PGB_NONE when it has none. */
pgb_type pgb_type_of_name(const char *name);

/* The 19 bytes that begin a binary COPY stream, and the 2 that end it. */
void pgb_header(mf_buffer *out);
void pgb_trailer(mf_buffer *out);

/* Begin a row of n fields. */
void pgb_row(mf_buffer *out, uint16_t n);

/* A NULL field. */
void pgb_null(mf_buffer *out);

/* An integer field of the type's width; false (nothing appended) when v
 * does not fit it, or type is not an integer one. */
bool pgb_int(mf_buffer *out, int64_t v, pgb_type type);

/* A text field of s[0, len) (type PGB_TEXT or PGB_JSON; PGB_JSONB adds its
 * version byte). */
void pgb_text(mf_buffer *out, const char *s, size_t len, pgb_type type);

/* A field of a value kept as COPY text (s[0, len), escaped as
 * pgt_append_escaped does; "\N" is not special here: say NULL with
 * pgb_null): its characters for the textual types, its number for the
 * integer ones (plain digits with an optional '-' only). false (nothing
 * appended) when the value has no exact binary form for type. */
bool pgb_copytext(mf_buffer *out, const char *s, size_t len, pgb_type type);

/* The field of v for a column of type whose text would be pgt_append(v,
 * kind); false (nothing appended) when the binary form might store
 * something else than that text, or the text would be refused. */
bool pgb_append(mf_buffer *out, const mf_json_view *v, pgt_kind kind, pgb_type type);

/* pg_copytext's epoch-milliseconds rendering range in binary: the years
 * 1..9999, µs since 2000-01-01 (PostgreSQL's epoch). */
#define PGB_MIN_MS (-62135596800000LL)  /* 0001-01-01 00:00:00 UTC */
#define PGB_MAX_MS (253402300799999LL)  /* 9999-12-31 23:59:59.999 UTC */

#endif
