/*
 * sink kafka — produce records to Kafka with the idempotent producer.
 *
 * A record is acknowledged only from its delivery report: process() holds
 * each record's ack (host->ack_hold) and hands librdkafka a small struct
 * (struct msgctx) as the message opaque; the delivery report callback, served
 * by rd_kafka_poll on the node thread, releases the ack on success. A delivery
 * error that is the record's own (too large, unknown topic, not authorised,
 * message.timeout.ms passed, ...) rejects that record to the errors port with
 * the reason; a fatal producer error fails the node and leaves the ack held.
 * A full local queue is backpressure: rd_kafka_poll(rk, 100) serves delivery
 * reports until there is room. A tick serves reports when no batch comes;
 * stop() flushes until the engine's deadline, and whatever has no delivery
 * report by then stays unacknowledged, so its source offset is not committed.
 *
 * exactly_once: a transactional producer; acks are released only when the
 * checkpoint's transaction commits, and the input positions it wrote commit
 * with it (eos_positions.h), so replays are recognised (see "exactly once").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <martflow/fieldpath.h>
#include <martflow/helpers.h>

#include "kafka_admin.h"
#include "eos_positions.h"
#include "kafka_common.h"

#define TICK_MS 100
#define QUEUE_FULL_WAIT_MS 100
#define CHUNK 4096
#define MAX_ORIGIN_TOPICS 1024
#define CREATE_TOPIC_TIMEOUT_MS 10000
#define TXN_TIMEOUT_MS 30000      /* one transactional call (they are retried while retriable) */
#define TXN_INIT_PATIENCE_MS 120000 /* init_transactions: brokers may still be starting */

/* One ack held for a run of records that share it (a source's poll batch):
 * one hold and one release per run, not per record. `pending` counts its
 * messages without a delivery report, plus one while the run is open. */
struct hold {
    mf_ack *ack;
    uint32_t pending;
    struct hold *next_free;
};

/* What a message in flight remembers of its record. Allocated in order from
 * chunks, so producing and delivery reports walk memory sequentially. */
struct chunk;
struct msgctx {
    struct hold *hold;
    struct chunk *chunk;
    const char *origin_source; /* engine-owned, lives as long as the run */
    const char *origin_topic;  /* interned here */
    int32_t origin_partition;
    int64_t origin_offset;
    int64_t time_ms;
};

struct chunk {
    struct msgctx m[CHUNK];
    uint32_t used, live;
    struct chunk *next; /* free pool, or the list of all chunks */
    struct chunk *all_next;
};

struct topic_handle {
    char *name;
    rd_kafka_topic_t *rkt;
};

struct ctx {
    mfk_client k; /* first: it is librdkafka's opaque */
    struct mfk_opts kafka;
    const char *topic;
    const char *topic_field;
    const char *topic_header;
    const char *key_field;
    const json_t *create_topic; /* MF_OPT_JSON, or NULL */
    mfk_topic_spec topic_spec;
    bool topic_checked;         /* create_topic: the topic exists now */
    /* key_field and topic_field (those set) compiled as one field set, read
     * without a tree; NULL: neither is used. Slots: their views, -1: unused
     * (key_slot -1: the record's own key). */
    mf_json_fieldset *fields;
    int key_slot, topic_slot;

    mf_node *node;
    const mf_host *host;
    rd_kafka_t *rk;
    bool closing;

    struct topic_handle *topics;
    size_t n_topics, cap_topics, last_topic;
    char **origin_topics;
    size_t n_origin_topics;

    struct chunk *cur_chunk;  /* allocating from */
    struct chunk *free_chunks;
    struct chunk *all_chunks;
    struct hold *open_hold;   /* the run being produced */
    struct hold *free_holds;
    struct hold **all_holds;
    size_t n_all_holds;
    uint64_t in_flight;
    uint64_t delivered; /* not yet added to m_delivered (one add per call, not per message) */

    mfk_header_view hv;          /* a failed message's headers, for its reject */
    mf_buffer keybuf;

    mf_metric *m_delivered, *m_failed, *m_discarded, *m_queue_full, *m_oversized;

    /* exactly_once: one transaction per checkpoint epoch (see "Exactly once"
     * below). Holds made in the open transaction carry one more reference,
     * dropped when it commits; they are listed here until then. */
    bool exactly_once;
    const char *txn_prefix;
    const char *positions_topic_opt;
    char *txn_id;
    char *positions_topic;
    rd_kafka_topic_t *positions_rkt;
    mfk_positions positions;
    struct hold **epoch_holds;
    size_t n_epoch_holds, cap_epoch_holds;
    uint64_t epoch_records; /* produced in the open transaction */
    bool txn_broken;        /* Kafka refused a record of the open transaction */
    bool fatal_told;
    bool unpositioned_told;
    mf_metric *m_txn_commits, *m_txn_aborts, *m_replayed;
};

static const mf_option options[] = {
    MFK_COMMON_OPTIONS(struct ctx),
    MF_OPTION(MF_OPT_STRING, "topic", NULL, 0, struct ctx, topic,
              "Topic to write to (fallback when topic_field/topic_header give none); \"\": discard, counted"),
    MF_OPTION(MF_OPT_STRING, "topic_field", "", 0, struct ctx, topic_field,
              "Field path (see Field paths and keys) of each record's topic (empty: not used)"),
    MF_OPTION(MF_OPT_STRING, "topic_header", "", 0, struct ctx, topic_header,
              "Header holding each record's topic (empty: not used; checked before topic_field)"),
    MF_OPTION(MF_OPT_STRING, "key_field", "", 0, struct ctx, key_field,
              "Field path (a.b, '\\.' for a dot in a name) whose value is the message key; null or missing: no key; "
              "empty: the record's key"),
    MF_OPTION(MF_OPT_JSON, "create_topic", NULL, 0, struct ctx, create_topic,
              "Create `topic` when it does not exist: {partitions: 1, replication: -1 (the brokers' default), "
              "config: {cleanup.policy: compact, ...}}"),
    MF_OPTION(MF_OPT_BOOL, "exactly_once", "false", 0, struct ctx, exactly_once,
              "Transactional producer: one transaction per checkpoint, records acknowledged when it commits, "
              "replayed input skipped (see Exactly once); needs settings.checkpoint_interval"),
    MF_OPTION(MF_OPT_STRING, "transactional_id_prefix", "", 0, struct ctx, txn_prefix,
              "exactly_once: the transactional.id is <prefix>-<worker>; empty: <pipeline>-<node>"),
    MF_OPTION(MF_OPT_STRING, "positions_topic", "", 0, struct ctx, positions_topic_opt,
              "exactly_once: topic recording the input positions each transaction wrote (created: 1 partition, "
              "compacted); empty: martflow-positions-<transactional.id>"),
    MF_OPTION_END,
};

/* ---- message contexts ------------------------------------------------------------ */

static struct msgctx *msgctx_get(struct ctx *c)
{
    struct chunk *ch = c->cur_chunk;
    if (ch && ch->used == CHUNK && ch->live == 0) {
        ch->used = 0; /* every message of it is done: start it over */
    } else if (!ch || ch->used == CHUNK) {
        /* a full chunk goes to the pool when its last message is done */
        ch = c->free_chunks;
        if (ch) {
            c->free_chunks = ch->next;
        } else {
            ch = mf_xcalloc(1, sizeof *ch);
            ch->all_next = c->all_chunks;
            c->all_chunks = ch;
        }
        ch->used = ch->live = 0;
        c->cur_chunk = ch;
    }
    struct msgctx *m = &ch->m[ch->used++];
    ch->live++;
    m->chunk = ch;
    return m;
}

static void msgctx_put(struct ctx *c, struct msgctx *m)
{
    struct chunk *ch = m->chunk;
    if (--ch->live == 0 && ch->used == CHUNK && ch != c->cur_chunk) {
        ch->next = c->free_chunks;
        c->free_chunks = ch;
    }
}

/* The hold covering rec: the open one if rec shares its ack, else a new one. */
static struct hold *hold_for(struct ctx *c, const mf_record *rec);

static void hold_drop(struct ctx *c, struct hold *h)
{
    if (--h->pending)
        return;
    c->host->ack_release(c->node, h->ack);
    h->ack = NULL;
    h->next_free = c->free_holds;
    c->free_holds = h;
}

/* End the open run: its own reference goes. */
static void hold_close(struct ctx *c)
{
    if (c->open_hold) {
        struct hold *h = c->open_hold;
        c->open_hold = NULL;
        hold_drop(c, h);
    }
}

static struct hold *hold_for(struct ctx *c, const mf_record *rec)
{
    if (c->open_hold && c->open_hold->ack == rec->ack)
        return c->open_hold;
    hold_close(c);
    struct hold *h = c->free_holds;
    if (h) {
        c->free_holds = h->next_free;
    } else {
        h = mf_xcalloc(1, sizeof *h);
        c->all_holds = mf_xrealloc(c->all_holds, (c->n_all_holds + 1) * sizeof *c->all_holds);
        c->all_holds[c->n_all_holds++] = h;
    }
    h->ack = c->host->ack_hold(c->node, rec);
    h->pending = 1;
    c->open_hold = h;
    if (c->exactly_once) {
        /* released when the open transaction commits */
        h->pending++;
        if (c->n_epoch_holds == c->cap_epoch_holds) {
            c->cap_epoch_holds = c->cap_epoch_holds ? c->cap_epoch_holds * 2 : 64;
            c->epoch_holds = mf_xrealloc(c->epoch_holds, c->cap_epoch_holds * sizeof *c->epoch_holds);
        }
        c->epoch_holds[c->n_epoch_holds++] = h;
    }
    return h;
}

static const char *intern_origin(struct ctx *c, const char *topic)
{
    if (!topic)
        return NULL;
    for (size_t i = c->n_origin_topics; i-- > 0;)
        if (strcmp(c->origin_topics[i], topic) == 0)
            return c->origin_topics[i];
    if (c->n_origin_topics == MAX_ORIGIN_TOPICS)
        return NULL;
    c->origin_topics = mf_xrealloc(c->origin_topics, (c->n_origin_topics + 1) * sizeof *c->origin_topics);
    char *copy = mf_xstrdup(topic);
    c->origin_topics[c->n_origin_topics++] = copy;
    return copy;
}

/* ---- delivery reports ------------------------------------------------------------- */

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct ctx *c = opaque;
    struct msgctx *x = m->_private;
    (void)rk;
    if (c->closing || !x)
        return; /* free(): nothing may reach the engine any more */
    c->in_flight--;
    struct hold *h = x->hold;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        c->delivered++;
        if (c->k.down)
            mfk_saw_traffic(&c->k);
        hold_drop(c, h);
    } else if (m->err == RD_KAFKA_RESP_ERR__FATAL || c->k.fatal || m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
               m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
        /* Not the record's fault, and not delivered: keep it unacknowledged
         * (its hold is never dropped), so it is read again after a restart. */
        c->host->log(c->node, MF_LOG_WARN, "a record was not delivered (%s): it stays unacknowledged",
                     rd_kafka_err2str(m->err));
    } else if (c->exactly_once) {
        /* The transaction cannot commit with a record missing: it is
         * aborted, and the record stays unacknowledged (see "Exactly once"). */
        if (!c->txn_broken)
            c->host->log(c->node, MF_LOG_ERROR,
                         "Kafka refused a record of the open transaction (topic %s: %s): the transaction is "
                         "aborted and the node fails; its records are read again on restart",
                         rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
        c->txn_broken = true;
    } else {
        const char *topic = rd_kafka_topic_name(m->rkt);
        mf_record r = {.time_ms = x->time_ms,
                       .origin = {.source = x->origin_source, .topic = x->origin_topic,
                                  .partition = x->origin_partition, .offset = x->origin_offset},
                       .ack = h->ack};
        if (m->key) {
            r.key = m->key;
            r.key_len = (uint32_t)m->key_len;
        } else {
            r.flags |= MF_RECORD_KEY_NULL;
        }
        if (m->payload) {
            r.value = m->payload;
            r.value_len = (uint32_t)m->len;
        } else {
            r.flags |= MF_RECORD_VALUE_NULL;
        }
        mfk_headers_view(&c->hv, m, &r);
        c->host->metric_add(c->m_failed, 1);
        if (m->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
            c->host->metric_add(c->m_oversized, 1);
        c->host->reject(c->node, &r, "delivery to Kafka topic %s failed: %s", topic, rd_kafka_err2str(m->err));
        hold_drop(c, h);
    }
    msgctx_put(c, x);
}

/* Serve delivery reports (waiting up to timeout_ms), then count them. */
static void serve(struct ctx *c, int timeout_ms)
{
    rd_kafka_poll(c->rk, timeout_ms);
    if (c->delivered) {
        c->host->metric_add(c->m_delivered, (double)c->delivered);
        c->delivered = 0;
    }
}

/* ---- producing ---------------------------------------------------------------------- */

static rd_kafka_topic_t *topic_handle(struct ctx *c, const char *name)
{
    if (c->n_topics && strcmp(c->topics[c->last_topic].name, name) == 0)
        return c->topics[c->last_topic].rkt;
    for (size_t i = 0; i < c->n_topics; i++)
        if (strcmp(c->topics[i].name, name) == 0) {
            c->last_topic = i;
            return c->topics[i].rkt;
        }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, name, NULL);
    if (!rkt)
        return NULL;
    if (c->n_topics == c->cap_topics) {
        c->cap_topics = c->cap_topics ? c->cap_topics * 2 : 8;
        c->topics = mf_xrealloc(c->topics, c->cap_topics * sizeof *c->topics);
    }
    c->topics[c->n_topics] = (struct topic_handle){.name = mf_xstrdup(name), .rkt = rkt};
    c->last_topic = c->n_topics++;
    return rkt;
}

/* The record's topic: header, then field (its view, or NULL), then the
 * static topic. Returns NULL when there is none; *why then says so (or "" to
 * discard). A name from the header or field is copied into buf. */
static const char *record_topic(struct ctx *c, mf_record *rec, const mf_json_view *field, char *buf, size_t cap,
                                const char **why)
{
    *why = NULL;
    if (*c->topic_header) {
        const mf_header *h = c->host->record_header(rec, c->topic_header);
        if (h && h->value_len) {
            if (h->value_len >= cap || !mfk_valid_topic((const char *)h->value, h->value_len)) {
                *why = "the topic header is not a valid topic name";
                return NULL;
            }
            memcpy(buf, h->value, h->value_len);
            buf[h->value_len] = '\0';
            return buf;
        }
    }
    if (field && field->type == MF_JSON_STRING && field->len) {
        if (field->len >= cap || !mfk_valid_topic(field->str, field->len)) {
            *why = "the topic field is not a valid topic name";
            return NULL;
        }
        memcpy(buf, field->str, field->len); /* a view is not NUL-terminated */
        buf[field->len] = '\0';
        return buf;
    }
    if (!c->topic) {
        *why = "the record names no topic (topic_field/topic_header) and no static topic is set";
        return NULL;
    }
    if (!*c->topic) {
        *why = "";
        return NULL;
    }
    return c->topic;
}

/* Read key_field and topic_field in one pass, without a tree. A record
 * without a value has neither (views MISSING). false with *err when the
 * value is not valid JSON. */
static bool read_fields(struct ctx *c, mf_record *rec, mf_json_view v[2], const char **err)
{
    v[0] = v[1] = (mf_json_view){.type = MF_JSON_MISSING};
    if (!c->fields || (rec->flags & MF_RECORD_VALUE_NULL))
        return true;
    return c->host->json_fields(c->node, rec, c->fields, v, err) == MF_OK;
}

static rd_kafka_headers_t *make_headers(const mf_record *rec)
{
    if (!rec->n_headers)
        return NULL;
    rd_kafka_headers_t *h = rd_kafka_headers_new(rec->n_headers);
    for (uint16_t i = 0; i < rec->n_headers; i++)
        rd_kafka_header_add(h, rec->headers[i].name, -1, rec->headers[i].value, rec->headers[i].value_len);
    return h;
}

/* Whether a producev error is the record's own fault (reject it). */
static bool record_error(rd_kafka_resp_err_t err)
{
    return err != RD_KAFKA_RESP_ERR__FATAL && err != RD_KAFKA_RESP_ERR__QUEUE_FULL;
}

/* Produce one record; returns MF_OK or MF_FATAL. */
static int produce(struct ctx *c, mf_record *rec)
{
    mfk_stream_pos *pos = c->exactly_once ? mfk_positions_get(&c->positions, &rec->origin) : NULL;
    if (c->exactly_once && !pos && !c->unpositioned_told) {
        c->unpositioned_told = true;
        c->host->log(c->node, MF_LOG_WARN,
                     "a record without an input position (origin offset; e.g. one a transform built anew rather "
                     "than derived from its input) reached this sink: such records cannot be recognised when "
                     "replayed, so they are written at least once, not exactly once");
    }
    if (pos) {
        enum mfk_seen seen = mfk_positions_see(pos, rec->origin.offset);
        if (seen != MFK_NEW) {
            /* Replayed input the topic has (or the open transaction will
             * have): not written again. One in the open transaction is
             * acknowledged only when that commits. */
            c->host->metric_add(c->m_replayed, 1);
            if (seen == MFK_PRODUCED)
                hold_for(c, rec);
            return MF_OK;
        }
    }
    mf_json_view v[2];
    const char *jerr = NULL;
    bool is_json = read_fields(c, rec, v, &jerr);
    char tbuf[256];
    const char *why;
    const mf_json_view *tfield = is_json && c->topic_slot >= 0 ? &v[c->topic_slot] : NULL;
    const char *topic = record_topic(c, rec, tfield, tbuf, sizeof tbuf, &why);
    if (!topic) {
        if (why && !*why) {
            c->host->metric_add(c->m_discarded, 1);
            return MF_OK;
        }
        c->host->reject(c->node, rec, "%s", why);
        return MF_OK;
    }
    const void *key = NULL;
    size_t key_len = 0;
    if (c->key_slot >= 0) {
        if (!is_json) {
            c->host->reject(c->node, rec, "key_field '%s': the value is not JSON (%s)", c->key_field,
                            jerr ? jerr : "invalid");
            return MF_OK;
        }
        const uint8_t *k;
        if (mf_json_view_key(&v[c->key_slot], &c->keybuf, &k, &key_len))
            key = k;
    } else if (!(rec->flags & MF_RECORD_KEY_NULL)) {
        key = rec->key;
        key_len = rec->key_len;
    }
    const uint8_t *value = NULL;
    size_t value_len = 0;
    if (!(rec->flags & MF_RECORD_VALUE_NULL))
        value = c->host->record_value(c->node, rec, &value_len);
    rd_kafka_topic_t *rkt = topic_handle(c, topic);
    if (!rkt) {
        c->host->reject(c->node, rec, "cannot use Kafka topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        return MF_OK;
    }
    rd_kafka_headers_t *hdrs = make_headers(rec);
    struct msgctx *x = msgctx_get(c);
    x->origin_source = rec->origin.source;
    x->origin_topic = intern_origin(c, rec->origin.topic);
    x->origin_partition = rec->origin.partition;
    x->origin_offset = rec->origin.offset;
    x->time_ms = rec->time_ms;
    int64_t ts = rec->time_ms == MF_TIME_UNSET || rec->time_ms < 0 ? 0 : rec->time_ms;
    rd_kafka_resp_err_t err;
    for (;;) {
        err = rd_kafka_producev(c->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)value, value_len),
                                RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_TIMESTAMP(ts),
                                RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(x), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        /* Backpressure: serve delivery reports until there is room. */
        c->host->metric_add(c->m_queue_full, 1);
        serve(c, QUEUE_FULL_WAIT_MS);
        if (c->k.fatal)
            break;
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* no delivery report can come before this: reports are served on
         * this thread, by rd_kafka_poll, which the retry above may call
         * only for earlier messages */
        x->hold = hold_for(c, rec);
        x->hold->pending++;
        c->in_flight++;
        if (c->exactly_once) {
            c->epoch_records++;
            if (pos)
                mfk_positions_produced(pos);
        }
        return MF_OK;
    }
    if (hdrs)
        rd_kafka_headers_destroy(hdrs);
    msgctx_put(c, x);
    if (c->k.fatal || !record_error(err))
        return MF_FATAL;
    c->host->metric_add(c->m_failed, 1);
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        c->host->metric_add(c->m_oversized, 1);
    c->host->reject(c->node, rec, "cannot produce to Kafka topic %s: %s", topic, rd_kafka_err2str(err));
    return MF_OK;
}

/* create_topic: before the first record, make sure the topic exists. */
static int check_topic(struct ctx *c)
{
    char why[768];
    mfk_topic_result r = mfk_ensure_topic(c->rk, c->topic, &c->topic_spec, CREATE_TOPIC_TIMEOUT_MS, why, sizeof why);
    serve(c, 0);
    switch (r) {
    case MFK_TOPIC_EXISTS:
        c->host->log(c->node, MF_LOG_INFO, "topic %s exists: used as it is", c->topic);
        break;
    case MFK_TOPIC_CREATED:
        c->host->log(c->node, MF_LOG_INFO, "topic %s created (%d partitions, %zu settings)", c->topic,
                     c->topic_spec.partitions, c->topic_spec.n_config);
        break;
    case MFK_TOPIC_RETRY:
        c->host->log(c->node, MF_LOG_WARN, "%s; retrying", why);
        return MF_RETRY;
    case MFK_TOPIC_FATAL:
        c->host->log(c->node, MF_LOG_ERROR, "%s", why);
        return MF_FATAL;
    }
    c->topic_checked = true;
    return MF_OK;
}

/* ---- exactly once ------------------------------------------------------------------
 *
 * A transactional producer (transactional.id <prefix>-<worker>, the same on
 * every start) keeps one transaction open per checkpoint epoch. At the
 * barrier (flush(CHECKPOINT)) every record produced so far gets its delivery
 * report; commit(N) — checkpoint N is complete — writes the input positions
 * table into the positions topic and commits the transaction, and only then
 * are its records' acks released, so no source commits what is not
 * committed. The table in the same transaction makes the topic itself say
 * which input it holds: a restart (whatever the sources had committed) skips
 * replayed records at or below it. An aborted transaction fails the node
 * (its records were never acknowledged: a restart reads them again); a
 * fenced producer (a newer instance with the same id) fails it with a
 * message saying so. At the end of input the last epoch commits; at a stop
 * it is aborted (read again on restart). */

/* Why the node cannot go on, said once: MF_FATAL, or MF_OK when it can. */
static int fatal_status(struct ctx *c)
{
    if (c->txn_broken)
        return MF_FATAL;
    if (!c->k.fatal)
        return MF_OK;
    if (c->exactly_once && !c->fatal_told) {
        char why[512];
        rd_kafka_resp_err_t e = rd_kafka_fatal_error(c->rk, why, sizeof why);
        if (e == RD_KAFKA_RESP_ERR__FENCED || e == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
            e == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH)
            c->host->log(c->node, MF_LOG_ERROR,
                         "fenced: another producer with transactional.id %s has started (a second instance of "
                         "this pipeline, or two sinks sharing transactional_id_prefix); this one stops, its open "
                         "transaction is aborted and its records stay unacknowledged",
                         c->txn_id);
        c->fatal_told = true;
    }
    return MF_FATAL;
}

enum { TXN_OK, TXN_RETRY, TXN_ABORT, TXN_FATAL };

/* Classify (and consume) the result of a transactional call. */
static int txn_result(struct ctx *c, rd_kafka_error_t *e, const char *what)
{
    if (!e)
        return TXN_OK;
    int r = rd_kafka_error_is_fatal(e)             ? TXN_FATAL
            : rd_kafka_error_txn_requires_abort(e) ? TXN_ABORT
            : rd_kafka_error_is_retriable(e)       ? TXN_RETRY
                                                   : TXN_FATAL;
    if (r == TXN_FATAL) {
        if (rd_kafka_error_is_fatal(e))
            c->k.fatal = true;
        c->host->log(c->node, MF_LOG_ERROR, "%s (transactional.id %s) failed: %s", what, c->txn_id,
                     rd_kafka_error_string(e));
        fatal_status(c);
    } else {
        c->host->log(c->node, MF_LOG_WARN, "%s (transactional.id %s): %s%s", what, c->txn_id,
                     rd_kafka_error_string(e), r == TXN_RETRY ? " (retrying)" : "");
    }
    rd_kafka_error_destroy(e);
    return r;
}

static int begin_txn(struct ctx *c)
{
    return txn_result(c, rd_kafka_begin_transaction(c->rk), "begin_transaction") == TXN_OK ? MF_OK : MF_FATAL;
}

/* Abort the open transaction; its records stay unacknowledged. */
static void abort_txn(struct ctx *c, int timeout_ms, const char *why)
{
    c->host->metric_add(c->m_txn_aborts, 1);
    rd_kafka_error_t *e = rd_kafka_abort_transaction(c->rk, timeout_ms);
    if (e) {
        c->host->log(c->node, MF_LOG_WARN, "abort_transaction (%s): %s (the transaction times out on the broker "
                     "or is aborted by the next start)", why, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return;
    }
    c->host->log(c->node, MF_LOG_WARN, "aborted the open transaction (%s): %llu records stay unacknowledged "
                 "and are read again", why, (unsigned long long)c->epoch_records);
}

/* Wait until every record produced has its delivery report. */
static int deliver_all(struct ctx *c)
{
    while (c->in_flight && !c->k.fatal && !c->txn_broken && !c->host->stopping(c->node))
        rd_kafka_flush(c->rk, QUEUE_FULL_WAIT_MS);
    serve(c, 0);
    return fatal_status(c);
}

/* Commit the open transaction with the positions table, release its acks and
 * begin the next. Nothing produced: the transaction stays open as it is. */
static int commit_txn(struct ctx *c, uint64_t checkpoint_id)
{
    if (fatal_status(c) != MF_OK)
        return MF_FATAL;
    if (!c->epoch_records && !c->n_epoch_holds)
        return MF_OK;
    char *table = mfk_positions_encode(&c->positions, c->txn_id);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        c->rk, RD_KAFKA_V_RKT(c->positions_rkt), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
        RD_KAFKA_V_VALUE(table, strlen(table)), RD_KAFKA_V_KEY(c->txn_id, strlen(c->txn_id)), RD_KAFKA_V_END);
    if (err) {
        free(table);
        c->host->log(c->node, MF_LOG_ERROR, "cannot write the positions to %s: %s", c->positions_topic,
                     rd_kafka_err2str(err));
        abort_txn(c, TXN_TIMEOUT_MS, "the positions could not be written");
        return MF_FATAL;
    }
    int r;
    while ((r = txn_result(c, rd_kafka_commit_transaction(c->rk, TXN_TIMEOUT_MS), "commit_transaction")) ==
               TXN_RETRY &&
           !c->host->stopping(c->node))
        ;
    serve(c, 0);
    if (r != TXN_OK || c->txn_broken) {
        if (r != TXN_FATAL)
            abort_txn(c, TXN_TIMEOUT_MS, "its commit failed");
        c->host->log(c->node, MF_LOG_ERROR, "the transaction of checkpoint %llu did not commit: the node fails; "
                     "its records were never acknowledged and are read again on restart",
                     (unsigned long long)checkpoint_id);
        return MF_FATAL;
    }
    mfk_positions_commit(&c->positions);
    c->host->metric_add(c->m_txn_commits, 1);
    c->host->log(c->node, MF_LOG_DEBUG, "committed the transaction of checkpoint %llu: %llu records",
                 (unsigned long long)checkpoint_id, (unsigned long long)c->epoch_records);
    for (size_t i = 0; i < c->n_epoch_holds; i++)
        hold_drop(c, c->epoch_holds[i]);
    c->n_epoch_holds = 0;
    c->epoch_records = 0;
    return begin_txn(c);
}

/* Start: fence any earlier instance (which aborts its open transaction),
 * read what the committed transactions wrote, begin the first. */
static int eos_start(struct ctx *c)
{
    int64_t give_up = c->host->monotonic_ms() + TXN_INIT_PATIENCE_MS;
    int r;
    while ((r = txn_result(c, rd_kafka_init_transactions(c->rk, TXN_TIMEOUT_MS), "init_transactions")) ==
               TXN_RETRY &&
           c->host->monotonic_ms() < give_up && !c->host->stopping(c->node))
        ;
    if (r != TXN_OK)
        return MF_FATAL;
    bool created, found = false;
    if (mfk_positions_ensure_topic(&c->k, c->rk, c->positions_topic, &created) != MF_OK)
        return MF_FATAL;
    /* a topic made just now is empty (and may not have a leader yet) */
    if (!created && mfk_positions_load(c->node, c->host, &c->kafka, c->positions_topic, c->txn_id, &c->positions,
                                       &found) != MF_OK)
        return MF_FATAL;
    c->host->log(c->node, MF_LOG_INFO, "exactly once: transactional.id %s, positions in %s (%s)", c->txn_id,
                 c->positions_topic, found ? "resuming after the last committed transaction" : "none yet");
    c->positions_rkt = rd_kafka_topic_new(c->rk, c->positions_topic, NULL);
    if (!c->positions_rkt) {
        c->host->log(c->node, MF_LOG_ERROR, "cannot use the positions topic %s: %s", c->positions_topic,
                     rd_kafka_err2str(rd_kafka_last_error()));
        return MF_FATAL;
    }
    return begin_txn(c);
}

/* ---- callbacks ------------------------------------------------------------------------ */

static int process(void *vctx, mf_batch *batch)
{
    struct ctx *c = vctx;
    if (c->create_topic && !c->topic_checked) {
        int st = check_topic(c);
        if (st != MF_OK)
            return st;
    }
    for (size_t i = 0; i < batch->count; i++)
        if (produce(c, &batch->records[i]) != MF_OK || c->k.fatal) {
            fatal_status(c);
            return MF_FATAL;
        }
    hold_close(c); /* records are only valid during this call */
    serve(c, 0);
    return fatal_status(c);
}

static int tick(void *vctx)
{
    struct ctx *c = vctx;
    serve(c, 0);
    return fatal_status(c);
}

static int flush(void *vctx, mf_flush_reason reason)
{
    struct ctx *c = vctx;
    if (!c->exactly_once) {
        /* acks follow delivery reports; stop() waits for the rest */
        serve(c, 0);
        return fatal_status(c);
    }
    switch (reason) {
    case MF_FLUSH_CHECKPOINT:
        return deliver_all(c); /* the epoch is complete; commit(N) commits it */
    case MF_FLUSH_END:
        return commit_txn(c, 0); /* no checkpoint follows the end of input */
    default:
        return fatal_status(c); /* stop() aborts what is open */
    }
}

static int commit_cb(void *vctx, uint64_t checkpoint_id)
{
    struct ctx *c = vctx;
    if (!c->exactly_once || !c->rk)
        return MF_OK;
    return commit_txn(c, checkpoint_id);
}

static int stop_cb(void *vctx, int64_t deadline_ms)
{
    struct ctx *c = vctx;
    if (!c->rk)
        return MF_OK;
    if (c->exactly_once) {
        if (c->positions_rkt && !c->k.fatal && (c->epoch_records || c->n_epoch_holds))
            abort_txn(c, mfk_ms_left(&c->k, deadline_ms), "stopping");
        serve(c, 0);
        return c->k.fatal ? MF_FATAL : MF_OK;
    }
    int left;
    while (c->in_flight && !c->k.fatal && (left = mfk_ms_left(&c->k, deadline_ms)) > 0)
        rd_kafka_flush(c->rk, left < QUEUE_FULL_WAIT_MS ? left : QUEUE_FULL_WAIT_MS);
    serve(c, 0);
    if (c->in_flight)
        c->host->log(c->node, MF_LOG_WARN,
                     "%llu records got no delivery report before the deadline: they stay unacknowledged (their "
                     "source offsets are not committed; they will be read again)",
                     (unsigned long long)c->in_flight);
    else
        c->host->log(c->node, MF_LOG_INFO, "producer flushed: every record has its delivery report");
    return c->k.fatal ? MF_FATAL : MF_OK;
}

/* Whether the user set rdkafka.<key> to value. */
static bool user_setting_is(const struct mfk_opts *o, const char *key, const char *value)
{
    for (size_t i = 0; i < o->rdkafka.count; i++)
        if (strcmp(o->rdkafka.keys[i], key) == 0)
            return strcasecmp(o->rdkafka.values[i], value) == 0;
    return false;
}

/* key_field and topic_field (those set) as one field set. validate() has
 * reported a bad path at its place already, for `check` and `run`. */
static int compile_fields(struct ctx *c)
{
    const char *paths[2];
    size_t n = 0;
    c->key_slot = c->topic_slot = -1;
    if (*c->key_field) {
        c->key_slot = (int)n;
        paths[n++] = c->key_field;
    }
    if (*c->topic_field) {
        c->topic_slot = (int)n;
        paths[n++] = c->topic_field;
    }
    if (n == 0)
        return MF_OK;
    const mf_host *h = c->host;
    if (h->abi_minor < 2 || !MF_HOST_HAS(h, fieldset_new) || !MF_HOST_HAS(h, fieldset_free) ||
        !MF_HOST_HAS(h, json_fields)) {
        h->log(c->node, MF_LOG_ERROR, "key_field and topic_field need an engine with plugin ABI 1.2 or later "
               "(JSON without a tree); the engine has %u.%u", (unsigned)h->abi_major, (unsigned)h->abi_minor);
        return MF_FATAL;
    }
    const char *err = NULL;
    c->fields = h->fieldset_new(c->node, paths, n, &err);
    if (!c->fields) {
        h->log(c->node, MF_LOG_ERROR, "key_field or topic_field: %s", err ? err : "invalid");
        return MF_FATAL;
    }
    return MF_OK;
}

/* Does the pipeline take checkpoints? settings.checkpoint_interval (5s
 * when absent, validated by the engine); 0 turns them off. */
static bool takes_checkpoints(const mf_host *host, mf_node *node)
{
    const json_t *v = json_object_get(host->settings(node), "checkpoint_interval");
    int64_t ms = 1;
    if (json_is_number(v))
        return json_number_value(v) != 0;
    if (json_is_string(v) && !mf_parse_duration_ms(json_string_value(v), &ms))
        return true;
    return ms != 0;
}

/* transactional.id and the positions topic; MF_FATAL after logging why. */
static int eos_names(struct ctx *c)
{
    const mf_host *h = c->host;
    if (!takes_checkpoints(h, c->node)) {
        h->log(c->node, MF_LOG_ERROR, "exactly_once needs checkpoints: its transactions commit at each one; set "
               "settings.checkpoint_interval (it is 0)");
        return MF_FATAL;
    }
    int count = 1;
    int worker = h->worker(c->node, &count);
    c->txn_id = *c->txn_prefix ? mf_xasprintf("%s-%d", c->txn_prefix, worker)
                               : mf_xasprintf("%s-%s-%d", h->pipeline_name(c->node), h->node_name(c->node), worker);
    if (*c->positions_topic_opt) {
        c->positions_topic = mf_xstrdup(c->positions_topic_opt);
    } else {
        /* a valid topic name made of the id: other characters become '_' */
        c->positions_topic = mf_xasprintf("martflow-positions-%.200s", c->txn_id);
        for (char *p = c->positions_topic; *p; p++)
            if (!mfk_valid_topic(p, 1))
                *p = '_';
    }
    if (!mfk_valid_topic(c->positions_topic, strlen(c->positions_topic))) {
        h->log(c->node, MF_LOG_ERROR, "positions_topic '%s' is not a valid topic name", c->positions_topic);
        return MF_FATAL;
    }
    return MF_OK;
}

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->node = node;
    c->host = host;
    c->m_delivered = host->counter(node, "martflow_kafka_delivered_total", NULL, "Records with a successful delivery report");
    c->m_failed = host->counter(node, "martflow_kafka_delivery_failures_total", NULL,
                                "Records rejected because Kafka refused them");
    c->m_discarded = host->counter(node, "martflow_kafka_discarded_total", NULL,
                                   "Records discarded because the topic is configured empty");
    c->m_queue_full = host->counter(node, "martflow_kafka_queue_full_total", NULL,
                                    "Waits because the producer's local queue was full (backpressure)");
    c->m_oversized = host->counter(node, "martflow_kafka_oversized_total", NULL, MFK_OVERSIZED_HELP);
    if (c->exactly_once) {
        c->m_txn_commits = host->counter(node, "martflow_kafka_transactions_committed_total", NULL,
                                         "exactly_once: transactions committed");
        c->m_txn_aborts = host->counter(node, "martflow_kafka_transactions_aborted_total", NULL,
                                        "exactly_once: transactions aborted");
        c->m_replayed = host->counter(node, "martflow_kafka_replayed_skipped_total", NULL,
                                      "exactly_once: replayed records not written again (already in the topic "
                                      "or the open transaction)");
        if (eos_names(c) != MF_OK)
            return MF_FATAL;
    }
    if (!c->topic && !*c->topic_field && !*c->topic_header) {
        host->log(node, MF_LOG_ERROR, "set `topic`, `topic_field` or `topic_header`");
        return MF_FATAL;
    }
    if (c->topic && *c->topic && !mfk_valid_topic(c->topic, strlen(c->topic))) {
        host->log(node, MF_LOG_ERROR, "topic '%s' is not a valid topic name ([a-zA-Z0-9._-], 1..249 characters)",
                  c->topic);
        return MF_FATAL;
    }
    if (c->topic && !*c->topic)
        host->log(node, MF_LOG_WARN, "topic is empty: records %sare discarded (counted in "
                                     "martflow_kafka_discarded_total)",
                  *c->topic_field || *c->topic_header ? "without a topic of their own " : "");
    if (compile_fields(c) != MF_OK)
        return MF_FATAL;
    if (c->create_topic) {
        const json_t *at;
        char why[256];
        if (!mfk_topic_spec_parse(c->create_topic, &c->topic_spec, &at, why, sizeof why)) {
            host->log(node, MF_LOG_ERROR, "%s", why);
            return MF_FATAL;
        }
        if (!c->topic) {
            host->log(node, MF_LOG_ERROR, "create_topic needs a static `topic`");
            return MF_FATAL;
        }
        if (!*c->topic)
            c->create_topic = NULL; /* the domain is disabled: nothing to create */
    }
    bool compressed = !user_setting_is(&c->kafka, "compression.codec", "none") &&
                      !user_setting_is(&c->kafka, "compression.type", "none");
    const struct mfk_setting defaults[] = {
        /* the Java client's partitioner: a key lands where Java producers put it */
        {"partitioner", "murmur2_random"},
        /* JSON events shrink about 5x: the broker receives, writes and
         * serves a fifth of the bytes, and spends about a third less CPU per
         * record (bench/kafka-mirror), for little CPU here */
        {"compression.codec", "lz4"},
        /* librdkafka 2.0.2's idempotent producer spins (poll with no
         * timeout) while its 5 requests in flight are all out and more
         * messages wait. Keep what is outstanding within that window, sent
         * as full batches rather than every 5 ms: 8 MiB of records, or 4 MiB
         * uncompressed, where the broker takes longer over each request
         * (measured: the spin's CPU appears at 8 MiB uncompressed, not with
         * lz4). This also bounds the producer's memory. */
        {"queue.buffering.max.kbytes", compressed ? "8192" : "4096"},
        {"linger.ms", "50"},
        /* retry until delivered: an outage is waited out, not turned into
         * rejects (a transaction's messages are bounded by its timeout
         * instead, which librdkafka sets message.timeout.ms to) */
        /* last: NULL ends the list */
        {c->exactly_once ? NULL : "message.timeout.ms", "0"},
        {NULL, NULL},
    };
    const struct mfk_enforced enforced[] = {
        {"enable.idempotence", "true", "no duplicates or reordering from the producer's own retries"},
        {c->exactly_once ? "transactional.id" : NULL, c->txn_id, "use the option `transactional_id_prefix`"},
        {NULL, NULL, NULL},
    };
    rd_kafka_conf_t *conf = mfk_conf_new(&c->k, node, host, "producer", &c->kafka, defaults, enforced);
    if (!conf)
        return MF_FATAL;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    c->rk = mfk_new(&c->k, RD_KAFKA_PRODUCER, conf);
    if (!c->rk)
        return MF_FATAL;
    if (c->exactly_once && eos_start(c) != MF_OK)
        return MF_FATAL;
    host->set_tick(node, TICK_MS);
    return MF_OK;
}

/* check-time: a bad key_field is reported at its place, not first at start. */
static void validate(const json_t *config, mf_check *check)
{
    mf_fieldpath_check(config, "key_field", check);
    mf_fieldpath_check(config, "topic_field", check);
    const json_t *ct = json_object_get(config, "create_topic");
    if (ct) {
        mfk_topic_spec spec;
        const json_t *at;
        char why[256];
        if (!mfk_topic_spec_parse(ct, &spec, &at, why, sizeof why))
            check->problem(check, at, "%s", why);
        mfk_topic_spec_free(&spec);
        const char *t = json_string_value(json_object_get(config, "topic"));
        if (!t)
            check->problem(check, ct, "create_topic needs a static `topic`");
    }
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    c->closing = true;
    c->k.quiet = true;
    for (size_t i = 0; i < c->n_topics; i++) {
        rd_kafka_topic_destroy(c->topics[i].rkt);
        free(c->topics[i].name);
    }
    free(c->topics);
    if (c->positions_rkt)
        rd_kafka_topic_destroy(c->positions_rkt);
    if (c->rk) {
        /* Held acks stay held: what has no delivery report is not acknowledged. */
        rd_kafka_purge(c->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_destroy(c->rk);
    }
    /* Held acks stay held (see above); their holds are freed here. */
    for (struct chunk *ch = c->all_chunks, *next; ch; ch = next) {
        next = ch->all_next;
        free(ch);
    }
    for (size_t i = 0; i < c->n_all_holds; i++)
        free(c->all_holds[i]);
    free(c->all_holds);
    for (size_t i = 0; i < c->n_origin_topics; i++)
        free(c->origin_topics[i]);
    free(c->origin_topics);
    free(c->hv.hdrs);
    mf_buffer_free(&c->keybuf);
    mfk_positions_free(&c->positions);
    free(c->epoch_holds);
    free(c->txn_id);
    free(c->positions_topic);
    if (c->fields)
        c->host->fieldset_free(c->node, c->fields);
    mfk_topic_spec_free(&c->topic_spec);
    mfk_client_free(&c->k);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_SINK,
    .name = "kafka",
    .version = "1.1.0",
    .description = "Write records to Kafka (idempotent or transactional producer); acknowledged only on delivery "
                   "reports (exactly_once: when their transaction commits)",
    .options = options,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .validate = validate,
    .free = free_cb,
    .stop = stop_cb,
    .process = process,
    .flush = flush,
    .tick = tick,
    .commit = commit_cb,
};
