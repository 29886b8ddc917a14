/*
 * backoff.h — retry delays with "full jitter": a uniformly random delay in
 * [0, min(cap, base * 2^attempt)], so many retrying workers spread out instead
 * of hammering a recovering server in lockstep.
 */
#ifndef MF_BACKOFF_H
#define MF_BACKOFF_H

#include <stdint.h>

#include <martflow/helpers.h> /* mf_backoff_delay_ms */

uint64_t mf_rand_next(uint64_t *state);

#endif
