/*
 * source configdb — GCA: publish the contact centre's configuration
 * (docs/cfgdb.md).
 *
 * Every `poll` interval: read the tenant's configuration in one consistent
 * transaction (cfgdb_read), diff it against the configuration as last
 * published (cfgdb_diff), emit one gca-cfg record per change, and once every
 * record of that change set is acknowledged (delivered to Kafka by the sink
 * downstream) read the topic's end offsets (gca_offsets) and write the
 * snapshot (gca_snapshot, gca_snapstore: the engine's object store, s3:// or
 * file://). Only then does the change set count as
 * published: a crash before the snapshot emits it again at the next start
 * (the same objects, versions no lower), never loses it. A start loads the
 * last snapshot and diffs against it, so nothing is emitted when nothing
 * changed.
 *
 * Phases: LOAD (the last snapshot read at start; an unreachable store is
 * retried) -> IDLE (waiting for the next read) -> EMITTING (a batch of records
 * per poll) -> DELIVERING (waiting for the acks) -> SNAPSHOT -> IDLE. A
 * failed read is retried with the engine's backoff (MF_RETRY) and never
 * taken for an empty configuration.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <martflow/martflow.h>

#include "cfgdb_diff.h"
#include "cfgdb_read.h"
#include "gca_offsets.h"
#include "gca_snapshot.h"
#include "gca_snapstore.h"

#define IDLE_SLEEP_MS 100

enum phase { P_LOAD, P_IDLE, P_EMITTING, P_DELIVERING, P_SNAPSHOT };

struct ctx {
    struct pgc_opts pg;
    struct mfk_opts kafka; /* for the topic's end offsets (MFK_COMMON_OPTIONS) */
    const char *tenant_opt;
    const char *snapshots;
    const char *topic;
    int64_t poll_ms;
    int64_t per_poll;
    int64_t offsets_timeout_ms;
    bool once;

    mf_node *node;
    const mf_host *host;
    pgc *db;
    mf_objstore *store;
    gca_offsets *offsets;
    char *tenant, *tenant_json;

    cfgdb_set cur;  /* the configuration as last published (in the snapshot) */
    cfgdb_set next; /* the read being published */
    cfgdb_changes changes;
    size_t emitted;
    uint64_t pending;   /* poll batches emitted and not yet acknowledged */
    int64_t change_set; /* the last published */
    int64_t next_set;   /* the one being published */
    bool have_snapshot;
    enum phase phase;
    int64_t next_read_at; /* monotonic */
    bool failing;
    int64_t failing_since;
    bool done;

    mf_buffer rec, doc;
    mf_metric *m_objects[GCA_TYPE_COUNT];
    mf_metric *m_upserts, *m_deletes, *m_reads, *m_read_failures, *m_snap_time, *m_snap_bytes, *m_change_sets;
};

static const mf_option options[] = {
    PGC_OPTIONS(struct ctx, pg),
    MF_OPTION(MF_OPT_STRING, "tenant", NULL, 0, struct ctx, tenant_opt,
              "The tenant (cfg_tenant.name) to publish, the prefix of every key; unset: settings.tenant"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "poll", "30s", 0, struct ctx, poll_ms, 100, 86400000,
                    "How often the configuration database is read and diffed"),
    MF_OPTION(MF_OPT_STRING, "snapshots", "", 0, struct ctx, snapshots,
              "Where the GCA snapshot is kept: s3://BUCKET/PREFIX (settings s3_*) or file:///DIR (empty: the "
              "node's data_dir)"),
    MF_OPTION(MF_OPT_STRING, "topic", "", 0, struct ctx, topic,
              "The gca-cfg topic the sink writes to: its end offsets go into each snapshot (empty: none recorded)"),
    MFK_COMMON_OPTIONS(struct ctx),
    MF_OPTION_RANGE(MF_OPT_DURATION, "offsets_timeout", "10s", 0, struct ctx, offsets_timeout_ms, 100, 600000,
                    "Longest wait for the topic's end offsets before the snapshot is tried again"),
    MF_OPTION_RANGE(MF_OPT_INT, "records_per_poll", "1000", 0, struct ctx, per_poll, 1, 1000000,
                    "Records emitted per poll (one source batch) while a change set goes out"),
    MF_OPTION(MF_OPT_BOOL, "once", "false", 0, struct ctx, once,
              "End the input after the first read is published and its snapshot written"),
    MF_OPTION_END,
};

/* ---- records ------------------------------------------------------------------------ */

static int emit_change(struct ctx *c, const cfgdb_change *ch)
{
    char key[512];
    int kn = snprintf(key, sizeof key, "%s:%s:%" PRId64, c->tenant, gca_type_name(ch->type), ch->dbid);
    mf_buffer *b = &c->rec;
    mf_buffer_reset(b);
    char head[160];
    snprintf(head, sizeof head, "{\"op\":\"%s\",\"type\":\"%s\",\"dbid\":%" PRId64 ",\"tenant\":",
             ch->is_delete ? "delete" : "upsert", gca_type_name(ch->type), ch->dbid);
    mf_buffer_append_str(b, head);
    mf_buffer_append_str(b, c->tenant_json);
    snprintf(head, sizeof head, ",\"version\":%" PRId64, ch->version);
    mf_buffer_append_str(b, head);
    if (!ch->is_delete) {
        mf_buffer_append_str(b, ",\"data\":");
        mf_buffer_append(b, ch->obj->data, ch->obj->data_len);
    }
    mf_buffer_append_str(b, "}");
    mf_record r = {.key = (const uint8_t *)key, .key_len = (uint32_t)kn, .value = b->data,
                   .value_len = (uint32_t)b->len, .time_ms = c->host->now_ms()};
    int st = c->host->emit(c->node, MF_PORT_DEFAULT, &r, NULL);
    if (st == MF_OK)
        c->host->metric_add(ch->is_delete ? c->m_deletes : c->m_upserts, 1);
    return st;
}

/* ---- the phases ---------------------------------------------------------------------- */

static void set_gauges(struct ctx *c, const cfgdb_set *s)
{
    size_t counts[GCA_TYPE_COUNT];
    cfgdb_set_count(s, counts);
    for (int t = 0; t < GCA_TYPE_COUNT; t++)
        c->host->metric_set(c->m_objects[t], (double)counts[t]);
}

static void wait_a_little(const struct ctx *c, int timeout_ms, int64_t until)
{
    int64_t left = until - c->host->monotonic_ms();
    if (left > timeout_ms)
        left = timeout_ms;
    if (left > IDLE_SLEEP_MS)
        left = IDLE_SLEEP_MS;
    if (left > 0)
        usleep((useconds_t)left * 1000u);
}

static int do_read(struct ctx *c)
{
    char why[1024];
    c->host->metric_add(c->m_reads, 1);
    cfgdb_read_result rc = cfgdb_read(c->db, c->tenant, &c->next, why, sizeof why);
    if (rc == CFGDB_READ_FATAL) {
        c->host->log(c->node, MF_LOG_ERROR, "%s", why);
        return MF_FATAL;
    }
    if (rc == CFGDB_READ_RETRY) {
        c->host->metric_add(c->m_read_failures, 1);
        if (!c->failing) {
            c->failing = true;
            c->failing_since = c->host->monotonic_ms();
        }
        c->host->log(c->node, MF_LOG_WARN, "%s; retrying (nothing is emitted meanwhile)", why);
        return MF_RETRY;
    }
    if (c->failing) {
        c->failing = false;
        c->host->log(c->node, MF_LOG_INFO, "the configuration database is readable again after %.1f s",
                     (double)(c->host->monotonic_ms() - c->failing_since) / 1000.0);
    }
    /* Change set numbers increase and are at least the wall clock in ms, so
     * versions keep increasing even if the snapshot was lost. */
    int64_t now = c->host->now_ms();
    c->next_set = c->change_set + 1 > now ? c->change_set + 1 : now;
    cfgdb_diff(&c->cur, &c->next, c->next_set, &c->changes);
    set_gauges(c, &c->next);
    c->emitted = 0;
    if (c->changes.n == 0) {
        cfgdb_set_move(&c->cur, &c->next); /* the same objects and versions */
        if (c->have_snapshot) {
            c->next_read_at = c->host->monotonic_ms() + c->poll_ms;
            c->done = c->once;
            return c->done ? MF_EOF : MF_OK;
        }
        cfgdb_set_move(&c->next, &c->cur); /* the first snapshot, even of nothing */
        c->next_set = c->change_set;
        c->phase = P_SNAPSHOT;
        return MF_OK;
    }
    c->host->log(c->node, MF_LOG_INFO, "change set %" PRId64 ": %zu upserts, %zu deletes (%zu objects)", c->next_set,
                 c->changes.upserts, c->changes.deletes, c->next.n);
    c->phase = P_EMITTING;
    return MF_OK;
}

static int do_emit(struct ctx *c)
{
    if (c->emitted < c->changes.n) {
        c->host->source_cookie(c->node, &c->pending);
        c->pending++;
    }
    for (int64_t k = 0; k < c->per_poll && c->emitted < c->changes.n; k++, c->emitted++)
        if (emit_change(c, &c->changes.items[c->emitted]) != MF_OK)
            return MF_FATAL;
    if (c->emitted == c->changes.n)
        c->phase = P_DELIVERING;
    return MF_OK;
}

static int do_snapshot(struct ctx *c)
{
    char why[1024];
    gca_snapshot snap = {.tenant = c->tenant, .topic = (char *)(c->offsets ? c->topic : ""),
                         .change_set = c->next_set, .time_ms = c->host->now_ms(), .objects = c->next};
    if (c->offsets &&
        !gca_offsets_query(c->offsets, (int)c->offsets_timeout_ms, &snap.offsets, &snap.n_offsets, why, sizeof why)) {
        c->host->log(c->node, MF_LOG_WARN, "change set %" PRId64 " is delivered, but its snapshot waits: %s",
                     c->next_set, why);
        return MF_RETRY;
    }
    mf_buffer_reset(&c->doc);
    gca_snapshot_write(&snap, &c->doc);
    char *err = NULL;
    int rc = gca_snapstore_save(c->store, &snap, c->doc.data, c->doc.len, &err);
    free(snap.offsets);
    if (rc != MF_OBJ_OK) {
        c->host->log(c->node, rc == MF_OBJ_RETRY ? MF_LOG_WARN : MF_LOG_ERROR,
                     "cannot write the snapshot of change set %" PRId64 ": %s%s", c->next_set, err ? err : "",
                     rc == MF_OBJ_RETRY ? "; retrying" : "");
        free(err);
        return rc == MF_OBJ_RETRY ? MF_RETRY : MF_FATAL;
    }
    c->host->metric_set(c->m_snap_time, (double)snap.time_ms / 1000.0);
    c->host->metric_set(c->m_snap_bytes, (double)c->doc.len);
    size_t doc_len = c->doc.len;
    mf_buffer_free(&c->doc); /* 19 MB at 100,000 objects: not kept between change sets */
    if (c->changes.n)
        c->host->metric_add(c->m_change_sets, 1);
    c->host->log(c->node, MF_LOG_INFO, "snapshot of change set %" PRId64 " written: %zu objects, %zu bytes, %s",
                 c->next_set, c->next.n, doc_len, mf_objstore_url(c->store));
    c->change_set = c->next_set;
    cfgdb_set_move(&c->cur, &c->next);
    c->changes.n = c->changes.upserts = c->changes.deletes = 0;
    c->have_snapshot = true;
    c->phase = P_IDLE;
    c->next_read_at = c->host->monotonic_ms() + c->poll_ms;
    c->done = c->once;
    return c->done ? MF_EOF : MF_OK;
}

static int load_snapshot(struct ctx *c);

static int poll_cb(void *vctx, int timeout_ms)
{
    struct ctx *c = vctx;
    if (c->done)
        return MF_EOF;
    if (c->offsets)
        gca_offsets_serve(c->offsets);
    switch (c->phase) {
    case P_LOAD: {
        int st = load_snapshot(c);
        if (st == MF_OK)
            c->phase = P_IDLE;
        return st;
    }
    case P_IDLE:
        if (c->host->monotonic_ms() < c->next_read_at) {
            wait_a_little(c, timeout_ms, c->next_read_at);
            return MF_OK;
        }
        return do_read(c);
    case P_EMITTING:
        return do_emit(c);
    case P_DELIVERING:
        if (c->pending) {
            wait_a_little(c, timeout_ms, c->host->monotonic_ms() + IDLE_SLEEP_MS);
            return MF_OK;
        }
        c->phase = P_SNAPSHOT;
        return do_snapshot(c);
    case P_SNAPSHOT:
        return do_snapshot(c);
    }
    return MF_FATAL;
}

static void ack_cb(void *vctx, void *cookie)
{
    struct ctx *c = vctx;
    if (cookie == &c->pending && c->pending)
        c->pending--;
}

/* ---- start --------------------------------------------------------------------------- */

static bool tenant_ok(const char *t)
{
    if (!*t || strlen(t) > 200)
        return false;
    for (const char *p = t; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '_' || *p == '-'))
            return false;
    return true;
}

static int load_snapshot(struct ctx *c)
{
    char why[1024], *err = NULL, *key = NULL;
    void *data = NULL;
    size_t len = 0;
    gca_snapshot snap;
    const char *where = mf_objstore_url(c->store);
    int st = MF_FATAL;
    int rc = gca_snapstore_load(c->store, c->tenant, &data, &len, &key, &err);
    if (rc == MF_OBJ_NOT_FOUND) {
        c->host->log(c->node, MF_LOG_INFO, "no snapshot of tenant '%s' in %s: the whole configuration is published",
                     c->tenant, where);
        return MF_OK;
    }
    if (rc != MF_OBJ_OK) {
        c->host->log(c->node, rc == MF_OBJ_RETRY ? MF_LOG_WARN : MF_LOG_ERROR, "cannot read the snapshot: %s%s",
                     err ? err : where, rc == MF_OBJ_RETRY ? "; retrying" : "");
        st = rc == MF_OBJ_RETRY ? MF_RETRY : MF_FATAL;
        goto done;
    }
    if (!gca_snapshot_read(data, len, &snap, why, sizeof why)) {
        c->host->log(c->node, MF_LOG_ERROR, "the snapshot %s in %s is unusable (%s): remove it to publish the whole "
                     "configuration again", key, where, why);
        gca_snapshot_free(&snap);
        goto done;
    }
    if (strcmp(snap.tenant, c->tenant) != 0) {
        c->host->log(c->node, MF_LOG_ERROR, "the snapshot %s in %s is tenant '%s''s, not '%s'", key, where,
                     snap.tenant, c->tenant);
        gca_snapshot_free(&snap);
        goto done;
    }
    c->change_set = snap.change_set;
    cfgdb_set_move(&c->cur, &snap.objects);
    c->have_snapshot = true;
    set_gauges(c, &c->cur);
    c->host->log(c->node, MF_LOG_INFO, "snapshot of change set %" PRId64 " loaded from %s (%s): %zu objects",
                 c->change_set, where, key, c->cur.n);
    gca_snapshot_free(&snap);
    st = MF_OK;
done:
    free(data);
    free(key);
    free(err);
    return st;
}

/* check-time: what option types cannot say. */
static void validate(const json_t *config, mf_check *check)
{
    const json_t *snaps = json_object_get(config, "snapshots"), *tenant = json_object_get(config, "tenant");
    const char *url = json_string_value(snaps);
    if (url && *url && strncmp(url, "s3://", 5) != 0 && strncmp(url, "file:///", 8) != 0 && url[0] != '/')
        check->problem(check, snaps, "snapshots '%s': give s3://BUCKET/PREFIX or file:///DIR", url);
    if (url && strncmp(url, "s3://", 5) == 0) {
        /* the URL's syntax (bucket, prefix) as open will judge it; no request
         * is made, the credentials are the settings' at run time */
        struct mf_objstore_opts probe = {.access_key = "-", .secret_key = "-"};
        char *err = NULL;
        mf_objstore *st = mf_objstore_open(url, &probe, &err);
        if (!st)
            check->problem(check, snaps, "snapshots: %s", err ? err : "not a usable s3:// location");
        mf_objstore_close(st);
        free(err);
    }
    if (json_is_string(tenant) && json_string_length(tenant) && !tenant_ok(json_string_value(tenant)))
        check->problem(check, tenant, "tenant must be 1..200 characters of [A-Za-z0-9._-]");
}

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->node = node;
    c->host = host;
    for (int t = 0; t < GCA_TYPE_COUNT; t++) {
        char labels[64];
        snprintf(labels, sizeof labels, "type=\"%s\"", gca_type_name((gca_type)t));
        c->m_objects[t] = host->gauge(node, "martflow_configdb_objects", labels,
                                      "Configuration objects of each type in the last read");
    }
    c->m_upserts = host->counter(node, "martflow_configdb_changes_total", "op=\"upsert\"",
                                 "gca-cfg records emitted, by operation");
    c->m_deletes = host->counter(node, "martflow_configdb_changes_total", "op=\"delete\"",
                                 "gca-cfg records emitted, by operation");
    c->m_reads = host->counter(node, "martflow_configdb_reads_total", NULL, "Reads of the configuration database");
    c->m_read_failures = host->counter(node, "martflow_configdb_read_failures_total", NULL,
                                       "Reads that failed and were retried");
    c->m_change_sets = host->counter(node, "martflow_configdb_change_sets_total", NULL,
                                     "Change sets published (delivered and in a snapshot)");
    c->m_snap_time = host->gauge(node, "martflow_configdb_snapshot_time_seconds", NULL,
                                 "When the last snapshot was written (epoch seconds)");
    c->m_snap_bytes = host->gauge(node, "martflow_configdb_snapshot_bytes", NULL, "Size of the last snapshot");

    const char *tenant = c->tenant_opt && *c->tenant_opt ? c->tenant_opt
                                                           : json_string_value(json_object_get(host->settings(node),
                                                                                               "tenant"));
    if (!tenant || !tenant_ok(tenant)) {
        host->log(node, MF_LOG_ERROR, "set `tenant` (or settings.tenant) to the tenant's name: 1..200 characters "
                                      "of [A-Za-z0-9._-]");
        return MF_FATAL;
    }
    c->tenant = mf_xstrdup(tenant);
    json_t *tj = json_string(tenant);
    c->tenant_json = cfgdb_json_text(tj, 0, NULL);
    json_decref(tj);

    pgc_error err;
    c->db = pgc_new(&c->pg, "martflow-gca", host, node, &err);
    if (!c->db) {
        host->log(node, MF_LOG_ERROR, "%s", err.message);
        return MF_FATAL;
    }
    char *url = NULL, *oerr = NULL;
    if (!*c->snapshots) {
        const char *derr = NULL, *dir = host->data_dir(node, &derr);
        if (!dir) {
            host->log(node, MF_LOG_ERROR, "no place for the snapshot: %s", derr ? derr : "no data_dir");
            return MF_FATAL;
        }
        url = mf_xasprintf("file://%s", dir);
    } else {
        /* an absolute directory, as earlier builds took it */
        url = c->snapshots[0] == '/' ? mf_xasprintf("file://%s", c->snapshots) : mf_xstrdup(c->snapshots);
    }
    /* the snapshot waits for each change set: an outage retries soon */
    struct mf_objstore_opts base = {.connect_timeout_ms = 5000, .timeout_ms = 120000};
    c->store = mf_objstore_open_settings(url, host->settings(node), &base, &oerr);
    free(url);
    if (!c->store) {
        host->log(node, MF_LOG_ERROR, "snapshots: %s", oerr ? oerr : "cannot open");
        free(oerr);
        return MF_FATAL;
    }
    if (*c->topic) {
        c->offsets = gca_offsets_new(&c->kafka, c->topic, node, host);
        if (!c->offsets)
            return MF_FATAL;
    }
    c->phase = P_LOAD; /* in poll: an unreachable store is retried with the engine's backoff */
    return MF_OK;
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    pgc_free(c->db);
    mf_objstore_close(c->store);
    gca_offsets_free(c->offsets);
    cfgdb_set_free(&c->cur);
    cfgdb_set_free(&c->next);
    cfgdb_changes_free(&c->changes);
    mf_buffer_free(&c->rec);
    mf_buffer_free(&c->doc);
    free(c->tenant);
    free(c->tenant_json);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_SOURCE,
    .name = "configdb",
    .version = "1.0.0",
    .description = "GCA: read the configuration database, emit gca-cfg changes, keep the GCA snapshot",
    .options = options,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .validate = validate,
    .free = free_cb,
    .poll = poll_cb,
    .ack = ack_cb,
};
