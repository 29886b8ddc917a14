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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <martflow/fieldpath.h>

#include "kafka_admin.h"
#include "kafka_common.h"

#define TICK_MS 100
#define QUEUE_FULL_WAIT_MS 100
#define CHUNK 4096
#define MAX_ORIGIN_TOPICS 1024
#define CREATE_TOPIC_TIMEOUT_MS 10000

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

static int process(void *vctx, mf_batch *batch)
{
    struct ctx *c = vctx;
    if (c->create_topic && !c->topic_checked) {
        int st = check_topic(c);
        if (st != MF_OK)
            return st;
    }
    for (size_t i = 0; i < batch->count; i++)
        if (produce(c, &batch->records[i]) != MF_OK || c->k.fatal)
            return MF_FATAL;
    hold_close(c); /* records are only valid during this call */
    serve(c, 0);
    return c->k.fatal ? MF_FATAL : MF_OK;
}

static int tick(void *vctx)
{
    struct ctx *c = vctx;
    serve(c, 0);
    return c->k.fatal ? MF_FATAL : MF_OK;
}

static int flush(void *vctx, mf_flush_reason reason)
{
    struct ctx *c = vctx;
    (void)reason; /* acks follow delivery reports; stop() waits for the rest */
    serve(c, 0);
    return c->k.fatal ? MF_FATAL : MF_OK;
}

static int stop_cb(void *vctx, int64_t deadline_ms)
{
    struct ctx *c = vctx;
    if (!c->rk)
        return MF_OK;
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
        /* retry until delivered: an outage is waited out, not turned into rejects */
        {"message.timeout.ms", "0"},
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
        {NULL, NULL},
    };
    const struct mfk_enforced enforced[] = {
        {"enable.idempotence", "true", "no duplicates or reordering from the producer's own retries"},
        {NULL, NULL, NULL},
    };
    rd_kafka_conf_t *conf = mfk_conf_new(&c->k, node, host, "producer", &c->kafka, defaults, enforced);
    if (!conf)
        return MF_FATAL;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    c->rk = mfk_new(&c->k, RD_KAFKA_PRODUCER, conf);
    if (!c->rk)
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
    if (c->fields)
        c->host->fieldset_free(c->node, c->fields);
    mfk_topic_spec_free(&c->topic_spec);
    mfk_client_free(&c->k);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_SINK,
    .name = "kafka",
    .version = "1.0.0",
    .description = "Write records to Kafka (idempotent producer); acknowledged only on delivery reports",
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
