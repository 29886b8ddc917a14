/*
 * eos_positions.c — the exactly-once sink's table of written input
 * positions, its JSON form and its topic. See eos_positions.h.
 */
#include "eos_positions.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define ADMIN_TIMEOUT_MS 15000
#define LOAD_TIMEOUT_MS 30000
#define FIRST_WINDOW 16

static bool same_stream(const mfk_stream_pos *e, const char *source, const char *topic, int32_t partition)
{
    return e->partition == partition && strcmp(e->topic, topic) == 0 && strcmp(e->source, source) == 0;
}

static mfk_stream_pos *add(mfk_positions *p, const char *source, const char *topic, int32_t partition)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->v = mf_xrealloc(p->v, p->cap * sizeof *p->v);
    }
    mfk_stream_pos *e = &p->v[p->n];
    *e = (mfk_stream_pos){.source = mf_xstrdup(source), .topic = mf_xstrdup(topic), .partition = partition,
                          .committed = -1, .produced = -1, .seen = -1};
    p->last = p->n++;
    return e;
}

mfk_stream_pos *mfk_positions_get(mfk_positions *p, const mf_origin *o)
{
    if (!o->source || o->offset < 0)
        return NULL;
    const char *topic = o->topic ? o->topic : "";
    /* consecutive records are mostly of one stream */
    if (p->n && same_stream(&p->v[p->last], o->source, topic, o->partition))
        return &p->v[p->last];
    for (size_t i = 0; i < p->n; i++)
        if (same_stream(&p->v[i], o->source, topic, o->partition)) {
            p->last = i;
            return &p->v[i];
        }
    return add(p, o->source, topic, o->partition);
}

static bool at_or_before(int64_t offset, uint32_t n, int64_t upto, uint32_t upto_n)
{
    return offset < upto || (offset == upto && n <= upto_n);
}

enum mfk_seen mfk_positions_see(mfk_stream_pos *e, int64_t offset)
{
    if (offset != e->seen) {
        e->seen = offset;
        e->seen_n = 0;
    }
    e->seen_n++;
    if (at_or_before(offset, e->seen_n, e->committed, e->committed_n))
        return MFK_COMMITTED;
    if (at_or_before(offset, e->seen_n, e->produced, e->produced_n))
        return MFK_PRODUCED;
    return MFK_NEW;
}

void mfk_positions_produced(mfk_stream_pos *e)
{
    e->produced = e->seen;
    e->produced_n = e->seen_n;
}

void mfk_positions_commit(mfk_positions *p)
{
    for (size_t i = 0; i < p->n; i++) {
        p->v[i].committed = p->v[i].produced;
        p->v[i].committed_n = p->v[i].produced_n;
    }
}

char *mfk_positions_encode(const mfk_positions *p, const char *transactional_id)
{
    json_t *streams = json_array();
    for (size_t i = 0; i < p->n; i++) {
        const mfk_stream_pos *e = &p->v[i];
        if (e->produced < 0)
            continue;
        json_array_append_new(streams, json_pack("{s:s, s:s, s:i, s:I, s:I}", "source", e->source, "topic",
                                                 e->topic, "partition", (int)e->partition, "offset",
                                                 (json_int_t)e->produced, "n", (json_int_t)e->produced_n));
    }
    json_t *root = json_pack("{s:i, s:s, s:o}", "version", 1, "transactional_id", transactional_id, "streams", streams);
    /* malloc'd here, not by jansson's allocator (the engine may set its own) */
    size_t len = json_dumpb(root, NULL, 0, JSON_COMPACT);
    char *text = mf_xmalloc(len + 1);
    json_dumpb(root, text, len, JSON_COMPACT);
    text[len] = '\0';
    json_decref(root);
    return text;
}

bool mfk_positions_decode(mfk_positions *p, const char *json, size_t len, const char **err)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    json_t *streams = root ? json_object_get(root, "streams") : NULL;
    bool ok = json_is_array(streams) && json_integer_value(json_object_get(root, "version")) == 1;
    *err = ok ? NULL : "not a positions record of version 1";
    mfk_positions fresh = {0};
    size_t i;
    json_t *s;
    json_array_foreach(ok ? streams : NULL, i, s) {
        const char *source = json_string_value(json_object_get(s, "source"));
        const char *topic = json_string_value(json_object_get(s, "topic"));
        json_t *part = json_object_get(s, "partition"), *off = json_object_get(s, "offset");
        json_t *n = json_object_get(s, "n");
        if (!source || !topic || !json_is_integer(part) || !json_is_integer(off) || !json_is_integer(n)) {
            *err = "a stream without source, topic, partition, offset or n";
            ok = false;
            break;
        }
        mfk_stream_pos *e = add(&fresh, source, topic, (int32_t)json_integer_value(part));
        e->committed = e->produced = json_integer_value(off);
        e->committed_n = e->produced_n = (uint32_t)json_integer_value(n);
    }
    json_decref(root);
    if (!ok) {
        mfk_positions_free(&fresh);
        return false;
    }
    mfk_positions_free(p);
    *p = fresh;
    return true;
}

void mfk_positions_free(mfk_positions *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].source);
        free(p->v[i].topic);
    }
    free(p->v);
    *p = (mfk_positions){0};
}

/* ---- the positions topic ----------------------------------------------------------- */

int mfk_positions_ensure_topic(mfk_client *k, rd_kafka_t *rk, const char *topic, bool *created)
{
    *created = false;
    char err[256];
    int rc = MF_FATAL;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(ao, ADMIN_TIMEOUT_MS, err, sizeof err);
    /* one partition: the last committed record is the table; compacted, so
     * the topic keeps about one record per transactional.id */
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, 1, -1, err, sizeof err);
    rd_kafka_event_t *ev = NULL;
    if (!nt) {
        k->host->log(k->node, MF_LOG_ERROR, "positions topic %s: %s", topic, err);
        goto fail;
    }
    rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
    ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 5000);
    rd_kafka_resp_err_t e = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
    const char *why = ev && e ? rd_kafka_event_error_string(ev) : rd_kafka_err2str(e);
    if (!e) {
        size_t cnt = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        e = cnt ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR_UNKNOWN;
        why = cnt && rd_kafka_topic_result_error_string(res[0]) ? rd_kafka_topic_result_error_string(res[0])
                                                                : rd_kafka_err2str(e);
    }
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        k->host->log(k->node, MF_LOG_INFO, "created the positions topic %s", topic);
        *created = true;
    } else if (e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        k->host->log(k->node, MF_LOG_ERROR,
                     "cannot create the positions topic %s (%s): create it (1 partition, cleanup.policy=compact) "
                     "or name another with `positions_topic`",
                     topic, why);
        goto fail;
    }
    rc = MF_OK;
fail:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (nt)
        rd_kafka_NewTopic_destroy(nt);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    return rc;
}

/* Read [start, end of the committed log) of partition 0; the value of the
 * last message with `key` goes to *last (malloc'd), replacing what it was. */
static int read_window(mfk_client *k, rd_kafka_t *rk, rd_kafka_topic_t *rkt, int64_t start, const char *key,
                       char **last, size_t *last_len)
{
    if (rd_kafka_consume_start(rkt, 0, start) == -1) {
        k->host->log(k->node, MF_LOG_ERROR, "cannot read the positions topic %s: %s", rd_kafka_topic_name(rkt),
                     rd_kafka_err2str(rd_kafka_last_error()));
        return MF_FATAL;
    }
    int rc = MF_FATAL;
    int64_t deadline = k->host->monotonic_ms() + LOAD_TIMEOUT_MS;
    size_t klen = strlen(key);
    for (;;) {
        rd_kafka_poll(rk, 0); /* logs */
        if (k->host->monotonic_ms() > deadline) {
            k->host->log(k->node, MF_LOG_ERROR, "reading the positions topic %s took over %d ms",
                         rd_kafka_topic_name(rkt), LOAD_TIMEOUT_MS);
            break;
        }
        rd_kafka_message_t *m = rd_kafka_consume(rkt, 0, 500);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            rc = MF_OK;
            break;
        }
        if (m->err) {
            k->host->log(k->node, MF_LOG_ERROR, "reading the positions topic %s: %s", rd_kafka_topic_name(rkt),
                         rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            break;
        }
        if (m->key_len == klen && m->key && memcmp(m->key, key, klen) == 0) {
            free(*last);
            *last = mf_xmalloc(m->len + 1);
            memcpy(*last, m->payload ? m->payload : "", m->len);
            *last_len = m->len;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consume_stop(rkt, 0);
    return rc;
}

int mfk_positions_load(mf_node *node, const mf_host *host, const struct mfk_opts *opts, const char *topic,
                       const char *key, mfk_positions *p, bool *found)
{
    mfk_client k = {0};
    const struct mfk_enforced enforced[] = {
        {"isolation.level", "read_committed", "the positions are read as committed"},
        {"enable.partition.eof", "true", "the read stops at the end"},
        {NULL, NULL, NULL},
    };
    int rc = MF_FATAL;
    char *last = NULL;
    size_t last_len = 0;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_t *rkt = NULL;
    *found = false;
    rd_kafka_conf_t *conf = mfk_conf_new(&k, node, host, "positions reader", opts, NULL, enforced);
    if (!conf || !(rk = mfk_new(&k, RD_KAFKA_CONSUMER, conf)))
        goto fail;
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    int64_t lo, hi;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, 0, &lo, &hi, LOAD_TIMEOUT_MS);
    if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        rc = MF_OK; /* nothing written yet */
        goto fail;
    }
    if (e) {
        host->log(node, MF_LOG_ERROR, "cannot read the positions topic %s: %s", topic, rd_kafka_err2str(e));
        goto fail;
    }
    /* The table is the last committed record for the key: read backwards
     * in growing windows until one has it (compaction keeps this short). */
    for (int64_t window = FIRST_WINDOW; hi > lo; window *= 8) {
        int64_t start = hi - window > lo ? hi - window : lo;
        if (read_window(&k, rk, rkt, start, key, &last, &last_len) != MF_OK)
            goto fail;
        if (last || start == lo)
            break;
    }
    const char *err = NULL;
    if (last && !mfk_positions_decode(p, last, last_len, &err)) {
        host->log(node, MF_LOG_ERROR, "the positions topic %s holds a bad record for %s: %s", topic, key, err);
        goto fail;
    }
    *found = last != NULL;
    rc = MF_OK;
fail:
    free(last);
    k.quiet = true;
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (rk)
        rd_kafka_destroy(rk);
    mfk_client_free(&k);
    return rc;
}
