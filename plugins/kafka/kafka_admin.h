/*
 * kafka_admin.h — the sink's `create_topic` option: create the output topic
 * with a partition count, replication factor and topic configuration (e.g.
 * cleanup.policy=compact for gca-cfg) when it does not exist. An existing
 * topic is used as it is (its configuration is not changed).
 *
 * Ownership: an mfk_topic_spec owns its strings (mfk_topic_spec_free).
 */
#ifndef MF_KAFKA_ADMIN_H
#define MF_KAFKA_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

typedef struct mfk_topic_spec {
    int partitions;  /* >= 1; default 1 */
    int replication; /* >= 1, or -1: the brokers' default.replication.factor */
    size_t n_config;
    char **keys, **values;
} mfk_topic_spec;

/* Parse the option's value {partitions, replication, config: {key: scalar}}:
 * false with a sentence in why (and *at the offending value, for messages). */
bool mfk_topic_spec_parse(const json_t *opt, mfk_topic_spec *out, const json_t **at, char *why, size_t why_len);
void mfk_topic_spec_free(mfk_topic_spec *s);

typedef enum mfk_topic_result {
    MFK_TOPIC_EXISTS,  /* it was there */
    MFK_TOPIC_CREATED, /* created now (or by someone else meanwhile) */
    MFK_TOPIC_RETRY,   /* brokers unreachable, timed out: try again later */
    MFK_TOPIC_FATAL    /* refused: bad configuration, not authorised, ... */
} mfk_topic_result;

/* Make sure `topic` exists, creating it from spec. Asks for the metadata of
 * all topics (asking for one missing topic could make a broker with
 * auto.create.topics.enable create it with its defaults). Blocks up to
 * about 2 x timeout_ms. why: the reason for RETRY and FATAL. */
mfk_topic_result mfk_ensure_topic(rd_kafka_t *rk, const char *topic, const mfk_topic_spec *spec, int timeout_ms,
                                  char *why, size_t why_len);

#endif
