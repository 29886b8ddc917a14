/*
 * ckpt_offsets.h — the Kafka source's positions in checkpoints
 * (docs/checkpoints.md): at barrier N, the offset after the last record it
 * emitted, per partition; on restore, where an assigned partition starts;
 * at commit(N), the offsets of N stored for the group's commits.
 *
 * The snapshot bytes: {"version": 1, "partitions": [{"topic", "partition",
 * "offset"}]} (JSON). Partitions restored but not assigned to this consumer
 * yet stay in the later snapshots, so a checkpoint never forgets them.
 */
#ifndef MF_KAFKA_CKPT_OFFSETS_H
#define MF_KAFKA_CKPT_OFFSETS_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include <martflow/martflow.h>

#include "offset_tracker.h"

typedef struct mfk_ckpt {
    rd_kafka_topic_partition_list_t *known;  /* restored and snapshotted offsets; NULL: none yet */
    struct mfk_ckpt_pending {                /* snapshots waiting for their commit(N), oldest first */
        uint64_t id;
        rd_kafka_topic_partition_list_t *offsets;
    } *pending;
    size_t n_pending;
    bool active; /* a checkpoint store drives this source: commit(N), not acknowledgements, stores offsets */
} mfk_ckpt;

/* Snapshot id: every partition's next offset (tracker) over the known ones,
 * appended to out as the JSON above, and kept for commit(id). */
int mfk_ckpt_snapshot(mfk_ckpt *k, const mf_host *host, const mfk_tracker *t, uint64_t id, mf_buffer *out);
/* The offsets of a snapshot become the known ones. false: malformed. */
bool mfk_ckpt_restore(mfk_ckpt *k, const uint8_t *data, size_t len);
/* The restored offset of topic/partition, or -1. */
int64_t mfk_ckpt_offset(const mfk_ckpt *k, const char *topic, int32_t partition);
/* commit(id): the offsets of the newest snapshot <= id (the caller owns the
 * list, destroys it), or NULL; older pending snapshots are dropped. */
rd_kafka_topic_partition_list_t *mfk_ckpt_take(mfk_ckpt *k, uint64_t id);
void mfk_ckpt_free(mfk_ckpt *k);

#endif
