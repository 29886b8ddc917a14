/* start_offsets.c — see start_offsets.h. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "start_offsets.h"

static bool parse(mfk_start_offsets *out, const void *data, size_t len, char *why, size_t why_len)
{
    json_error_t jerr;
    json_t *j = json_loadb(data, len, 0, &jerr), *offsets = json_object_get(j, "offsets"), *e;
    const char *topic = json_string_value(json_object_get(j, "topic"));
    bool ok = topic && json_is_array(offsets);
    if (!ok)
        snprintf(why, why_len, "it needs a string topic and an offsets list");
    size_t i;
    out->v = ok ? mf_xcalloc(json_array_size(offsets) + 1, sizeof *out->v) : NULL;
    json_array_foreach(offsets, i, e) {
        json_t *p = json_object_get(e, "partition"), *o = json_object_get(e, "offset");
        if (!ok)
            break;
        if (!json_is_integer(p) || !json_is_integer(o) || json_integer_value(p) < 0 || json_integer_value(o) < 0) {
            snprintf(why, why_len, "offsets[%zu] needs a partition and an offset, integers >= 0", i);
            ok = false;
            break;
        }
        out->v[out->n++] = (struct mfk_start_offset){(int32_t)json_integer_value(p), json_integer_value(o)};
    }
    if (ok)
        out->topic = mf_xstrdup(topic);
    json_decref(j);
    return ok;
}

int mfk_start_offsets_load(mfk_start_offsets *out, const char *url, const char *key, int64_t wait_ms,
                           const mf_host *host, mf_node *node)
{
    memset(out, 0, sizeof *out);
    char *err = NULL, why[256];
    struct mf_objstore_opts base = {.connect_timeout_ms = 5000, .timeout_ms = 30000};
    mf_objstore *store = mf_objstore_open_settings(url, host->settings(node), &base, &err);
    if (!store) {
        host->log(node, MF_LOG_ERROR, "start_offsets: %s", err ? err : "cannot open");
        free(err);
        return MF_FATAL;
    }
    void *data = NULL;
    size_t len = 0;
    int64_t until = host->monotonic_ms() + wait_ms, pause_ms = 200;
    int rc;
    while ((rc = mf_objstore_get(store, key, &data, &len, &err)) == MF_OBJ_RETRY && host->monotonic_ms() < until &&
           !host->stopping(node)) {
        host->log(node, MF_LOG_WARN, "start_offsets: %s; retrying", err ? err : "cannot read");
        free(err);
        err = NULL;
        usleep((useconds_t)pause_ms * 1000u);
        pause_ms = pause_ms < 5000 ? pause_ms * 2 : pause_ms;
    }
    int st = MF_FATAL;
    if (rc == MF_OBJ_NOT_FOUND) {
        host->log(node, MF_LOG_WARN, "start_offsets: no %s in %s: partitions start at `start` (the topic is read from "
                                     "where `start` says)", key, mf_objstore_url(store));
        st = MF_OK;
    } else if (rc != MF_OBJ_OK) {
        host->log(node, MF_LOG_ERROR, "start_offsets: %s", err ? err : "cannot read");
    } else if (!parse(out, data, len, why, sizeof why)) {
        host->log(node, MF_LOG_ERROR, "start_offsets: %s in %s: %s", key, mf_objstore_url(store), why);
        mfk_start_offsets_free(out);
    } else {
        st = MF_OK;
    }
    free(data);
    free(err);
    mf_objstore_close(store);
    return st;
}

int64_t mfk_start_offset(const mfk_start_offsets *s, const char *topic, int32_t partition)
{
    if (!s->topic || strcmp(s->topic, topic) != 0)
        return -1;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].partition == partition)
            return s->v[i].offset;
    return -1;
}

void mfk_start_offsets_free(mfk_start_offsets *s)
{
    free(s->topic);
    free(s->v);
    memset(s, 0, sizeof *s);
}
