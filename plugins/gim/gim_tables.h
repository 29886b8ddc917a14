/*
 * gim_tables.h — what the loader knows of each Info Mart table a GSP record
 * may name (docs/events.md §3): its SQL table, whether it is a fact or a
 * dimension, the columns of its id or natural key, and, per column, where
 * the value comes from (a field of the record's `row`, a natural reference
 * resolved to a surrogate key, the envelope's tenant, or the loader itself).
 *
 * The columns, their types, NOT NULL and defaults are read from the catalog
 * of the migrated database (gim_tables_load), not repeated here: what this
 * module declares is only what the catalog cannot say (which tables, which
 * key, which dimension a *_key column references). A field is mandatory for
 * `upsert` when its column is NOT NULL without a default, or part of the key.
 *
 * Ownership: gim_tables_load returns a set the caller frees with
 * gim_tables_free; everything in it is the set's. Read-only afterwards.
 */
#ifndef MF_GIM_TABLES_H
#define MF_GIM_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pg_client.h"

/* The dimensions a natural reference resolves on (docs/events.md §2.5). */
typedef enum gim_ref {
    GIM_REF_NONE = 0,
    GIM_REF_TENANT,
    GIM_REF_RESOURCE,
    GIM_REF_PLACE,
    GIM_REF_TECHDESC,
    GIM_REF_MEDIA,
    GIM_REF_ITYPE,
    GIM_REF_RSTATE,
    GIM_REF_RSREASON,
    GIM_REF_RGROUP,
    GIM_REF_CAMPAIGN,
    GIM_REF_CALLLIST,
    GIM_REF_CALLRESULT,
    GIM_REF_COUNT
} gim_ref;

/* Where a column's value comes from. */
typedef enum gim_src {
    GIM_SRC_FIELD = 0, /* the row's field of the same name */
    GIM_SRC_REF,       /* a field of the row resolved on a dimension (ref): the column's name
                        * without _key, or the one gim_tables.c names for it */
    GIM_SRC_TENANT,    /* tenant_key (facts, dimensions) or tenant_name (TENANT): the envelope */
    GIM_SRC_DATETIME,  /* *_date_time_key: from the *_ts column `from` (ts - ts % 900) */
    GIM_SRC_AUDIT,     /* create_audit_key, update_audit_key */
    GIM_SRC_PLACEHOLDER /* placeholder_flag: 0 when the configuration upserts the row */
} gim_src;

typedef enum gim_jtype { GIM_J_INT = 0, GIM_J_TEXT, GIM_J_REF } gim_jtype;

typedef struct gim_col {
    char *name;       /* the column (and, for GIM_SRC_FIELD, the field) */
    char *field;      /* the field of `row` (FIELD, REF), else NULL */
    char *type;       /* format_type: "bigint", "text", ... */
    char *def;        /* the default as SQL text, or NULL (none: NULL) */
    gim_src src;
    gim_ref ref;      /* GIM_SRC_REF */
    gim_jtype jtype;  /* what JSON the field must be */
    int from;         /* GIM_SRC_DATETIME: index of the *_ts column */
    bool not_null, mandatory, key;
} gim_col;

typedef struct gim_table {
    const char *name;  /* GSP name, upper case: "INTERACTION_RESOURCE_FACT" */
    const char *sql;   /* "interaction_resource_fact" */
    bool fact;
    gim_col *cols;     /* every column the loader writes, in catalog order */
    size_t ncols;
    int key[5];        /* the id (facts) or natural key columns (indexes into cols), -1 ended */
    int gmt_end;       /* dimensions: index of gmt_end_time, else -1 */
    bool partitioned;  /* a fact partitioned by month of start_ts (schema 7) */
} gim_table;

typedef struct gim_tables {
    gim_table *t;
    size_t n;
} gim_tables;

/* Read the columns of every known table from the database of c (one query).
 * NULL with the reason in why (size bytes) and *cls set on failure. */
gim_tables *gim_tables_load(pgc *c, pgc_class *cls, char *why, size_t size);
void gim_tables_free(gim_tables *ts);

/* The table of a GSP name (len bytes, not NUL-terminated), or -1. */
int gim_table_find(const gim_tables *ts, const char *name, size_t len);

/* The column of a field of the table's `row` (len bytes), or -1. */
int gim_field_find(const gim_table *t, const char *field, size_t len);

/* "resource", "place", ...: the field name of a reference kind (messages). */
const char *gim_ref_name(gim_ref ref);

#endif
