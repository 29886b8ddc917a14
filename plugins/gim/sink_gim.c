/*
 * sink gim — the Info Mart loader: GSP records (docs/events.md §2) into the
 * Info Mart schema (docs/info-mart-schema.md), in ETL cycles.
 *
 * Start (from tick, never blocking init): connect (pg_client.h), take the
 * loader's advisory lock (GIM_LOADER_LOCK_KEY; while another loader holds
 * it, say so once and stay not ready), migrate the schema
 * (gim_schema_migrate), fill DATE_TIME for the configured range, read the
 * tables' columns (gim_tables.h).
 *
 * Records are checked and reduced to a byte form as they arrive
 * (gim_record.h; an invalid one is rejected with the reason and counted in
 * gim_issues_total) and wait in a buffer holding their acks (pg_rowbuf.h)
 * until the cycle ends: `cycle` after the previous one ended, or at
 * `cycle_records` records, or at the end of the input. One transaction per
 * cycle (gim_cycle.h); the acks are released only after its COMMIT, so
 * Kafka offsets advance only then.
 *
 * The cycle's database work runs on the loader's thread (gim_loader.h) while
 * process() goes on checking records into a second buffer, the next
 * cycle's (`rows`; the running one's is `run`): two cycles' records at most.
 * The loader's thread runs only the node-free first attempt (gim_cycle.h,
 * Threads); tick and process() collect it, and everything with host calls
 * (rejects, acks, readiness, logs, the exclusions and bisection below, the
 * backoff) happens on the sink's thread. Nothing else uses the connection,
 * the dims and forget caches meanwhile: jobs wait for the cycle's end. While
 * updates are kept (their JSON is read with the node), cycles run on the
 * sink's thread.
 * A value the database refuses (SQLSTATE class 22/23) rejects that record
 * alone: the cycle is run again without it (the record is the one that gave
 * the refused value when the server names the line and column of the
 * staging COPY, else it is found by bisection over the cycle's records in
 * trial transactions that roll back). A transient error rolls back and the
 * cycle is retried after a backoff; its FAILED ctl_etl_history row is
 * written by the next cycle that commits.
 *
 * Backpressure: while the next cycle's buffer is full and the running cycle
 * has not ended (after waiting up to INTAKE_WAIT_MS for it), or a full cycle
 * cannot be written (no lock, database down), process() answers MF_RETRY
 * without taking the batch.
 *
 * Jobs (`jobs:`, gim_jobs.h): between cycles, once the first cycle has
 * committed, tick runs a due job on the loader's connection; a job that
 * fails is logged, counted and retried on its schedule, never stopping the
 * loader. `martflow job FILE NAME` runs one through run_job instead, with
 * no cycle at all (ABI 1.4).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gim_cycle.h"
#include "gim_dims.h"
#include "gim_forget.h"
#include "gim_jobs.h"
#include "gim_loader.h"
#include "gim_record.h"
#include "gim_tables.h"
#include "pg_client.h"
#include "pg_rowbuf.h"
#include "schema.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif
#ifndef GIM_SCHEMA_DIR
#define GIM_SCHEMA_DIR "/usr/local/share/martflow/infomart"
#endif

/* The loader's single-instance lock ("mf-gim" in ASCII); migrations take
 * GIM_SCHEMA_LOCK_KEY besides. */
#define GIM_LOADER_LOCK_KEY INT64_C(0x6d662d67696d)
#define LOCK_TRY_MS 200
#define MIGRATE_LOCK_MS 30000
#define MAX_FAILED 64 /* failed cycles remembered for ctl_etl_history (the oldest go) */
#define MAX_ISSUES 16
#define MAX_PARTITIONS 256
/* process() with the next cycle's records all there waits this long for the
 * cycle in flight before answering MF_RETRY: mostly it ends meanwhile, and
 * the next is handed over at once (the engine's retry would wait longer). */
#define INTAKE_WAIT_MS 1000

struct issue {
    const char *name;
    mf_metric *m;
};

struct kpart {
    char *topic;
    int32_t partition;
    int64_t ts;
    mf_metric *millis, *behind;
};

/* The records of a cycle as gim_cycle_in takes them, and those the database refused. */
struct batch {
    size_t n;
    const void **blob;
    size_t *blen;
    const char **value;
    size_t *vlen;
    bool *excluded;
    char **reason;
};

struct ctx {
    struct pgc_opts pgo;
    int64_t cycle_ms, cycle_records;
    const char *schema_dir;
    const char *tenant;
    int64_t dt_past_ms, dt_ahead_ms;
    int64_t part_window_ms;
    const json_t *jobs_conf;
    const char *s3_endpoint, *s3_region, *s3_access_key, *s3_secret_key;
    bool s3_path_style;
    struct mf_objstore_opts s3;
    gim_jobs *jobs;

    mf_node *node;
    const mf_host *host;
    pgc *pg;
    gim_tables *ts;
    gim_dims *dims;
    gim_forget *forget;
    gim_cycle *cy;
    pgrb *rows;          /* intake: the records of the next cycle */
    pgrb *run;           /* the records of the cycle in flight, or of a failed one waiting for its retry */
    gim_loader *loader;  /* the thread the cycles' first attempts run on */
    struct batch b;      /* run's records as its cycle takes them */
    gim_cycle_in in;     /* of the attempt in flight */
    gim_cycle_out out;
    int64_t run_start_ms; /* epoch ms the cycle of run began */
    int64_t run_rejected; /* records rejected before it began, since the last committed cycle */
    bool kept_left;      /* updates are kept in gim_pending_update: cycles run on this thread */
    mf_json_fieldset *fs;
    mf_json_view views[GIM_RECORD_NPATHS];
    mf_buffer scratch;

    bool locked, waiting_logged, ready;
    uint64_t lock_session;
    int schema_version;
    char job_instance[160];

    int64_t last_cycle;  /* monotonic ms the last cycle attempt ended */
    int64_t retry_at;    /* monotonic ms: no cycle before */
    unsigned attempt;    /* consecutive failed cycles */
    int64_t retry_base_ms, retry_cap_ms;
    uint64_t rng;
    gim_failed failed[MAX_FAILED];
    size_t nfailed;
    int64_t rejected;    /* since the last committed cycle */
    uint64_t written, cycles;

    mf_metric *m_state, *m_failed_steps, *m_failed_now, *m_waiting;
    struct issue issues[MAX_ISSUES];
    size_t nissues;
    struct kpart parts[MAX_PARTITIONS];
    size_t nparts;
};

static const mf_option options[] = {
    PGC_OPTIONS(struct ctx, pgo),
    MF_OPTION_RANGE(MF_OPT_DURATION, "cycle", "15s", 0, struct ctx, cycle_ms, 10, 36e5,
                    "An ETL cycle (one transaction) ends this long after the previous one"),
    MF_OPTION_RANGE(MF_OPT_INT, "cycle_records", "50000", 0, struct ctx, cycle_records, 1, 1e7,
                    "... or when this many records wait; more are not taken meanwhile (backpressure)"),
    MF_OPTION(MF_OPT_STRING, "schema_dir", "", 0, struct ctx, schema_dir,
              "Directory of the Info Mart migrations NNN_*.sql applied at start (\"\": the installed ones)"),
    MF_OPTION(MF_OPT_STRING, "tenant", "", 0, struct ctx, tenant,
              "The tenant this Info Mart is for (TENANT_ID): records of another are rejected (\"\": any)"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "date_time_past", "31d", 0, struct ctx, dt_past_ms, 0, 3.2e11,
                    "DATE_TIME is filled at start from this long before now ..."),
    MF_OPTION_RANGE(MF_OPT_DURATION, "date_time_ahead", "366d", 0, struct ctx, dt_ahead_ms, 0, 3.2e11,
                    "... to this long after now (existing rows are kept)"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "partition_window", "0", 0, struct ctx, part_window_ms, 0, 3.2e10,
                    "A fact already loaded is looked for only among the rows that started this close to it (its "
                    "partitions; 0: in every partition). Faster with many months kept; a fact whose start moves "
                    "further between loads is then loaded twice"),
    MF_OPTION(MF_OPT_JSON, "jobs", NULL, 0, struct ctx, jobs_conf,
              "Jobs run between cycles or on demand: name -> {kind: export, maintenance or gdpr, every: 1h or at: \"30 2 * * *\" (UTC), ...} (docs/plugins/gim.md, Jobs)"),
    MF_OPTION(MF_OPT_STRING, "s3_endpoint", NULL, 0, struct ctx, s3_endpoint,
              "Jobs' s3:// targets: the server http(s)://HOST[:PORT]; default https://s3.<region>.amazonaws.com"),
    MF_OPTION(MF_OPT_STRING, "s3_region", "us-east-1", 0, struct ctx, s3_region, "Jobs' s3:// targets: the region"),
    MF_OPTION(MF_OPT_SECRET, "s3_access_key", NULL, 0, struct ctx, s3_access_key,
              "Jobs' s3:// targets: the access key id"),
    MF_OPTION(MF_OPT_SECRET, "s3_secret_key", NULL, 0, struct ctx, s3_secret_key,
              "Jobs' s3:// targets: the secret access key"),
    MF_OPTION(MF_OPT_BOOL, "s3_path_style", "true", 0, struct ctx, s3_path_style,
              "Jobs' s3:// targets: ENDPOINT/BUCKET/KEY addressing (needed for IP endpoints)"),
    MF_OPTION_END,
};

/* ---- metrics ------------------------------------------------------------------------------ */

static void issue(struct ctx *c, const char *name, double n)
{
    for (size_t i = 0; i < c->nissues; i++)
        if (!strcmp(c->issues[i].name, name)) {
            c->host->metric_add(c->issues[i].m, n);
            return;
        }
    if (c->nissues == MAX_ISSUES)
        return;
    char labels[96];
    snprintf(labels, sizeof labels, "issue=\"%s\"", name);
    struct issue *is = &c->issues[c->nissues++];
    is->name = name;
    is->m = c->host->counter(c->node, "gim_issues_total", labels, "GSP records the loader refused, by issue");
    c->host->metric_add(is->m, n);
}

static void set_state(struct ctx *c)
{
    int v = !c->cycles && !c->attempt ? 0 : c->attempt == 0 ? 1 : -(int)(c->attempt < 3 ? c->attempt : 3);
    c->host->metric_set(c->m_state, v);
    c->host->metric_set(c->m_failed_now, (double)c->attempt);
}

/* Kafka positions of the records the loader is done with (committed or
 * rejected): the newest timestamp per partition. */
static void note_kafka(struct ctx *c, const char *topic, size_t topic_len, int32_t partition, int64_t time_ms)
{
    if (partition < 0 || !topic || time_ms == MF_TIME_UNSET)
        return;
    struct kpart *p = NULL;
    for (size_t i = 0; i < c->nparts && !p; i++)
        if (c->parts[i].partition == partition && strlen(c->parts[i].topic) == topic_len &&
            !memcmp(c->parts[i].topic, topic, topic_len))
            p = &c->parts[i];
    if (!p) {
        if (c->nparts == MAX_PARTITIONS)
            return;
        p = &c->parts[c->nparts++];
        p->topic = mf_xstrndup(topic, topic_len);
        p->partition = partition;
        p->ts = MF_TIME_UNSET;
        char labels[512];
        snprintf(labels, sizeof labels, "topic=\"%.400s\",partition=\"%" PRId32 "\"", p->topic, p->partition);
        p->millis = c->host->gauge(c->node, "gim_kafka_timestamp_millis", labels,
                                   "Kafka timestamp (epoch ms) of the newest record loaded, per partition");
        p->behind = c->host->gauge(c->node, "gim_kafka_timestamp_behind", labels,
                                   "Milliseconds from that timestamp to now (grows while the partition is idle)");
    }
    if (time_ms > p->ts)
        p->ts = time_ms;
}

static void note_kafka_record(struct ctx *c, const mf_record *r)
{
    note_kafka(c, r->origin.topic, r->origin.topic ? strlen(r->origin.topic) : 0, r->origin.partition, r->time_ms);
}

/* At each commit and tick: behind is "now - newest timestamp", so it grows
 * while a partition is idle (the guide's definition). */
static void publish_kafka(struct ctx *c)
{
    int64_t now = c->host->now_ms();
    for (size_t i = 0; i < c->nparts; i++) {
        c->host->metric_set(c->parts[i].millis, (double)c->parts[i].ts);
        c->host->metric_set(c->parts[i].behind, (double)(now - c->parts[i].ts));
    }
}

/* ---- start: lock, schema ------------------------------------------------------------------- */

static int fatal(struct ctx *c, const char *what, const char *msg)
{
    c->host->log(c->node, MF_LOG_ERROR, "%s: %s", what, msg);
    return MF_FATAL;
}

static int prepare_schema(struct ctx *c)
{
    gim_schema_result res;
    const char *dir = c->schema_dir && *c->schema_dir ? c->schema_dir : GIM_SCHEMA_DIR;
    pgc_class cls = gim_schema_migrate(c->pg, dir, MIGRATE_LOCK_MS, &res);
    if (cls == PGC_TRANSIENT) {
        c->host->log(c->node, MF_LOG_WARN, "migrating the Info Mart schema: %s; retrying", res.message);
        return MF_RETRY;
    }
    if (cls != PGC_OK)
        return fatal(c, "migrating the Info Mart schema", res.message);
    c->schema_version = res.version;
    c->host->log(c->node, MF_LOG_INFO, "Info Mart schema at version %d (%d migrations applied, from version %d)",
                 res.version, res.applied, res.from_version);
    char past[32], ahead[32];
    snprintf(past, sizeof past, "%" PRId64, c->dt_past_ms / 1000);
    snprintf(ahead, sizeof ahead, "%" PRId64, c->dt_ahead_ms / 1000);
    const char *p[2] = {past, ahead};
    cls = pgc_exec(c->pg,
                   "SELECT infomart_populate_date_time(now() - make_interval(secs => $1::bigint),"
                   " now() + make_interval(secs => $2::bigint))",
                   2, p, NULL);
    if (cls == PGC_TRANSIENT)
        return MF_RETRY;
    if (cls != PGC_OK)
        return fatal(c, "filling DATE_TIME", pgc_last_error(c->pg)->message);
    char why[512];
    c->ts = gim_tables_load(c->pg, &cls, why, sizeof why);
    if (!c->ts)
        return cls == PGC_TRANSIENT ? MF_RETRY : fatal(c, "reading the Info Mart tables", why);
    char labels[256];
    snprintf(labels, sizeof labels, "applicationName=\"gim\",gim_version=\"%s\",schema_version=\"%d\"",
             PACKAGE_VERSION, c->schema_version);
    c->m_state = c->host->gauge(c->node, "gim_server_state", labels,
                                "0 starting, 1 running, -1/-2/-3: the last 1/2/3 or more cycles failed");
    set_state(c);
    return MF_OK;
}

/* MF_OK when this loader holds the lock on the current connection (taking
 * it, and preparing the schema the first time); MF_RETRY while it cannot. */
static int ensure_locked(struct ctx *c)
{
    pgc_class cls = pgc_connect(c->pg);
    if (cls == PGC_FATAL)
        return fatal(c, "connecting to the Info Mart", pgc_last_error(c->pg)->message);
    if (cls != PGC_OK)
        return MF_RETRY; /* the client logs connection trouble */
    if (c->locked && pgc_session(c->pg) == c->lock_session)
        return MF_OK;
    if (c->locked)
        c->host->log(c->node, MF_LOG_WARN, "the connection was renewed: taking the Info Mart lock again");
    c->locked = false;
    bool got = false;
    cls = pgc_lock_wait(c->pg, GIM_LOADER_LOCK_KEY, LOCK_TRY_MS, &got);
    if (cls == PGC_FATAL)
        return fatal(c, "taking the Info Mart lock", pgc_last_error(c->pg)->message);
    if (cls != PGC_OK)
        return MF_RETRY;
    if (!got) {
        if (!c->waiting_logged)
            c->host->log(c->node, MF_LOG_INFO,
                         "waiting for the Info Mart lock held by another loader (advisory lock %" PRId64 ")",
                         GIM_LOADER_LOCK_KEY);
        c->waiting_logged = true;
        c->host->set_ready(c->node, false);
        return MF_RETRY;
    }
    c->locked = true;
    c->lock_session = pgc_session(c->pg);
    if (c->waiting_logged)
        c->host->log(c->node, MF_LOG_INFO, "took the Info Mart lock: loading");
    c->waiting_logged = false;
    if (!c->ts)
        return prepare_schema(c);
    return MF_OK;
}

/* ---- cycles ---------------------------------------------------------------------------------- */

static int64_t backoff_ms(struct ctx *c)
{
    return mf_backoff_delay_ms(c->attempt, c->retry_base_ms, c->retry_cap_ms, &c->rng);
}

static void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->reason[i]);
    free(b->blob);
    free(b->blen);
    free(b->value);
    free(b->vlen);
    free(b->excluded);
    free(b->reason);
}

static void batch_load(struct ctx *c, struct batch *b)
{
    size_t n = pgrb_count(c->run);
    *b = (struct batch){.n = n};
    b->blob = mf_xcalloc(n + 1, sizeof *b->blob);
    b->blen = mf_xcalloc(n + 1, sizeof *b->blen);
    b->value = mf_xcalloc(n + 1, sizeof *b->value);
    b->vlen = mf_xcalloc(n + 1, sizeof *b->vlen);
    b->excluded = mf_xcalloc(n + 1, sizeof *b->excluded);
    b->reason = mf_xcalloc(n + 1, sizeof *b->reason);
    for (size_t i = 0; i < n; i++) {
        uint32_t idx = (uint32_t)i;
        b->blob[i] = pgrb_data(c->run, &idx, 1, &b->blen[i]);
        const mf_record *r = pgrb_record(c->run, i);
        b->value[i] = (const char *)r->value;
        b->vlen[i] = r->value_len;
    }
}

/* The input of an attempt at the cycle of run; node NULL: for the loader's thread (gim_cycle.h). */
static gim_cycle_in cycle_in(struct ctx *c, const struct batch *b, const bool *excluded, bool probe, mf_node *node)
{
    int64_t bad = 0;
    for (size_t i = 0; i < b->n; i++)
        bad += b->excluded[i];
    return (gim_cycle_in){
        .ts = c->ts, .dims = c->dims, .forget = c->forget, .pg = c->pg, .host = c->host, .node = node,
        .fs = node ? c->fs : NULL, .views = node ? c->views : NULL, .job_instance = c->job_instance, .n = b->n,
        .blob = b->blob, .blen = b->blen, .value = b->value, .vlen = b->vlen, .excluded = excluded,
        .failed = c->failed, .nfailed = c->nfailed, .rejected = c->run_rejected + bad, .start_ms = c->run_start_ms,
        .probe = probe, .session = c->lock_session,
    };
}

static void log_timings(struct ctx *c, const gim_cycle_out *out)
{
    if (out->timings[0])
        c->host->log(c->node, MF_LOG_DEBUG, "%s", out->timings);
}

/* An attempt on this thread. */
static pgc_class attempt(struct ctx *c, const struct batch *b, const bool *excluded, bool probe, gim_cycle_out *out)
{
    gim_cycle_in in = cycle_in(c, b, excluded, probe, c->node);
    pgc_class cls = gim_cycle_run(c->cy, &in, out);
    log_timings(c, out);
    return cls;
}

static char *sqlstate_reason(const pgc_error *e)
{
    if (e->column[0])
        return mf_xasprintf("SQLSTATE %s: %s (column %s)", e->sqlstate, e->message, e->column);
    return mf_xasprintf("SQLSTATE %s: %s", e->sqlstate, e->message);
}

/*
 * Find a record the database refuses among those not excluded, by trial
 * transactions over prefixes of them (the shortest failing prefix ends with
 * it). *cls: how the search ended (PGC_DATA: found; else the error that
 * stopped it). Returns its index, or -1.
 */
static long bisect(struct ctx *c, const struct batch *b, const pgc_error *first, char **reason, pgc_class *cls)
{
    size_t *active = mf_xcalloc(b->n + 1, sizeof *active), na = 0;
    for (size_t i = 0; i < b->n; i++)
        if (!b->excluded[i])
            active[na++] = i;
    bool *ex = mf_xcalloc(b->n + 1, sizeof *ex);
    pgc_error err = *first;
    size_t lo = 0, hi = na; /* prefix lo loads, prefix hi is refused */
    long found = -1;
    *cls = PGC_DATA;
    while (hi - lo > 1 || lo == 0) {
        size_t mid = hi - lo > 1 ? lo + (hi - lo) / 2 : 0; /* at the end: does the empty prefix load? */
        memcpy(ex, b->excluded, b->n * sizeof *ex);
        for (size_t i = mid; i < na; i++)
            ex[active[i]] = true;
        gim_cycle_out out;
        pgc_class r = attempt(c, b, ex, true, &out);
        if (r == PGC_DATA) {
            if (mid == 0) { /* not a record of this cycle: a kept update */
                *cls = PGC_FATAL;
                c->host->log(c->node, MF_LOG_ERROR, "an update kept from an earlier cycle is refused: %s", out.why);
                goto out;
            }
            hi = mid;
            err = out.err;
        } else if (r == PGC_OK) {
            if (mid == 0)
                break;
            lo = mid;
        } else {
            *cls = r;
            goto out;
        }
    }
    found = (long)active[hi - 1];
    *reason = sqlstate_reason(&err);
out:
    free(active);
    free(ex);
    return found;
}

/* A cycle of n records that started at start_ms (epoch ms) failed transiently: remembered for
 * ctl_etl_history, counted, backed off. */
static void cycle_failed(struct ctx *c, size_t n, int64_t start_ms, const char *why)
{
    if (c->nfailed == MAX_FAILED) {
        memmove(c->failed, c->failed + 1, (MAX_FAILED - 1) * sizeof *c->failed);
        c->nfailed--;
    }
    gim_failed *f = &c->failed[c->nfailed++];
    *f = (gim_failed){.start_ms = start_ms, .end_ms = c->host->now_ms(), .rows = (int64_t)n};
    snprintf(f->error, sizeof f->error, "%.500s", why);
    c->attempt++;
    c->host->metric_add(c->m_failed_steps, 1);
    set_state(c);
    int64_t wait = backoff_ms(c);
    c->retry_at = c->host->monotonic_ms() + wait;
    c->host->log(c->node, MF_LOG_WARN, "cycle of %zu records failed (transient, %u in a row): %s; retrying in %" PRId64
                 " ms", n, c->attempt, why, wait);
}

static void cycle_done(struct ctx *c, struct batch *b, const gim_cycle_out *out)
{
    gim_field *fields = mf_xcalloc(256, sizeof *fields);
    size_t bad = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->excluded[i]) {
            note_kafka_record(c, pgrb_record(c->run, i));
            c->host->reject(c->node, pgrb_record(c->run, i), "%s", b->reason[i]);
            issue(c, "sqlstate", 1);
            bad++;
            pgrb_set_state(c->run, i, PGRB_BAD);
            continue;
        }
        gim_rec r;
        if (b->blen[i] && gim_record_decode(c->ts, b->blob[i], b->blen[i], &r, fields))
            note_kafka(c, r.topic, r.topic_len, r.partition, r.time_ms);
        pgrb_set_state(c->run, i, PGRB_DONE);
    }
    free(fields);
    pgrb_settle(c->run); /* releases the acks: the records are durable */
    publish_kafka(c);
    c->written += out->rows;
    c->cycles++;
    c->nfailed = 0;
    c->rejected -= c->run_rejected; /* those of the intake meanwhile are the next cycle's */
    c->run_rejected = 0;
    c->attempt = 0;
    c->kept_left = out->pending_left;
    set_state(c);
    if (!c->ready)
        c->host->log(c->node, MF_LOG_INFO, "first cycle committed: ready");
    c->ready = true;
    c->host->set_ready(c->node, true);
    c->host->log(c->node, MF_LOG_DEBUG,
                 "cycle committed: %zu records, %zu rejected, %" PRIu64 " rows, audit_key %" PRId64
                 ", %zu updates kept, %zu applied",
                 b->n, bad, out->rows, out->audit_key, out->pending_kept, out->pending_applied);
}

/*
 * The rest of the cycle of run, on this thread, after an attempt that ended
 * with cls (out): committed, or the records the database refuses left out
 * and the cycle run again, or the failure noted. Frees the batch. MF_OK
 * (committed), MF_RETRY (backing off), MF_FATAL.
 */
static int finish_cycle(struct ctx *c, pgc_class cls, gim_cycle_out *out)
{
    struct batch *b = &c->b;
    int st = MF_OK;
    for (;;) {
        if (cls == PGC_OK) {
            cycle_done(c, b, out);
            break;
        }
        if (cls == PGC_DATA) {
            long bad = out->suspect;
            char *reason = NULL;
            if (bad >= 0 && !b->excluded[bad]) {
                reason = sqlstate_reason(&out->err);
            } else {
                bad = bisect(c, b, &out->err, &reason, &cls);
                if (bad < 0 && cls == PGC_TRANSIENT) {
                    cycle_failed(c, b->n, c->run_start_ms, out->why);
                    st = MF_RETRY;
                    break;
                }
                if (bad < 0) {
                    st = MF_FATAL;
                    break;
                }
            }
            c->host->log(c->node, MF_LOG_DEBUG, "record %ld of the cycle refused: %s", bad, reason);
            b->excluded[bad] = true;
            b->reason[bad] = reason;
        } else if (out->need_node) { /* kept updates to read: again here */
            c->kept_left = true;
        } else if (cls == PGC_TRANSIENT) {
            cycle_failed(c, b->n, c->run_start_ms, out->why);
            st = MF_RETRY;
            break;
        } else {
            c->host->log(c->node, MF_LOG_ERROR, "cycle failed (fatal): %s", out->why);
            st = MF_FATAL;
            break;
        }
        cls = attempt(c, b, b->excluded, false, out);
    }
    batch_free(b);
    /* the next is due `cycle` after this one ended: a cycle longer than `cycle`
     * is not followed at once by one of the few records that came meanwhile */
    c->last_cycle = c->host->monotonic_ms();
    return st;
}

static bool in_flight(const struct ctx *c)
{
    return c->loader && gim_loader_busy(c->loader);
}

static void publish_waiting(struct ctx *c)
{
    c->host->metric_set(c->m_waiting, (double)pgrb_count(c->rows));
}

/*
 * A cycle now, the lock taken first: of the failed cycle waiting for its
 * retry, else of the intake's records (which then become run's). Its first
 * attempt goes to the loader's thread, and collect() finishes it; it runs
 * here when updates are kept (reading them takes the node). A cycle that
 * cannot reach the database fails like one that lost it half-way (counted,
 * backed off, a FAILED row), so gim_server_state goes on from -1 to -3 in an
 * outage; waiting for the lock another loader holds is no failure. None may
 * be in flight. MF_OK (started, or committed), MF_RETRY, MF_FATAL.
 */
static int start_cycle(struct ctx *c)
{
    int st = ensure_locked(c);
    if (st == MF_RETRY && !pgc_connected(c->pg)) {
        c->last_cycle = c->host->monotonic_ms();
        cycle_failed(c, pgrb_count(pgrb_count(c->run) ? c->run : c->rows), c->host->now_ms(),
                     pgc_last_error(c->pg)->message);
    }
    if (st != MF_OK)
        return st;
    if (!pgrb_count(c->run)) {
        pgrb *t = c->run;
        c->run = c->rows;
        c->rows = t;
        c->run_rejected = c->rejected;
        publish_waiting(c);
    }
    batch_load(c, &c->b);
    c->run_start_ms = c->host->now_ms();
    c->last_cycle = c->host->monotonic_ms();
    if (c->kept_left)
        return finish_cycle(c, attempt(c, &c->b, c->b.excluded, false, &c->out), &c->out);
    c->in = cycle_in(c, &c->b, c->b.excluded, false, NULL);
    pgc_defer_log(c->pg, true); /* the client's lines wait for collect() */
    gim_loader_start(c->loader, c->cy, &c->in, &c->out);
    return MF_OK;
}

/* The cycle in flight, once it ended (waiting up to wait_ms for it; <0: as
 * long as it takes), finished here. MF_OK (none ended, or it committed),
 * MF_RETRY (it failed, backing off), MF_FATAL. */
static int collect(struct ctx *c, int64_t wait_ms)
{
    pgc_class cls;
    if (!in_flight(c) || !gim_loader_collect(c->loader, wait_ms, &cls))
        return MF_OK;
    pgc_defer_log(c->pg, false);
    log_timings(c, &c->out);
    return finish_cycle(c, cls, &c->out);
}

/* A cycle to the end, here: the one in flight, else a new one. */
static int cycle_now(struct ctx *c)
{
    if (in_flight(c))
        return collect(c, -1);
    int st = start_cycle(c);
    return st == MF_OK ? collect(c, -1) : st;
}

/* The cycle of n records (run's, else the intake's) is due. */
static bool due(struct ctx *c, int64_t now)
{
    size_t n = pgrb_count(c->run) ? pgrb_count(c->run) : pgrb_count(c->rows);
    if ((int64_t)n >= c->cycle_records || c->attempt)
        return true;
    return now - c->last_cycle >= c->cycle_ms && (n || c->nfailed || !c->ready);
}

static int tick(void *vctx)
{
    struct ctx *c = vctx;
    publish_kafka(c);
    if (collect(c, 0) == MF_FATAL)
        return MF_FATAL;
    if (in_flight(c)) /* the connection is the loader's meanwhile: no job */
        return MF_OK;
    int64_t now = c->host->monotonic_ms();
    if (now < c->retry_at)
        return MF_OK;
    if (c->ts && due(c, now))
        return start_cycle(c) == MF_FATAL ? MF_FATAL : MF_OK;
    /* between cycles: start (lock, schema) or wait for the lock; a lost
     * connection is taken up again by the next cycle, after its backoff */
    if (!c->ts || pgc_connected(c->pg)) {
        int st = ensure_locked(c);
        if (st == MF_OK && c->ready) { /* then a due job, if any */
            long j = gim_jobs_due(c->jobs, c->pg, now);
            if (j >= 0)
                gim_jobs_run(c->jobs, (size_t)j, c->pg, 0, 0, NULL); /* logged and counted; the loader goes on */
        }
        return st == MF_FATAL ? MF_FATAL : MF_OK;
    }
    return MF_OK;
}

static void sleep_ms(int64_t ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Cycles until nothing waits, a fatal error, shutdown (until_stopping) or
 * the deadline (monotonic ms; 0: none). */
static int drain(struct ctx *c, bool until_stopping, int64_t deadline)
{
    if (collect(c, -1) == MF_FATAL) /* whatever happens next, it ends first */
        return MF_FATAL;
    while (pgrb_count(c->run) || pgrb_count(c->rows) || c->nfailed) {
        int64_t now = c->host->monotonic_ms();
        if ((until_stopping && c->host->stopping(c->node)) || (deadline && now >= deadline))
            return MF_RETRY;
        if (now < c->retry_at) {
            int64_t wait = c->retry_at - now;
            sleep_ms(wait < 100 ? wait : 100);
            continue;
        }
        int st = c->ts ? cycle_now(c) : ensure_locked(c);
        if (st == MF_FATAL)
            return st;
        if (st == MF_RETRY && c->host->monotonic_ms() >= c->retry_at)
            sleep_ms(100); /* waiting for the lock (or, before the schema, the connection) */
    }
    return MF_OK;
}

/* ---- records ------------------------------------------------------------------------------- */

static int process(void *vctx, mf_batch *batch)
{
    struct ctx *c = vctx;
    if (!c->ts) { /* records are checked against the tables: wait for the lock and the schema */
        int st = c->host->monotonic_ms() >= c->retry_at ? ensure_locked(c) : MF_RETRY;
        if (st == MF_FATAL)
            return MF_FATAL;
        if (!c->ts)
            return MF_RETRY;
    }
    if (collect(c, 0) == MF_FATAL)
        return MF_FATAL;
    if ((int64_t)pgrb_count(c->rows) >= c->cycle_records) { /* the next cycle's records are all there */
        if (in_flight(c) && collect(c, INTAKE_WAIT_MS) == MF_FATAL)
            return MF_FATAL;
        if (!in_flight(c) && c->host->monotonic_ms() >= c->retry_at && start_cycle(c) == MF_FATAL)
            return MF_FATAL;
        if ((int64_t)pgrb_count(c->rows) >= c->cycle_records)
            return MF_RETRY; /* a full cycle waits: take nothing more */
    }
    for (size_t i = 0; i < batch->count; i++) {
        mf_record *rec = &batch->records[i];
        gim_reject rj;
        c->scratch.len = 0;
        if (!gim_record_encode(c->ts, c->host, c->node, rec, c->fs, c->views, c->tenant, &c->scratch, &rj)) {
            note_kafka_record(c, rec);
            c->host->reject(c->node, rec, "%s", rj.why);
            issue(c, rj.issue, 1);
            c->rejected++;
            continue;
        }
        if (rj.unknown_fields)
            issue(c, "unknown_field", (double)rj.unknown_fields);
        mf_buffer_append(pgrb_line(c->rows), c->scratch.data, c->scratch.len);
        pgrb_add(c->rows, rec);
    }
    publish_waiting(c);
    /* a full cycle goes to the loader at once (a due one by time waits for tick) */
    if (!in_flight(c) && !pgrb_count(c->run) && (int64_t)pgrb_count(c->rows) >= c->cycle_records &&
        c->host->monotonic_ms() >= c->retry_at && start_cycle(c) == MF_FATAL)
        return MF_FATAL;
    return MF_OK;
}

static int flush(void *vctx, mf_flush_reason reason)
{
    struct ctx *c = vctx;
    switch (reason) {
    case MF_FLUSH_END: /* the input ended: keep trying until it is all loaded or told to stop */
        return drain(c, true, 0);
    case MF_FLUSH_CHECKPOINT:
        return MF_OK; /* cycles are the loader's checkpoints */
    case MF_FLUSH_STOP:
        break;
    }
    if (collect(c, -1) == MF_FATAL)
        return MF_FATAL;
    if (!(pgrb_count(c->run) || pgrb_count(c->rows)) || c->host->monotonic_ms() < c->retry_at || !c->ts)
        return MF_OK;
    return cycle_now(c) == MF_FATAL ? MF_FATAL : MF_OK;
}

static int stop_cb(void *vctx, int64_t deadline_ms)
{
    struct ctx *c = vctx;
    if (!c->rows)
        return MF_OK;
    int st = drain(c, false, deadline_ms);
    size_t left = pgrb_count(c->run) + pgrb_count(c->rows);
    if (left)
        c->host->log(c->node, MF_LOG_WARN,
                     "%zu records could not be loaded before the deadline: they stay unacknowledged (read again on "
                     "the next run)",
                     left);
    c->host->log(c->node, MF_LOG_INFO, "%" PRIu64 " cycles committed, %" PRIu64 " rows written", c->cycles,
                 c->written);
    if (c->locked && pgc_connected(c->pg))
        pgc_unlock(c->pg, GIM_LOADER_LOCK_KEY, NULL);
    return st == MF_FATAL ? MF_FATAL : MF_OK;
}

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->node = node;
    c->host = host;
    if (!MF_HOST_HAS(host, json_fields)) {
        host->log(node, MF_LOG_ERROR, "this engine is too old for the gim sink (host API 1.2 needed)");
        return MF_FATAL;
    }
    const char *paths[] = GIM_RECORD_PATHS;
    const char *err = NULL;
    c->fs = host->fieldset_new(node, paths, GIM_RECORD_NPATHS, &err);
    if (!c->fs)
        return fatal(c, "field set", err ? err : "cannot compile");
    char hostname[64] = "";
    gethostname(hostname, sizeof hostname - 1);
    snprintf(c->job_instance, sizeof c->job_instance, "martflow-gim %s pid %ld node %s", hostname, (long)getpid(),
             host->node_name(node));
    pgc_error perr;
    c->pg = pgc_new(&c->pgo, "martflow-gim", host, node, &perr);
    if (!c->pg)
        return fatal(c, "connection options", perr.message);
    c->s3 = (struct mf_objstore_opts){.endpoint = c->s3_endpoint, .region = c->s3_region,
                                      .access_key = c->s3_access_key, .secret_key = c->s3_secret_key,
                                      .path_style = c->s3_path_style};
    char why[768] = "";
    gim_job_env env = {.host = host, .node = node, .s3 = &c->s3, .job_instance = c->job_instance};
    c->jobs = gim_jobs_new(c->jobs_conf, &env, why, sizeof why);
    if (!c->jobs)
        return fatal(c, "jobs", why);
    c->dims = gim_dims_new();
    c->forget = gim_forget_new();
    c->cy = gim_cycle_new(c->part_window_ms / 1000);
    c->rows = pgrb_new(host, node);
    c->run = pgrb_new(host, node);
    c->loader = gim_loader_new();
    if (!c->loader)
        return fatal(c, "starting the loader's thread", strerror(errno));
    c->m_waiting = host->gauge(node, "gim_records_waiting", NULL,
                               "Records taken and checked, waiting for the next cycle (besides the one running)");
    c->m_failed_steps = host->counter(node, "gim_failed_jobsteps", NULL, "ETL cycles that failed (rolled back)");
    c->m_failed_now = host->gauge(node, "gim_number_failed_kafkajob", NULL, "ETL cycles failed in a row now");
    const json_t *settings = host->settings(node);
    c->retry_base_ms = 100;
    c->retry_cap_ms = 30000;
    mf_setting_int(settings, "retry_base", &c->retry_base_ms);
    mf_setting_int(settings, "retry_cap", &c->retry_cap_ms);
    c->rng = (uint64_t)host->monotonic_ms() ^ (uint64_t)(uintptr_t)c;
    c->last_cycle = host->monotonic_ms();
    host->set_ready(node, false);
    int64_t t = c->cycle_ms / 4;
    host->set_tick(node, t < 10 ? 10 : t > 250 ? 250 : t);
    return MF_OK;
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    if (in_flight(c)) { /* not stopped first: end the cycle (its records stay unacknowledged) */
        pgc_class cls;
        gim_loader_collect(c->loader, -1, &cls);
        pgc_defer_log(c->pg, false);
        batch_free(&c->b);
    }
    gim_loader_free(c->loader);
    gim_jobs_free(c->jobs);
    pgrb_free(c->rows); /* holds of unloaded records stay taken: never acknowledged */
    pgrb_free(c->run);
    gim_cycle_free(c->cy);
    gim_dims_free(c->dims);
    gim_forget_free(c->forget);
    gim_tables_free(c->ts);
    pgc_free(c->pg);
    if (c->fs)
        c->host->fieldset_free(c->node, c->fs);
    mf_buffer_free(&c->scratch);
    for (size_t i = 0; i < c->nparts; i++)
        free(c->parts[i].topic);
}

/* ---- jobs (ABI 1.4) ----------------------------------------------------------------------- */

static void validate(const json_t *config, mf_check *check)
{
    gim_jobs_check(json_object_get(config, "jobs"), check);
}

static void list_jobs(const json_t *config, void (*fn)(void *arg, const char *name, const json_t *at), void *arg)
{
    gim_jobs_list(json_object_get(config, "jobs"), fn, arg);
}

#define JOB_LOCK_WAIT_MS 60000

/* `martflow job`: the job alone, on a connection of its own (no loader
 * lock: it may run beside a loader; the jobs' lock keeps it from running
 * beside another job). */
static int run_job_args(void *vctx, const char *name, int argc, const char *const *argv)
{
    struct ctx *c = vctx;
    long j = gim_jobs_find(c->jobs, name);
    if (j < 0)
        return fatal(c, "job", "no such job");
    if (gim_jobs_disabled(c->jobs, (size_t)j)) {
        c->host->log(c->node, MF_LOG_ERROR, "job '%s' is disabled: %s", name, gim_jobs_disabled(c->jobs, (size_t)j));
        return MF_FATAL;
    }
    pgc_class cls = pgc_connect(c->pg);
    if (cls != PGC_OK) {
        c->host->log(c->node, MF_LOG_ERROR, "job '%s': connecting to the Info Mart: %s", name,
                     pgc_last_error(c->pg)->message);
        return cls == PGC_TRANSIENT ? MF_RETRY : MF_FATAL;
    }
    return gim_jobs_run(c->jobs, (size_t)j, c->pg, JOB_LOCK_WAIT_MS, argc, argv);
}

static int run_job(void *vctx, const char *name)
{
    return run_job_args(vctx, name, 0, NULL);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_SINK,
    .name = "gim",
    .version = PACKAGE_VERSION,
    .description = "The Info Mart loader: GSP records into the Info Mart schema in ETL cycles, one transaction "
                   "each, acknowledged after COMMIT",
    .options = options,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .free = free_cb,
    .stop = stop_cb,
    .process = process,
    .flush = flush,
    .tick = tick,
    .validate = validate,
    .list_jobs = list_jobs,
    .run_job = run_job,
    .run_job_args = run_job_args,
};
