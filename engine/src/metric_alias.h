/*
 * metric_alias.h — settings.metric_aliases: metrics exposed again under
 * another product's names (the guide's flink_* names for GSP), so that its
 * dashboards and alerts work unchanged while plugins know only their own
 * martflow_* names.
 *
 *   metric_aliases:
 *     flink_taskmanager_job_task_operator_numCallsCreated:
 *       metric: martflow_callthread_calls_created_total   # required
 *       match: {node: [callthread]}   # only series with these label values
 *       aggregate: sum                # none (default) | sum | min | max
 *       rate: 60s                     # per-second rate over this window
 *       type: gauge                   # default: the metric's own (rate: gauge)
 *       help: "..."                   # default: names the metric
 *       labels: {operator_name: x}    # constant labels added (replacing)
 *
 * aggregate none renders one series per matching series, its labels kept;
 * sum/min/max render one series without labels (but `labels:`), a sum of
 * nothing being 0. A rate is sampled every second by the runtime's main loop
 * and rendered as (value now - value at the oldest sample within the window)
 * / elapsed seconds; 0 until two samples exist. Rendering happens at scrape
 * time, after the registry's own metrics (a renderer, metrics.h).
 *
 * Ownership: the set owns everything it parsed (copies of the config's
 * strings); attach borrows the registry, which must outlive the set's last
 * render (stop the HTTP listener before freeing either).
 */
#ifndef MF_METRIC_ALIAS_H
#define MF_METRIC_ALIAS_H

#include <stdint.h>

#include "config.h"
#include "metrics.h"

typedef struct mf_metric_aliases mf_metric_aliases;

/* Parse and check settings.metric_aliases of cfg's tree: every problem goes
 * to diag at its file:line:col. Returns the set (empty when the key is
 * absent) or NULL after an error. */
mf_metric_aliases *mf_metric_aliases_load(const mf_config *cfg, mf_diag *diag);

/* Render the aliases with m's metrics from now on. Logs (once, at start) an
 * alias whose metric no node registered, and refuses (error log; that alias
 * is not rendered) one whose name a node registered itself. */
void mf_metric_aliases_attach(mf_metric_aliases *a, mf_metrics *m);

/* Take the rate samples due at now_ms (monotonic); cheap when none is due. */
void mf_metric_aliases_sample(mf_metric_aliases *a, int64_t now_ms);

void mf_metric_aliases_free(mf_metric_aliases *a);

#endif
