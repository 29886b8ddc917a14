/*
 * streams.h — the input streams of a worker (host->record_stream,
 * stream_count) and what sources announce of theirs (host->source_streams).
 *
 * A stream is (the upstream worker that sent the batch, the record's origin
 * source, topic and partition). Each consuming worker numbers the streams it
 * meets densely, in a table of its own (used only from its thread). From the
 * start it holds one placeholder per upstream worker, bound to the first
 * stream that worker delivers, so a worker that has not sent yet is counted.
 * A source's announcements live on its worker, under the runtime's
 * streams_mu (written by the source thread, read by consumers).
 */
#ifndef MF_STREAMS_H
#define MF_STREAMS_H

#include <martflow/record.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mf_node;

/* rec's stream id for worker n (MF_STREAM_NONE: not of an input batch). */
uint32_t mf_streams_of(struct mf_node *n, const mf_record *rec);
uint32_t mf_streams_count(struct mf_node *n);
/* Has the upstream worker of stream id sent its end of stream (host->stream_ended)? */
bool mf_streams_ended(struct mf_node *n, uint32_t id);
/* Source worker src reads these (topic, partition) now; copied. */
void mf_streams_announce(struct mf_node *src, const mf_origin *v, size_t count);
/* Free n's table and announcements (at teardown). */
void mf_streams_free(struct mf_node *n);

#endif
