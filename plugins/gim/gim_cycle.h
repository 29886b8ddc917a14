/*
 * gim_cycle.h — one ETL cycle of the loader: one transaction that writes a
 * set of GSP records (gim_record.h byte forms) into the Info Mart.
 *
 * In that transaction, in order:
 *   1. the forget list refreshed under its lock (gim_forget.h: before the
 *      audit key, which a forget request also takes under that lock); a
 *      ctl_audit_log row (its audit_key goes into create_audit_key /
 *      update_audit_key of every row written);
 *   2. the tenants,
 *      then every other natural reference resolved (gim_dims.h, placeholders
 *      created here); the forgotten values of the records (and of the kept
 *      updates) masked;
 *   3. the kept updates (gim_pending_update) of the rows this cycle upserts
 *      taken out, to be applied after those upserts;
 *   4. per table, the records merged by id / natural key, column-wise in
 *      their order (a later field overrides, JSON null sets NULL, an absent
 *      field keeps the stored value or takes the column's default on
 *      insert), COPY into a staging table (the values, a mask of the columns
 *      present, none when all are, the operation; binary COPY, pg_copybin.h, when the table's
 *      columns are integers and text and every value has its exact binary
 *      form, else text; a binary COPY the server refuses is done again in
 *      text from a savepoint, so refused values are judged as text), then: fact deletes; for RESOURCE_, a
 *      placeholder of switch "" renamed to the configuration's switch when
 *      that is the only one; the upserts (one UPDATE of the rows that exist,
 *      one INSERT of the others); the updates (one UPDATE; those whose row is
 *      not there are kept in gim_pending_update); dimension deletes (their
 *      gmt_end_time set);
 *   5. the ctl_etl_history rows: the failed cycles given, and this one;
 *   6. COMMIT (or ROLLBACK for a probe: the bisection's trial runs).
 * Updates and deletes of a cycle apply after its upserts; those of a row the
 * cycle upserts are folded into its upsert (the same result, one write). An
 * upsert that changes nothing but the audit key leaves the row alone.
 *
 * A data error (PGC_DATA) rolls back; when the server named a line and
 * column of a staging COPY, out->suspect is the record that gave that value.
 *
 * Threads: with in->node NULL the cycle calls no host function that takes a
 * node, so it may run on another thread than the node's (gim_loader.h),
 * given that nothing else uses pg, dims, forget or cy meanwhile; pg's log
 * lines should then be deferred (pgc_defer_log). Such a cycle cannot read
 * the kept updates (that takes the node's JSON functions): when there are
 * some, it rolls back with out->need_node set, to be run on the node's
 * thread.
 */
#ifndef MF_GIM_CYCLE_H
#define MF_GIM_CYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/martflow.h>

#include "gim_dims.h"
#include "gim_forget.h"
#include "gim_record.h"
#include "gim_tables.h"
#include "pg_client.h"

/* A cycle that failed, to be recorded in ctl_etl_history by the next one that commits. */
typedef struct gim_failed {
    int64_t start_ms, end_ms; /* epoch ms */
    int64_t rows;             /* records it tried */
    char error[512];
} gim_failed;

typedef struct gim_cycle_in {
    const gim_tables *ts;
    gim_dims *dims;
    gim_forget *forget;          /* GDPR: forgotten values masked (gim_forget.h), or NULL */
    pgc *pg;
    const mf_host *host;         /* now_ms, and with node the JSON functions */
    mf_node *node;               /* NULL: on another thread (no kept updates read) */
    const mf_json_fieldset *fs; /* GIM_RECORD_PATHS, to read kept updates */
    mf_json_view *views;
    const char *job_instance;
    size_t n;                    /* records */
    const void *const *blob;     /* byte forms */
    const size_t *blen;
    const char *const *value;    /* each record's JSON text (kept updates) */
    const size_t *vlen;
    const bool *excluded;        /* records left out, or NULL */
    const gim_failed *failed;    /* to record */
    size_t nfailed;
    int64_t rejected;            /* records rejected since the last committed cycle */
    int64_t start_ms;            /* when the cycle began (epoch ms) */
    bool probe;                  /* roll back at the end */
    uint64_t session;            /* the connection (pgc_session) holding the loader's lock; 0: any */
} gim_cycle_in;

typedef struct gim_cycle_out {
    uint64_t rows;       /* rows written */
    int64_t audit_key;
    long suspect;        /* PGC_DATA: the record that gave the refused value, or -1 */
    size_t pending_kept; /* updates kept for later */
    size_t pending_applied;
    size_t masked;       /* fields masked (GDPR forget list) */
    bool pending_left;   /* committed with updates kept in gim_pending_update (this cycle's or older) */
    bool need_node;      /* in->node NULL but there are kept updates to read: run it with the node */
    char timings[4096];  /* committed: "cycle of N records, R rows in T ms: step ms, ..." (a debug line) */
    pgc_error err;       /* the error, when not PGC_OK */
    char why[1024];      /* what failed, with the error */
} gim_cycle_out;

/* The cycle's state across runs (staging tables of the session). */
typedef struct gim_cycle gim_cycle;

/* partition_window_s: a partitioned fact's row is looked for only among the
 * rows that started within this many seconds of the new one (0: everywhere). */
gim_cycle *gim_cycle_new(int64_t partition_window_s);
void gim_cycle_free(gim_cycle *cy);

pgc_class gim_cycle_run(gim_cycle *cy, const gim_cycle_in *in, gim_cycle_out *out);

#endif
