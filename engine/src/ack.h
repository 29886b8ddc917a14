/*
 * ack.h — end-to-end acknowledgement tokens.
 *
 * Every record holds one reference on an mf_ack. A source's token covers what
 * one poll() emitted; when its count reaches zero every record derived from it
 * has been handled by every sink it reached (or deliberately dropped), and the
 * token is queued on its source's tracker, whose thread delivers it to the
 * plugin's ack() callback. A group token (outputs derived from many inputs)
 * holds references on its parent tokens and drops them when it completes.
 * Counting is lock-free; completion takes the tracker's mutex once per token.
 */
#ifndef MF_ACK_H
#define MF_ACK_H

#include <stdbool.h>
#include <stdint.h>

#include <martflow/record.h>

typedef struct mf_ack_tracker mf_ack_tracker;
/* The tokens of one runtime (or test harness): freed together at its end. */
typedef struct mf_ack_domain mf_ack_domain;

mf_ack_domain *mf_ack_domain_new(void);
/* Free the domain and every token of it still alive (trackers drained first). */
void mf_ack_domain_free(mf_ack_domain *d);

mf_ack_tracker *mf_ack_tracker_new(mf_ack_domain *d);
void mf_ack_tracker_free(mf_ack_tracker *t);

/* A new token of this tracker with one reference (the creator's). */
mf_ack *mf_ack_new_source(mf_ack_tracker *t, void *cookie);
void mf_ack_set_cookie(mf_ack *a, void *cookie);
/* A new group token with one reference (the creator's). */
mf_ack *mf_ack_new_group(mf_ack_domain *d);
/* The group holds one more reference on parent until the group completes. */
void mf_ack_group_add(mf_ack *group, mf_ack *parent);

void mf_ack_ref(mf_ack *a, int64_t n);
void mf_ack_unref(mf_ack *a, int64_t n);

/* Call cb(arg, cookie) for each completed token (completion order) and free
 * them. Returns how many. Only the source's own thread calls this. */
size_t mf_ack_tracker_drain(mf_ack_tracker *t, void (*cb)(void *arg, void *cookie), void *arg);
/* Tokens created and not yet drained. */
uint64_t mf_ack_tracker_outstanding(mf_ack_tracker *t);
/* Wait until a token completes, mf_ack_tracker_wake is called, or timeout_ms. */
void mf_ack_tracker_wait(mf_ack_tracker *t, int timeout_ms);
void mf_ack_tracker_wake(mf_ack_tracker *t);


#endif
