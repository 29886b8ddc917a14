/*
 * source gcasnapshot — the latest GCA snapshot of a tenant as gca-cfg
 * records, once (docs/cfgdb.md §3, docs/plugins/gspconfig.md): GSP's
 * configuration caches start from it instead of reading the whole gca-cfg
 * topic. List it next to the kafka source of gca-cfg (whose
 * `start_offsets` seeks to the offsets this snapshot records) in the same
 * inputs; the caches keep the newer version of an object whichever of the
 * two arrives first (cfg_cache.h: versions and tombstones).
 *
 * Each object becomes an upsert keyed "{tenant}:{type}:{dbid}", exactly as
 * GCA's configdb source emitted it, records_per_poll per poll; then the
 * input ends (MF_EOF: downstream, the stream ends, and holds no watermark
 * back). No snapshot: nothing is emitted, logged. A store that cannot be
 * reached is retried with the engine's backoff.
 *
 * Checkpoints: its state is whether it finished. Restored finished, it
 * emits nothing: the checkpoint's caches and Kafka positions win over the
 * snapshot. Restored unfinished, it emits the snapshot again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/martflow.h>

#include "gca_snapshot.h"
#include "gca_snapstore.h"

struct ctx {
    const char *snapshots, *tenant_opt;
    int64_t per_poll;

    mf_node *node;
    const mf_host *host;
    mf_objstore *store;
    char *tenant, *tenant_json;
    gca_snapshot snap;
    bool loaded, done;
    size_t next; /* the next object to emit */
    mf_buffer rec;
    mf_metric *m_objects, *m_change_set;
};

static const mf_option options[] = {
    MF_OPTION(MF_OPT_STRING, "snapshots", "", 0, struct ctx, snapshots,
              "Where GCA keeps its snapshots (its `snapshots`, GCA_SNAPSHOTS): s3://BUCKET/PREFIX (settings s3_*) or "
              "file:///DIR; empty: none, nothing is emitted"),
    MF_OPTION(MF_OPT_STRING, "tenant", NULL, 0, struct ctx, tenant_opt, "The tenant whose snapshot is read; unset: "
              "settings.tenant"),
    MF_OPTION_RANGE(MF_OPT_INT, "records_per_poll", "1000", 0, struct ctx, per_poll, 1, 1000000,
                    "Records emitted per poll (one source batch)"),
    MF_OPTION_END,
};

/* 1: loaded; 0: no snapshot; else an MF_ status. */
static int load(struct ctx *c)
{
    char *err = NULL, *key = NULL, why[512];
    void *data = NULL;
    size_t len = 0;
    const char *where = mf_objstore_url(c->store);
    int rc = gca_snapstore_load(c->store, c->tenant, &data, &len, &key, &err), st = MF_FATAL;
    if (rc == MF_OBJ_NOT_FOUND) {
        c->host->log(c->node, MF_LOG_WARN, "no GCA snapshot of tenant '%s' in %s: nothing to start from (gca-cfg is "
                     "read from the beginning; until GCA writes one, objects not in the topic are unknown)",
                     c->tenant, where);
        return 0;
    }
    if (rc != MF_OBJ_OK) {
        c->host->log(c->node, rc == MF_OBJ_RETRY ? MF_LOG_WARN : MF_LOG_ERROR, "cannot read the GCA snapshot: %s%s",
                     err ? err : where, rc == MF_OBJ_RETRY ? "; retrying" : "");
        st = rc == MF_OBJ_RETRY ? MF_RETRY : MF_FATAL;
        goto done;
    }
    if (!gca_snapshot_read(data, len, &c->snap, why, sizeof why)) {
        c->host->log(c->node, MF_LOG_ERROR, "the GCA snapshot %s in %s is unusable: %s", key, where, why);
        goto done;
    }
    if (strcmp(c->snap.tenant, c->tenant) != 0) {
        c->host->log(c->node, MF_LOG_ERROR, "the GCA snapshot %s in %s is tenant '%s''s, not '%s'", key, where,
                     c->snap.tenant, c->tenant);
        goto done;
    }
    c->host->log(c->node, MF_LOG_INFO, "GCA snapshot of change set %" PRId64 " (%s in %s): %zu objects",
                 c->snap.change_set, key, where, c->snap.objects.n);
    c->host->metric_set(c->m_change_set, (double)c->snap.change_set);
    st = 1;
done:
    free(data);
    free(key);
    free(err);
    return st;
}

static int emit_object(struct ctx *c, const cfgdb_obj *o)
{
    char key[512], head[200];
    int kn = snprintf(key, sizeof key, "%s:%s:%" PRId64, c->tenant, gca_type_name(o->type), o->dbid);
    mf_buffer *b = &c->rec;
    mf_buffer_reset(b);
    snprintf(head, sizeof head, "{\"op\":\"upsert\",\"type\":\"%s\",\"dbid\":%" PRId64 ",\"tenant\":",
             gca_type_name(o->type), o->dbid);
    mf_buffer_append_str(b, head);
    mf_buffer_append_str(b, c->tenant_json);
    snprintf(head, sizeof head, ",\"version\":%" PRId64 ",\"data\":", o->version);
    mf_buffer_append_str(b, head);
    mf_buffer_append(b, o->data, o->data_len);
    mf_buffer_append_str(b, "}");
    /* configuration, not events: no event time */
    mf_record r = {.key = (const uint8_t *)key, .key_len = (uint32_t)kn, .value = b->data,
                   .value_len = (uint32_t)b->len, .time_ms = MF_TIME_UNSET};
    return c->host->emit(c->node, MF_PORT_DEFAULT, &r, NULL);
}

static int poll_cb(void *vctx, int timeout_ms)
{
    (void)timeout_ms;
    struct ctx *c = vctx;
    if (c->done)
        return MF_EOF;
    if (!c->loaded) {
        int st = c->store ? load(c) : 0;
        if (st == 0) {
            c->done = true;
            return MF_EOF;
        }
        if (st != 1)
            return st;
        c->loaded = true;
    }
    for (int64_t k = 0; k < c->per_poll && c->next < c->snap.objects.n; k++, c->next++) {
        int st = emit_object(c, &c->snap.objects.objs[c->next]);
        if (st != MF_OK)
            return st;
        c->host->metric_add(c->m_objects, 1);
    }
    if (c->next < c->snap.objects.n)
        return MF_OK;
    c->done = true;
    gca_snapshot_free(&c->snap);
    return MF_EOF;
}

/* ---- checkpoints: {"version":1,"done":bool} -------------------------------------------- */

static int snapshot_cb(void *vctx, uint64_t checkpoint_id, mf_buffer *out)
{
    (void)checkpoint_id;
    struct ctx *c = vctx;
    mf_buffer_append_str(out, c->done ? "{\"version\":1,\"done\":true}" : "{\"version\":1,\"done\":false}");
    return MF_OK;
}

static int restore_cb(void *vctx, const uint8_t *data, size_t len)
{
    struct ctx *c = vctx;
    json_t *j = json_loadb((const char *)data, len, 0, NULL);
    json_t *done = json_object_get(j, "done");
    bool ok = json_integer_value(json_object_get(j, "version")) == 1 && json_is_boolean(done);
    if (ok && json_is_true(done)) {
        c->done = true;
        c->host->log(c->node, MF_LOG_INFO, "restored from a checkpoint taken after the snapshot was emitted: the "
                                           "checkpoint's configuration and positions are used, not the snapshot");
    }
    json_decref(j);
    if (!ok)
        c->host->log(c->node, MF_LOG_ERROR, "its state in the checkpoint is malformed");
    return ok ? MF_OK : MF_FATAL;
}

/* ---- start ------------------------------------------------------------------------------ */

static void validate(const json_t *config, mf_check *check)
{
    const json_t *snaps = json_object_get(config, "snapshots");
    const char *url = json_string_value(snaps);
    if (url && *url && strncmp(url, "s3://", 5) != 0 && strncmp(url, "file:///", 8) != 0)
        check->problem(check, snaps, "snapshots '%s': give s3://BUCKET/PREFIX or file:///DIR", url);
}

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->node = node;
    c->host = host;
    c->m_objects = host->counter(node, "martflow_gcasnapshot_objects_total", NULL,
                                 "Configuration objects emitted from the GCA snapshot");
    c->m_change_set = host->gauge(node, "martflow_gcasnapshot_change_set", NULL,
                                  "The change set of the GCA snapshot started from");
    if (!*c->snapshots) {
        host->log(node, MF_LOG_WARN, "no snapshot location (snapshots is empty): nothing to start from, gca-cfg is "
                                     "read from the beginning");
        return MF_OK;
    }
    const char *tenant = c->tenant_opt && *c->tenant_opt
                             ? c->tenant_opt
                             : json_string_value(json_object_get(host->settings(node), "tenant"));
    if (!tenant || !*tenant) {
        host->log(node, MF_LOG_ERROR, "set `tenant` (or settings.tenant): the snapshot is per tenant");
        return MF_FATAL;
    }
    c->tenant = mf_xstrdup(tenant);
    json_t *tj = json_string(tenant);
    c->tenant_json = cfgdb_json_text(tj, 0, NULL);
    json_decref(tj);
    char *err = NULL;
    struct mf_objstore_opts base = {.connect_timeout_ms = 5000, .timeout_ms = 120000};
    c->store = mf_objstore_open_settings(c->snapshots, host->settings(node), &base, &err);
    if (!c->store) {
        host->log(node, MF_LOG_ERROR, "snapshots: %s", err ? err : "cannot open");
        free(err);
        return MF_FATAL;
    }
    return MF_OK;
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    mf_objstore_close(c->store);
    gca_snapshot_free(&c->snap);
    mf_buffer_free(&c->rec);
    free(c->tenant);
    free(c->tenant_json);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_SOURCE,
    .name = "gcasnapshot",
    .version = "1.0.0",
    .description = "GSP: the latest GCA snapshot of a tenant as gca-cfg upserts, once (the configuration caches' "
                   "start)",
    .options = options,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .validate = validate,
    .free = free_cb,
    .poll = poll_cb,
    .snapshot = snapshot_cb,
    .restore = restore_cb,
};
