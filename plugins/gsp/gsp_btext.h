/*
 * gsp_btext.h — a bounded text a long-lived GSP state keeps (an outbound
 * chain's calling list, a digital interaction's addresses and agents):
 * at most GSP_BTEXT_MAX bytes, cut at a UTF-8 character boundary, so one
 * event with a huge field cannot make a state, its snapshots and its facts
 * large. The text keeps its capacity when set again (no allocation per event
 * once it has grown), and saves / loads in the gsp_wire format.
 *
 * Ownership: a gsp_btext owns its bytes (gsp_btext_free); zeroed is empty.
 */
#ifndef GSP_BTEXT_H
#define GSP_BTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/martflow.h>

#include "gsp_text.h"
#include "gsp_wire.h"

/* The longest text kept: longer ones are cut. */
#define GSP_BTEXT_MAX GSP_TEXT_MAX

typedef struct gsp_btext {
    char *s;
    uint32_t len, cap;
} gsp_btext;

/* Set t to (s, len), cut to GSP_BTEXT_MAX; len 0 empties it. */
void gsp_btext_set(gsp_btext *t, const char *s, size_t len);
/* Set t only when len > 0 (a field the event has). */
void gsp_btext_take(gsp_btext *t, const char *s, size_t len);
/* Whether t is (s, len) once cut as gsp_btext_set would cut it. */
bool gsp_btext_eq(const gsp_btext *t, const char *s, size_t len);
void gsp_btext_free(gsp_btext *t);

void gsp_btext_save(const gsp_btext *t, const mf_host *host, mf_buffer *out);
/* Read a text gsp_btext_save wrote into t (emptied first); false when malformed. */
bool gsp_btext_load(gsp_btext *t, gsp_reader *r);

#endif
