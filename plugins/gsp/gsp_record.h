/*
 * gsp_record.h — writing GSP output records (docs/events.md §2) as JSON text
 *   {"table":"...","op":"upsert","tenant":"...","row":{...}}
 * into a buffer the writer owns and reuses (no allocation per record once it
 * has grown), and emitting them keyed "{tenant}:{...}" (§2.4).
 *
 * Usage: gsp_rec_begin(w, table, op, tenant); gsp_rec_int(w, "a", 1);
 * gsp_rec_obj(w, "resource") ... gsp_rec_end_obj(w); gsp_rec_emit(...).
 * Names are written as given, unescaped (callers pass lower-case column
 * names); string values are escaped. Not thread-safe: one writer per worker.
 */
#ifndef GSP_RECORD_H
#define GSP_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/martflow.h>

/* Whole seconds of an epoch-ms time, rounded down (docs/events.md §2.2):
 * output times, and durations as differences of them. */
static inline int64_t gsp_secs(int64_t ms)
{
    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

typedef struct gsp_rec {
    mf_buffer buf;
    bool need_comma;
} gsp_rec;

/* Release the buffer (the struct itself is the caller's). */
void gsp_rec_free(gsp_rec *w);

/* Start a record; the row object is open after this. */
void gsp_rec_begin(gsp_rec *w, const char *table, const char *op, const char *tenant, size_t tenant_len);
void gsp_rec_int(gsp_rec *w, const char *name, int64_t v);
void gsp_rec_str(gsp_rec *w, const char *name, const char *s, size_t len);
void gsp_rec_cstr(gsp_rec *w, const char *name, const char *s);
void gsp_rec_null(gsp_rec *w, const char *name);
/* Open an object member; close it with gsp_rec_end_obj. */
void gsp_rec_obj(gsp_rec *w, const char *name);
void gsp_rec_end_obj(gsp_rec *w);
/* Close the row and the record: the text is w->buf.data[0 .. len). */
void gsp_rec_finish(gsp_rec *w);

/* A plain JSON object instead of a table record (an event a transform
 * derives, e.g. digital's handling events): gsp_rec_open, members as above,
 * gsp_rec_close; the text is w->buf.data[0 .. len). */
void gsp_rec_open(gsp_rec *w);
void gsp_rec_close(gsp_rec *w);

/* Emit the finished record on port with key (key, key_len) and ack. */
int gsp_rec_emit(gsp_rec *w, const mf_host *host, mf_node *node, int port, const void *key, size_t key_len,
                 mf_ack *ack);

#endif
