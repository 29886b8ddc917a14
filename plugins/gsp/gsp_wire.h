/*
 * gsp_wire.h — the bytes of GSP snapshots: little-endian integers and
 * length-prefixed strings appended to an mf_buffer, and a bounds-checked
 * reader over them. Shared by the call store and the agent state so both
 * write one format.
 *
 * Ownership: the writer appends to the caller's buffer through host; the
 * reader borrows the bytes it reads (strings it returns point into them).
 */
#ifndef GSP_WIRE_H
#define GSP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <martflow/martflow.h>

/* Append the low `bytes` bytes of v (1..8), least significant first. */
void gsp_put(mf_buffer *out, const mf_host *host, uint64_t v, int bytes);
/* A 4-byte length, then the bytes (s may be NULL when len is 0). */
void gsp_put_str(mf_buffer *out, const mf_host *host, const char *s, size_t len);

/* An optional text: a presence byte, then (when s is not NULL) gsp_put_str. */
void gsp_put_opt_str(mf_buffer *out, const mf_host *host, const char *s);

/* Bulk writing, for many small fields (a snapshot's events): room for n
 * bytes at the end of out, filled by the caller with gsp_le, which returns
 * where the next field goes; gsp_put_end(out, that) adds them to out. The
 * same bytes as gsp_put, without a call per field. */
uint8_t *gsp_put_begin(mf_buffer *out, size_t n);
void gsp_put_end(mf_buffer *out, const uint8_t *end);
static inline uint8_t *gsp_le(uint8_t *at, uint64_t v, int bytes)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(at, &v, (size_t)bytes); /* one store: bytes is a constant where this is inlined */
#else
    for (int i = 0; i < bytes; i++)
        at[i] = (uint8_t)(v >> (8 * i));
#endif
    return at + bytes;
}

/* Reading: ok turns false at the first read past the end (or a bad value
 * the caller reports with gsp_get_fail) and every later read gives 0. */
typedef struct gsp_reader {
    const uint8_t *p;
    size_t left;
    bool ok;
} gsp_reader;

uint64_t gsp_get(gsp_reader *r, int bytes);
/* A string written by gsp_put_str, without NUL bytes: *len set, the result
 * points into the reader's bytes (NULL, ok false, when malformed). */
const char *gsp_get_str(gsp_reader *r, size_t *len);
/* A text gsp_put_opt_str wrote, copied into *s (NULL when absent); false
 * (the reader failed, *s NULL) when malformed. */
bool gsp_get_opt_str(gsp_reader *r, char **s);
/* Mark the reader failed (a value out of range); returns false. */
bool gsp_get_fail(gsp_reader *r);

#endif
