/*
 * start_offsets.h — the kafka source's `start_offsets`: where partitions
 * start, read once at start from an object of the engine's object store
 * (martflow/objstore.h, s3:// or file://), e.g. the pointer of the GCA
 * snapshot (docs/cfgdb.md §3), so GSP reads gca-cfg from the offsets the
 * snapshot reflects instead of from the beginning. The object is JSON with
 * at least
 *
 *   {"topic": "gca-cfg", "offsets": [{"partition": 0, "offset": 107}, ...]}
 *
 * (other members ignored). A partition it lists starts at its offset unless
 * a checkpoint restored the source (the checkpoint's position wins) or the
 * group committed one (commit: true); others start at `start`.
 *
 * Ownership: mfk_start_offsets owns its topic and list (mfk_start_offsets_free).
 */
#ifndef MF_KAFKA_START_OFFSETS_H
#define MF_KAFKA_START_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/martflow.h>
#include <martflow/objstore.h>

typedef struct mfk_start_offsets {
    char *topic; /* NULL: no object (nothing to start from) */
    struct mfk_start_offset {
        int32_t partition;
        int64_t offset;
    } *v;
    size_t n;
} mfk_start_offsets;

/* Read object `key` of location `url` (S3 options from the pipeline's
 * settings), retrying a transient failure for up to wait_ms. MF_OK (out
 * filled, or out->topic NULL when there is no such object: logged), or
 * MF_FATAL after logging why. */
int mfk_start_offsets_load(mfk_start_offsets *out, const char *url, const char *key, int64_t wait_ms,
                           const mf_host *host, mf_node *node);

/* The offset for topic/partition, or -1. */
int64_t mfk_start_offset(const mfk_start_offsets *s, const char *topic, int32_t partition);

void mfk_start_offsets_free(mfk_start_offsets *s);

#endif
