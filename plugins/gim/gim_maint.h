/*
 * gim_maint.h — the maintenance job kind (gim_jobs.h; docs/plugins/gim.md,
 * "Maintenance"): DATE_TIME kept ahead, old facts purged, statistics
 * refreshed. Options of a job of kind maintenance:
 *
 *   date_time_days_ahead: 366          DATE_TIME rows up to now + this many days (0..36600)
 *   keep_days: {interaction_fact: 400} days to keep, per fact table (0: never purged)
 *   keep_days_default: 400             for the fact tables keep_days does not name
 *   batch_rows: 10000                  rows deleted per batch (100..1000000)
 *
 * The fact tables: every table named *_fact with an end_ts column. A row is
 * purged when its end_ts is older than now - keep days; a NULL end_ts (still
 * active) never is. Each batch is one short statement of its own (its own
 * transaction): DELETE by ctid of at most batch_rows rows, locked FOR UPDATE
 * SKIP LOCKED so a purge never waits on (nor deadlocks with) the loader's
 * cycle: the rows it holds are left for the next run. A batch refused with a
 * deadlock or serialization failure (40P01, 40001) is retried. One
 * ctl_purge_history row per table per run; then ANALYZE of the tables that
 * lost rows. Partitioning is not built.
 */
#ifndef MF_GIM_MAINT_H
#define MF_GIM_MAINT_H

#include "gim_jobs.h"

extern const gim_job_kind gim_maint_kind;

#endif
