/*
 * transform gspconfig — gca-cfg records in, gsp-cfg dimension records out
 * (docs/events.md §2.4, §3.3; docs/plugins/gspconfig.md).
 *
 * Holds the configuration cache (cfg_cache.h). For each record it renders
 * the rows the changed object touches (cfg_rows.h) before and after applying
 * it, and emits the difference: an upsert for each row that is new or
 * differs, a delete for each row that went away (a renamed object's old
 * key, an ended membership, a removed object). So a person's name change
 * re-emits its logins' RESOURCE_ rows, a record that changes nothing emits
 * nothing, and a replay of the topic is idempotent. Each output is keyed
 * "{tenant}:{table}:{natural key}" and derives from the input record (its
 * ack). A tenant's objects join each other, so the node runs one worker.
 */
#include <stdio.h>
#include <string.h>

#include <martflow/martflow.h>

#include "cfg_cache.h"
#include "cfg_rows.h"

enum { R_INVALID, R_FULL, R_COUNT };
static const char *const reasons[R_COUNT] = {"invalid", "full"};

struct ctx {
    int64_t max_objects;

    const mf_host *host;
    mf_node *node;
    cfg_cache *cache;
    gsp_rec writer;
    int rc;
    mf_metric *m_records, *m_stale, *m_absent, *m_upserts, *m_deletes, *m_objects;
    mf_metric *m_rejected[R_COUNT];
};

static const mf_option options[] = {
    MF_OPTION_RANGE(MF_OPT_INT, "max_objects", "1000000", 0, struct ctx, max_objects, 1, 1e9,
                    "Most configuration objects held over all tenants; a new object beyond is rejected"),
    MF_OPTION_END,
};

static void emit_text(struct ctx *c, const mf_record *in, const char *key, const char *text)
{
    mf_record out = {0};
    out.key = (const uint8_t *)key;
    out.key_len = (uint32_t)strlen(key);
    out.value = (const uint8_t *)text;
    out.value_len = (uint32_t)strlen(text);
    out.time_ms = MF_TIME_UNSET;
    out.origin.partition = -1;
    out.origin.offset = -1;
    int rc = c->host->emit(c->node, MF_PORT_DEFAULT, &out, in->ack);
    if (rc != MF_OK && c->rc == MF_OK)
        c->rc = rc;
}

/* Emit what changed from `before` to `after`: deletes first, so that a
 * renamed row's old key ends before its new key starts. */
static void emit_diff(struct ctx *c, const mf_record *in, const cfg_rowset *before, const cfg_rowset *after)
{
    for (size_t i = 0; i < before->n; i++)
        if (!cfg_rowset_find(after, before->v[i].key)) {
            emit_text(c, in, before->v[i].key, before->v[i].del);
            c->host->metric_add(c->m_deletes, 1);
        }
    for (size_t i = 0; i < after->n; i++) {
        const cfg_row *was = cfg_rowset_find(before, after->v[i].key);
        if (was && strcmp(was->upsert, after->v[i].upsert) == 0)
            continue;
        emit_text(c, in, after->v[i].key, after->v[i].upsert);
        c->host->metric_add(c->m_upserts, 1);
    }
}

static void reject(struct ctx *c, mf_record *rec, int reason, const char *text)
{
    c->host->metric_add(c->m_rejected[reason], 1);
    c->host->reject(c->node, rec, "%s", text);
}

static void handle(struct ctx *c, mf_record *rec)
{
    const char *error = NULL;
    char why[256];
    c->host->metric_add(c->m_records, 1);
    json_t *json = c->host->record_json(c->node, rec, &error);
    cfg_change ch;
    if (!json) {
        reject(c, rec, R_INVALID, error ? error : "invalid JSON");
        return;
    }
    if (!cfg_decode(json, &ch, why, sizeof why)) {
        reject(c, rec, R_INVALID, why);
        return;
    }
    cfg_roots roots = {0};
    cfg_rowset before = {0}, after = {0};
    cfg_roots_add_affected(&roots, c->cache, ch.tenant, ch.type, ch.dbid);
    cfg_rows_render(&before, c->cache, ch.tenant, &roots, &c->writer);
    cfg_result r = cfg_cache_apply(c->cache, &ch);
    switch (r) {
    case CFG_APPLIED:
        cfg_roots_add_affected(&roots, c->cache, ch.tenant, ch.type, ch.dbid);
        cfg_rows_render(&after, c->cache, ch.tenant, &roots, &c->writer);
        emit_diff(c, rec, &before, &after);
        break;
    case CFG_STALE: c->host->metric_add(c->m_stale, 1); break;
    case CFG_ABSENT: c->host->metric_add(c->m_absent, 1); break;
    case CFG_FULL:
        snprintf(why, sizeof why, "the configuration cache holds max_objects (%lld) objects already",
                 (long long)c->max_objects);
        reject(c, rec, R_FULL, why);
        break;
    }
    c->host->metric_set(c->m_objects, (double)cfg_cache_objects(c->cache));
    cfg_roots_free(&roots);
    cfg_rowset_free(&before);
    cfg_rowset_free(&after);
}

static int process(void *vctx, mf_batch *batch)
{
    struct ctx *c = vctx;
    for (size_t i = 0; i < batch->count && c->rc == MF_OK; i++)
        handle(c, &batch->records[i]);
    return c->rc;
}

static int snapshot(void *vctx, uint64_t checkpoint_id, mf_buffer *out)
{
    (void)checkpoint_id;
    struct ctx *c = vctx;
    cfg_cache_save(c->cache, out);
    return MF_OK;
}

static int restore(void *vctx, const uint8_t *data, size_t len)
{
    struct ctx *c = vctx;
    if (!cfg_cache_load(c->cache, data, len)) {
        c->host->log(c->node, MF_LOG_ERROR, "the configuration cache's snapshot is malformed");
        return MF_FATAL;
    }
    c->host->metric_set(c->m_objects, (double)cfg_cache_objects(c->cache));
    return MF_OK;
}

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->host = host;
    c->node = node;
    int workers = 1;
    host->worker(node, &workers);
    if (workers > 1) {
        host->log(node, MF_LOG_ERROR,
                  "gspconfig joins a tenant's objects with each other: it runs with parallelism 1 (not %d)",
                  workers);
        return MF_FATAL;
    }
    c->cache = cfg_cache_new((size_t)c->max_objects);
    c->m_records = host->counter(node, "martflow_gspconfig_records_total", NULL, "gca-cfg records read");
    c->m_stale = host->counter(node, "martflow_gspconfig_stale_total", NULL,
                               "Records older (version) than the object held: ignored");
    c->m_absent = host->counter(node, "martflow_gspconfig_absent_deletes_total", NULL,
                                "Deletes of objects the cache did not hold");
    c->m_upserts = host->counter(node, "martflow_gspconfig_rows_total", "op=\"upsert\"",
                                 "gsp-cfg dimension records emitted, by op");
    c->m_deletes = host->counter(node, "martflow_gspconfig_rows_total", "op=\"delete\"",
                                 "gsp-cfg dimension records emitted, by op");
    c->m_objects = host->gauge(node, "martflow_gspconfig_objects", NULL, "Configuration objects held");
    for (int r = 0; r < R_COUNT; r++) {
        char labels[64];
        snprintf(labels, sizeof labels, "reason=\"%s\"", reasons[r]);
        c->m_rejected[r] = host->counter(node, "martflow_gspconfig_rejected_total", labels,
                                         "gca-cfg records rejected to the errors port, by reason");
    }
    return MF_OK;
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    cfg_cache_free(c->cache);
    gsp_rec_free(&c->writer);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_TRANSFORM,
    .name = "gspconfig",
    .version = "1.0.0",
    .description = "gca-cfg configuration objects to gsp-cfg dimension rows (RESOURCE_, PLACE, RESOURCE_GROUP_, "
                   "RESOURCE_GROUP_MEMBER_, TENANT), joined (GSP)",
    .options = options,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .free = free_cb,
    .process = process,
    .snapshot = snapshot,
    .restore = restore,
};
