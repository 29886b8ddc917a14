/*
 * kafka_common.c — configuration, secret file (read by martflow/secrets.h),
 * logging and outage tracking shared by the Kafka source and sink. See
 * kafka_common.h.
 */
#include "kafka_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#define SCRUB_MIN_LEN 4 /* shorter "secrets" would blank out ordinary words */
#define STATS_INTERVAL "1000"

/* ---- secrets and scrubbing ------------------------------------------------------- */

static void add_scrub(mfk_client *k, const char *value)
{
    if (!value || strlen(value) < SCRUB_MIN_LEN || k->n_scrub == MFK_MAX_SCRUB)
        return;
    for (size_t i = 0; i < k->n_scrub; i++)
        if (strcmp(k->scrub[i], value) == 0)
            return;
    k->scrub[k->n_scrub++] = mf_xstrdup(value);
}

/* librdkafka keys whose values are secrets (never logged, scrubbed from logs). */
static bool sensitive_key(const char *key)
{
    return strstr(key, "password") || strstr(key, "secret") || strstr(key, ".pem") ||
           strstr(key, "oauthbearer.config") || strstr(key, "sasl.kerberos.keytab");
}

void mfk_scrub(const mfk_client *k, const char *in, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return;
    while (*in && o + 1 < cap) {
        size_t hit = 0;
        for (size_t i = 0; i < k->n_scrub && !hit; i++) {
            size_t n = strlen(k->scrub[i]);
            if (strncmp(in, k->scrub[i], n) == 0)
                hit = n;
        }
        if (hit) {
            for (const char *r = "***"; *r && o + 1 < cap; r++)
                out[o++] = *r;
            in += hit;
        } else {
            out[o++] = *in++;
        }
    }
    out[o] = '\0';
}

/* ---- callbacks (served by poll on the node thread) -------------------------------- */

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    mfk_client *k = rd_kafka_opaque(rk);
    if (!k || k->quiet || !k->host)
        return;
    char line[1024];
    mfk_scrub(k, buf, line, sizeof line);
    /* Each level has its own call site, so a flood of debug lines cannot
     * rate-limit away an error. FAIL lines are also reported to error_cb
     * (mfk_handle_error): logged once there. */
    if (strcmp(fac, "FAIL") == 0)
        k->host->log(k->node, MF_LOG_DEBUG, "librdkafka %s: %s", fac, line);
    else if (level <= LOG_ERR)
        k->host->log(k->node, MF_LOG_ERROR, "librdkafka %s: %s", fac, line);
    else if (level == LOG_WARNING)
        k->host->log(k->node, MF_LOG_WARN, "librdkafka %s: %s", fac, line);
    else if (level <= LOG_INFO)
        k->host->log(k->node, MF_LOG_INFO, "librdkafka %s: %s", fac, line);
    else
        k->host->log(k->node, MF_LOG_DEBUG, "librdkafka %s: %s", fac, line);
}

static void begin_outage(mfk_client *k, const char *why)
{
    if (k->down)
        return;
    k->down = true;
    k->down_since_ms = k->host->monotonic_ms();
    k->host->metric_add(k->m_outages, 1);
    k->host->log(k->node, MF_LOG_WARN,
                 "Kafka outage: %s (%s); waiting for the brokers, nothing is acknowledged meanwhile", why,
                 k->role);
}

static void end_outage(mfk_client *k, const char *how)
{
    if (!k->down)
        return;
    k->down = false;
    double secs = (double)(k->host->monotonic_ms() - k->down_since_ms) / 1000.0;
    k->host->log(k->node, MF_LOG_INFO, "Kafka recovered: %s after %.1f s of outage (%s)", how, secs, k->role);
}

void mfk_saw_traffic(mfk_client *k)
{
    if (k->down)
        end_outage(k, "the brokers answer again");
}

void mfk_handle_error(mfk_client *k, rd_kafka_t *rk, rd_kafka_resp_err_t err, const char *reason)
{
    char line[1024];
    mfk_scrub(k, reason ? reason : rd_kafka_err2str(err), line, sizeof line);
    k->host->metric_add(k->m_errors, 1);
    switch (err) {
    case RD_KAFKA_RESP_ERR__FATAL: {
        char why[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
        mfk_scrub(k, why, line, sizeof line);
        k->fatal = true;
        k->host->log(k->node, MF_LOG_ERROR, "librdkafka fatal error (%s): %s: %s", k->role, rd_kafka_err2name(orig),
                     line);
        return;
    }
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
        begin_outage(k, line);
        return;
    case RD_KAFKA_RESP_ERR__PARTITION_EOF:
        return; /* served outside consumer_poll (closing): not an error */
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
        /* Connection trouble: expected during an outage, worth a warning outside one. */
        if (k->down)
            k->host->log(k->node, MF_LOG_DEBUG, "librdkafka: %s", line);
        else
            k->host->log(k->node, MF_LOG_WARN, "librdkafka connection problem: %s", line);
        return;
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
        if (k->scram_nonce_bug)
            k->host->log(k->node, MF_LOG_ERROR,
                         "Kafka authentication failed (check the secret file): %s; note: librdkafka %s cannot log in "
                         "with SCRAM to Kafka 4 brokers (fixed in 2.6.1): set \"mechanism\": \"PLAIN\" in the secret "
                         "file (with TLS outside a trusted network) or use a newer librdkafka",
                         line, rd_kafka_version_str());
        else
            k->host->log(k->node, MF_LOG_ERROR, "Kafka authentication failed (check the secret file): %s", line);
        return;
    default:
        k->host->log(k->node, MF_LOG_WARN, "librdkafka error %s: %s", rd_kafka_err2name(err), line);
        return;
    }
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    mfk_client *k = opaque;
    if (!k || k->quiet || !k->host)
        return;
    mfk_handle_error(k, rk, (rd_kafka_resp_err_t)err, reason);
}

/* Statistics: count the brokers in state UP (learned or configured, not the
 * internal or logical ones). An outage ends when one is up again. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    mfk_client *k = opaque;
    (void)rk;
    if (!k || k->quiet || !k->host)
        return 0;
    json_t *j = json_loadb(json, len, 0, NULL);
    json_t *brokers = json_object_get(j, "brokers");
    const char *name;
    json_t *b;
    int up = 0;
    json_object_foreach(brokers, name, b) {
        const char *src = json_string_value(json_object_get(b, "source"));
        const char *state = json_string_value(json_object_get(b, "state"));
        if (src && state && (!strcmp(src, "learned") || !strcmp(src, "configured")) && !strcmp(state, "UP"))
            up++;
    }
    json_decref(j);
    k->host->metric_set(k->m_brokers_up, up);
    if (up > 0)
        end_outage(k, "a broker connection is up");
    return 0; /* librdkafka frees json */
}

/* ---- configuration --------------------------------------------------------------- */

static bool conf_set(mfk_client *k, rd_kafka_conf_t *conf, const char *key, const char *value, const char *what)
{
    char err[512];
    if (rd_kafka_conf_set(conf, key, value, err, sizeof err) == RD_KAFKA_CONF_OK)
        return true;
    if (sensitive_key(key)) {
        k->host->log(k->node, MF_LOG_ERROR, "%s%s: librdkafka refused the value (not shown: it is a secret)", what,
                     key);
    } else {
        char line[600];
        mfk_scrub(k, err, line, sizeof line);
        k->host->log(k->node, MF_LOG_ERROR, "%s%s: %s", what, key, line);
    }
    return false;
}

/* The kafkasecrets members, in this order. */
enum { SECRET_BOOTSTRAP, SECRET_USERNAME, SECRET_PASSWORD, SECRET_MECHANISM, SECRET_FIELDS };

/* librdkafka before 2.6.1 appends the client nonce twice in the SCRAM
 * client-final-message; Kafka 4 brokers check the nonce strictly (RFC 5802)
 * and refuse the login as "invalid credentials" (librdkafka #4895). */
#define MFK_SCRAM_FIXED_VERSION 0x020601ff

static bool secret_load(mfk_client *k, const char *path, mf_secret_field *s)
{
    char err[512];
    if (mf_secret_read_json(path, s, SECRET_FIELDS, err, sizeof err))
        return true;
    k->host->log(k->node, MF_LOG_ERROR, "%s", err);
    return false;
}

static bool reserved_key(mfk_client *k, const char *key, const struct mfk_enforced *enforced)
{
    if (!strcmp(key, "bootstrap.servers") || !strcmp(key, "metadata.broker.list")) {
        k->host->log(k->node, MF_LOG_ERROR, "rdkafka.%s: set by the plugin; use the option `brokers` (or the "
                                            "secret file's bootstrap)", key);
        return true;
    }
    if (!strcmp(key, "log.queue") || !strcmp(key, "opaque")) {
        k->host->log(k->node, MF_LOG_ERROR, "rdkafka.%s: set by the plugin (logs are served on the node thread)",
                     key);
        return true;
    }
    for (const struct mfk_enforced *e = enforced; e && e->key; e++)
        if (!strcmp(key, e->key)) {
            k->host->log(k->node, MF_LOG_ERROR, "rdkafka.%s: set by the plugin to %s; %s", key, e->value, e->hint);
            return true;
        }
    return false;
}

rd_kafka_conf_t *mfk_conf_new(mfk_client *k, mf_node *node, const mf_host *host, const char *role,
                              const struct mfk_opts *opts, const struct mfk_setting *defaults,
                              const struct mfk_enforced *enforced)
{
    k->node = node;
    k->host = host;
    k->role = role;
    k->m_outages = host->counter(node, "martflow_kafka_outages_total", NULL,
                                 "Times every broker connection was down");
    k->m_brokers_up = host->gauge(node, "martflow_kafka_brokers_up", NULL, "Broker connections up (statistics)");
    k->m_errors = host->counter(node, "martflow_kafka_client_errors_total", NULL,
                                "Errors reported by librdkafka (connection problems included)");

    mf_secret_field s[SECRET_FIELDS] = {
        [SECRET_BOOTSTRAP] = {.name = "bootstrap"},
        [SECRET_USERNAME] = {.name = "username"},
        [SECRET_PASSWORD] = {.name = "password", .secret = true},
        [SECRET_MECHANISM] = {.name = "mechanism"},
    };
    const char *username = NULL, *password = NULL;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    bool ok = true;

    /* Secrets first, so nothing below can log them. */
    for (size_t i = 0; i < opts->rdkafka.count; i++)
        if (sensitive_key(opts->rdkafka.keys[i]))
            add_scrub(k, opts->rdkafka.values[i]);
    if (opts->secret && *opts->secret) {
        ok = secret_load(k, opts->secret, s);
        username = s[SECRET_USERNAME].value;
        password = s[SECRET_PASSWORD].value;
        add_scrub(k, password);
    }

    char client_id[256];
    snprintf(client_id, sizeof client_id, "martflow.%s.%s", host->pipeline_name(node), host->node_name(node));
    ok = ok && conf_set(k, conf, "client.id", client_id, "");
    ok = ok && conf_set(k, conf, "log.queue", "true", "");
    ok = ok && conf_set(k, conf, "statistics.interval.ms", STATS_INTERVAL, "");
    for (const struct mfk_setting *d = defaults; ok && d && d->key; d++)
        ok = conf_set(k, conf, d->key, d->value, "");

    const char *brokers = opts->brokers && *opts->brokers ? opts->brokers : s[SECRET_BOOTSTRAP].value;
    if (ok && (!brokers || !*brokers)) {
        host->log(node, MF_LOG_ERROR, "no brokers: set the option `brokers` or give a secret file with \"bootstrap\"");
        ok = false;
    }
    ok = ok && conf_set(k, conf, "bootstrap.servers", brokers, "brokers ");
    if (ok && username && *username) {
        /* SCRAM never sends the password itself; TLS is one setting away
         * (rdkafka.security.protocol: SASL_SSL). Both may be overridden, the
         * mechanism also by the secret file (the cluster's choice). */
        const char *mechanism = s[SECRET_MECHANISM].value;
        ok = conf_set(k, conf, "security.protocol", "SASL_PLAINTEXT", "") &&
             conf_set(k, conf, "sasl.mechanisms", mechanism && *mechanism ? mechanism : "SCRAM-SHA-512",
                      "secret file ") &&
             conf_set(k, conf, "sasl.username", username, "secret file ") &&
             conf_set(k, conf, "sasl.password", password ? password : "", "secret file ");
    }
    for (size_t i = 0; ok && i < opts->rdkafka.count; i++) {
        const char *key = opts->rdkafka.keys[i];
        if (reserved_key(k, key, enforced))
            ok = false;
        else
            ok = conf_set(k, conf, key, opts->rdkafka.values[i], "rdkafka.");
    }
    for (const struct mfk_enforced *e = enforced; ok && e && e->key; e++)
        ok = conf_set(k, conf, e->key, e->value, "");
    if (ok && rd_kafka_version() < MFK_SCRAM_FIXED_VERSION) {
        char proto[32] = "", mech[64] = "";
        size_t np = sizeof proto, nm = sizeof mech;
        rd_kafka_conf_get(conf, "security.protocol", proto, &np);
        rd_kafka_conf_get(conf, "sasl.mechanisms", mech, &nm);
        k->scram_nonce_bug = !strncasecmp(proto, "sasl", 4) && !strncasecmp(mech, "SCRAM", 5);
    }
    mf_secret_fields_free(s, SECRET_FIELDS);
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_stats_cb(conf, stats_cb);
    return conf;
}

rd_kafka_t *mfk_new(mfk_client *k, rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char err[512], line[600];
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        mfk_scrub(k, err, line, sizeof line);
        k->host->log(k->node, MF_LOG_ERROR, "cannot create the Kafka %s: %s", k->role, line);
        return NULL;
    }
    rd_kafka_resp_err_t e = rd_kafka_set_log_queue(rk, NULL);
    if (e)
        k->host->log(k->node, MF_LOG_WARN, "cannot route librdkafka logs to the main queue: %s", rd_kafka_err2str(e));
    return rk;
}

void mfk_client_free(mfk_client *k)
{
    for (size_t i = 0; i < k->n_scrub; i++) {
        memset(k->scrub[i], 0, strlen(k->scrub[i]));
        free(k->scrub[i]);
    }
    k->n_scrub = 0;
}

bool mfk_valid_topic(const char *name, size_t len)
{
    if (len == 0 || len > 249)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

int mfk_ms_left(const mfk_client *k, int64_t deadline_ms)
{
    int64_t left = deadline_ms - k->host->monotonic_ms();
    if (left < 0)
        return 0;
    return left > 3600000 ? 3600000 : (int)left;
}

void mfk_headers_view(mfk_header_view *v, const rd_kafka_message_t *m, mf_record *r)
{
    rd_kafka_headers_t *h;
    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    size_t n = rd_kafka_header_cnt(h);
    if (n > UINT16_MAX)
        n = UINT16_MAX;
    if (n > v->cap) {
        v->cap = n;
        v->hdrs = mf_xrealloc(v->hdrs, n * sizeof *v->hdrs);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name;
        const void *val;
        size_t size;
        if (rd_kafka_header_get_all(h, i, &name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        v->hdrs[k++] = (mf_header){.name = name, .value = val ? val : (const uint8_t *)"", .value_len = (uint32_t)size};
    }
    r->headers = v->hdrs;
    r->n_headers = (uint16_t)k;
}
