/* gca_offsets.c — see gca_offsets.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gca_offsets.h"

struct gca_offsets {
    mfk_client k; /* first: librdkafka's opaque */
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    char *topic;
};

gca_offsets *gca_offsets_new(const struct mfk_opts *opts, const char *topic, mf_node *node, const mf_host *host)
{
    gca_offsets *o = mf_xcalloc(1, sizeof *o);
    o->topic = mf_xstrdup(topic);
    rd_kafka_conf_t *conf = mfk_conf_new(&o->k, node, host, "offsets", opts, NULL, NULL);
    if (!conf)
        goto fail;
    o->rk = mfk_new(&o->k, RD_KAFKA_PRODUCER, conf);
    if (!o->rk)
        goto fail;
    o->rkt = rd_kafka_topic_new(o->rk, topic, NULL);
    if (!o->rkt) {
        host->log(node, MF_LOG_ERROR, "topic '%s': %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        goto fail;
    }
    return o;
fail:
    gca_offsets_free(o);
    return NULL;
}

void gca_offsets_free(gca_offsets *o)
{
    if (!o)
        return;
    o->k.quiet = true;
    if (o->rkt)
        rd_kafka_topic_destroy(o->rkt);
    if (o->rk)
        rd_kafka_destroy(o->rk);
    mfk_client_free(&o->k);
    free(o->topic);
    free(o);
}

void gca_offsets_serve(gca_offsets *o)
{
    rd_kafka_poll(o->rk, 0);
}

bool gca_offsets_query(gca_offsets *o, int timeout_ms, gca_offset **out, size_t *n, char *why, size_t why_len)
{
    const struct rd_kafka_metadata *md = NULL;
    *out = NULL;
    *n = 0;
    rd_kafka_resp_err_t err = rd_kafka_metadata(o->rk, 0, o->rkt, &md, timeout_ms);
    gca_offsets_serve(o);
    if (err) {
        snprintf(why, why_len, "cannot read the metadata of topic %s: %s", o->topic, rd_kafka_err2str(err));
        return false;
    }
    bool ok = false;
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0) {
        snprintf(why, why_len, "topic %s: %s", o->topic,
                 md->topic_cnt == 1 && md->topics[0].err ? rd_kafka_err2str(md->topics[0].err) : "no partitions");
        goto done;
    }
    int parts = md->topics[0].partition_cnt;
    gca_offset *offs = mf_xcalloc((size_t)parts, sizeof *offs);
    for (int i = 0; i < parts; i++) {
        int32_t p = md->topics[0].partitions[i].id;
        int64_t lo = 0, hi = 0;
        err = rd_kafka_query_watermark_offsets(o->rk, o->topic, p, &lo, &hi, timeout_ms);
        if (err) {
            snprintf(why, why_len, "cannot read the end offset of %s[%d]: %s", o->topic, (int)p,
                     rd_kafka_err2str(err));
            free(offs);
            goto done;
        }
        offs[i] = (gca_offset){p, hi};
    }
    /* metadata lists partitions in any order: keep them by number */
    for (int i = 1; i < parts; i++)
        for (int j = i; j > 0 && offs[j - 1].partition > offs[j].partition; j--) {
            gca_offset t = offs[j];
            offs[j] = offs[j - 1];
            offs[j - 1] = t;
        }
    *out = offs;
    *n = (size_t)parts;
    ok = true;
done:
    rd_kafka_metadata_destroy(md);
    return ok;
}
