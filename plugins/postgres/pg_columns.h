/*
 * pg_columns.h — the postgres sink's table and column mapping: SQL
 * identifiers (checked, folded and quoted) and the `columns` option (a map
 * column -> field path, or column -> {field: path, type: name}), parsed once
 * for validate() (problems at their place in the file) and for init().
 *
 * Identifiers are written as in SQL without quotes: letters, digits, '_' and
 * '$', not starting with a digit, at most 63 bytes; `table` may be
 * schema-qualified (schema.table). They are folded to lower case, as
 * PostgreSQL folds unquoted names, and then always quoted in the SQL the
 * sink builds, so a column named like a keyword ("user", "order") works.
 */
#ifndef MF_PG_COLUMNS_H
#define MF_PG_COLUMNS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "pg_copytext.h"

/* Where a problem goes: the offending value (NULL: the node) and a message. */
typedef void (*pgcol_report)(void *arg, const json_t *at, const char *message);

struct pgcol {
    char *name;   /* folded, unquoted */
    char *quoted; /* "name" */
    char *path;   /* the field path (martflow/fieldpath.h syntax) */
    pgt_kind kind;
};

struct pgcol_spec {
    struct pgcol *cols;
    size_t n;
};

/* Check text as an identifier (qualified: "schema.name" allowed). Returns
 * NULL when it is one, else a static message saying what is wrong. */
const char *pg_ident_problem(const char *text, bool qualified);

/* The identifier folded and quoted ("schema"."name"); the caller frees it.
 * text must have passed pg_ident_problem. */
char *pg_ident_quote(const char *text);

/* The identifier folded, unquoted; the caller frees it. */
char *pg_ident_fold(const char *text);

/* Parse `columns` into out (zeroed first; the caller frees it with
 * pgcol_spec_free, also after a failure). Every problem is reported (with
 * the value it is about) and makes the result false. */
bool pgcol_parse(const json_t *columns, struct pgcol_spec *out, pgcol_report report, void *arg);
void pgcol_spec_free(struct pgcol_spec *spec);

/* The index of the column named name (folded before comparing), or -1. */
int pgcol_find(const struct pgcol_spec *spec, const char *name);

#endif
