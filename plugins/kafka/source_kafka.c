/*
 * source kafka — read topics as a member of a consumer group.
 *
 * Offsets move only behind what is durable. Each poll() emits one batch,
 * identified by a cookie (an mfk_batch of offset_tracker.h). When the engine
 * acknowledges a batch (every record derived from it handled by every sink,
 * or rejected to a wired errors port), each partition's watermark advances
 * over the contiguous run of acknowledged batches: a batch still held stops
 * it even if later ones are done. Only then is the offset stored
 * (enable.auto.offset.store=false); librdkafka commits
 * stored offsets periodically, and the source commits synchronously (bounded)
 * on revoke, after waiting for in-flight acks, and on stop.
 *
 * Under backpressure the engine calls pause(): the assigned partitions are
 * paused but poll keeps calling rd_kafka_consumer_poll, so the member stays in
 * its group. librdkafka's logs, errors, statistics, commit results and
 * rebalances are all served by that poll, on the node thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka_common.h"
#include "ckpt_offsets.h"
#include "fetched_headers.h"
#include "offset_tracker.h"
#include "start_offsets.h"

#define REJECT_SNIPPET 1024u
#define MAX_MISSING 64
/* Backpressure shorter than this only stops reading; longer pauses the
 * partitions in librdkafka, which drops its prefetched messages and fetches
 * them again on resume: too costly for the brief full queues of a busy run. */
#define HARD_PAUSE_AFTER_MS 1000
/* librdkafka 2.0.2 stops fetching while its local queue holds
 * queued.min.messages (or queued.max.messages.kbytes) and looks again only
 * about once a second (librdkafka #2879; fetch.queue.backoff.ms fixes it in
 * 2.2.0). Any request through a broker's thread makes it look at once. So
 * when the queue stayed empty for STARVE_MS although a partition is known to
 * have more data, ask that partition's leader for its watermarks: a cheap
 * request whose only effect here is to wake the fetcher. */
#define STARVE_MS 10
#define NUDGE_INTERVAL_MS 20
#define NUDGE_MAX_PARTITIONS 4
/* How long an assignment waits for committed offsets and log ends. */
#define START_LOOKUP_TIMEOUT_MS 2000
/* One in this many "no headers" read from the record itself
 * (mfk_fetched_no_headers) is asked of librdkafka as well. */
#define HEADER_CHECK_EVERY 4096
/* How often the lag gauge is computed (from librdkafka's cached watermarks). */
#define LAG_INTERVAL_MS 1000

enum { START_EARLIEST, START_LATEST, START_COMMITTED };
enum { FORMAT_JSON, FORMAT_RAW };

struct ctx {
    mfk_client k; /* first: it is librdkafka's opaque */
    struct mfk_opts kafka;
    mf_strlist topics;
    const char *group;
    int start;
    int format;
    uint64_t max_record;
    int64_t drain_ms;
    int64_t commit_timeout_ms;
    bool stop_at_end;
    bool commit; /* false: never store or commit offsets; read from `start` every time */
    const char *start_offsets, *start_offsets_object;
    int64_t start_offsets_wait_ms;
    mfk_start_offsets so; /* what start_offsets gave (so.topic NULL: nothing) */

    mf_node *node;
    const mf_host *host;
    rd_kafka_t *rk;
    int batch_records;
    bool paused, closing, closed, failed;
    bool hard_paused;  /* the partitions are paused in librdkafka */
    int64_t paused_at; /* monotonic ms */
    int64_t last_nudge; /* monotonic ms */
    int64_t next_lag;   /* monotonic ms */
    size_t nudge_from;  /* rotates over the partitions */

    mfk_tracker t;
    mfk_ckpt ck; /* positions in checkpoints (with a checkpoint store) */
    const rd_kafka_topic_t *last_rkt; /* the partition of the last message */
    int32_t last_partition;
    size_t last_idx;
    mfk_batch *cur; /* the batch of the poll running now, or NULL */

    mfk_header_view hv;          /* a message's headers as record headers */
    uint64_t n_no_headers;       /* messages found without headers from their bytes */
    bool header_bytes_unsure;    /* librdkafka disagreed once: always ask it */
    char *missing[MAX_MISSING]; /* topics warned about as not existing */
    size_t n_missing;
    size_t n_named;   /* topics subscribed by name (not "" and not a pattern) */
    bool has_pattern; /* a "^regex" subscription: more topics may match later */
    bool told_missing_end;

    mf_metric *m_oversized, *m_invalid, *m_rebalances, *m_pauses, *m_commits, *m_commit_failures, *m_nudges;
    mf_metric *m_lag_max;
};

static const mf_option options[] = {
    MFK_COMMON_OPTIONS(struct ctx),
    MF_OPTION(MF_OPT_LIST, "topics", NULL, MF_OPT_REQUIRED, struct ctx, topics,
              "Topics to read; \"^regex\" subscribes by pattern; \"\" disables that input (logged)"),
    MF_OPTION(MF_OPT_STRING, "group", NULL, MF_OPT_REQUIRED, struct ctx, group, "Consumer group id"),
    MF_OPTION_ENUM("start", "earliest", 0, struct ctx, start, "earliest|latest|committed",
                   "Where a partition without a committed offset starts; committed: such a partition is an error"),
    MF_OPTION_ENUM("format", "json", 0, struct ctx, format, "json|raw",
                   "json: validate each value once (martflow's rule, no tree), reject what fails; raw: bytes as they are"),
    MF_OPTION_RANGE(MF_OPT_SIZE, "max_record", "1MiB", 0, struct ctx, max_record, 1, 2147483647.0,
                    "Largest accepted value; larger records are rejected (counted as oversized)"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "drain_timeout", "10s", 0, struct ctx, drain_ms, 0, 3600000,
                    "On revoke: how long to wait for in-flight records to be acknowledged before committing"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "commit_timeout", "10s", 0, struct ctx, commit_timeout_ms, 100, 3600000,
                    "Longest wait for a synchronous commit (revoke, stop)"),
    MF_OPTION(MF_OPT_BOOL, "stop_at_end", "false", 0, struct ctx, stop_at_end,
              "End the input once every assigned partition is read to its end (like kcat -e), for batch runs"),
    MF_OPTION(MF_OPT_STRING, "start_offsets", "", 0, struct ctx, start_offsets,
              "s3://BUCKET/PREFIX or file:///DIR holding start_offsets_object, JSON {topic, offsets: [{partition, "
              "offset}]} (the GCA snapshot's pointer): the partitions it lists start there unless a checkpoint or a "
              "committed offset says otherwise; empty: none"),
    MF_OPTION(MF_OPT_STRING, "start_offsets_object", "", 0, struct ctx, start_offsets_object,
              "The object's key in start_offsets, e.g. gca-snapshot-t1/LATEST"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "start_offsets_wait", "60s", 0, struct ctx, start_offsets_wait_ms, 0, 3600000,
                    "How long start retries a start_offsets store that cannot be reached before failing"),
    MF_OPTION(MF_OPT_BOOL, "commit", "true", 0, struct ctx, commit,
              "false: never commit offsets; every start reads each partition from `start` (a compacted topic "
              "read whole as a cache; give each instance its own group)"),
    MF_OPTION_END,
};

/* ---- acknowledgements ------------------------------------------------------------------- */

struct store_list {
    rd_kafka_topic_partition_list_t *l;
};

static void store_one(void *arg, const mfk_part *p, int64_t next)
{
    struct store_list *s = arg;
    if (!s->l)
        s->l = rd_kafka_topic_partition_list_new(4);
    rd_kafka_topic_partition_list_add(s->l, p->topic, p->partition)->offset = next;
}

/* Everything of a poll batch is handled: store the offsets it unblocks. */
static void ack_cb(void *vctx, void *cookie)
{
    struct ctx *c = vctx;
    struct store_list s = {0};
    mfk_batch_done(&c->t, cookie, store_one, &s);
    /* With a checkpoint store, commit(N) stores the offsets of barrier N instead. */
    if (s.l && c->rk && c->commit && !c->ck.active) {
        rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, s.l);
        if (err && !c->closing)
            c->host->log(c->node, MF_LOG_DEBUG, "storing offsets: %s (partitions no longer assigned)",
                         rd_kafka_err2str(err));
    }
    if (s.l)
        rd_kafka_topic_partition_list_destroy(s.l);
}

/* ---- commits ---------------------------------------------------------------------------- */

static void log_offsets(struct ctx *c, mf_log_level level, const char *what,
                        const rd_kafka_topic_partition_list_t *l)
{
    char buf[1024];
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; l && i < l->cnt && o < sizeof buf - 64; i++) {
        const rd_kafka_topic_partition_t *tp = &l->elems[i];
        if (tp->offset < 0 && tp->err == 0 && strcmp(what, "committed") == 0)
            continue;
        int n = snprintf(buf + o, sizeof buf - o, "%s%s[%d]", o ? ", " : "", tp->topic, (int)tp->partition);
        if (n > 0)
            o += (size_t)n;
        if (tp->offset >= 0 && o < sizeof buf - 32) {
            n = snprintf(buf + o, sizeof buf - o, "@%lld", (long long)tp->offset);
            if (n > 0)
                o += (size_t)n;
        }
    }
    if (o)
        c->host->log(c->node, level, "%s: %s", what, buf);
}

struct commit_wait {
    bool done;
    rd_kafka_resp_err_t err;
};

static void commit_result(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
                          void *opaque)
{
    struct ctx *c = rd_kafka_opaque(rk);
    struct commit_wait *w = opaque;
    w->done = true;
    w->err = err;
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return;
    if (err) {
        c->host->metric_add(c->m_commit_failures, 1);
        c->host->log(c->node, MF_LOG_WARN, "commit failed: %s", rd_kafka_err2str(err));
    } else {
        c->host->metric_add(c->m_commits, 1);
        log_offsets(c, MF_LOG_INFO, "committed", offsets);
    }
}

/* Commit the stored offsets of the assignment now, waiting at most timeout_ms. */
static void commit_now(struct ctx *c, int timeout_ms, const char *why)
{
    if (!c->commit)
        return;
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    struct commit_wait w = {0};
    rd_kafka_resp_err_t err = rd_kafka_commit_queue(c->rk, NULL, q, commit_result, &w);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        c->host->log(c->node, MF_LOG_WARN, "commit (%s): %s", why, rd_kafka_err2str(err));
    } else if (!err) {
        int64_t deadline = c->host->monotonic_ms() + timeout_ms;
        int left;
        while (!w.done && (left = mfk_ms_left(&c->k, deadline)) > 0)
            rd_kafka_queue_poll_callback(q, left < 100 ? left : 100);
        if (!w.done)
            c->host->log(c->node, MF_LOG_WARN,
                         "commit (%s): no answer within %d ms; what is not committed will be read again", why,
                         timeout_ms);
    }
    rd_kafka_queue_destroy(q);
}

/* Auto-commits (enable.auto.commit, every auto.commit.interval.ms). */
static void auto_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
                           void *opaque)
{
    struct ctx *c = opaque;
    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET || c->k.quiet)
        return;
    if (err) {
        c->host->metric_add(c->m_commit_failures, 1);
        c->host->log(c->node, MF_LOG_WARN, "periodic commit failed: %s (retried at the next interval)",
                     rd_kafka_err2str(err));
        return;
    }
    c->host->metric_add(c->m_commits, 1);
    if (c->host->log_enabled(c->node, MF_LOG_DEBUG))
        log_offsets(c, MF_LOG_DEBUG, "committed", offsets);
}

/* ---- rebalances --------------------------------------------------------------------------- */

static void forget_missing(struct ctx *c, const char *topic)
{
    for (size_t i = 0; i < c->n_missing; i++)
        if (strcmp(c->missing[i], topic) == 0) {
            c->host->log(c->node, MF_LOG_INFO, "topic %s exists now: reading it", topic);
            free(c->missing[i]);
            c->missing[i] = c->missing[--c->n_missing];
            return;
        }
}

static void set_assignment(struct ctx *c, rd_kafka_topic_partition_list_t *parts, bool incremental, bool add)
{
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t err = 0;
    if (incremental)
        error = add ? rd_kafka_incremental_assign(c->rk, parts) : rd_kafka_incremental_unassign(c->rk, parts);
    else
        err = rd_kafka_assign(c->rk, add ? parts : NULL);
    if (error) {
        c->host->log(c->node, MF_LOG_ERROR, "%s failed: %s", add ? "assign" : "unassign",
                     rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (err) {
        c->host->log(c->node, MF_LOG_ERROR, "%s failed: %s", add ? "assign" : "unassign", rd_kafka_err2str(err));
    }
}

/* Give each newly assigned partition a concrete starting offset: the
 * committed one, or, where the group has none, the offset at the start or end
 * of the log (`start`), asked of the leaders in one request each. Left to
 * librdkafka 2.0.2, a partition without a committed offset waits 100 ms (its
 * backoff after a failed lookup) before it asks where the log begins, and a
 * logical offset (BEGINNING) can hold the first fetch back for up to
 * fetch.wait.max.ms: on every new group, a tenth to half a second before the
 * first record. Whatever cannot be looked up here is left to librdkafka. */
static void set_start_offsets(struct ctx *c, rd_kafka_topic_partition_list_t *parts)
{
    if (c->start == START_COMMITTED || parts->cnt == 0)
        return;
    rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(parts);
    if (!c->commit) {
        /* whatever the group committed once is not where this source starts */
        for (int i = 0; i < committed->cnt; i++)
            committed->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    } else if (rd_kafka_committed(c->rk, committed, START_LOOKUP_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(committed);
        return;
    }
    /* ListOffsets with the timestamps -2 / -1 answers with the first / next offset */
    rd_kafka_topic_partition_list_t *ends = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &committed->elems[i];
        /* the checkpoint's position wins over the group's and start_offsets';
         * commit: false without start_offsets (a compacted topic read whole as
         * a cache whose consumers keep no copy of it) reads from `start` always */
        int64_t restored = c->commit || c->so.topic ? mfk_ckpt_offset(&c->ck, p->topic, p->partition) : -1;
        if (restored >= 0) {
            parts->elems[i].offset = restored;
            continue;
        }
        if (p->err)
            continue;
        int64_t given = mfk_start_offset(&c->so, p->topic, p->partition);
        if (p->offset >= 0)
            parts->elems[i].offset = p->offset;
        else if (given >= 0)
            parts->elems[i].offset = given;
        else
            rd_kafka_topic_partition_list_add(ends, p->topic, p->partition)->offset =
                c->start == START_EARLIEST ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    }
    if (ends->cnt &&
        rd_kafka_offsets_for_times(c->rk, ends, START_LOOKUP_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < ends->cnt; i++) {
            const rd_kafka_topic_partition_t *e = &ends->elems[i];
            rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(parts, e->topic, e->partition);
            if (p && !e->err && e->offset >= 0)
                p->offset = e->offset;
        }
    }
    rd_kafka_topic_partition_list_destroy(ends);
    rd_kafka_topic_partition_list_destroy(committed);
}

/* Tell the engine the partitions now assigned (host->source_streams), so a
 * consumer's event time waits for each of them, not only for the first to
 * deliver (docs/plugin-api.md, "Input streams and event time"). */
static void announce_assignment(struct ctx *c)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(c->rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR || !a)
        return;
    mf_origin *v = mf_xcalloc(a->cnt ? (size_t)a->cnt : 1, sizeof *v);
    for (int i = 0; i < a->cnt; i++)
        v[i] = (mf_origin){.topic = a->elems[i].topic, .partition = a->elems[i].partition, .offset = -1};
    c->host->source_streams(c->node, v, (size_t)a->cnt);
    free(v);
    rd_kafka_topic_partition_list_destroy(a);
}

static void on_assign(struct ctx *c, rd_kafka_topic_partition_list_t *parts, bool incremental)
{
    for (int i = 0; i < parts->cnt; i++) {
        mfk_part_reset(&c->t, mfk_part_index(&c->t, parts->elems[i].topic, parts->elems[i].partition), true);
        forget_missing(c, parts->elems[i].topic);
    }
    c->last_rkt = NULL;
    set_start_offsets(c, parts);
    log_offsets(c, MF_LOG_INFO, "partitions assigned", parts);
    set_assignment(c, parts, incremental, true);
    announce_assignment(c);
    if (c->hard_paused && parts->cnt)
        rd_kafka_pause_partitions(c->rk, parts);
}

static void on_revoke(struct ctx *c, rd_kafka_topic_partition_list_t *parts, bool incremental)
{
    bool lost = rd_kafka_assignment_lost(c->rk);
    log_offsets(c, MF_LOG_INFO, lost ? "partitions lost" : "partitions revoked", parts);
    if (!lost) {
        if (!c->closing) {
            /* The current poll batch ends here; what it emitted, and every
             * batch before it, gets the chance to be acknowledged. */
            c->cur = NULL;
            uint64_t left = c->host->ack_wait(c->node, (int)c->drain_ms);
            if (left)
                c->host->log(c->node, MF_LOG_WARN,
                             "revoke: %llu poll batches still unacknowledged after %lld ms; their records will "
                             "be read again by the partitions' next owner",
                             (unsigned long long)left, (long long)c->drain_ms);
        }
        commit_now(c, (int)c->commit_timeout_ms, "revoke");
    } else {
        c->host->log(c->node, MF_LOG_WARN, "partitions were lost (session timeout?): records in flight will be "
                                           "read again by their next owner");
    }
    for (int i = 0; i < parts->cnt; i++)
        mfk_part_reset(&c->t, mfk_part_index(&c->t, parts->elems[i].topic, parts->elems[i].partition), false);
    set_assignment(c, parts, incremental, false);
    announce_assignment(c);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque)
{
    struct ctx *c = opaque;
    bool incremental = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    c->host->metric_add(c->m_rebalances, 1);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        on_assign(c, parts, incremental);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        on_revoke(c, parts, incremental);
    } else {
        c->host->log(c->node, MF_LOG_ERROR, "rebalance error: %s", rd_kafka_err2str(err));
        set_assignment(c, parts, incremental, false);
    }
}

/* ---- records --------------------------------------------------------------------------------- */

static bool warn_missing(struct ctx *c, const char *topic)
{
    for (size_t i = 0; i < c->n_missing; i++)
        if (strcmp(c->missing[i], topic) == 0)
            return false;
    if (c->n_missing < MAX_MISSING)
        c->missing[c->n_missing++] = mf_xstrdup(topic);
    return true;
}

static void consumer_error(struct ctx *c, rd_kafka_message_t *m)
{
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    switch (m->err) {
    case RD_KAFKA_RESP_ERR__PARTITION_EOF:
        if (m->rkt)
            c->t.parts[mfk_part_index(&c->t, topic, m->partition)].at_end = true;
        return;
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        if (warn_missing(c, topic))
            c->host->log(c->node, MF_LOG_WARN, "topic %s does not exist (yet): waiting for it (%s)", topic,
                         rd_kafka_message_errstr(m));
        return;
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
        c->host->log(c->node, MF_LOG_ERROR,
                     "%s[%d] has no committed offset for group %s and start is 'committed': nothing to resume "
                     "from (set start: earliest or latest to begin this partition) (%s)",
                     topic, (int)m->partition, c->group, rd_kafka_message_errstr(m));
        c->failed = true;
        return;
    default:
        mfk_handle_error(&c->k, c->rk, m->err, rd_kafka_message_errstr(m));
        return;
    }
}

static size_t part_of(struct ctx *c, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    if (c->last_rkt == m->rkt && c->last_partition == m->partition &&
        strcmp(c->t.parts[c->last_idx].topic, topic) == 0)
        return c->last_idx;
    c->last_idx = mfk_part_index(&c->t, topic, m->partition);
    c->last_rkt = m->rkt;
    c->last_partition = m->partition;
    return c->last_idx;
}

/* Whether m has no headers, known without asking librdkafka (which costs an
 * allocation and a cache miss per message: fetched_headers.h). Now and then
 * the answer is checked against librdkafka; should it ever find headers
 * there, the record bytes are not what fetched_headers.c expects, and
 * librdkafka is asked for every message from then on. */
static bool known_without_headers(struct ctx *c, const rd_kafka_message_t *m)
{
    if (c->header_bytes_unsure || !mfk_fetched_layout_known() || !mfk_fetched_no_headers(m))
        return false;
    if (c->n_no_headers++ % HEADER_CHECK_EVERY != 0)
        return true;
    rd_kafka_headers_t *h;
    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return true;
    c->header_bytes_unsure = true;
    c->host->log(c->node, MF_LOG_ERROR, "%s[%d]@%lld has headers where its record bytes say none (librdkafka %s "
                 "lays records out differently): headers are now read through librdkafka for every message; "
                 "messages read before may have lost theirs", rd_kafka_topic_name(m->rkt), (int)m->partition,
                 (long long)m->offset, rd_kafka_version_str());
    return false;
}

static void handle_message(struct ctx *c, rd_kafka_message_t *m)
{
    size_t idx = part_of(c, m);
    c->t.parts[idx].at_end = false;
    c->t.parts[idx].next = m->offset + 1;
    if (!c->cur) {
        c->cur = mfk_batch_new(&c->t);
        c->host->source_cookie(c->node, c->cur);
    }
    mfk_batch_track(&c->t, c->cur, idx, m->offset);
    const mfk_part *p = &c->t.parts[idx];

    mf_record r = {.time_ms = MF_TIME_UNSET,
                   .origin = {.topic = p->topic, .partition = m->partition, .offset = m->offset}};
    if (m->key) {
        r.key = m->key;
        r.key_len = (uint32_t)m->key_len;
    } else {
        r.flags |= MF_RECORD_KEY_NULL;
    }
    if (m->payload) {
        r.value = m->payload;
        r.value_len = (uint32_t)(m->len > UINT32_MAX ? UINT32_MAX : m->len);
    } else {
        r.flags |= MF_RECORD_VALUE_NULL;
    }
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    if (tstype != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && ts >= 0)
        r.time_ms = ts;
    if (!known_without_headers(c, m))
        mfk_headers_view(&c->hv, m, &r);

    if (m->payload && (uint64_t)m->len > c->max_record) {
        c->host->metric_add(c->m_oversized, 1);
        r.value_len = (uint32_t)(m->len < REJECT_SNIPPET ? m->len : REJECT_SNIPPET);
        c->host->reject(c->node, &r,
                        "%s[%d]@%lld: value of %zu bytes is larger than max_record (%llu bytes); only its first "
                        "%u bytes are kept here",
                        p->topic, (int)m->partition, (long long)m->offset, m->len,
                        (unsigned long long)c->max_record, REJECT_SNIPPET);
        return;
    }
    /* no tree: json_check flags r valid, and emit carries the flag along */
    const char *err = NULL;
    if (c->format == FORMAT_JSON && m->payload && c->host->json_check(c->node, &r, &err) != MF_OK) {
        c->host->metric_add(c->m_invalid, 1);
        c->host->reject(c->node, &r, "%s[%d]@%lld: %s", p->topic, (int)m->partition, (long long)m->offset,
                        err ? err : "invalid JSON");
        return;
    }
    c->host->emit(c->node, MF_PORT_DEFAULT, &r, NULL);
}

/* ---- pause / resume ------------------------------------------------------------------------- */

static void pause_partitions(struct ctx *c, bool pause)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(c->rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR || !a)
        return;
    if (a->cnt)
        (pause ? rd_kafka_pause_partitions : rd_kafka_resume_partitions)(c->rk, a);
    if (pause)
        c->host->log(c->node, MF_LOG_INFO, "downstream full for %d ms: pausing the %d assigned partitions "
                                           "(polling continues, the group membership stays)",
                     HARD_PAUSE_AFTER_MS, a->cnt);
    else
        c->host->log(c->node, MF_LOG_INFO, "downstream has room again: resuming %d partitions", a->cnt);
    rd_kafka_topic_partition_list_destroy(a);
}

/* The engine's pause: stop reading at once; pause the partitions in
 * librdkafka only if it lasts (see HARD_PAUSE_AFTER_MS). */
static int pause_cb(void *vctx)
{
    struct ctx *c = vctx;
    c->paused = true;
    c->paused_at = c->host->monotonic_ms();
    return MF_OK;
}

static int resume_cb(void *vctx)
{
    struct ctx *c = vctx;
    c->paused = false;
    if (c->hard_paused && c->rk)
        pause_partitions(c, false);
    c->hard_paused = false;
    return MF_OK;
}

/* poll() while paused: for the first HARD_PAUSE_AFTER_MS read nothing (the
 * engine sleeps between such polls until downstream drains); after that
 * pause the partitions in librdkafka and poll it as usual, so the member
 * stays in its group. Returns whether this poll reads nothing. */
static bool soft_paused(struct ctx *c)
{
    return c->host->monotonic_ms() - c->paused_at < HARD_PAUSE_AFTER_MS;
}

/* See STARVE_MS. */
static void nudge_fetcher(struct ctx *c)
{
    int64_t now = c->host->monotonic_ms();
    if (now - c->last_nudge < NUDGE_INTERVAL_MS || c->t.n_parts == 0)
        return;
    c->last_nudge = now;
    int woken = 0;
    for (size_t k = 0; k < c->t.n_parts && woken < NUDGE_MAX_PARTITIONS; k++) {
        const mfk_part *p = &c->t.parts[(c->nudge_from + k) % c->t.n_parts];
        int64_t lo, hi;
        if (!p->assigned || p->next < 0 ||
            rd_kafka_get_watermark_offsets(c->rk, p->topic, p->partition, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi <= p->next)
            continue; /* nothing known to be waiting there */
        rd_kafka_query_watermark_offsets(c->rk, p->topic, p->partition, &lo, &hi, 1);
        woken++;
    }
    c->nudge_from++;
    if (woken)
        c->host->metric_add(c->m_nudges, 1);
}

/* stop_at_end: every assigned partition is read to its end: it reported
 * end-of-partition, or what was read reaches the high watermark of the last
 * fetch (which spares the wait for an empty fetch, up to fetch.wait.max.ms). */
static bool all_at_end(struct ctx *c)
{
    size_t assigned = 0;
    for (size_t i = 0; i < c->t.n_parts; i++) {
        mfk_part *p = &c->t.parts[i];
        if (!p->assigned)
            continue;
        assigned++;
        if (p->at_end)
            continue;
        int64_t lo, hi;
        if (p->next >= 0 &&
            rd_kafka_get_watermark_offsets(c->rk, p->topic, p->partition, &lo, &hi) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            hi >= 0 && p->next >= hi) {
            p->at_end = true;
            continue;
        }
        return false;
    }
    if (assigned > 0)
        return true;
    /* Nothing assigned: a topic that does not exist holds nothing to read, so
     * when every topic named is missing the input is read to its end (a domain
     * a deployment does not use, e.g. digital-itx without digital traffic,
     * must not keep a backfill from ending). A pattern may still match. */
    if (c->has_pattern || c->n_named == 0 || c->n_missing < c->n_named)
        return false;
    if (!c->told_missing_end) {
        c->told_missing_end = true;
        c->host->log(c->node, MF_LOG_INFO, "no topic of this source exists: nothing to read (stop_at_end)");
    }
    return true;
}

/* The largest lag of the assigned partitions: high watermark minus the
 * position. Both are local to librdkafka (the high watermark as of the last
 * fetch response): no request to a broker. A partition nothing was read from
 * since it was assigned counts from the consumer's fetch position (its
 * committed offset, say, which may already be the end), or not at all while
 * that is not known yet: never from the low watermark, which would report a
 * partition read to its end in an earlier run as lagging by all it holds. */
static int64_t fetch_position(struct ctx *c, const mfk_part *p)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    int64_t at = -1;
    if (rd_kafka_position(c->rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR && l->elems[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        at = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    return at;
}

static void update_lag(struct ctx *c)
{
    int64_t now = c->host->monotonic_ms();
    if (now < c->next_lag)
        return;
    c->next_lag = now + LAG_INTERVAL_MS;
    int64_t max = 0;
    for (size_t i = 0; i < c->t.n_parts; i++) {
        const mfk_part *p = &c->t.parts[i];
        int64_t lo, hi;
        if (!p->assigned ||
            rd_kafka_get_watermark_offsets(c->rk, p->topic, p->partition, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0)
            continue;
        int64_t from = p->next >= 0 ? p->next : fetch_position(c, p);
        if (from >= 0 && hi - from > max)
            max = hi - from;
    }
    c->host->metric_set(c->m_lag_max, (double)max);
}

static int poll_cb(void *vctx, int timeout_ms)
{
    struct ctx *c = vctx;
    if (!c->rk) {
        /* every topic disabled: nothing to read, ever */
        if (c->stop_at_end)
            return MF_EOF; /* nothing to read is read to its end */
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(timeout_ms > 0 ? timeout_ms : 0) * 1000000L};
        nanosleep(&ts, NULL);
        return MF_OK;
    }
    if (c->paused && !c->hard_paused) {
        if (soft_paused(c))
            return MF_OK;
        c->hard_paused = true;
        c->host->metric_add(c->m_pauses, 1);
        pause_partitions(c, true);
    }
    int64_t deadline = c->host->monotonic_ms() + timeout_ms;
    bool got = false, nudged = false;
    for (int budget = c->batch_records; budget > 0;) {
        int wait = 0;
        if (!got) {
            /* nothing yet: wait, but look for a starved fetcher first */
            wait = mfk_ms_left(&c->k, deadline);
            if (!nudged && !c->hard_paused && !c->k.down && wait > STARVE_MS)
                wait = STARVE_MS;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, wait);
        if (!m) {
            if (got || mfk_ms_left(&c->k, deadline) == 0)
                break;
            if (!nudged) {
                nudged = true;
                nudge_fetcher(c);
            }
            continue;
        }
        if (m->err) {
            consumer_error(c, m);
        } else {
            handle_message(c, m);
            got = true;
            budget--;
        }
        rd_kafka_message_destroy(m);
        if (c->failed || c->k.fatal)
            break;
    }
    if (c->k.down && c->cur)
        mfk_saw_traffic(&c->k);
    c->cur = NULL; /* the engine ends the poll batch when poll returns */
    update_lag(c);
    if (c->failed || c->k.fatal)
        return MF_FATAL;
    if (c->stop_at_end && all_at_end(c)) {
        c->host->log(c->node, MF_LOG_INFO, "every assigned partition is read to its end (stop_at_end)");
        return MF_EOF;
    }
    return MF_OK;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

/* The engine's batch size (settings.batch_records): one poll emits at most that. */
static int settings_batch_records(const mf_host *host, mf_node *node)
{
    int64_t n = 256; /* kept only for invalid settings, which the engine refuses before init */
    mf_setting_int(host->settings(node), "batch_records", &n);
    return (int)n;
}

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->node = node;
    c->host = host;
    c->batch_records = settings_batch_records(host, node);
    if (c->format == FORMAT_JSON && (host->abi_minor < 2 || !MF_HOST_HAS(host, json_check))) {
        host->log(node, MF_LOG_ERROR, "format json needs an engine with plugin ABI 1.2 or later (JSON without a "
                  "tree); the engine has %u.%u", (unsigned)host->abi_major, (unsigned)host->abi_minor);
        return MF_FATAL;
    }
    if (!c->commit && c->start == START_COMMITTED) {
        host->log(node, MF_LOG_ERROR, "commit: false never has committed offsets to start from: set start: "
                                      "earliest (or latest)");
        return MF_FATAL;
    }
    if (*c->start_offsets) {
        if (!*c->start_offsets_object) {
            host->log(node, MF_LOG_ERROR, "start_offsets needs start_offsets_object (the key of the object)");
            return MF_FATAL;
        }
        if (mfk_start_offsets_load(&c->so, c->start_offsets, c->start_offsets_object, c->start_offsets_wait_ms, host,
                                   node) != MF_OK)
            return MF_FATAL;
        for (size_t i = 0; i < c->so.n; i++)
            host->log(node, MF_LOG_INFO, "start_offsets: %s[%d] starts at %lld (%s), unless a checkpoint or a "
                      "committed offset says otherwise", c->so.topic, (int)c->so.v[i].partition,
                      (long long)c->so.v[i].offset, c->start_offsets_object);
    }
    c->m_oversized = host->counter(node, "martflow_kafka_oversized_total", NULL, MFK_OVERSIZED_HELP);
    c->m_lag_max = host->gauge(node, "martflow_kafka_records_lag_max", NULL,
                               "Largest lag in records of an assigned partition (high watermark - position)");
    c->m_invalid = host->counter(node, "martflow_kafka_invalid_json_total", NULL, "Records rejected as not JSON");
    c->m_rebalances = host->counter(node, "martflow_kafka_rebalances_total", NULL, "Rebalance callbacks");
    c->m_pauses = host->counter(node, "martflow_kafka_pauses_total", NULL, "Times the partitions were paused");
    c->m_commits = host->counter(node, "martflow_kafka_commits_total", NULL, "Offset commits that succeeded");
    c->m_commit_failures = host->counter(node, "martflow_kafka_commit_failures_total", NULL, "Offset commits that failed");
    c->m_nudges = host->counter(node, "martflow_kafka_fetch_nudges_total", NULL,
                                "Times an idle fetcher was woken while data was waiting (librdkafka 2.0.2)");

    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new((int)c->topics.count);
    for (size_t i = 0; i < c->topics.count; i++) {
        const char *t = c->topics.items[i];
        if (!*t) {
            host->log(node, MF_LOG_INFO, "topics[%zu] is empty: that input is disabled (its data is not read)", i);
            continue;
        }
        if (t[0] != '^' && !mfk_valid_topic(t, strlen(t))) {
            host->log(node, MF_LOG_ERROR, "topics[%zu]: '%s' is not a valid topic name ([a-zA-Z0-9._-], 1..249 "
                                          "characters; a pattern starts with ^)", i, t);
            rd_kafka_topic_partition_list_destroy(subs);
            return MF_FATAL;
        }
        rd_kafka_topic_partition_list_add(subs, t, RD_KAFKA_PARTITION_UA);
        if (t[0] == '^')
            c->has_pattern = true;
        else
            c->n_named++;
    }
    if (subs->cnt == 0) {
        host->log(node, MF_LOG_WARN, "every topic is disabled: this source reads nothing and stays idle");
        rd_kafka_topic_partition_list_destroy(subs);
        return MF_OK;
    }

    static const char *const resets[] = {"earliest", "latest", "error"};
    const struct mfk_setting defaults[] = {
        /* notice new topics (patterns, topics created after start) within 10 s */
        {"topic.metadata.refresh.interval.ms", "10000"},
        /* prefetch at most 16 MiB (librdkafka: 64 MiB): Kafka is the buffer,
         * and a slow sink then keeps the process at ~50 MB instead of ~90 */
        {"queued.max.messages.kbytes", "16384"},
        {NULL, NULL},
    };
    const struct mfk_enforced enforced[] = {
        {"group.id", c->group, "use the option `group`"},
        {"enable.auto.offset.store", "false", "offsets are stored only when acknowledged"},
        {"auto.offset.reset", resets[c->start], "use the option `start`"},
        {"enable.partition.eof", c->stop_at_end ? "true" : "false", "use the option `stop_at_end`"},
        {"enable.auto.commit", c->commit ? "true" : "false", "use the option `commit`"},
        {NULL, NULL, NULL},
    };
    rd_kafka_conf_t *conf = mfk_conf_new(&c->k, node, host, "consumer", &c->kafka, defaults, enforced);
    if (!conf) {
        rd_kafka_topic_partition_list_destroy(subs);
        return MF_FATAL;
    }
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, auto_commit_cb);
    c->rk = mfk_new(&c->k, RD_KAFKA_CONSUMER, conf);
    if (!c->rk) {
        rd_kafka_topic_partition_list_destroy(subs);
        return MF_FATAL;
    }
    rd_kafka_poll_set_consumer(c->rk);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, subs);
    if (e) {
        host->log(node, MF_LOG_ERROR, "subscribe failed: %s", rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(subs);
        return MF_FATAL;
    }
    char names[512];
    size_t o = 0;
    names[0] = '\0';
    for (int i = 0; i < subs->cnt && o < sizeof names - 1; i++) {
        int n = snprintf(names + o, sizeof names - o, "%s%s", i ? ", " : "", subs->elems[i].topic);
        o = n > 0 ? o + (size_t)n : o;
    }
    host->log(node, MF_LOG_INFO, "subscribed to %s as group %s (start %s, format %s)", names, c->group,
              resets[c->start], c->format == FORMAT_JSON ? "json" : "raw");
    rd_kafka_topic_partition_list_destroy(subs);
    return MF_OK;
}

static int stop_cb(void *vctx, int64_t deadline_ms)
{
    struct ctx *c = vctx;
    if (!c->rk)
        return MF_OK;
    c->closing = true;
    c->cur = NULL;
    int left = mfk_ms_left(&c->k, deadline_ms);
    commit_now(c, left < (int)c->commit_timeout_ms ? left : (int)c->commit_timeout_ms, "stop");
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_error_t *error = rd_kafka_consumer_close_queue(c->rk, q);
    if (error) {
        c->host->log(c->node, MF_LOG_WARN, "closing the consumer: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else {
        /* The event API: this queue may also carry fetched messages, which
         * the callback API cannot serve here. */
        while (!rd_kafka_consumer_closed(c->rk) && (left = mfk_ms_left(&c->k, deadline_ms)) > 0) {
            rd_kafka_event_t *ev = rd_kafka_queue_poll(q, left < 100 ? left : 100);
            if (!ev)
                continue;
            if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
                rebalance_cb(c->rk, rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev), c);
            else if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_ERROR)
                mfk_handle_error(&c->k, c->rk, rd_kafka_event_error(ev), rd_kafka_event_error_string(ev));
            /* anything else (messages fetched meanwhile): never emitted, so never acknowledged */
            rd_kafka_event_destroy(ev);
        }
        c->closed = rd_kafka_consumer_closed(c->rk);
        if (!c->closed)
            c->host->log(c->node, MF_LOG_WARN, "the consumer did not leave its group before the deadline");
    }
    rd_kafka_queue_destroy(q);
    c->host->log(c->node, MF_LOG_INFO, "consumer closed");
    return MF_OK;
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    c->k.quiet = true;
    c->closing = true;
    if (c->rk) {
        if (c->closed)
            rd_kafka_destroy(c->rk);
        else
            rd_kafka_destroy_flags(c->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        c->rk = NULL;
    }
    mfk_tracker_free(&c->t);
    mfk_ckpt_free(&c->ck);
    mfk_start_offsets_free(&c->so);
    free(c->hv.hdrs);
    for (size_t i = 0; i < c->n_missing; i++)
        free(c->missing[i]);
    mfk_client_free(&c->k);
}

/* ---- checkpoints ------------------------------------------------------------------------ */

static int snapshot_cb(void *vctx, uint64_t checkpoint_id, mf_buffer *out)
{
    struct ctx *c = vctx;
    return mfk_ckpt_snapshot(&c->ck, c->host, &c->t, checkpoint_id, out);
}

/* Called before the consumer polls: the offsets are used as partitions are
 * assigned (set_start_offsets). */
static int restore_cb(void *vctx, const uint8_t *data, size_t len)
{
    struct ctx *c = vctx;
    if (!mfk_ckpt_restore(&c->ck, data, len)) {
        c->host->log(c->node, MF_LOG_ERROR, "the Kafka offsets in the checkpoint are malformed");
        return MF_FATAL;
    }
    return MF_OK;
}

/* Checkpoint N is stored: its offsets are durable, commit them. */
static int commit_cb(void *vctx, uint64_t checkpoint_id)
{
    struct ctx *c = vctx;
    rd_kafka_topic_partition_list_t *l = mfk_ckpt_take(&c->ck, checkpoint_id);
    if (!l)
        return MF_OK;
    if (c->rk && c->commit && l->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, l);
        if (err)
            c->host->log(c->node, MF_LOG_DEBUG, "storing the offsets of checkpoint %llu: %s (partitions no longer "
                         "assigned)", (unsigned long long)checkpoint_id, rd_kafka_err2str(err));
        err = rd_kafka_commit(c->rk, NULL, 1);
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
            c->host->log(c->node, MF_LOG_WARN, "commit of checkpoint %llu: %s", (unsigned long long)checkpoint_id,
                         rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_destroy(l);
    return MF_OK;
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_SOURCE,
    .name = "kafka",
    .version = "1.0.0",
    .description = "Read Kafka topics in a consumer group; offsets are committed only behind acknowledged records",
    .options = options,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .free = free_cb,
    .stop = stop_cb,
    .poll = poll_cb,
    .ack = ack_cb,
    .pause = pause_cb,
    .resume = resume_cb,
    .snapshot = snapshot_cb,
    .restore = restore_cb,
    .commit = commit_cb,
};
