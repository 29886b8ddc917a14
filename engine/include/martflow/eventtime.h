/*
 * martflow/eventtime.h — an event-time watermark over several input streams
 * (in libmartflow: `pkg-config --libs martflow`).
 *
 * A transform's input is often several streams that advance at different
 * speeds: the workers of a parallel upstream node, the partitions of a Kafka
 * topic (host->record_stream tells them apart). "The highest event time seen
 * minus the bound" lets the fastest stream make every other stream's events
 * late. mf_watermark keeps the highest event time per stream and gives
 *
 *     watermark = min over the active streams of (their highest time) - bound
 *
 * never going back. The streams:
 *   - pending: known (mf_watermark_streams) but no event time from it yet. It
 *     holds the watermark where it is until it delivers one, so a stream that
 *     starts late (the second worker's first batch, a partition behind the
 *     others) is not late by construction;
 *   - timeless: it delivered records, none with an event time (configuration
 *     records): it does not count;
 *   - idle: nothing from it for idle_timeout ms of monotonic (processing)
 *     time, pending or not: it does not count until it delivers again (then
 *     its events may be behind the watermark the others advanced: they are
 *     late, as they would be for any event older than the bound);
 *   - ended: its upstream sent its end of stream (host->stream_ended, ABI
 *     1.4: a finite source that read all its input). It never counts again,
 *     whatever it was: a finished stream that delivered nothing must not
 *     hold the watermark as pending, one that delivered events must not
 *     hold it at its last event time;
 *   - active: the rest.
 * With no active stream the watermark stays where it is.
 *
 * Time is passed in by the caller (host->monotonic_ms(), once per batch is
 * enough), so the rules are testable and nothing here reads a clock.
 *
 * Stream ids are those of host->record_stream: small, dense, for this run.
 * A snapshot keeps what survives a restart — the watermark reached and the
 * highest event time seen — not the streams: after a restore every stream is
 * pending again until it delivers (what a replay needs).
 *
 * Not thread-safe: one per worker, used from its thread.
 */
#ifndef MARTFLOW_EVENTTIME_H
#define MARTFLOW_EVENTTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/plugin.h>
#include <martflow/record.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mf_watermark mf_watermark;

/* bound_ms: how far behind its stream's highest time an event may be (the
 * usual max_out_of_order), >= 0. idle_timeout_ms: monotonic ms of silence
 * after which a stream stops counting; 0: never. The caller frees the
 * result with mf_watermark_free. */
mf_watermark *mf_watermark_new(int64_t bound_ms, int64_t idle_timeout_ms);
void mf_watermark_free(mf_watermark *w);

/* Streams 0 .. count-1 exist (host->stream_count). Those new to w are
 * pending from now_ms on. A smaller count than before changes nothing. */
void mf_watermark_streams(mf_watermark *w, uint32_t count, int64_t now_ms);

/* A record of `stream` with event time time_ms (MF_TIME_UNSET: a record
 * without event time: it keeps the stream from going idle, and a stream
 * that has only such records is timeless) at monotonic now_ms. An unknown
 * stream id is added (with every id below it). Returns true when the
 * stream's highest event time rose. */
bool mf_watermark_observe(mf_watermark *w, uint32_t stream, int64_t time_ms, int64_t now_ms);

/* Stream `stream` ended (see above): from now on it does not count. An
 * unknown id is added first (with every id below it), as by observe. */
void mf_watermark_end(mf_watermark *w, uint32_t stream);

/* Once per batch: the streams the host knows (mf_watermark_streams with
 * host->stream_count) and, with an engine that has host->stream_ended (ABI
 * 1.4), every one of them that ended (mf_watermark_end). With an older
 * engine, only the count. */
void mf_watermark_sync(mf_watermark *w, const mf_host *host, mf_node *node, int64_t now_ms);

/* The watermark at monotonic now_ms: MF_TIME_UNSET until every non-idle,
 * non-timeless, non-ended stream has delivered an event time (or after a restore, the
 * restored one). Never less than an earlier result. */
int64_t mf_watermark_get(mf_watermark *w, int64_t now_ms);

/* The highest event time of any stream (MF_TIME_UNSET: none yet): where
 * event time stands at the end of the input. */
int64_t mf_watermark_max(const mf_watermark *w);

/* The watermark never goes below wm from now on (a watermark restored from
 * elsewhere, e.g. mf_keyed_watermark after mf_keyed_restore). */
void mf_watermark_set_floor(mf_watermark *w, int64_t wm);

/* Snapshot format (24 bytes, little-endian): magic "MFWM", 2 bytes version
 * 1, 2 bytes flags 0, 8 bytes watermark, 8 bytes highest event time
 * (INT64_MIN: none). */
#define MF_WATERMARK_SNAPSHOT_LEN 24
void mf_watermark_snapshot(const mf_watermark *w, mf_buffer *out);
/* Restore one snapshot; restoring several (after a change of parallelism
 * each worker restores every old worker's) keeps the lowest watermark and the
 * highest event time. MF_OK, or MF_FATAL (nothing changed) for bytes that
 * are not a version 1 snapshot. */
int mf_watermark_restore(mf_watermark *w, const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
