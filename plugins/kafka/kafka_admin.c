/* kafka_admin.c — see kafka_admin.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/martflow.h>

#include "kafka_admin.h"

#define FAIL(where, ...)                        \
    do {                                        \
        *at = (where);                          \
        snprintf(why, why_len, __VA_ARGS__);    \
        goto fail;                              \
    } while (0)

static bool int_in(const json_t *v, long long lo, long long hi)
{
    return json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi;
}

bool mfk_topic_spec_parse(const json_t *opt, mfk_topic_spec *out, const json_t **at, char *why, size_t why_len)
{
    memset(out, 0, sizeof *out);
    out->partitions = 1;
    out->replication = -1;
    if (!json_is_object(opt))
        FAIL(opt, "create_topic must be a map {partitions, replication, config}");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)opt, key, v) {
        if (!strcmp(key, "partitions")) {
            if (!int_in(v, 1, 100000))
                FAIL(v, "create_topic.partitions must be an integer from 1 to 100000");
            out->partitions = (int)json_integer_value(v);
        } else if (!strcmp(key, "replication")) {
            if (!int_in(v, -1, 1000) || json_integer_value(v) == 0)
                FAIL(v, "create_topic.replication must be an integer >= 1 (or -1: the brokers' default)");
            out->replication = (int)json_integer_value(v);
        } else if (!strcmp(key, "config")) {
            if (!json_is_object(v))
                FAIL(v, "create_topic.config must be a map of topic settings, e.g. {cleanup.policy: compact}");
            const char *ck;
            json_t *cv;
            out->keys = mf_xcalloc(json_object_size(v) + 1, sizeof *out->keys);
            out->values = mf_xcalloc(json_object_size(v) + 1, sizeof *out->values);
            json_object_foreach(v, ck, cv) {
                char num[64];
                const char *text = json_string_value(cv);
                if (json_is_integer(cv)) {
                    snprintf(num, sizeof num, "%lld", (long long)json_integer_value(cv));
                    text = num;
                } else if (json_is_boolean(cv)) {
                    text = json_is_true(cv) ? "true" : "false";
                } else if (!text) {
                    FAIL(cv, "create_topic.config.%s must be a string, an integer or a boolean", ck);
                }
                out->keys[out->n_config] = mf_xstrdup(ck);
                out->values[out->n_config++] = mf_xstrdup(text);
            }
        } else {
            FAIL(v, "create_topic: unknown key '%s' (partitions, replication, config)", key);
        }
    }
    return true;
fail:
    mfk_topic_spec_free(out);
    return false;
}

void mfk_topic_spec_free(mfk_topic_spec *s)
{
    for (size_t i = 0; i < s->n_config; i++) {
        free(s->keys[i]);
        free(s->values[i]);
    }
    free(s->keys);
    free(s->values);
    memset(s, 0, sizeof *s);
}

static bool exists(rd_kafka_t *rk, const char *topic, int timeout_ms, mfk_topic_result *rc, char *why,
                   size_t why_len)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (err) {
        snprintf(why, why_len, "cannot list the topics: %s", rd_kafka_err2str(err));
        *rc = MFK_TOPIC_RETRY;
        return false;
    }
    bool found = false;
    for (int i = 0; i < md->topic_cnt && !found; i++)
        found = !strcmp(md->topics[i].topic, topic) && !md->topics[i].err;
    rd_kafka_metadata_destroy(md);
    *rc = found ? MFK_TOPIC_EXISTS : MFK_TOPIC_CREATED;
    return found;
}

/* Errors of CreateTopics that another try cannot cure. */
static bool refused(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return true;
    default:
        return false;
    }
}

mfk_topic_result mfk_ensure_topic(rd_kafka_t *rk, const char *topic, const mfk_topic_spec *spec, int timeout_ms,
                                  char *why, size_t why_len)
{
    mfk_topic_result rc;
    if (exists(rk, topic, timeout_ms, &rc, why, why_len) || rc == MFK_TOPIC_RETRY)
        return rc;
    char err[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, spec->partitions, spec->replication, err, sizeof err);
    if (!nt) {
        snprintf(why, why_len, "cannot create topic %s: %s", topic, err);
        return MFK_TOPIC_FATAL;
    }
    for (size_t i = 0; i < spec->n_config; i++)
        if (rd_kafka_NewTopic_set_config(nt, spec->keys[i], spec->values[i])) {
            snprintf(why, why_len, "cannot create topic %s: bad setting %s", topic, spec->keys[i]);
            rd_kafka_NewTopic_destroy(nt);
            return MFK_TOPIC_FATAL;
        }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(ao, timeout_ms, err, sizeof err);
    rd_kafka_AdminOptions_set_operation_timeout(ao, timeout_ms, err, sizeof err);
    rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 2 * timeout_ms + 1000);
    rc = MFK_TOPIC_RETRY;
    if (!ev) {
        snprintf(why, why_len, "creating topic %s: no answer within %d ms", topic, 2 * timeout_ms + 1000);
    } else if (rd_kafka_event_error(ev)) {
        rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
        snprintf(why, why_len, "cannot create topic %s: %s", topic, rd_kafka_event_error_string(ev));
        rc = refused(e) ? MFK_TOPIC_FATAL : MFK_TOPIC_RETRY;
    } else {
        size_t n = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        rd_kafka_resp_err_t e = n == 1 ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR__FAIL;
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            rc = MFK_TOPIC_CREATED;
        } else {
            const char *msg = n == 1 ? rd_kafka_topic_result_error_string(res[0]) : NULL;
            snprintf(why, why_len, "cannot create topic %s: %s", topic, msg && *msg ? msg : rd_kafka_err2str(e));
            rc = refused(e) ? MFK_TOPIC_FATAL : MFK_TOPIC_RETRY;
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}
