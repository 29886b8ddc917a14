/*
 * pg_writer.h — writes the rows of a pg_rowbuf into a table, one
 * transaction at a time, and finds the bad rows of a batch the server
 * refuses.
 *
 * A transaction is: BEGIN; the staging table if this connection has none
 * yet (CREATE TEMP TABLE mf_stage ON COMMIT DELETE ROWS AS SELECT <columns>
 * FROM <table> WITH NO DATA: the columns' types, no constraints or
 * defaults); COPY of the rows into it; one INSERT INTO <table> ... SELECT
 * FROM it (upsert: the last row of each key — sorted only when a key repeats
 * — ON CONFLICT (key) DO UPDATE where the row differs);
 * COMMIT. Mode copy: COPY straight into the table instead; so does mode
 * insert when the table is a plain (or partitioned) one without rules or
 * row security, where COPY does exactly what the INSERT would (asked once
 * per session, from pg_class).
 *
 * The rows of a batch may go out while the batch is still being added to
 * (pgw_feed): the transaction and its COPY are then open until pgw_write
 * ends them, so the server parses rows while the caller renders the next
 * ones. Nothing is committed, or marked done, before pgw_write.
 *
 * A data error (SQLSTATE class 22/23) rolls back and isolates the bad rows:
 * when the server names the line of the COPY data it refused, that row is
 * bad and the others are tried again at once; otherwise the rows are split
 * in halves, each its own transaction, recursively, until the bad ones are
 * single. Bad rows are marked PGRB_BAD with "SQLSTATE <code>: <message>
 * (column <name>)" and never written; the others are marked PGRB_DONE once
 * their transaction committed. A transient or fatal error rolls back and
 * stops: the rows not yet committed stay pending.
 */
#ifndef MF_PG_WRITER_H
#define MF_PG_WRITER_H

#include "pg_client.h"
#include "pg_columns.h"
#include "pg_copybin.h"
#include "pg_rowbuf.h"

typedef enum pgw_mode { PGW_INSERT = 0, PGW_UPSERT = 1, PGW_COPY = 2 } pgw_mode;

/* Counters the writer adds to (any may be NULL). */
struct pgw_metrics {
    mf_metric *rows, *batches, *copy_bytes, *retry_transient, *retry_data, *commit_seconds;
};

typedef struct pgw pgw;

/* A writer for table (checked by pg_ident_problem) and the columns of spec,
 * in mode; key: the upsert key's column indexes into spec (n_key of them).
 * pg, host, node and the metrics are borrowed for the writer's life. */
pgw *pgw_new(pgc *pg, const mf_host *host, mf_node *node, const char *table, const struct pgcol_spec *spec,
             pgw_mode mode, const int *key, size_t n_key, const struct pgw_metrics *metrics);
void pgw_free(pgw *w);

/*
 * The COPY format (the sink's copy_format). Text: always COPY text. Auto and
 * binary: a batch is rendered in binary (pg_copybin.h) when every column's
 * type in the table (read from the catalog once per session) has a binary
 * form; it goes as text after all when a row of it cannot be encoded
 * exactly (the caller re-renders it: pgrb_rerender_text with render), and
 * when the server refuses its binary COPY with a data error (rolled back and
 * done again in text, where the search for bad rows and their messages are
 * those of text). Binary differs from auto only in saying so (a warning)
 * when the table has a column without a binary form. render and arg are
 * borrowed for the writer's life.
 */
typedef enum pgw_format { PGW_FMT_AUTO = 0, PGW_FMT_TEXT = 1, PGW_FMT_BINARY = 2 } pgw_format;
void pgw_set_format(pgw *w, pgw_format format, pgrb_render_fn render, void *arg);

/* At the start of a batch (rb empty): whether its rows are to be rendered in
 * binary, and then each column's codec in *types (valid until the next
 * call). Asks the catalog (outside a transaction) when this session has not. */
bool pgw_binary_rows(pgw *w, const pgb_type **types);

/* Upsert needs each row's position after its columns (COPY text, a tab
 * first; binary: one more int8 field): the last row of a key wins. */
bool pgw_wants_seq(const pgw *w);

/*
 * Send the rows added to rb since the last call, once they are enough to be
 * worth a message (the first call opens the transaction and its COPY). Rows
 * sent must stay in rb, unchanged and in order, until pgw_write, which is the
 * only other call on rb's rows meanwhile. Errors are not reported here: a
 * failed stream is rolled back and pgw_write writes the rows without it.
 */
void pgw_feed(pgw *w, pgrb *rb);

/*
 * Write every row of rb (all pending on entry). Returns PGC_OK when each
 * row is done or bad, else the class of the error that stopped it
 * (PGC_TRANSIENT, PGC_FATAL), described by pgw_error. Rows committed before
 * the stop stay marked done.
 */
pgc_class pgw_write(pgw *w, pgrb *rb);

/* The error that stopped the last pgw_write (copied before the rollback). */
const pgc_error *pgw_error(const pgw *w);

#endif
