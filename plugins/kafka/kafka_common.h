/*
 * kafka_common.h — what the Kafka source and sink share (compiled into both
 * modules; every symbol here stays hidden, -fvisibility=hidden):
 *
 *   - the options both declare (brokers, secret, rdkafka.*), kept in one struct
 *     inside each plugin's context;
 *   - building an rd_kafka_conf_t from them: plugin defaults, the secret file
 *     (bootstrap, username, password -> SASL), the rdkafka.* pass-through, and
 *     the settings the plugin enforces;
 *   - librdkafka's logs, errors and statistics routed to host->log on the
 *     node's thread (log.queue: they are served by the plugin's poll), with
 *     every configured secret scrubbed, and the outage and recovery of the
 *     brokers logged once each.
 *
 * Ownership: an mfk_client lives in its plugin's context; mfk_client_free
 * releases what mfk_conf_new gathered (the scrub strings). The rd_kafka_t is
 * the plugin's.
 */
#ifndef MF_KAFKA_COMMON_H
#define MF_KAFKA_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>
#include <martflow/martflow.h>
#include <martflow/secrets.h>

/* Options both plugins declare, filled by the engine (see MFK_COMMON_OPTIONS). */
struct mfk_opts {
    const char *brokers; /* "host:port,..." or NULL (then the secret's bootstrap) */
    const char *secret;  /* path of the kafkasecrets JSON file, or NULL */
    mf_kvlist rdkafka;   /* rdkafka.<key>: value */
};

/* The option table entries for struct mfk_opts, a member `kafka` of ctx_t. */
#define MFK_COMMON_OPTIONS(ctx_t)                                                                  \
    MF_OPTION(MF_OPT_STRING, "brokers", NULL, 0, ctx_t, kafka.brokers,                            \
              "Bootstrap brokers host:port,...; required unless the secret file gives bootstrap"), \
    MF_OPTION(MF_OPT_STRING, "secret", NULL, 0, ctx_t, kafka.secret,                              \
              "Path of a JSON file {bootstrap, username, password[, mechanism]} (the kafkasecrets secret)"),    \
    MF_OPTION(MF_OPT_PREFIX, "rdkafka.", NULL, 0, ctx_t, kafka.rdkafka,                           \
              "librdkafka settings passed through, e.g. rdkafka.security.protocol: SASL_SSL")

/* A reusable array presenting a librdkafka message's headers as mf_header
 * (pointing into the message: valid while the message is). */
typedef struct mfk_header_view {
    mf_header *hdrs;
    size_t cap;
} mfk_header_view;

/* Set r->headers / r->n_headers to m's headers (none: left as they are). */
void mfk_headers_view(mfk_header_view *v, const rd_kafka_message_t *m, mf_record *r);

/* One help text for martflow_kafka_oversized_total, which source and sink share. */
#define MFK_OVERSIZED_HELP                                                                       \
    "Records rejected as too large (source: value over max_record; sink: message over the " \
    "producer's message.max.bytes)"

#define MFK_MAX_SCRUB 8

/* State of the shared code; zeroed with the plugin's context. */
typedef struct mfk_client {
    mf_node *node;
    const mf_host *host;
    const char *role;           /* "consumer" or "producer", for messages */
    char *scrub[MFK_MAX_SCRUB]; /* secret strings removed from every logged line */
    size_t n_scrub;
    bool fatal;                 /* librdkafka raised a fatal error */
    bool quiet;                 /* closing: drop librdkafka's logs (not on the node thread) */
    bool scram_nonce_bug;       /* SCRAM with a librdkafka that Kafka 4 brokers refuse (< 2.6.1) */
    bool down;                  /* all brokers down: an outage is in progress */
    int64_t down_since_ms;      /* monotonic */
    mf_metric *m_outages;
    mf_metric *m_brokers_up;
    mf_metric *m_errors;
} mfk_client;

/* One librdkafka setting. */
struct mfk_setting {
    const char *key;
    const char *value;
};

/*
 * Build a configuration. Applied in this order: client.id, `defaults` (the
 * user may override them), the brokers and the secret file, the user's
 * rdkafka.* settings, then `enforced` (the user may not set those keys; each
 * has a hint naming what to use instead). Installs the log, error and
 * statistics callbacks with `k` as opaque; the plugin adds its own.
 * Returns a new conf that the caller owns (rd_kafka_new takes it), or NULL
 * after logging why. Never logs a secret.
 */
struct mfk_enforced {
    const char *key;
    const char *value;
    const char *hint; /* "use the option `group`" */
};
rd_kafka_conf_t *mfk_conf_new(mfk_client *k, mf_node *node, const mf_host *host, const char *role,
                              const struct mfk_opts *opts, const struct mfk_setting *defaults,
                              const struct mfk_enforced *enforced);

/* rd_kafka_new with a conf from mfk_conf_new (taken, also on failure); the
 * logs then go to the main queue, so the node thread's poll serves them.
 * NULL after logging why (scrubbed). */
rd_kafka_t *mfk_new(mfk_client *k, rd_kafka_type_t type, rd_kafka_conf_t *conf);

/* An error from librdkafka (error callback or a consumer error message):
 * logged (scrubbed, rate-limited), fatal errors remembered, an outage begun
 * on "all brokers down". */
void mfk_handle_error(mfk_client *k, rd_kafka_t *rk, rd_kafka_resp_err_t err, const char *reason);

/* The brokers answered (a fetched message, a delivery report): ends an
 * outage without waiting for the next statistics. */
void mfk_saw_traffic(mfk_client *k);

/* Copy `in` to `out` (cap bytes, NUL-terminated) with every secret replaced by ***. */
void mfk_scrub(const mfk_client *k, const char *in, char *out, size_t cap);

void mfk_client_free(mfk_client *k);

/* A Kafka topic name: 1..249 characters of [a-zA-Z0-9._-]. */
bool mfk_valid_topic(const char *name, size_t len);

/* Bounded wait helper: milliseconds left until deadline_ms (monotonic), >= 0. */
int mfk_ms_left(const mfk_client *k, int64_t deadline_ms);

#endif
