/*
 * gim_loader.h — the loader's background thread: it runs one ETL cycle
 * (gim_cycle_run) at a time off the sink's thread, so that the sink goes on
 * taking and encoding the records of the next cycle while the database works
 * on this one.
 *
 * The sink hands over a cycle whose input is node-free (gim_cycle_in.node
 * NULL, see gim_cycle.h) and touches nothing the cycle uses (the connection,
 * the dims and forget caches, the cycle state, the records' byte forms) until
 * it has collected the result; everything with host calls that take the node
 * (logs, rejects, readiness, settling the acks) stays on the sink's thread.
 *
 * Ownership: the loader borrows cy, in (and what it points to) and out from
 * gim_loader_start until gim_loader_collect returns true.
 */
#ifndef MF_GIM_LOADER_H
#define MF_GIM_LOADER_H

#include <stdbool.h>

#include "gim_cycle.h"

typedef struct gim_loader gim_loader;

/* Start the thread. NULL when it cannot be started (errno set). */
gim_loader *gim_loader_new(void);

/* Wait for the cycle in flight, if any, stop the thread and free. NULL is fine. */
void gim_loader_free(gim_loader *l);

/* Run gim_cycle_run(cy, in, out) on the thread. None may be in flight. */
void gim_loader_start(gim_loader *l, gim_cycle *cy, const gim_cycle_in *in, gim_cycle_out *out);

/* A cycle was started and not collected yet. */
bool gim_loader_busy(const gim_loader *l);

/*
 * The cycle in flight ended: true with its result in *cls (out filled), and
 * the loader free again. Waits at most wait_ms for it (0: not at all, <0: as
 * long as it takes). False when it has not ended (or none is in flight).
 */
bool gim_loader_collect(gim_loader *l, int64_t wait_ms, pgc_class *cls);

#endif
