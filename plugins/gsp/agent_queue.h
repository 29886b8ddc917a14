/*
 * agent_queue.h — the events of one agent not yet applied: kept as their
 * record values (with the event as decoded when it came, packed, unless it
 * could not be packed or came from a snapshot: then it is decoded again),
 * sorted by (time, seq, id), exact duplicates refused, until the watermark
 * passes them (then they are applied in that order, agent_model.h). Also
 * remembers the last events applied, so a duplicate of one of them is told
 * from a late event.
 *
 * One input topic may be read far ahead of another (the agent-state events
 * of a whole day before the call events catch up): the queue is an array
 * with room at both ends, searched by bisection, so events that go in
 * anywhere and leave at the front cost little.
 *
 * Ownership: an aq_queue owns copies of the values (aq_free). Zeroed is
 * empty.
 */
#ifndef GSP_AGENT_QUEUE_H
#define GSP_AGENT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/martflow.h>

#include "gsp_wire.h"
#include "voice_event.h"

/* An event's place in the order. */
typedef struct aq_pos {
    int64_t time_ms, seq;
    uint8_t id;
} aq_pos;

typedef struct aq_entry {
    aq_pos pos;
    gsp_packed_event *ev; /* the decoded event, its strings in value; NULL: decode value again */
    uint8_t *value;       /* the record value, owned (in one block with ev) */
    uint32_t len;
} aq_entry;

#define AQ_RECENT 16 /* applied events remembered for duplicate detection */

typedef struct aq_queue {
    aq_entry *v; /* the queued events are v[head .. head + n) */
    uint32_t head, n, cap;
    /* the last applied events, a ring; applied: the latest of them */
    aq_pos recent[AQ_RECENT];
    uint32_t n_recent, next_recent;
    aq_pos applied;
    bool any_applied;
} aq_queue;

typedef enum aq_result { AQ_ADDED, AQ_DUPLICATE, AQ_LATE } aq_result;

/* Queue a copy of value at pos, and of ev when not NULL (an event packed
 * against value: gsp_event_pack). AQ_DUPLICATE: the same position is queued
 * or among the last applied; AQ_LATE: at or before the last applied event
 * (it can no longer be ordered in). */
aq_result aq_add(aq_queue *q, aq_pos pos, const void *value, size_t len, const gsp_packed_event *ev);
/* The first queued event, or NULL. */
const aq_entry *aq_first(const aq_queue *q);
/* Drop the first queued event, recording it as applied. */
void aq_pop(aq_queue *q);
size_t aq_bytes(const aq_queue *q);
void aq_free(aq_queue *q);

void aq_save(const aq_queue *q, const mf_host *host, mf_buffer *out);
/* Fill a zeroed queue; false (queue freed) on malformed bytes. */
bool aq_load(aq_queue *q, gsp_reader *r);

#endif
