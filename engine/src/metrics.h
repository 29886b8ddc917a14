/*
 * metrics.h — counters and gauges, rendered in the Prometheus text format.
 * Values are atomics (updates take no lock); registration and rendering take
 * the registry's mutex. Samplers refresh gauges (queue depths) just before a
 * scrape instead of on the hot path.
 */
#ifndef MF_METRICS_H
#define MF_METRICS_H

#include <martflow/plugin.h>

#include "util.h"

typedef struct mf_metrics mf_metrics;

typedef enum mf_metric_type { MF_METRIC_COUNTER, MF_METRIC_GAUGE } mf_metric_type;

mf_metrics *mf_metrics_new(void);
void mf_metrics_free(mf_metrics *m);

/* Find or create; the registry owns the metric. labels: Prometheus label pairs
 * without braces, or NULL. A name has one type: asking for a name already
 * registered with the other type (under any labels) logs an error naming the
 * metric and both types and returns NULL. For a plugin (host counter()/gauge())
 * that is a reported mistake it can survive; for an engine-internal name it is
 * a programming error. */
mf_metric *mf_metrics_get(mf_metrics *m, mf_metric_type type, const char *name, const char *labels,
                          const char *help);
void mf_metrics_add_sampler(mf_metrics *m, void (*fn)(void *arg), void *arg);

/* Updating or reading a NULL metric is a no-op (reads 0). */
void mf_metric_add(mf_metric *metric, double v);
void mf_metric_set(mf_metric *metric, double v);
double mf_metric_value(const mf_metric *metric);

/* Call fn for each metric named `name` (labels without braces, "" for none),
 * in registration order, holding the registry's lock: fn must not call into
 * the registry. Returns how many there were. */
size_t mf_metrics_each(mf_metrics *m, const char *name,
                       void (*fn)(void *arg, const char *labels, mf_metric_type type, double value), void *arg);

/* A renderer appends more text after the registry's own metrics at every
 * render (outside the lock; it may call mf_metrics_each). Metric aliases
 * (metric_alias.h) are one. */
void mf_metrics_add_renderer(mf_metrics *m, void (*fn)(void *arg, mf_str *out), void *arg);

/* Render every metric (after running the samplers), then the renderers. */
void mf_metrics_render(mf_metrics *m, mf_str *out);

#endif
