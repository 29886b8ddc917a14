/*
 * sink postgres — write JSON records as rows of a PostgreSQL table.
 *
 * Each record becomes one row: the `columns` map names, for each column, the
 * field path it is read from (through a compiled field set, no JSON tree)
 * and how the value is written (pg_copytext.h). Rows collect in a buffer
 * (pg_rowbuf.h) until a bound is reached — batch_records rows, batch_bytes
 * of COPY text, or batch_time since the oldest — and are then written in one
 * transaction (pg_writer.h: COPY straight into the table, or into a staging
 * table and one INSERT or upsert); the batch's COPY goes out while its rows
 * are still being added (pgw_feed). Each buffered row holds its
 * record's ack, released only after COMMIT: nothing is acknowledged before
 * it is durable.
 *
 * Errors by class (pg_client.h): a data error rejects exactly the bad rows
 * (the writer isolates them) and commits the rest; a transient one is
 * retried — from process() with MF_RETRY (the engine backs off and hands the
 * same batch again; the rows of this batch are taken out of the buffer
 * first, and nothing is rejected, since the engine drops what a failed
 * attempt emitted) unless some rows of the batch were already committed
 * (then the rest stays buffered and the call succeeds: a retry would write
 * them twice); from tick/flush after a backoff of our own. A fatal error
 * stops the node, its rows unacknowledged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_client.h"
#include "pg_columns.h"
#include "pg_copybin.h"
#include "pg_copytext.h"
#include "pg_rowbuf.h"
#include "pg_writer.h"

#define TICK_MIN_MS 10
#define TICK_MAX_MS 250

struct ctx {
    struct pgc_opts pgo;
    const char *table;
    const json_t *columns;
    int mode;
    int copy_format;
    mf_strlist key;
    int64_t batch_records;
    uint64_t batch_bytes;
    int64_t batch_time_ms;

    mf_node *node;
    const mf_host *host;
    pgc *pg;
    pgw *writer;
    pgrb *rows;
    struct pgcol_spec spec;
    mf_json_fieldset *fields;
    mf_json_view *views;
    const pgb_type *types; /* the batch's codecs, when its rows are binary */
    uint64_t seq;       /* the next row's position (upsert: the last row of a key wins) */
    int64_t retry_at;   /* tick/flush: no write before this (monotonic ms) after a transient error */
    unsigned attempt;   /* consecutive transient failures */
    int64_t retry_base_ms, retry_cap_ms;
    uint64_t rng;
    uint64_t written, rejected, retried;
    mf_metric *m_rejected, *m_buffered;
    struct pgw_metrics wm;
};

static const mf_option options[] = {
    PGC_OPTIONS(struct ctx, pgo),
    MF_OPTION(MF_OPT_STRING, "table", NULL, MF_OPT_REQUIRED, struct ctx, table,
              "Target table, name or schema.name (as in SQL without quotes; folded to lower case)"),
    MF_OPTION(MF_OPT_JSON, "columns", NULL, MF_OPT_REQUIRED, struct ctx, columns,
              "Map of column -> field path, or column -> {field: path, type: text|bigint|timestamptz|json|...}"),
    MF_OPTION_ENUM("mode", "insert", 0, struct ctx, mode, "insert|upsert|copy",
                   "insert: COPY straight into a plain table, else (a view, rules, row security) into a staging "
                   "table, then INSERT; upsert: staging table, then INSERT ... ON CONFLICT (key) DO UPDATE of the "
                   "rows that differ; copy: COPY straight into the table"),
    MF_OPTION_ENUM("copy_format", "auto", 0, struct ctx, copy_format, "auto|text|binary",
                   "auto: PostgreSQL's binary COPY when every column's type in the table has a binary form here "
                   "(integers, boolean, text, varchar, real, double, timestamp(tz), json(b)), else text; a batch "
                   "with a value binary cannot store exactly goes as text; text: always text; binary: as auto, "
                   "and a declared type without a binary form is a configuration error"),
    MF_OPTION(MF_OPT_LIST, "key", NULL, 0, struct ctx, key,
              "Columns of the unique key upsert conflicts on (required for mode upsert)"),
    MF_OPTION_RANGE(MF_OPT_INT, "batch_records", "10000", 0, struct ctx, batch_records, 1, 1e7,
                    "Rows per transaction: a batch is written when it has this many"),
    MF_OPTION_RANGE(MF_OPT_SIZE, "batch_bytes", "8MiB", 0, struct ctx, batch_bytes, 1024, 1e10,
                    "A batch is written when its COPY data (text or binary) reaches this size"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "batch_time", "1s", 0, struct ctx, batch_time_ms, 0, 36e5,
                    "A batch is written when its oldest row waited this long; 0: at the end of every engine batch"),
    MF_OPTION_END,
};

/* ---- validate and init ------------------------------------------------------------- */

static void check_report(void *arg, const json_t *at, const char *message)
{
    mf_check *check = arg;
    check->problem(check, at, "%s", message);
}

/* The names of `key` as the raw config gives them (a list, or "a, b"). */
static void check_key(const json_t *config, const struct pgcol_spec *spec, bool parsed, mf_check *check)
{
    const json_t *key = json_object_get(config, "key");
    const json_t *mode = json_object_get(config, "mode");
    bool upsert = json_is_string(mode) && !strcmp(json_string_value(mode), "upsert");
    size_t n = 0;
    if (key && !json_is_null(key)) {
        json_t *items = json_is_string(key) ? json_array() : json_incref((json_t *)key);
        if (json_is_string(key)) /* "a, b": split as the option table does */
            for (const char *p = json_string_value(key); *p;) {
                size_t len = strcspn(p, ",");
                char *item = mf_xstrndup(p, len);
                char *s = item, *e = item + strlen(item);
                while (*s == ' ' || *s == '\t')
                    s++;
                while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                    *--e = '\0';
                if (*s)
                    json_array_append_new(items, json_string(s));
                free(item);
                p += len + (p[len] == ',');
            }
        for (size_t i = 0; i < json_array_size(items); i++) {
            const json_t *it = json_array_get(items, i);
            const json_t *at = json_is_string(key) ? key : it;
            if (!json_is_string(it))
                continue; /* the option table reports it */
            n++;
            const char *why = pg_ident_problem(json_string_value(it), false);
            if (why)
                check->problem(check, at, "option 'key': '%s': %s", json_string_value(it), why);
            else if (parsed && pgcol_find(spec, json_string_value(it)) < 0)
                check->problem(check, at, "option 'key': '%s' is not one of the columns", json_string_value(it));
        }
        json_decref(items);
        if (n && !upsert)
            check->problem(check, key, "option 'key': only mode upsert uses a key");
    }
    if (upsert && !n)
        check->problem(check, mode, "mode upsert needs option 'key' (the columns of the unique key)");
}

static void validate(const json_t *config, mf_check *check)
{
    const json_t *table = json_object_get(config, "table");
    if (json_is_string(table)) {
        const char *why = pg_ident_problem(json_string_value(table), true);
        if (why)
            check->problem(check, table, "option 'table': '%s': %s", json_string_value(table), why);
    }
    const json_t *columns = json_object_get(config, "columns");
    struct pgcol_spec spec = {0};
    bool parsed = columns && pgcol_parse(columns, &spec, check_report, check);
    check_key(config, &spec, parsed, check);
    const json_t *format = json_object_get(config, "copy_format");
    if (json_is_string(format) && !strcmp(json_string_value(format), "binary") && json_is_object(columns)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)columns, k, v) {
            const json_t *type = json_is_object(v) ? json_object_get(v, "type") : NULL;
            if (json_is_string(type) && pgb_type_of_name(json_string_value(type)) == PGB_NONE)
                check->problem(check, type,
                               "option 'columns': column '%s': type '%s' has no binary COPY form (copy_format "
                               "binary takes smallint, integer, bigint, boolean, text, varchar, real, double, "
                               "timestamp, timestamptz, json, jsonb; copy_format auto writes such a table as text)",
                               k, json_string_value(type));
        }
    }
    if (columns)
        pgcol_spec_free(&spec);
}

static void log_report(void *arg, const json_t *at, const char *message)
{
    struct ctx *c = arg;
    (void)at;
    c->host->log(c->node, MF_LOG_ERROR, "%s", message);
}

/* The key's column indexes (init: validate() has checked the names). */
static int *key_columns(struct ctx *c)
{
    int *key = mf_xcalloc(c->key.count + 1, sizeof *key);
    for (size_t i = 0; i < c->key.count; i++)
        if ((key[i] = pgcol_find(&c->spec, c->key.items[i])) < 0) {
            c->host->log(c->node, MF_LOG_ERROR, "key: '%s' is not one of the columns", c->key.items[i]);
            free(key);
            return NULL;
        }
    return key;
}

static void rerender(void *arg, const mf_record *rec, size_t row, mf_buffer *line);

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->node = node;
    c->host = host;
    const char *why = pg_ident_problem(c->table, true);
    if (why) {
        host->log(node, MF_LOG_ERROR, "table '%s': %s", c->table, why);
        return MF_FATAL;
    }
    if (!pgcol_parse(c->columns, &c->spec, log_report, c))
        return MF_FATAL;
    if (c->mode == PGW_UPSERT && !c->key.count) {
        host->log(node, MF_LOG_ERROR, "mode upsert needs option 'key' (the columns of the unique key)");
        return MF_FATAL;
    }
    int *key = key_columns(c);
    if (!key)
        return MF_FATAL;

    const char **paths = mf_xcalloc(c->spec.n, sizeof *paths);
    for (size_t i = 0; i < c->spec.n; i++)
        paths[i] = c->spec.cols[i].path;
    const char *err = NULL;
    c->fields = host->fieldset_new(node, paths, c->spec.n, &err);
    free(paths);
    if (!c->fields) {
        host->log(node, MF_LOG_ERROR, "columns: %s", err ? err : "cannot compile the field paths");
        free(key);
        return MF_FATAL;
    }
    c->views = mf_xcalloc(c->spec.n, sizeof *c->views);

    pgc_error perr;
    c->pg = pgc_new(&c->pgo, "martflow-postgres", host, node, &perr);
    if (!c->pg) {
        host->log(node, MF_LOG_ERROR, "%s", perr.message);
        free(key);
        return MF_FATAL;
    }
    c->wm = (struct pgw_metrics){
        .rows = host->counter(node, "martflow_postgres_rows_written_total", NULL, "Rows committed"),
        .batches = host->counter(node, "martflow_postgres_batches_total", NULL, "Transactions committed"),
        .copy_bytes = host->counter(node, "martflow_postgres_copy_bytes_total", NULL,
                                    "Bytes of COPY data sent in committed transactions"),
        .retry_transient = host->counter(node, "martflow_postgres_retries_total", "class=\"transient\"",
                                         "Writes rolled back and tried again, by error class"),
        .retry_data = host->counter(node, "martflow_postgres_retries_total", "class=\"data\"",
                                    "Writes rolled back and tried again, by error class"),
        .commit_seconds = host->gauge(node, "martflow_postgres_commit_latency_seconds", NULL,
                                      "Seconds the last committed transaction took, BEGIN to COMMIT"),
    };
    c->m_rejected = host->counter(node, "martflow_postgres_rejected_total", NULL,
                                  "Records rejected: refused by the server, or not a JSON object");
    c->m_buffered = host->gauge(node, "martflow_postgres_buffered_rows", NULL, "Rows waiting to be written");
    c->writer = pgw_new(c->pg, host, node, c->table, &c->spec, (pgw_mode)c->mode, key, c->key.count, &c->wm);
    pgw_set_format(c->writer, (pgw_format)c->copy_format, rerender, c);
    free(key);
    c->rows = pgrb_new(host, node);

    const json_t *settings = host->settings(node);
    c->retry_base_ms = 100;
    c->retry_cap_ms = 30000;
    mf_setting_int(settings, "retry_base", &c->retry_base_ms);
    mf_setting_int(settings, "retry_cap", &c->retry_cap_ms);
    c->rng = (uint64_t)host->monotonic_ms() ^ (uint64_t)(uintptr_t)c;
    int64_t tick = c->batch_time_ms / 4;
    host->set_tick(node, tick < TICK_MIN_MS ? TICK_MIN_MS : tick > TICK_MAX_MS ? TICK_MAX_MS : tick);
    /* Connect now, so a wrong address or password shows at start (a
     * transient failure is retried at the first write). */
    if (pgc_connect(c->pg) == PGC_FATAL) {
        host->log(node, MF_LOG_ERROR, "%s", pgc_last_error(c->pg)->message);
        return MF_FATAL;
    }
    return MF_OK;
}

/* ---- rows ---------------------------------------------------------------------------- */

static bool is_object(struct ctx *c, mf_record *rec)
{
    size_t len;
    const uint8_t *v = c->host->record_value(c->node, rec, &len);
    size_t i = 0;
    while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r'))
        i++;
    return i < len && v[i] == '{';
}

/* The row of c->views as COPY text (seq: its position, for upsert). */
static void render_text(struct ctx *c, mf_buffer *line, uint64_t seq)
{
    for (size_t i = 0; i < c->spec.n; i++) {
        if (i)
            mf_buffer_append(line, "\t", 1);
        pgt_append(line, &c->views[i], c->spec.cols[i].kind);
    }
    if (pgw_wants_seq(c->writer)) {
        char s[24];
        int n = snprintf(s, sizeof s, "\t%llu", (unsigned long long)seq);
        mf_buffer_append(line, s, (size_t)n);
    }
}

/* The same in binary; false when a value has no exact binary form. */
static bool render_binary(struct ctx *c, mf_buffer *line, uint64_t seq)
{
    bool with_seq = pgw_wants_seq(c->writer);
    pgb_row(line, (uint16_t)(c->spec.n + with_seq));
    for (size_t i = 0; i < c->spec.n; i++)
        if (!pgb_append(line, &c->views[i], c->spec.cols[i].kind, c->types[i]))
            return false;
    return !with_seq || pgb_int(line, (int64_t)seq, PGB_INT8);
}

/* pgrb_rerender_text's: a buffered row as text, its position its index
 * (the order of the batch is what upsert needs). */
static void rerender(void *arg, const mf_record *rec, size_t row, mf_buffer *line)
{
    struct ctx *c = arg;
    const char *why = NULL;
    if (c->host->json_fields(c->node, (mf_record *)rec, c->fields, c->views, &why) != MF_OK)
        memset(c->views, 0, c->spec.n * sizeof *c->views); /* read once already: not expected */
    render_text(c, line, row);
}

/* Render rec as a row of the buffer; false (and *why) when it cannot be one. */
static bool add_row(struct ctx *c, mf_record *rec, const char **why)
{
    if (c->host->json_fields(c->node, rec, c->fields, c->views, why) != MF_OK)
        return false;
    if (!is_object(c, rec)) {
        *why = "value is not a JSON object";
        return false;
    }
    if (!pgrb_count(c->rows))
        pgrb_set_binary(c->rows, pgw_binary_rows(c->writer, &c->types));
    mf_buffer *line = pgrb_line(c->rows);
    if (pgrb_binary(c->rows) && !render_binary(c, line, c->seq)) {
        /* the whole batch goes as text: the server judges this value as without binary */
        c->host->log(c->node, MF_LOG_DEBUG, "a value without an exact binary form: the batch goes as COPY text");
        pgrb_rerender_text(c->rows, rerender, c);
        if (c->host->json_fields(c->node, rec, c->fields, c->views, why) != MF_OK)
            return false;
        line = pgrb_line(c->rows);
    }
    if (!pgrb_binary(c->rows))
        render_text(c, line, c->seq);
    c->seq++;
    pgrb_add(c->rows, rec);
    return true;
}

static bool bound_reached(const struct ctx *c, int64_t now)
{
    size_t n = pgrb_count(c->rows);
    return n && ((int64_t)n >= c->batch_records || pgrb_bytes(c->rows) >= c->batch_bytes ||
                 now - pgrb_first_ms(c->rows) >= c->batch_time_ms);
}

/* Reject the rows the writer found bad (their acks are the held ones). */
static void reject_bad(struct ctx *c)
{
    for (size_t i = 0; i < pgrb_count(c->rows); i++)
        if (pgrb_state_of(c->rows, i) == PGRB_BAD) {
            c->host->reject(c->node, pgrb_record(c->rows, i), "%s", pgrb_reason(c->rows, i));
            c->host->metric_add(c->m_rejected, 1);
            c->rejected++;
        }
}

static void count_written(struct ctx *c)
{
    for (size_t i = 0; i < pgrb_count(c->rows); i++)
        if (pgrb_state_of(c->rows, i) == PGRB_DONE)
            c->written++;
}

static int64_t backoff_ms(struct ctx *c)
{
    return mf_backoff_delay_ms(c->attempt, c->retry_base_ms, c->retry_cap_ms, &c->rng);
}

static void log_error(struct ctx *c, pgc_class cls, size_t rows)
{
    const pgc_error *e = pgw_error(c->writer);
    if (cls == PGC_FATAL)
        c->host->log(c->node, MF_LOG_ERROR, "writing to table %s failed (fatal%s%s): %s", c->table,
                     e->sqlstate[0] ? ", SQLSTATE " : "", e->sqlstate, e->message);
    else
        c->host->log(c->node, MF_LOG_WARN, "writing %zu rows to table %s failed (transient%s%s): %s; retrying",
                     rows, c->table, e->sqlstate[0] ? ", SQLSTATE " : "", e->sqlstate, e->message);
}

/*
 * Write the buffer outside process() (tick, flush, stop): rejects and
 * releases go out whatever happens, since there is no batch to retry.
 * Returns MF_OK when the buffer is empty, MF_RETRY when rows remain (a
 * backoff is set), MF_FATAL.
 */
static int write_out(struct ctx *c)
{
    size_t n = pgrb_count(c->rows);
    if (!n)
        return MF_OK;
    pgc_class cls = pgw_write(c->writer, c->rows);
    reject_bad(c);
    count_written(c);
    pgrb_settle(c->rows);
    c->host->metric_set(c->m_buffered, (double)pgrb_count(c->rows));
    if (cls == PGC_OK) {
        c->attempt = 0;
        return MF_OK;
    }
    log_error(c, cls, n);
    if (cls == PGC_FATAL)
        return MF_FATAL;
    c->retried++;
    c->retry_at = c->host->monotonic_ms() + backoff_ms(c);
    c->attempt++;
    return MF_RETRY;
}

static int process(void *vctx, mf_batch *batch)
{
    struct ctx *c = vctx;
    size_t before = pgrb_count(c->rows);
    uint64_t seq_before = c->seq;
    size_t bad_input = 0;
    for (size_t i = 0; i < batch->count; i++) {
        const char *why = NULL;
        if (!add_row(c, &batch->records[i], &why)) {
            c->host->reject(c->node, &batch->records[i], "%s", why ? why : "not a row");
            bad_input++;
        }
    }
    int64_t now = c->host->monotonic_ms();
    if (!(c->batch_time_ms == 0 || bound_reached(c, now))) {
        if (!c->attempt) /* the server parses these while the next ones are rendered; not during a backoff */
            pgw_feed(c->writer, c->rows);
        c->host->metric_add(c->m_rejected, (double)bad_input);
        c->rejected += bad_input;
        c->host->metric_set(c->m_buffered, (double)pgrb_count(c->rows));
        return MF_OK;
    }
    size_t n = pgrb_count(c->rows);
    pgc_class cls = pgw_write(c->writer, c->rows);
    if (cls == PGC_FATAL) {
        log_error(c, cls, n);
        return MF_FATAL;
    }
    bool own_done = false;
    for (size_t i = before; i < n && !own_done; i++)
        own_done = pgrb_state_of(c->rows, i) == PGRB_DONE;
    if (cls == PGC_TRANSIENT && !own_done) {
        /* Retry the batch: as if this call had not happened, except that
         * rows of earlier batches which did commit are done. */
        log_error(c, cls, n);
        pgrb_unmark_bad(c->rows);
        count_written(c);
        pgrb_settle(c->rows);
        pgrb_truncate(c->rows, pgrb_count(c->rows) - (n - before));
        c->seq = seq_before;
        c->retried++;
        c->host->metric_set(c->m_buffered, (double)pgrb_count(c->rows));
        return MF_RETRY;
    }
    c->host->metric_add(c->m_rejected, (double)bad_input);
    c->rejected += bad_input;
    reject_bad(c);
    count_written(c);
    pgrb_settle(c->rows);
    c->host->metric_set(c->m_buffered, (double)pgrb_count(c->rows));
    if (cls == PGC_TRANSIENT) { /* some of this batch committed: the rest waits in the buffer */
        log_error(c, cls, n);
        c->retried++;
        c->retry_at = now + backoff_ms(c);
        c->attempt++;
    } else {
        c->attempt = 0;
    }
    return MF_OK;
}

static int tick(void *vctx)
{
    struct ctx *c = vctx;
    int64_t now = c->host->monotonic_ms();
    if (!pgrb_count(c->rows) || now < c->retry_at)
        return MF_OK;
    if (!c->attempt && !bound_reached(c, now))
        return MF_OK;
    return write_out(c) == MF_FATAL ? MF_FATAL : MF_OK;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Write until the buffer is empty, a fatal error, shutdown (when
 * until_stopping) or the deadline (monotonic ms; 0: none). */
static int drain(struct ctx *c, bool until_stopping, int64_t deadline)
{
    for (;;) {
        int st = write_out(c);
        if (st != MF_RETRY)
            return st;
        int64_t now = c->host->monotonic_ms();
        if ((until_stopping && c->host->stopping(c->node)) || (deadline && now >= deadline))
            return MF_RETRY;
        int64_t wait = c->retry_at - now;
        if (deadline && wait > deadline - now)
            wait = deadline - now;
        if (wait > 0)
            sleep_ms(wait < 1000 ? wait : 1000); /* notice shutdown within a second */
        while (c->host->monotonic_ms() < c->retry_at && !(until_stopping && c->host->stopping(c->node)) &&
               !(deadline && c->host->monotonic_ms() >= deadline))
            sleep_ms(50);
    }
}

static int flush(void *vctx, mf_flush_reason reason)
{
    struct ctx *c = vctx;
    switch (reason) {
    case MF_FLUSH_END: /* the run ends: keep trying (as the engine retries a batch) until told to stop */
        return drain(c, true, 0);
    case MF_FLUSH_CHECKPOINT:
        if (c->host->monotonic_ms() < c->retry_at)
            return MF_OK; /* tick retries after the backoff */
        return write_out(c) == MF_FATAL ? MF_FATAL : MF_OK;
    case MF_FLUSH_STOP:
        break;
    }
    return write_out(c);
}

static int stop_cb(void *vctx, int64_t deadline_ms)
{
    struct ctx *c = vctx;
    if (!c->rows)
        return MF_OK;
    int st = drain(c, false, deadline_ms);
    if (pgrb_count(c->rows))
        c->host->log(c->node, MF_LOG_WARN,
                     "%zu rows could not be written before the deadline: they stay unacknowledged (read again on "
                     "the next run)",
                     pgrb_count(c->rows));
    c->host->log(c->node, MF_LOG_INFO, "table %s: %llu rows written, %llu rejected, %llu writes retried", c->table,
                 (unsigned long long)c->written, (unsigned long long)c->rejected, (unsigned long long)c->retried);
    return st == MF_FATAL ? MF_FATAL : MF_OK;
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    pgrb_free(c->rows); /* holds of unwritten rows stay taken: never acknowledged */
    pgw_free(c->writer);
    pgc_free(c->pg);
    if (c->fields)
        c->host->fieldset_free(c->node, c->fields);
    free(c->views);
    pgcol_spec_free(&c->spec);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_SINK,
    .name = "postgres",
    .version = "1.0.0",
    .description = "Write JSON records as rows of a PostgreSQL table (insert, upsert or copy); acknowledged after "
                   "COMMIT",
    .options = options,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .validate = validate,
    .free = free_cb,
    .stop = stop_cb,
    .process = process,
    .flush = flush,
    .tick = tick,
};
