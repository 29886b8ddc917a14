/*
 * martflow/record.h — records and batches as plugins see them.
 *
 * A record is what flows along the edges of a pipeline: key and value bytes, an
 * event time, headers, where it came from, and (lazily) its parsed JSON value.
 * Records live in batches; a batch owns the memory of its records (one arena per
 * batch), so a plugin never frees a record and never keeps a pointer into one
 * after its callback returns (copy what you keep, or hold its ack — see plugin.h).
 *
 * Plugins read the fields of mf_record directly, except the value: the value bytes
 * may be stale once the JSON has been edited, so read it with host->record_value().
 * Plugins never write a record they were given except through host functions.
 */
#ifndef MARTFLOW_RECORD_H
#define MARTFLOW_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One header: name is NUL-terminated, value is bytes (not necessarily text). */
typedef struct mf_header {
    const char *name;
    const uint8_t *value;
    uint32_t value_len;
} mf_header;

/* Where a record came from. Sources fill what applies; -1 means "not set". */
typedef struct mf_origin {
    const char *source;   /* name of the source node that read it (set by the engine) */
    const char *topic;    /* Kafka topic, file path, table ... (source-defined) */
    int32_t partition;
    int64_t offset;
} mf_origin;

/* Record flags (mf_record.flags). */
#define MF_RECORD_KEY_NULL    0x1u /* no key (distinct from an empty key) */
#define MF_RECORD_VALUE_NULL  0x2u /* no value (a tombstone) */
#define MF_RECORD_VALUE_STALE 0x4u /* json was edited: value bytes must be re-serialised */
/* The value bytes are valid JSON by martflow's rule (docs/architecture.md),
 * checked once by host->json_check or record_json and carried along when the
 * record is emitted. Set by the engine only. It holds for the value bytes it
 * was checked on (the engine remembers them in reserved[1]): a copy of the
 * record given other value bytes is checked again. */
#define MF_RECORD_JSON_VALID  0x8u

#define MF_TIME_UNSET INT64_MIN

typedef struct mf_ack mf_ack; /* opaque: an acknowledgement token (see plugin.h) */

typedef struct mf_record {
    const uint8_t *key;
    uint32_t key_len;
    uint32_t flags;
    const uint8_t *value;   /* read with host->record_value(): may be stale */
    uint32_t value_len;
    uint16_t n_headers;
    uint16_t reserved0;
    const mf_header *headers;
    int64_t time_ms;        /* event time, epoch milliseconds, or MF_TIME_UNSET */
    mf_origin origin;
    json_t *json;           /* parsed value, or NULL until someone asks for it */
    mf_ack *ack;            /* engine-owned; pass to host ack functions only */
    void *reserved[2];      /* engine-owned: copy them along, never set them */
} mf_record;

/* A batch handed to a transform or sink. Records are contiguous. */
typedef struct mf_batch {
    mf_record *records;
    size_t count;
    size_t bytes;           /* bytes of record data (keys, values, headers) */
    void *reserved[4];
} mf_batch;

/* A growable byte buffer filled through host->buffer_append (snapshots). */
typedef struct mf_buffer {
    uint8_t *data;
    size_t len;
    size_t cap;
} mf_buffer;

#ifdef __cplusplus
}
#endif
#endif
