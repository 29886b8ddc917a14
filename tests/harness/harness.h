/*
 * harness.h — drive one plugin instance in-process, without threads or a
 * pipeline: push records and call process, poll a source, then look at what
 * it emitted on each port, what it logged, and which inputs were acknowledged.
 * The fake host shares the engine's option, record and ack code, so a plugin
 * sees the same behaviour as in `martflow run` (in the spirit of GstHarness).
 */
#ifndef MF_HARNESS_H
#define MF_HARNESS_H

#include <martflow/martflow.h>
#include <stdbool.h>

typedef struct mfh mfh;

/* Open plugin kind/name from MARTFLOW_PLUGIN_PATH, or a descriptor linked into
 * the test. config_yaml: the node's map as YAML ("path: x\nformat: value"), may
 * be NULL. Options are validated and filled; init is NOT called yet. NULL with
 * *error (malloc'd) on failure (unknown plugin, option errors with locations). */
mfh *mfh_open(mf_kind kind, const char *name, const char *config_yaml, char **error);
mfh *mfh_open_desc(const mf_plugin_desc *desc, const char *config_yaml, char **error);
int mfh_init(mfh *h);
/* Calls free (if init was called) and releases everything. */
void mfh_close(mfh *h);

/* Transforms and sinks: queue an input record (key may be NULL; value text,
 * or NULL for no value), then hand all queued records to process() as one
 * batch; the batch is released afterwards as the engine does. */
void mfh_push(mfh *h, const char *key, const char *value);
/* Queue a copy of a full record (headers, time, origin, json); its ack is the
 * harness's own, whatever rec->ack says. */
void mfh_push_record(mfh *h, const mf_record *rec);
/* The node's input comes from n upstream workers (default 1): its
 * stream_count is at least n from the start, as the engine counts a
 * placeholder per upstream worker. Each (origin topic, partition) of the
 * records pushed is a stream (record_stream), numbered as they come. */
void mfh_set_upstreams(mfh *h, uint32_t n);
int mfh_process(mfh *h);

/* Sources. */
int mfh_poll(mfh *h, int timeout_ms);
/* Deliver completed acks to the source's ack(); returns how many. */
size_t mfh_deliver_acks(mfh *h);

int mfh_flush(mfh *h, mf_flush_reason reason);
int mfh_tick(mfh *h);
int mfh_stop(mfh *h);
int mfh_snapshot(mfh *h, uint64_t checkpoint_id, mf_buffer *out);
int mfh_restore(mfh *h, const uint8_t *data, size_t len);
int64_t mfh_tick_interval(const mfh *h);

/* What was emitted (since the last mfh_consume) on a port. */
size_t mfh_count(mfh *h, const char *port);
mf_record *mfh_record(mfh *h, const char *port, size_t i);
/* The value as text (serialised when the JSON was edited); "" if none. */
const char *mfh_value(mfh *h, const char *port, size_t i);
/* A header's value as text, or NULL. */
const char *mfh_header(mfh *h, const char *port, size_t i, const char *name);
/* Downstream handled everything emitted: release it and clear the capture. */
void mfh_consume(mfh *h);

/* Input records (in push order) whose acknowledgement completed. */
bool mfh_input_acked(mfh *h, size_t index);
size_t mfh_inputs(const mfh *h);

/* Everything the plugin logged, one line per message ("level: text"). */
const char *mfh_log(const mfh *h);
/* A metric the plugin registered: "name" (the first one, whatever its labels)
 * or exactly "name{labels}"; -1 if unknown. */
double mfh_metric(mfh *h, const char *name);

/* host->data_dir: a temporary directory of this harness, made on first use
 * and removed by mfh_close. mfh_set_data_dir (before init) uses `dir`
 * instead and leaves it in place, so a second harness can play the restart
 * of a node on the first one's state. */
const char *mfh_data_dir(mfh *h);
void mfh_set_data_dir(mfh *h, const char *dir);

void *mfh_ctx(mfh *h);
const mf_plugin_desc *mfh_desc(const mfh *h);

#endif
