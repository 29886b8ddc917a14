/*
 * gim_cron.h — cron-like schedules for the gim sink's jobs (`at:`,
 * docs/plugins/gim.md "Jobs"): five fields, in UTC,
 *
 *   minute (0-59)  hour (0-23)  day of month (1-31)  month (1-12)  day of week (0-7, 0 and 7 Sunday)
 *
 * each `*`, a number, a range `a-b`, a step `*` `/n`, `a-b/n` or `a/n` (a to
 * the field's end), or a comma-separated list of those. As in cron, when
 * both day of month and day of week are restricted (neither starts with
 * `*`), a day matches when either does; otherwise both must. No names (JAN,
 * MON), no @daily, no seconds, no time zones: UTC only (so no DST).
 *
 * Ownership: a gim_cron is a plain value (no allocation).
 */
#ifndef MF_GIM_CRON_H
#define MF_GIM_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gim_cron {
    uint64_t minute; /* bit i: minute i matches */
    uint32_t hour;
    uint32_t mday;   /* bits 1..31 */
    uint16_t month;  /* bits 1..12 */
    uint8_t wday;    /* bits 0..6 (7 folded into 0) */
    bool mday_star, wday_star;
} gim_cron;

/* Parse expr into *c. false with why (size bytes) when it is not one, or
 * when it never fires (e.g. "0 0 30 2 *"). */
bool gim_cron_parse(const char *expr, gim_cron *c, char *why, size_t size);

/* The first time after `after` (epoch seconds, UTC) at which c fires: a
 * whole minute > after. -1 when none within 8 years (never for a parsed c). */
int64_t gim_cron_next(const gim_cron *c, int64_t after);

#endif
