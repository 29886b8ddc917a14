/*
 * gca_snapshot.h — the GCA snapshot document (docs/cfgdb.md, "The
 * snapshot"): every current object of one tenant with its version, the
 * number of the change set it reflects, and the end offsets of the gca-cfg
 * topic's partitions once that change set was delivered, so a reader (GSP)
 * loads the objects and consumes the topic from those offsets.
 *
 * JSON, format "martflow.gca.snapshot" version 1; one object per line.
 *
 * Ownership: gca_snapshot owns its strings, offsets and set
 * (gca_snapshot_free); gca_snapshot_write borrows everything.
 */
#ifndef GCA_SNAPSHOT_H
#define GCA_SNAPSHOT_H

#include <martflow/martflow.h>

#include "cfgdb_set.h"

#define GCA_SNAPSHOT_FORMAT "martflow.gca.snapshot"
#define GCA_SNAPSHOT_VERSION 1

typedef struct gca_offset {
    int32_t partition;
    int64_t offset; /* the partition's end offset (next offset to be written) */
} gca_offset;

typedef struct gca_snapshot {
    char *tenant;
    char *topic;        /* "" when offsets were not recorded */
    int64_t change_set; /* the last change set the objects reflect (0: none yet) */
    int64_t time_ms;    /* when it was written */
    gca_offset *offsets;
    size_t n_offsets;
    cfgdb_set objects; /* sorted */
} gca_snapshot;

/* Append the document for snap to out. snap->objects must be sorted. */
void gca_snapshot_write(const gca_snapshot *snap, mf_buffer *out);

/* Parse a document into out (zeroed first; free with gca_snapshot_free even
 * on failure). false with a sentence in why for another format, a newer
 * version, or a malformed document. */
bool gca_snapshot_read(const uint8_t *data, size_t len, gca_snapshot *out, char *why, size_t why_len);

void gca_snapshot_free(gca_snapshot *snap);

#endif
