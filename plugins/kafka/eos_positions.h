/*
 * eos_positions.h — what the exactly-once Kafka sink has written, by input
 * position, so that a restart never writes a record twice.
 *
 * A record's input position is its origin (source node, topic or file,
 * partition) and offset. For each such stream the table keeps the highest
 * offset written in a committed transaction and the highest offset produced
 * (the open transaction included). Every transaction also writes the table
 * to the sink's positions topic, so the table commits atomically with the
 * records: after a crash, the last committed table says exactly which input
 * the topic already has, whatever the sources managed to commit of their
 * own positions. Records replayed at or below it are skipped.
 *
 * This assumes one stream's records reach the sink in offset order (a
 * pipeline without a parallel transform between source and sink).
 *
 * Ownership: an mfk_positions owns its entries and their strings;
 * mfk_positions_free releases them. Nothing here talks to Kafka except
 * mfk_positions_load and mfk_positions_ensure_topic.
 */
#ifndef MF_KAFKA_EOS_POSITIONS_H
#define MF_KAFKA_EOS_POSITIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka_common.h"

typedef struct mfk_stream_pos {
    char *source;      /* source node name */
    char *topic;       /* Kafka topic or file path; "" when the source gave none */
    int32_t partition; /* -1 when the source gave none */
    /* Highest offset in a committed transaction (-1: none) and how many
     * records of that offset it has: a transform may derive several records
     * from one input, and a transaction may end between them. */
    int64_t committed;
    uint32_t committed_n;
    int64_t produced; /* the same for what was produced (open transaction included) */
    uint32_t produced_n;
    /* The record being looked at: its offset and how many records of that
     * offset came so far in this pass (a replay starts a new pass). */
    int64_t seen;
    uint32_t seen_n;
} mfk_stream_pos;

/* What mfk_positions_see says of a record. */
enum mfk_seen {
    MFK_NEW,       /* not written yet: produce it */
    MFK_PRODUCED,  /* in the open transaction already (replayed by the source) */
    MFK_COMMITTED  /* in a committed transaction already */
};

typedef struct mfk_positions {
    mfk_stream_pos *v;
    size_t n, cap, last;
} mfk_positions;

/* The entry of o's stream, added (committed = produced = -1) if new. NULL
 * when the record has no position (no source name or a negative offset):
 * such records cannot be recognised when replayed. */
mfk_stream_pos *mfk_positions_get(mfk_positions *p, const mf_origin *o);

/* Count rec's position in e (the next record of its offset) and say whether
 * it was written already. */
enum mfk_seen mfk_positions_see(mfk_stream_pos *e, int64_t offset);

/* The record last seen in e was produced. */
void mfk_positions_produced(mfk_stream_pos *e);

/* Every produced offset is now committed. */
void mfk_positions_commit(mfk_positions *p);

/* The table as JSON (produced offsets), malloc'd, for the positions topic. */
char *mfk_positions_encode(const mfk_positions *p, const char *transactional_id);

/* Replace the table by a JSON text from mfk_positions_encode (committed and
 * produced both set from it). false with *err (static text) when malformed. */
bool mfk_positions_decode(mfk_positions *p, const char *json, size_t len, const char **err);

void mfk_positions_free(mfk_positions *p);

/* Create `topic` (1 partition, compacted) through rk's admin API unless it
 * exists; *created says whether it was made now (then it is empty). MF_OK,
 * or MF_FATAL after logging why through k. */
int mfk_positions_ensure_topic(mfk_client *k, rd_kafka_t *rk, const char *topic, bool *created);

/*
 * Read the last committed table for `key` from `topic` (read_committed, so
 * aborted transactions are never seen) into p. A consumer is made from opts
 * for the read and destroyed after. *found tells whether there was one.
 * MF_OK, or MF_FATAL after logging why.
 */
int mfk_positions_load(mf_node *node, const mf_host *host, const struct mfk_opts *opts, const char *topic,
                       const char *key, mfk_positions *p, bool *found);

#endif
