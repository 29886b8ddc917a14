/*
 * martflow/helpers.h — helpers in libmartflow that plugins may link against
 * (`pkg-config --libs martflow`), so plugins share them instead of copying:
 * byte buffers, the record envelope format, and parsing of times and units.
 * It includes the other helper headers: alloc.h (allocation that cannot
 * fail), crypto.h (digests, hex, base64), secrets.h (secret files) and
 * fieldpath.h (field paths and key bytes).
 * A plugin that uses only the host table needs no library at all.
 */
#ifndef MARTFLOW_HELPERS_H
#define MARTFLOW_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <martflow/alloc.h>
#include <martflow/crypto.h>
#include <martflow/fieldpath.h>
#include <martflow/plugin.h>
#include <martflow/record.h>
#include <martflow/secrets.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How sinks write a record as one line. */
typedef enum mf_record_format {
    MF_FORMAT_VALUE = 0,   /* the value as it is (JSON text for JSON records) */
    MF_FORMAT_ENVELOPE = 1 /* key, value, time, headers, origin: see mf_envelope_append */
} mf_record_format;

/* Append rec as one line ending in '\n'. Reads the value through the host (so
 * edited JSON is serialised once); in envelope form the value is embedded as
 * JSON when it parses, else as a string. */
void mf_format_record_line(const mf_host *host, mf_node *node, mf_record *rec, mf_record_format format,
                           mf_buffer *out);

/* mf_buffer (record.h): append bytes, growing; free. */
void mf_buffer_append(mf_buffer *b, const void *data, size_t len);
/* Room for len more bytes (grown as append grows): where they go, b->data +
 * b->len. The caller writes up to len bytes there and adds what it wrote to
 * b->len; one call instead of an append per field when writing many small
 * ones (snapshots). The pointer is valid until the buffer grows again. */
uint8_t *mf_buffer_reserve(mf_buffer *b, size_t len);
void mf_buffer_append_str(mf_buffer *b, const char *text);
void mf_buffer_reset(mf_buffer *b);
void mf_buffer_free(mf_buffer *b);

/*
 * Append a record as one "envelope" JSON object (no newline):
 *   {"key":..., "value":..., "time":..., "headers":{...}, "origin":{...}}
 * key: a string (null when absent; "key_base64" for bytes that are not UTF-8).
 * value: embedded as JSON when value_is_json, else as a string (or
 * "value_base64"). time: epoch milliseconds or null. headers: name -> text.
 * origin: source, topic, partition, offset (what is set).
 */
void mf_envelope_append(mf_buffer *out, const mf_record *rec, const uint8_t *value, size_t value_len,
                        bool value_is_json);

/* RFC 3339 ("2026-11-30T09:00:00.123Z", offsets allowed) or integer epoch
 * milliseconds as text -> epoch ms. false if neither. */
bool mf_parse_time_ms(const char *text, int64_t *ms);

/* "512", "64KiB", "5MiB", "1GB" -> bytes. */
bool mf_parse_size(const char *text, uint64_t *bytes);
/* "250ms", "10s", "5m", "1h30m", "2d" (a bare number only for 0) -> ms. */
bool mf_parse_duration_ms(const char *text, int64_t *ms);
/* true/false/yes/no/on/off/1/0, any case. */
bool mf_parse_bool(const char *text, bool *value);

/* What a configuration value is, for messages: "a map", "a list", "a string",
 * "a number", "a boolean", "null" (as a user wrote it in YAML). */
const char *mf_json_kind_text(const json_t *value);

/* The pipeline setting `name` (an int, size or duration of the `settings:`
 * map, e.g. "batch_records"; sizes in bytes, durations in ms) from settings
 * (host->settings(node); NULL: none set), parsed by the engine's own table:
 * the same syntax, default and range as `martflow run` applies. false, with
 * *value unchanged, when there is no such setting or its value is invalid
 * (which the engine refuses before init). */
bool mf_setting_int(const json_t *settings, const char *name, int64_t *value);

/* The delay before retry `attempt` (from 0) of a plugin's own retries (its
 * server down), in ms: the engine's own doubling "full jitter", uniformly
 * random in [0, min(cap_ms, base_ms * 2^attempt)], so workers retrying
 * against a recovering server spread out instead of arriving in lockstep.
 * base_ms / cap_ms: the pipeline's retry_base / retry_cap settings; *rng: the
 * caller's state (one per thread), any seed. */
int64_t mf_backoff_delay_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms, uint64_t *rng);

/* The time ms (>= 0) milliseconds from now on clock (CLOCK_MONOTONIC,
 * CLOCK_REALTIME: the clock of the condition variable it is a deadline for),
 * for pthread_cond_timedwait and the like. */
struct timespec mf_timespec_after(clockid_t clock, int64_t ms);

#ifdef __cplusplus
}
#endif
#endif
