/*
 * fetched_headers.h — whether a fetched message certainly has no headers,
 * read from the record's own bytes instead of rd_kafka_message_headers().
 *
 * librdkafka (2.0.2 and since) parses a fetched message's headers only when
 * asked, and every call allocates and frees a parse buffer and reads the
 * record's header count from memory this thread has not touched yet, even
 * when the count is 0: a third of the consume-only CPU of a source that asks
 * for every message (bench/kafka-mirror/RESULTS.md, 2026-12-03).
 *
 * In the v2 record format (Kafka >= 0.11) a record is laid out as
 *   [key length varint][key][value length varint][value][header count varint]...
 * and librdkafka's key and payload point into the fetched (or decompressed)
 * record batch. mfk_fetched_no_headers answers true only when the bytes
 * around the value are exactly that layout (the key's length or end right
 * before the value's length, which is m->len, right before the value) and the
 * header count after the value is 0. Anything else (a null or empty value,
 * the v0/v1 format, a librdkafka that copies payloads) answers false: ask
 * librdkafka. The source also checks the answer against librdkafka now and
 * then (see source_kafka.c).
 */
#ifndef MF_KAFKA_FETCHED_HEADERS_H
#define MF_KAFKA_FETCHED_HEADERS_H

#include <stdbool.h>

#include <librdkafka/rdkafka.h>

/* Whether the librdkafka in use is one whose fetch reader keeps payloads in
 * place as above (major version 2, checked against 2.0.2's and the current
 * msgset reader): only then are the bytes around a payload read at all. */
bool mfk_fetched_layout_known(void);

/* m: a message returned by the consumer without error. */
bool mfk_fetched_no_headers(const rd_kafka_message_t *m);

#endif
