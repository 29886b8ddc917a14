/*
 * transform stamp — an out-of-tree plugin: adds {"stamp": <label>,
 * "stamped_at": <epoch ms>} to every JSON object record; other records are
 * rejected. It uses only the host table, so it needs no library of martflow:
 *
 *   cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags martflow) \
 *      transform_stamp.c -o transform_stamp.so $(pkg-config --libs jansson)
 *
 * and put transform_stamp.so on the plugin path (--plugin-path DIR, or
 * MARTFLOW_PLUGIN_PATH). The file name must be <kind>_<name>.so.
 */
#include <martflow/martflow.h>

struct stamp {
    const char *label;     /* option, filled by the engine */
    mf_node *node;
    const mf_host *host;
    mf_metric *stamped;
};

static const mf_option options[] = {
    MF_OPTION(MF_OPT_STRING, "label", "stamped", 0, struct stamp, label, "Value of the added 'stamp' field"),
    MF_OPTION_END,
};

static int init(void *ctx, mf_node *node, const mf_host *host)
{
    struct stamp *s = ctx;
    s->node = node;
    s->host = host;
    s->stamped = host->counter(node, "martflow_stamp_records_total", NULL, "Records stamped");
    host->log(node, MF_LOG_INFO, "stamping records with '%s'", s->label);
    return MF_OK;
}

static int process(void *ctx, mf_batch *batch)
{
    struct stamp *s = ctx;
    for (size_t i = 0; i < batch->count; i++) {
        mf_record *r = &batch->records[i];
        const char *error = NULL;
        json_t *v = s->host->record_json_mut(s->node, r, &error);
        if (!v) {
            s->host->reject(s->node, r, "%s", error);
            continue;
        }
        if (!json_is_object(v)) {
            s->host->reject(s->node, r, "not a JSON object");
            continue;
        }
        json_object_set_new(v, "stamp", json_string(s->label));
        json_object_set_new(v, "stamped_at", json_integer(s->host->now_ms()));
        s->host->emit(s->node, MF_PORT_DEFAULT, r, NULL);
    }
    s->host->metric_add(s->stamped, (double)batch->count);
    return MF_OK;
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_TRANSFORM,
    .name = "stamp",
    .version = "1.0.0",
    .description = "Example out-of-tree transform: stamp records with a label and the time",
    .options = options,
    .ctx_size = sizeof(struct stamp),
    .init = init,
    .process = process,
};
