/*
 * gca_offsets.h — the end offsets of the gca-cfg topic, read after a change
 * set was delivered, for the snapshot (gca_snapshot.h): a consumer that
 * loads the snapshot and reads the topic from these offsets misses nothing
 * GCA wrote after it. GCA writes the next change set only after this, so
 * nothing of its own lies between the change set and these offsets.
 *
 * One librdkafka handle (a producer that never produces) built from the
 * kafka plugins' options (brokers, secret, rdkafka.*: kafka_common.h).
 * Ownership: gca_offsets_free releases it; results are the caller's (free()).
 */
#ifndef GCA_OFFSETS_H
#define GCA_OFFSETS_H

#include "gca_snapshot.h"
#include "kafka_common.h"

typedef struct gca_offsets gca_offsets;

/* NULL after logging why (bad options). topic and opts are copied / borrowed
 * only during the call. */
gca_offsets *gca_offsets_new(const struct mfk_opts *opts, const char *topic, mf_node *node, const mf_host *host);
void gca_offsets_free(gca_offsets *o);

/* Every partition's end offset (high watermark), in partition order, into
 * *out / *n (the caller frees *out). false with why (the brokers unreachable,
 * the topic missing): try again later. */
bool gca_offsets_query(gca_offsets *o, int timeout_ms, gca_offset **out, size_t *n, char *why, size_t why_len);

/* Serve librdkafka's logs (call now and then). */
void gca_offsets_serve(gca_offsets *o);

#endif
