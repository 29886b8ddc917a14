/*
 * call_store.h — the events of one call thread, as the callthread transform
 * keeps them: compact, sorted by (time, seq, id), exact duplicates refused,
 * strings interned once per thread. The facts are computed from the whole
 * sorted list (call_model.h) whenever they are emitted, so out-of-order
 * arrival within the bound and a late event both give the facts the ordered
 * input would have given.
 *
 * Ownership: a ct_store owns its arrays (ct_store_free). Zeroed is empty.
 */
#ifndef GSP_CALL_STORE_H
#define GSP_CALL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/martflow.h>

#include "voice_event.h"

/* One stored event: strings are indices into the store's table (0: absent). */
typedef struct ct_event {
    int64_t time_ms;
    int64_t seq;
    uint8_t id;        /* gsp_event_id */
    uint8_t call_type; /* gsp_call_type */
    uint8_t dn_type;   /* gsp_dn_type */
    uint8_t reserved;
    uint16_t conn, prev_conn, this_dn, other_dn, third_dn, agent, place, call_id, ani, dnis;
} ct_event;

typedef struct ct_store {
    ct_event *ev;
    uint32_t n_ev, cap_ev;
    char *arena; /* NUL-terminated strings, back to back */
    uint32_t arena_len, arena_cap;
    uint32_t *str_off; /* string i (1-based) starts at arena + str_off[i - 1] */
    uint32_t n_str, cap_str;
} ct_store;

typedef enum ct_add_result { CT_ADDED, CT_DUPLICATE, CT_FULL } ct_add_result;

/* Add a decoded event (its strings copied). CT_DUPLICATE: an event with the
 * same id, time and seq is stored already (nothing changes). CT_FULL: the
 * thread holds max_events events, or 65535 distinct strings. */
ct_add_result ct_store_add(ct_store *s, const gsp_voice_event *e, uint32_t max_events);
/* Whether an event of the store has this ConnID (a call of the thread seen
 * before; the calls-created metric counts the others). */
bool ct_store_has_conn(const ct_store *s, const gsp_str *conn);
/* String i (NUL-terminated; "" for 0), and its length when len is not NULL. */
const char *ct_str(const ct_store *s, uint16_t i, size_t *len);
/* Bytes of memory the store holds (for the state-size metric and bench). */
size_t ct_store_bytes(const ct_store *s);
void ct_store_free(ct_store *s);

/* Snapshot bytes: append to out / rebuild an empty store from data. load
 * returns false on malformed bytes (the store is then freed) and consumes
 * exactly what save wrote (*used). */
void ct_store_save(const ct_store *s, const mf_host *host, mf_buffer *out);
bool ct_store_load(ct_store *s, const uint8_t *data, size_t len, size_t *used);

#endif
