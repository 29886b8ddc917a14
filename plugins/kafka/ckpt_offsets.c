/* ckpt_offsets.c — see ckpt_offsets.h. */
#include "ckpt_offsets.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define VERSION 1

static void set_offset(rd_kafka_topic_partition_list_t *l, const char *topic, int32_t partition, int64_t offset)
{
    rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(l, topic, partition);
    if (!p)
        p = rd_kafka_topic_partition_list_add(l, topic, partition);
    p->offset = offset;
}

int mfk_ckpt_snapshot(mfk_ckpt *k, const mf_host *host, const mfk_tracker *t, uint64_t id, mf_buffer *out)
{
    k->active = true;
    if (!k->known)
        k->known = rd_kafka_topic_partition_list_new(8);
    for (size_t i = 0; i < t->n_parts; i++)
        if (t->parts[i].next >= 0)
            set_offset(k->known, t->parts[i].topic, t->parts[i].partition, t->parts[i].next);
    json_t *parts = json_array();
    for (int i = 0; i < k->known->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &k->known->elems[i];
        json_array_append_new(parts, json_pack("{s:s, s:i, s:I}", "topic", p->topic, "partition", (int)p->partition,
                                               "offset", (json_int_t)p->offset));
    }
    json_t *root = json_pack("{s:i, s:o}", "version", VERSION, "partitions", parts);
    /* into our own buffer: jansson's allocator may be the engine's */
    size_t n = json_dumpb(root, NULL, 0, JSON_COMPACT);
    char *text = malloc(n + 1);
    if (!text)
        abort();
    json_dumpb(root, text, n, JSON_COMPACT);
    json_decref(root);
    host->buffer_append(out, text, n);
    free(text);
    struct mfk_ckpt_pending *grown = realloc(k->pending, (k->n_pending + 1) * sizeof *k->pending);
    if (!grown)
        abort();
    k->pending = grown;
    k->pending[k->n_pending++] = (struct mfk_ckpt_pending){.id = id,
                                                           .offsets = rd_kafka_topic_partition_list_copy(k->known)};
    return MF_OK;
}

bool mfk_ckpt_restore(mfk_ckpt *k, const uint8_t *data, size_t len)
{
    json_t *root = json_loadb((const char *)data, len, 0, NULL);
    json_t *parts = root ? json_object_get(root, "partitions") : NULL;
    bool ok = root && json_integer_value(json_object_get(root, "version")) == VERSION && json_is_array(parts);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    size_t i;
    json_t *e;
    json_array_foreach(parts, i, e)
    {
        const char *topic = json_string_value(json_object_get(e, "topic"));
        json_t *jp = json_object_get(e, "partition"), *jo = json_object_get(e, "offset");
        if (!topic || !json_is_integer(jp) || !json_is_integer(jo) || json_integer_value(jo) < 0) {
            ok = false;
            break;
        }
        set_offset(l, topic, (int32_t)json_integer_value(jp), (int64_t)json_integer_value(jo));
    }
    json_decref(root);
    if (!ok) {
        rd_kafka_topic_partition_list_destroy(l);
        return false;
    }
    if (k->known)
        rd_kafka_topic_partition_list_destroy(k->known);
    k->known = l;
    k->active = true;
    return true;
}

int64_t mfk_ckpt_offset(const mfk_ckpt *k, const char *topic, int32_t partition)
{
    const rd_kafka_topic_partition_t *p =
        k->known ? rd_kafka_topic_partition_list_find(k->known, topic, partition) : NULL;
    return p ? p->offset : -1;
}

rd_kafka_topic_partition_list_t *mfk_ckpt_take(mfk_ckpt *k, uint64_t id)
{
    rd_kafka_topic_partition_list_t *found = NULL;
    size_t done = 0;
    while (done < k->n_pending && k->pending[done].id <= id) {
        if (found)
            rd_kafka_topic_partition_list_destroy(found);
        found = k->pending[done++].offsets;
    }
    if (done) {
        k->n_pending -= done;
        memmove(k->pending, k->pending + done, k->n_pending * sizeof *k->pending);
    }
    return found;
}

void mfk_ckpt_free(mfk_ckpt *k)
{
    for (size_t i = 0; i < k->n_pending; i++)
        rd_kafka_topic_partition_list_destroy(k->pending[i].offsets);
    free(k->pending);
    if (k->known)
        rd_kafka_topic_partition_list_destroy(k->known);
    *k = (mfk_ckpt){0};
}
