/*
 * gim_record.h — one GSP record (docs/events.md §2), checked and reduced to
 * what the loader writes: a compact byte form kept while the record waits
 * for its cycle (json views live only during a callback).
 *
 * gim_record_encode reads the record through a field set and json views
 * (no jansson tree), checks it (a JSON object; a known table; op upsert,
 * update or delete; a tenant; the id or natural key; for upsert every
 * mandatory field; each value of the JSON type its column needs; references
 * of the shape of §2.5) and appends its byte form to out. Scalars are kept
 * as COPY text (escaped, ready for the staging table); references as their
 * parts, separated by the byte 0x1F. A `delete` keeps only the key (and a
 * dimension's gmt_end_time).
 *
 * gim_record_decode reads the byte form back; the fields point into it.
 */
#ifndef MF_GIM_RECORD_H
#define MF_GIM_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/martflow.h>

#include "gim_tables.h"

typedef enum gim_op { GIM_UPSERT = 0, GIM_UPDATE = 1, GIM_DELETE = 2 } gim_op;

typedef enum gim_vkind { GIM_V_NULL = 0, GIM_V_TEXT = 1, GIM_V_REF = 2 } gim_vkind;

/* Separates the parts of a reference (and of a dimension's natural key). */
#define GIM_SEP '\x1f'

typedef struct gim_field {
    uint16_t col;      /* index into the table's cols */
    uint8_t kind;      /* gim_vkind */
    const char *v;     /* TEXT: COPY text; REF: the parts */
    uint32_t len;
    int32_t key;       /* REF: the surrogate key, once resolved */
    uint32_t rec;      /* the cycle's: index of the record it belongs to */
} gim_field;

typedef struct gim_rec {
    int table;
    gim_op op;
    const char *tenant;
    size_t tenant_len;
    int32_t tenant_key;  /* once resolved */
    int64_t time_ms;     /* the record's time (Kafka: its timestamp), or MF_TIME_UNSET */
    int32_t partition;   /* origin partition (-1: not Kafka) */
    const char *topic;   /* origin topic (not NUL-terminated), or NULL */
    size_t topic_len;
    size_t nf;
    gim_field *f;        /* nf fields, in the order of the record's row */
} gim_rec;

/* The paths the field set of gim_record_encode must have, in this order. */
#define GIM_RECORD_PATHS {"table", "op", "tenant", "row"}
#define GIM_RECORD_NPATHS 4

/* Why a record is refused: the gim_issues_total label. */
typedef struct gim_reject {
    const char *issue; /* "not_json", "unknown_table", "bad_op", "missing_field", "missing_id", "wrong_type", ... */
    char why[256];
    size_t unknown_fields; /* fields of `row` the table does not have (ignored, counted) */
} gim_reject;

/*
 * Check rec and append its byte form to out. fs: the field set of
 * GIM_RECORD_PATHS (views: GIM_RECORD_NPATHS of them, scratch). tenant: when
 * not NULL or "", the only tenant accepted (issue "wrong_tenant"). false with
 * r filled (out unchanged) when the record is refused.
 */
bool gim_record_encode(const gim_tables *ts, const mf_host *host, mf_node *node, mf_record *rec,
                       const mf_json_fieldset *fs, mf_json_view *views, const char *tenant, mf_buffer *out,
                       gim_reject *r);

/* Read a byte form (len bytes at p) into *out; fields: room for the table's
 * ncols. false when p is not one (a bug). */
bool gim_record_decode(const gim_tables *ts, const void *p, size_t len, gim_rec *out, gim_field *fields);

/* The first value of column col in r, or NULL. */
const gim_field *gim_rec_get(const gim_rec *r, int col);

#endif
