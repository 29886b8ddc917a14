/*
 * checkpoint_run.c — the checkpoint store in a running pipeline
 * (settings.checkpoints): snapshots taken by the workers at barriers, the
 * checkpoint written by the coordinator once every sink passed its barrier,
 * retention, metrics, and the restore before the first thread starts.
 *
 * Checkpoint ids in the store continue from the highest one already there
 * (ckpt_base + the run's own barrier number), so a restart never overwrites a
 * checkpoint it may need. Writing happens on the main thread, between the
 * barrier and commit(N): the workers go on processing meanwhile.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <martflow/helpers.h>

#include "checkpoint_store.h"
#include "log.h"
#include "objstore_settings.h"
#include "runtime_internal.h"

static bool snapshots(const mf_node *n)
{
    return n->g->desc->snapshot != NULL;
}

static double ms_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

void mf_checkpoint_take_snapshot(mf_node *n, uint64_t id)
{
    if (!n->rt->ckpt || !snapshots(n))
        return;
    /* A node that ended (end of input) is snapshot once more: nothing
     * changes it after that, so the later checkpoints use those bytes (the
     * plugin is told the next checkpoint's id). Its own buffer: the
     * coordinator may be storing the one of the last barrier. */
    bool end = id == MF_SNAP_FINAL;
    uint64_t cid = end ? atomic_load(&n->rt->checkpoint_requested) + 1 : id;
    mf_buffer *b = end ? &n->snap_end : &n->snap;
    mf_buffer_reset(b);
    /* Timed: the worker processes nothing while its snapshot is taken
     * (bench/checkpoint reads this line). */
    struct timespec t0, t1, c0, c1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    int st = n->g->desc->snapshot(n->ctx, cid, b);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    mf_node_callback_done(n);
    mf_node_log(n, MF_LOG_DEBUG, "snapshot for checkpoint %" PRIu64 ": %zu bytes, %.1f ms on the worker (CPU %.1f ms)",
                n->rt->ckpt_base + cid, b->len, ms_between(&t0, &t1), ms_between(&c0, &c1));
    if (st != MF_OK)
        mf_node_log(n, MF_LOG_WARN, "snapshot for checkpoint %" PRIu64 " failed: that checkpoint fails",
                    n->rt->ckpt_base + cid);
    if (end) {
        n->snap_end_failed = st != MF_OK;
        atomic_store(&n->snap_end_ready, true);
    } else {
        n->snap_failed = st != MF_OK;
        atomic_store(&n->snap_id, id);
    }
}

/* The snapshot worker n has for checkpoint id, or NULL (*failed: it failed). */
static const mf_buffer *snapshot_for(mf_node *n, uint64_t id, bool *failed)
{
    if (atomic_load(&n->snap_id) == id) {
        *failed = n->snap_failed;
        return &n->snap;
    }
    if (atomic_load(&n->snap_end_ready)) {
        *failed = n->snap_end_failed;
        return &n->snap_end;
    }
    return NULL;
}

/* ---- writing ------------------------------------------------------------------------- */

static bool store_failed(mf_runtime *rt, uint64_t sid, const char *why)
{
    mf_metric_add(rt->m_ckpt_failed, 1);
    mf_log_warn("checkpoint %" PRIu64 " failed (the pipeline goes on; the next one may succeed): %s", sid, why);
    return false;
}

bool mf_checkpoint_write(mf_runtime *rt, struct mf_ckpt_store *store, uint64_t store_id, uint64_t id,
                         uint64_t *bytes, bool *skipped, char **why)
{
    bool failed = false;
    *skipped = false;
    for (size_t i = 0; i < rt->n_workers && !failed; i++) {
        mf_node *n = rt->workers[i];
        if (snapshots(n) && !snapshot_for(n, id, &failed)) {
            /* it ended without a final snapshot (it failed, or the pipeline is stopping) */
            *why = mf_xasprintf("node '%s' has no snapshot for it (it ended or failed)", n->g->def->name);
            *skipped = true;
            return false;
        }
    }
    if (failed) {
        *why = mf_xstrdup("a snapshot failed (see above)");
        return false;
    }
    mf_ckpt_writer *w = mf_ckpt_writer_new(store, store_id);
    char *err = NULL;
    int st = MF_OBJ_OK;
    for (size_t i = 0; i < rt->n_workers && st == MF_OBJ_OK; i++) {
        mf_node *n = rt->workers[i];
        const mf_buffer *b = snapshots(n) ? snapshot_for(n, id, &failed) : NULL;
        if (b)
            st = mf_ckpt_writer_put(w, n->g->def->name, n->g->desc->name,
                                    (n->g->desc->flags & MF_PLUGIN_KEYED_STATE) != 0, n->worker, n->g->n_workers,
                                    b->data, b->len, &err);
    }
    if (st == MF_OBJ_OK)
        st = mf_ckpt_writer_finish(w, bytes, &err);
    mf_ckpt_writer_free(w);
    if (st != MF_OBJ_OK) {
        *why = err ? err : mf_xstrdup("object store error");
        return false;
    }
    return true;
}

bool mf_checkpoint_store(mf_runtime *rt, uint64_t id)
{
    uint64_t sid = rt->ckpt_base + id, bytes = 0;
    char *err = NULL;
    bool skipped;
    if (!mf_checkpoint_write(rt, rt->ckpt, sid, id, &bytes, &skipped, &err)) {
        if (skipped) {
            mf_log_debug("checkpoint %" PRIu64 " skipped: %s", sid, err);
            free(err);
            return false;
        }
        store_failed(rt, sid, err);
        free(err);
        return false;
    }
    int64_t took = mf_time_mono_ms() - rt->ckpt_started_ms;
    mf_metric_set(rt->m_ckpt_duration, (double)took / 1000.0);
    mf_metric_set(rt->m_ckpt_bytes, (double)bytes);
    mf_metric_set(rt->m_ckpt_last, (double)mf_time_now_ms() / 1000.0);
    mf_log_debug("checkpoint %" PRIu64 " stored in %s: %" PRIu64 " bytes, %lld ms", sid, mf_ckpt_store_url(rt->ckpt),
                 bytes, (long long)took);
    if (mf_ckpt_retain(rt->ckpt, (int)rt->settings->checkpoint_retain, &err) != MF_OBJ_OK) {
        mf_log_warn("deleting old checkpoints failed (retried after the next one): %s", err ? err : "");
        free(err);
    }
    return true;
}

/* ---- restoring ----------------------------------------------------------------------- */

static mf_group *group_named(mf_runtime *rt, const char *name)
{
    for (size_t i = 0; i < rt->n_groups; i++)
        if (!strcmp(rt->groups[i].def->name, name))
            return &rt->groups[i];
    return NULL;
}

static bool restore_worker(mf_node *n, const mf_ckpt_node *cn, int from, char **error)
{
    int st = n->g->desc->restore(n->ctx, cn->data[from], cn->len[from]);
    mf_node_callback_done(n);
    if (st != MF_OK) {
        *error = mf_xasprintf("%s (worker %d) could not restore its state from worker %d of the checkpoint (see the "
                              "log above); start with --from-checkpoint none to begin empty",
                              mf_node_what(n->g->def), n->worker, from);
        return false;
    }
    return true;
}

/* Give every node its bytes: the same worker's, or with keyed state and
 * another parallelism every old worker's to every new one. */
static bool restore_all(mf_runtime *rt, const mf_ckpt *c, char **error)
{
    for (size_t i = 0; i < c->n_nodes; i++) {
        const mf_ckpt_node *cn = &c->nodes[i];
        mf_group *g = group_named(rt, cn->name);
        if (!g) {
            mf_log_warn("checkpoint %" PRIu64 " holds state of node '%s', which this pipeline has no more: ignored",
                        c->id, cn->name);
            continue;
        }
        if (strcmp(g->desc->name, cn->plugin) != 0) {
            *error = mf_xasprintf("checkpoint %" PRIu64 ": node '%s' was plugin '%s', now '%s'; start with "
                                  "--from-checkpoint none to begin empty",
                                  c->id, cn->name, cn->plugin, g->desc->name);
            return false;
        }
        if (!g->desc->restore)
            continue;
        bool keyed = cn->keyed && (g->desc->flags & MF_PLUGIN_KEYED_STATE);
        if (cn->workers != g->n_workers && !keyed) {
            *error = mf_xasprintf("checkpoint %" PRIu64 ": node '%s' ran with parallelism %d, now %d, and its "
                                  "plugin's state is not keyed (cannot be split): run it with parallelism %d, or "
                                  "start with --from-checkpoint none",
                                  c->id, cn->name, cn->workers, g->n_workers, cn->workers);
            return false;
        }
        for (int w = 0; w < g->n_workers; w++) {
            if (cn->workers == g->n_workers) {
                if (!restore_worker(g->workers[w], cn, w, error))
                    return false;
                continue;
            }
            for (int from = 0; from < cn->workers; from++)
                if (!restore_worker(g->workers[w], cn, from, error))
                    return false;
        }
    }
    for (size_t i = 0; i < rt->n_groups; i++) {
        mf_group *g = &rt->groups[i];
        bool found = false;
        for (size_t k = 0; k < c->n_nodes; k++)
            found |= !strcmp(c->nodes[k].name, g->def->name);
        if (g->desc->snapshot && !found)
            mf_log_info("node '%s' is not in checkpoint %" PRIu64 ": it starts empty", g->def->name, c->id);
    }
    return true;
}

/* --from-checkpoint ID, or a checkpoint's URL ending in /chk-N. */
static bool parse_wanted(const char *what, uint64_t *id)
{
    const char *slash = strrchr(what, '/');
    const char *p = slash ? slash + 1 : what;
    if (!strncmp(p, "chk-", 4))
        p += 4;
    char *end;
    *id = strtoull(p, &end, 10);
    return *p && !*end;
}

/* --from-savepoint URL: LOCATION/sp-N, any location (the s3_* settings
 * reach it), loaded and verified like a checkpoint. */
static bool load_savepoint(mf_runtime *rt, const struct mf_objstore_opts *o, mf_ckpt **c, char **error)
{
    const char *want = rt->settings->from_savepoint;
    char *loc = NULL, *err = NULL;
    uint64_t id;
    if (!mf_savepoint_parse_url(want, &loc, &id)) {
        *error = mf_xasprintf("--from-savepoint '%s': not a savepoint URL (LOCATION/sp-N, as `martflow savepoint` "
                              "printed it)",
                              want);
        return false;
    }
    mf_ckpt_store *sp = mf_ckpt_store_open_as(loc, o, rt->def->name, "sp-", &err);
    free(loc);
    if (!sp) {
        *error = mf_xasprintf("--from-savepoint %s: %s", want, err ? err : "cannot open its location");
        free(err);
        return false;
    }
    int st = mf_ckpt_load(sp, id, c, &err);
    mf_ckpt_store_close(sp);
    if (st != MF_OBJ_OK) {
        *error = mf_xasprintf("--from-savepoint %s: not usable: %s", want, err ? err : "no manifest");
        free(err);
        return false;
    }
    return true;
}

static bool choose(mf_runtime *rt, const struct mf_objstore_opts *o, mf_ckpt **c, char **error)
{
    const char *want = rt->settings->from_checkpoint;
    const char *url = mf_ckpt_store_url(rt->ckpt);
    char *err = NULL;
    *c = NULL;
    if (rt->settings->from_savepoint)
        return load_savepoint(rt, o, c, error);
    if (want && !strcmp(want, "none")) {
        mf_log_info("--from-checkpoint none: starting empty (checkpoints still go to %s)", url);
        return true;
    }
    if (want) {
        uint64_t id;
        const char *loc = rt->settings->checkpoints;
        size_t loc_len = strlen(loc);
        while (loc_len && loc[loc_len - 1] == '/')
            loc_len--;
        if (strstr(want, "://") && (strncmp(want, loc, loc_len) != 0 || want[loc_len] != '/')) {
            *error = mf_xasprintf("--from-checkpoint %s: not in settings.checkpoints (%s)", want, loc);
            return false;
        }
        if (!parse_wanted(want, &id)) {
            *error = mf_xasprintf("--from-checkpoint '%s': not 'none', an id or a checkpoint URL .../chk-N", want);
            return false;
        }
        if (mf_ckpt_load(rt->ckpt, id, c, &err) != MF_OBJ_OK) {
            *error = mf_xasprintf("--from-checkpoint %s: checkpoint %" PRIu64 " in %s is not usable: %s", want, id,
                                  url, err ? err : "no manifest");
            free(err);
            return false;
        }
        return true;
    }
    if (mf_ckpt_load_latest(rt->ckpt, c, &err) != MF_OBJ_OK) {
        *error = mf_xasprintf("cannot list the checkpoints in %s: %s (start with --from-checkpoint none to begin "
                              "empty)",
                              url, err ? err : "");
        free(err);
        return false;
    }
    if (!*c)
        mf_log_info("no complete checkpoint in %s: starting empty", url);
    return true;
}

static bool open_stores(mf_runtime *rt, const struct mf_objstore_opts *opts, char **error);

bool mf_checkpoint_open(mf_runtime *rt, char **error)
{
    const mf_settings *s = rt->settings;
    if (!s->checkpoints || !*s->checkpoints) {
        if (s->savepoints && *s->savepoints) {
            *error = mf_xstrdup("settings.savepoints needs settings.checkpoints (a savepoint is a checkpoint "
                                "taken on demand)");
            return false;
        }
        if (s->from_savepoint) {
            *error = mf_xstrdup("--from-savepoint needs settings.checkpoints (the run goes on checkpointing "
                                "from the savepoint's state)");
            return false;
        }
        return true;
    }
    if (s->checkpoint_ms <= 0) {
        *error = mf_xstrdup("settings.checkpoints needs a checkpoint_interval above 0");
        return false;
    }
    struct mf_objstore_opts o = {.endpoint = s->s3_endpoint, .region = s->s3_region, .access_key = s->s3_access_key,
                                 .secret_key = s->s3_secret_key, .path_style = s->s3_path_style,
                                 .ca_file = s->s3_ca_file, .insecure = s->s3_insecure,
                                 /* the main thread waits for it: an outage fails a checkpoint soon */
                                 .connect_timeout_ms = 5000, .timeout_ms = 60000};
    mf_objstore_keys keys;
    if (!mf_objstore_secret_keys(s->checkpoints, s->s3_secret_file, &o, &keys, error))
        return false;
    /* The keys of the secret file stay until every store below is open. */
    bool ok = open_stores(rt, &o, error);
    mf_objstore_keys_free(&keys);
    return ok;
}

/* The checkpoint and savepoint stores, and the restore of the chosen one. */
static bool open_stores(mf_runtime *rt, const struct mf_objstore_opts *opts, char **error)
{
    const mf_settings *s = rt->settings;
    struct mf_objstore_opts o = *opts;
    char *err = NULL;
    rt->ckpt = mf_ckpt_store_open(s->checkpoints, &o, rt->def->name, &err);
    if (!rt->ckpt) {
        *error = mf_xasprintf("settings.checkpoints: %s", err ? err : "cannot open");
        free(err);
        return false;
    }
    for (size_t i = 0; i < rt->n_workers; i++) {
        mf_node *n = rt->workers[i];
        n->aligns = n->g->def->kind != MF_KIND_SOURCE && snapshots(n) && n->n_producers > 1;
        if (n->g->def->kind == MF_KIND_SOURCE && !snapshots(n) && n->worker == 0)
            mf_log_warn("source '%s' (plugin %s) keeps no position in checkpoints: after a restore it starts as "
                        "it would without one",
                        n->g->def->name, n->g->desc->name);
    }
    if (!mf_savepoint_open(rt, &o, error))
        return false;
    mf_ckpt *c = NULL;
    if (!choose(rt, &o, &c, error))
        return false;
    if (mf_ckpt_highest_id(rt->ckpt, &rt->ckpt_base, &err) != MF_OBJ_OK) {
        *error = mf_xasprintf("cannot list the checkpoints in %s: %s", mf_ckpt_store_url(rt->ckpt), err ? err : "");
        free(err);
        mf_ckpt_free(c);
        return false;
    }
    bool ok = true;
    if (c) {
        char when[64];
        mf_time_format(c->created_ms, when, sizeof when);
        if (s->from_savepoint)
            mf_log_info("restoring savepoint %s of %s", s->from_savepoint, when);
        else
            mf_log_info("restoring checkpoint %" PRIu64 " of %s from %s", c->id, when, mf_ckpt_store_url(rt->ckpt));
        ok = restore_all(rt, c, error);
    }
    mf_ckpt_free(c);
    return ok;
}

void mf_checkpoint_close(mf_runtime *rt)
{
    mf_ckpt_store_close(rt->ckpt);
    rt->ckpt = NULL;
}
