/* pipeline.c — see pipeline.h. */
#include "pipeline.h"

#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#ifndef MF_PLUGINDIR
#define MF_PLUGINDIR "/usr/local/lib/martflow"
#endif

static const mf_option settings_options[] = {
    MF_OPTION(MF_OPT_LIST, "plugin_path", NULL, 0, mf_settings, plugin_path,
              "Directories searched for plugins before MARTFLOW_PLUGIN_PATH (relative to this file)"),
    MF_OPTION(MF_OPT_STRING, "metrics_listen", "", 0, mf_settings, metrics_listen,
              "host:port of the operations listener: /metrics, /healthz, /readyz, POST /savepoint; empty: none"),
    MF_OPTION(MF_OPT_BOOL, "remote_operations", "false", 0, mf_settings, remote_operations,
              "Accept POST /savepoint from other hosts too; false: from loopback addresses only"),
    MF_OPTION_RANGE(MF_OPT_INT, "queue_records", "1024", 0, mf_settings, queue_records, 1, 1e9,
                    "Records an edge queue holds before its producer blocks"),
    MF_OPTION_RANGE(MF_OPT_SIZE, "queue_bytes", "16MiB", 0, mf_settings, queue_bytes, 1024, 1e12,
                    "Bytes an edge queue holds before its producer blocks"),
    MF_OPTION_RANGE(MF_OPT_INT, "batch_records", "256", 0, mf_settings, batch_records, 1, 1e6,
                    "Records per batch a node emits"),
    MF_OPTION_RANGE(MF_OPT_SIZE, "batch_bytes", "1MiB", 0, mf_settings, batch_bytes, 1024, 1e10,
                    "Bytes per batch a node emits"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "grace_period", "30s", 0, mf_settings, grace_ms, 0, 864e5,
                    "On SIGTERM: time to drain queues and flush sinks before exiting anyway"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "checkpoint_interval", "5s", 0, mf_settings, checkpoint_ms, 0, 864e5,
                    "Time between checkpoints (sinks make writes durable, sources commit); 0: none"),
    MF_OPTION(MF_OPT_STRING, "checkpoints", "", 0, mf_settings, checkpoints,
              "Checkpoint store: s3://BUCKET/PREFIX or file:///DIR (state snapshots and source positions, see "
              "docs/checkpoints.md); empty: none"),
    MF_OPTION_RANGE(MF_OPT_INT, "checkpoint_retain", "3", 0, mf_settings, checkpoint_retain, 1, 1e6,
                    "Complete checkpoints kept in the store; older ones are deleted"),
    MF_OPTION(MF_OPT_STRING, "savepoints", "", 0, mf_settings, savepoints,
              "Savepoint location: s3://BUCKET/PREFIX or file:///DIR (`martflow savepoint`; needs checkpoints; "
              "never deleted by retention); empty: none"),
    MF_OPTION(MF_OPT_STRING, "s3_endpoint", "", 0, mf_settings, s3_endpoint,
              "s3:// locations (checkpoints, savepoints, the GCA snapshot): the server, e.g. http://127.0.0.1:7070; empty: AWS in s3_region"),
    MF_OPTION(MF_OPT_STRING, "s3_region", "", 0, mf_settings, s3_region,
              "s3:// locations (checkpoints, savepoints, the GCA snapshot): the region; empty: us-east-1"),
    MF_OPTION(MF_OPT_STRING, "s3_access_key", "", 0, mf_settings, s3_access_key,
              "s3:// locations (checkpoints, savepoints, the GCA snapshot): the access key id"),
    MF_OPTION(MF_OPT_SECRET, "s3_secret_key", "", 0, mf_settings, s3_secret_key,
              "s3:// locations (checkpoints, savepoints, the GCA snapshot): the secret access key"),
    MF_OPTION(MF_OPT_STRING, "s3_secret_file", "", 0, mf_settings, s3_secret_file,
              "s3://: a JSON file {\"accessKey\", \"secretKey\"} (a mounted Kubernetes secret); its values win "
              "over s3_access_key and s3_secret_key"),
    MF_OPTION(MF_OPT_BOOL, "s3_path_style", "false", 0, mf_settings, s3_path_style,
              "s3:// locations (checkpoints, savepoints, the GCA snapshot): ENDPOINT/BUCKET/KEY addressing instead of BUCKET.ENDPOINT"),
    MF_OPTION(MF_OPT_STRING, "s3_ca_file", "", 0, mf_settings, s3_ca_file,
              "s3:// locations over https: PEM bundle to verify the server with; empty: the system's"),
    MF_OPTION(MF_OPT_BOOL, "s3_insecure", "false", 0, mf_settings, s3_insecure,
              "s3:// locations over https: do not verify the server's certificate (tests only)"),
    MF_OPTION(MF_OPT_STRING, "tenant", "", 0, mf_settings, tenant, "Tenant this pipeline serves"),
    MF_OPTION(MF_OPT_STRING, "data_dir", "", 0, mf_settings, data_dir,
              "Directory for the nodes' small state files; empty: $MARTFLOW_DATA_DIR/<pipeline>, else "
              "$XDG_STATE_HOME or ~/.local/state /martflow/<pipeline>"),
    MF_OPTION_ENUM("log_level", NULL, 0, mf_settings, log_level, "error|warn|info|debug|trace",
                   "Log level (the command line's --log-level wins)"),
    MF_OPTION_RANGE(MF_OPT_INT, "retry_max", "0", 0, mf_settings, retry_max, 0, 1e9,
                    "Retries of a failing batch before the node fails; 0: without limit"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "retry_base", "100ms", 0, mf_settings, retry_base_ms, 1, 36e5,
                    "First retry backoff (full jitter, doubling)"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "retry_cap", "30s", 0, mf_settings, retry_cap_ms, 1, 864e5,
                    "Longest retry backoff"),
    /* checked and used by metric_alias.c (the settings are not its to store) */
    {.name = "metric_aliases", .type = MF_OPT_JSON, .offset = MF_OPT_NOFIELD,
     .doc = "Map: exported name -> {metric, match, aggregate, rate, type, help, labels}: metrics again under other "
            "names (see Metric aliases)"},
    MF_OPTION_END,
};

static const mf_option node_options[] = {
    MF_OPTION(MF_OPT_STRING, "plugin", NULL, MF_OPT_REQUIRED, mf_node_keys, plugin, "Plugin name"),
    MF_OPTION(MF_OPT_LIST, "inputs", NULL, 0, mf_node_keys, inputs,
              "Upstream outputs: 'node' (its default port) or 'node.port'"),
    MF_OPTION(MF_OPT_LIST, "broadcast", NULL, 0, mf_node_keys, broadcast,
              "Entries of 'inputs' whose records reach every worker of a parallel node instead of one by key"),
    MF_OPTION(MF_OPT_LIST, "after", NULL, 0, mf_node_keys, after,
              "Sources only: other sources whose input must have ended before this one reads (a snapshot before "
              "the topic that continues it)"),
    MF_OPTION(MF_OPT_BOOL, "enabled", "true", 0, mf_node_keys, enabled,
              "Sources only: false leaves the source out of the run (checked, not started; the inputs that name "
              "it carry nothing), e.g. a generator when a file is given instead"),
    MF_OPTION_RANGE(MF_OPT_INT, "parallelism", "1", 0, mf_node_keys, parallelism, 1, 256,
                    "Transform workers; records are routed by key hash"),
    MF_OPTION(MF_OPT_LIST, "ports", NULL, 0, mf_node_keys, ports,
              "Extra output ports (plugins with dynamic ports, e.g. lua)"),
    MF_OPTION_RANGE(MF_OPT_INT, "queue_records", "0", 0, mf_node_keys, queue_records, 0, 1e9,
                    "This node's input queue bound in records; 0: the pipeline's"),
    MF_OPTION(MF_OPT_SIZE, "queue_bytes", "0", 0, mf_node_keys, queue_bytes,
              "This node's input queue bound in bytes; 0: the pipeline's"),
    MF_OPTION_RANGE(MF_OPT_INT, "retry_max", "-1", 0, mf_node_keys, retry_max, -1, 1e9,
                    "Retries before the node fails; -1: the pipeline's; 0: without limit"),
    MF_OPTION(MF_OPT_DURATION, "retry_base", "0", 0, mf_node_keys, retry_base_ms,
              "First retry backoff; 0: the pipeline's"),
    MF_OPTION(MF_OPT_DURATION, "retry_cap", "0", 0, mf_node_keys, retry_cap_ms,
              "Longest retry backoff; 0: the pipeline's"),
    MF_OPTION_END,
};

const char *const mf_node_reserved_keys[] = {"plugin", "inputs", "broadcast", "after", "enabled", "parallelism", "ports", "queue_records",
                                             "queue_bytes", "retry_max", "retry_base", "retry_cap", NULL};

static const char *const sections[] = {"sources", "transforms", "sinks"};
static const mf_kind section_kinds[] = {MF_KIND_SOURCE, MF_KIND_TRANSFORM, MF_KIND_SINK};

const char *mf_node_what(const mf_node_def *n)
{
    static __thread char buf[256];
    snprintf(buf, sizeof buf, "node '%s' (%s %s)", n->name, mf_kind_name(n->kind),
             n->plugin ? n->plugin->desc.name : "?");
    return buf;
}

int mf_node_port_id(const mf_node_def *n, const char *port)
{
    for (size_t i = 0; i < n->n_ports; i++)
        if (strcmp(n->ports[i], port) == 0)
            return (int)i;
    return -1;
}

void mf_registry_add_default_dirs(mf_registry *reg)
{
    mf_registry_add_dirs(reg, getenv("MARTFLOW_PLUGIN_PATH"));
    mf_registry_add_dirs(reg, MF_PLUGINDIR);
}

static bool valid_node_name(const char *name)
{
    if (!*name)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-'))
            return false;
    return true;
}

bool mf_pipeline_apply_set(mf_config *cfg, const char *assignment, mf_diag *diag)
{
    static const char *const origin = "--set";
    mf_loc loc = {.file = origin};
    const char *eq = strchr(assignment, '=');
    const char *dot = strchr(assignment, '.');
    if (!eq || !dot || dot > eq || dot == assignment || eq == dot + 1) {
        mf_diag_error(diag, loc, "'%s': expected node.option=value", assignment);
        return false;
    }
    char *node = mf_xstrndup(assignment, (size_t)(dot - assignment));
    char *key = mf_xstrndup(dot + 1, (size_t)(eq - dot - 1));
    json_t *root = mf_config_root(cfg);
    json_t *target = NULL;
    if (strcmp(node, "settings") == 0) {
        target = json_object_get(root, "settings");
        if (!target) {
            target = json_object();
            json_object_set_new(root, "settings", target);
        }
    } else {
        for (size_t s = 0; s < MF_ARRAY_LEN(sections) && !target; s++)
            target = json_object_get(json_object_get(root, sections[s]), node);
    }
    bool ok = json_is_object(target);
    if (!ok)
        mf_diag_error(diag, loc, "'%s': no node named '%s'", assignment, node);
    else {
        json_object_set_new(target, key, json_string(eq + 1));
        mf_config_set_loc(cfg, target, key, loc);
    }
    free(node);
    free(key);
    return ok;
}

static void node_def_free(mf_node_def *n)
{
    free(n->name);
    for (size_t p = 0; p < n->n_ports; p++)
        free(n->ports[p]);
    free(n->ports);
    free(n->inputs);
    mf_optvals_free(n->key_vals);
}

void mf_pipeline_def_free(mf_pipeline_def *def)
{
    if (!def)
        return;
    for (size_t i = 0; i < def->n_nodes; i++)
        node_def_free(&def->nodes[i]);
    free(def->nodes);
    for (size_t i = 0; i < def->n_disabled; i++)
        node_def_free(&def->disabled[i]);
    free(def->disabled);
    mf_optvals_free(def->settings_vals);
    free(def->name);
    mf_config_free(def->cfg);
    free(def);
}

static void add_port(mf_node_def *n, const char *name)
{
    if (mf_node_port_id(n, name) >= 0)
        return;
    n->ports = mf_xrealloc(n->ports, (n->n_ports + 1) * sizeof *n->ports);
    n->ports[n->n_ports++] = mf_xstrdup(name);
}

static void add_plugin_dirs(mf_pipeline_def *def, mf_registry *reg)
{
    char *file = mf_xstrdup(mf_config_file(def->cfg));
    const char *base = dirname(file);
    for (size_t i = 0; i < def->settings.plugin_path.count; i++) {
        const char *d = def->settings.plugin_path.items[i];
        char *full = d[0] == '/' ? mf_xstrdup(d) : mf_xasprintf("%s/%s", base, d);
        mf_registry_add_dirs(reg, full);
        free(full);
    }
    free(file);
}

/* A plugin's validate() reports through this: each problem becomes a
 * diagnostic at the place in the file of the value it names. */
struct node_check {
    const mf_config *cfg;
    const mf_node_def *node;
    mf_diag *diag;
};

static MF_PRINTF(3, 4) void check_problem(mf_check *check, const json_t *at, const char *fmt, ...)
{
    const struct node_check *nc = check->engine;
    va_list ap;
    va_start(ap, fmt);
    char *msg = mf_xvasprintf(fmt, ap);
    va_end(ap);
    mf_loc loc = at ? mf_config_find_loc(nc->cfg, nc->node->config, at) : nc->node->loc;
    mf_diag_error(nc->diag, loc, "%s: %s", mf_node_what(nc->node), msg);
    free(msg);
}

/* The checks option declarations cannot express (ABI 1.1), on the raw node
 * map: the loader copied `validate` only if the plugin's descriptor has it. */
static void validate_node(const mf_config *cfg, const mf_node_def *n, mf_diag *diag)
{
    if (!n->plugin->desc.validate)
        return;
    struct node_check nc = {.cfg = cfg, .node = n, .diag = diag};
    mf_check check = {.problem = check_problem, .engine = &nc};
    n->plugin->desc.validate(n->config, &check);
}

/* Parse the nodes of one section. */
static void load_section(mf_pipeline_def *def, mf_registry *reg, size_t s, mf_diag *diag)
{
    mf_config *cfg = def->cfg;
    json_t *root = mf_config_root(cfg);
    json_t *sec = json_object_get(root, sections[s]);
    if (!sec)
        return;
    if (!json_is_object(sec)) {
        mf_diag_error(diag, mf_config_value_loc(cfg, root, sections[s]), "'%s' must be a map of named nodes",
                      sections[s]);
        return;
    }
    const char *name;
    json_t *v;
    json_object_foreach(sec, name, v) {
        mf_loc loc = mf_config_key_loc(cfg, sec, name);
        if (!valid_node_name(name)) {
            mf_diag_error(diag, loc, "node name '%s' may use only letters, digits, '_' and '-'", name);
            continue;
        }
        if (!json_is_object(v)) {
            mf_diag_error(diag, loc, "node '%s' must be a map with at least 'plugin:'", name);
            continue;
        }
        for (size_t i = 0; i < def->n_nodes; i++)
            if (strcmp(def->nodes[i].name, name) == 0)
                mf_diag_error(diag, loc, "node name '%s' is used twice (also at line %d)", name,
                              def->nodes[i].loc.line);
        def->nodes = mf_xrealloc(def->nodes, (def->n_nodes + 1) * sizeof *def->nodes);
        mf_node_def *n = &def->nodes[def->n_nodes++];
        memset(n, 0, sizeof *n);
        n->name = mf_xstrdup(name);
        n->kind = section_kinds[s];
        n->config = v;
        n->loc = loc;
        add_port(n, "default");
        add_port(n, "errors");

        /* `plugin: null` is YAML's null; it can only mean the plugin named null. */
        if (json_is_null(json_object_get(v, "plugin")))
            json_object_set_new(v, "plugin", json_string("null"));
        char what[256];
        snprintf(what, sizeof what, "node '%s'", name);
        n->key_vals = mf_options_apply(node_options, v, NULL, MF_OPTS_IGNORE_UNKNOWN, cfg, what, &n->keys, diag);
        if (!n->key_vals || !n->keys.plugin)
            continue;
        char *err = NULL;
        n->plugin = mf_registry_find(reg, n->kind, n->keys.plugin, &err);
        if (!n->plugin) {
            mf_diag_error(diag, mf_config_value_loc(cfg, v, "plugin"), "%s", err);
            free(err);
            continue;
        }
        const mf_plugin_desc *d = &n->plugin->desc;
        for (const char *const *p = d->ports; p && *p; p++)
            add_port(n, *p);
        if (n->keys.ports.count && !(d->flags & MF_PLUGIN_DYNAMIC_PORTS))
            mf_diag_error(diag, mf_config_key_loc(cfg, v, "ports"), "%s: plugin does not take 'ports'",
                          mf_node_what(n));
        for (size_t i = 0; i < n->keys.ports.count; i++) {
            const char *p = n->keys.ports.items[i];
            if (!valid_node_name(p))
                mf_diag_error(diag, mf_config_index_loc(cfg, json_object_get(v, "ports"), i),
                              "%s: bad port name '%s'", mf_node_what(n), p);
            else
                add_port(n, p);
        }
        if (!n->keys.enabled && n->kind != MF_KIND_SOURCE)
            mf_diag_error(diag, mf_config_key_loc(cfg, v, "enabled"),
                          "%s: only a source takes 'enabled' (a transform or sink is part of the graph)",
                          mf_node_what(n));
        if (n->keys.parallelism > 1 && n->kind != MF_KIND_TRANSFORM)
            mf_diag_error(diag, mf_config_key_loc(cfg, v, "parallelism"),
                          "%s: only transforms take 'parallelism'", mf_node_what(n));
        /* The plugin's own options, checked without an instance. */
        mf_optvals_free(mf_options_apply(d->options, v, mf_node_reserved_keys, 0, cfg, mf_node_what(n), NULL,
                                         diag));
        validate_node(cfg, n, diag);
    }
}

/* Move the sources with `enabled: false` out of the graph (node names were
 * checked for uniqueness among all nodes first). */
static void set_aside_disabled(mf_pipeline_def *def)
{
    size_t kept = 0;
    for (size_t i = 0; i < def->n_nodes; i++) {
        mf_node_def *n = &def->nodes[i];
        if (n->key_vals && n->kind == MF_KIND_SOURCE && !n->keys.enabled) {
            def->disabled = mf_xrealloc(def->disabled, (def->n_disabled + 1) * sizeof *def->disabled);
            def->disabled[def->n_disabled++] = *n;
        } else {
            def->nodes[kept++] = *n;
        }
    }
    def->n_nodes = kept;
}

static bool listed(const mf_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i], s) == 0)
            return true;
    return false;
}

/* Each `broadcast` entry names one of the node's inputs, spelled as there
 * (so `a` and `a.default` are different entries: one spelling, one meaning). */
static void check_broadcast(const mf_config *cfg, const mf_node_def *n, mf_diag *diag)
{
    json_t *b = json_object_get(n->config, "broadcast");
    for (size_t i = 0; i < n->keys.broadcast.count; i++) {
        const char *ref = n->keys.broadcast.items[i];
        if (listed(&n->keys.inputs, ref))
            continue;
        mf_loc loc = json_is_array(b) ? mf_config_index_loc(cfg, b, i) : mf_config_value_loc(cfg, n->config, "broadcast");
        mf_diag_error(diag, loc, "%s: broadcast '%s' is not one of its inputs", mf_node_what(n), ref);
    }
}

/* Each `after` entry of a source names another source of the pipeline (a
 * disabled one too: it has ended before the run starts). */
static void check_after(const mf_pipeline_def *def, const mf_node_def *n, mf_diag *diag)
{
    json_t *a = json_object_get(n->config, "after");
    for (size_t i = 0; i < n->keys.after.count; i++) {
        const char *name = n->keys.after.items[i];
        bool ok = false;
        for (size_t j = 0; j < def->n_nodes && !ok; j++)
            ok = def->nodes[j].kind == MF_KIND_SOURCE && &def->nodes[j] != n && strcmp(def->nodes[j].name, name) == 0;
        for (size_t j = 0; j < def->n_disabled && !ok; j++) /* disabled: nothing to wait for */
            ok = &def->disabled[j] != n && strcmp(def->disabled[j].name, name) == 0;
        if (ok)
            continue;
        mf_loc loc = json_is_array(a) ? mf_config_index_loc(def->cfg, a, i) : mf_config_value_loc(def->cfg, n->config, "after");
        mf_diag_error(diag, loc, "%s: after '%s' is not another source of the pipeline", mf_node_what(n), name);
    }
}

static void check_source_keys(const mf_pipeline_def *def, const mf_node_def *n, mf_diag *diag)
{
    if (n->keys.inputs.count)
        mf_diag_error(diag, mf_config_key_loc(def->cfg, n->config, "inputs"), "%s: a source takes no inputs",
                      mf_node_what(n));
    if (n->keys.broadcast.count)
        mf_diag_error(diag, mf_config_key_loc(def->cfg, n->config, "broadcast"),
                      "%s: a source takes no 'broadcast' (it has no inputs)", mf_node_what(n));
    check_after(def, n, diag);
}

static void resolve_inputs(mf_pipeline_def *def, mf_diag *diag)
{
    mf_config *cfg = def->cfg;
    for (size_t i = 0; i < def->n_disabled; i++)
        check_source_keys(def, &def->disabled[i], diag);
    for (size_t i = 0; i < def->n_nodes; i++) {
        mf_node_def *n = &def->nodes[i];
        if (!n->key_vals)
            continue;
        json_t *inputs_json = json_object_get(n->config, "inputs");
        if (n->kind == MF_KIND_SOURCE) {
            check_source_keys(def, n, diag);
            continue;
        }
        if (n->keys.after.count)
            mf_diag_error(diag, mf_config_key_loc(cfg, n->config, "after"),
                          "%s: only a source takes 'after' (the sources to wait for)", mf_node_what(n));
        if (n->keys.inputs.count == 0) {
            mf_diag_error(diag, n->loc, "%s: needs 'inputs:' (the nodes it reads from)", mf_node_what(n));
            continue;
        }
        n->inputs = mf_xcalloc(n->keys.inputs.count, sizeof *n->inputs);
        for (size_t k = 0; k < n->keys.inputs.count; k++) {
            const char *ref = n->keys.inputs.items[k];
            mf_loc loc = json_is_array(inputs_json) ? mf_config_index_loc(cfg, inputs_json, k)
                                                    : mf_config_value_loc(cfg, n->config, "inputs");
            const char *dot = strchr(ref, '.');
            char *up_name = dot ? mf_xstrndup(ref, (size_t)(dot - ref)) : mf_xstrdup(ref);
            const char *port = dot ? dot + 1 : "default";
            mf_node_def *up = NULL;
            size_t up_idx = 0;
            bool off = false; /* a disabled source: checked, then no edge */
            for (size_t j = 0; j < def->n_nodes; j++)
                if (strcmp(def->nodes[j].name, up_name) == 0) {
                    up = &def->nodes[j];
                    up_idx = j;
                }
            for (size_t j = 0; j < def->n_disabled && !up; j++)
                if (strcmp(def->disabled[j].name, up_name) == 0) {
                    up = &def->disabled[j];
                    off = true;
                }
            if (!up) {
                mf_diag_error(diag, loc, "%s: input '%s' names no node", mf_node_what(n), ref);
            } else if (up->kind == MF_KIND_SINK && strcmp(port, "errors") != 0) {
                mf_diag_error(diag, loc, "%s: input '%s': a sink's only output is its errors port ('%s.errors')",
                              mf_node_what(n), ref, up->name);
            } else if (up->plugin && mf_node_port_id(up, port) < 0) {
                mf_str ports = {0};
                for (size_t p = 0; p < up->n_ports; p++)
                    mf_str_printf(&ports, "%s%s", p ? ", " : "", up->ports[p]);
                mf_diag_error(diag, loc, "%s: input '%s': node '%s' has no port '%s' (its ports: %s)",
                              mf_node_what(n), ref, up->name, port, ports.data);
                mf_str_free(&ports);
            } else if (up->plugin && !off) {
                int pid = mf_node_port_id(up, port);
                for (size_t q = 0; q < n->n_inputs; q++)
                    if (n->inputs[q].node == up_idx && n->inputs[q].port == pid)
                        mf_diag_error(diag, loc, "%s: input '%s' is listed twice", mf_node_what(n), ref);
                n->inputs[n->n_inputs++] = (mf_input_ref){
                    .node = up_idx, .port = pid, .broadcast = listed(&n->keys.broadcast, ref), .loc = loc};
            }
            free(up_name);
        }
        if (!n->n_inputs && n->keys.inputs.count)
            mf_diag_error(diag, n->loc, "%s: every one of its inputs comes from a disabled source (enabled: false)",
                          mf_node_what(n));
        check_broadcast(cfg, n, diag);
    }
}

/* Depth-first search for a cycle among the edges; reports the first one. */
static bool find_cycle(const mf_pipeline_def *def, size_t v, int *color, size_t *stack, size_t depth,
                       mf_diag *diag)
{
    color[v] = 1;
    stack[depth] = v;
    /* edges v -> w: w lists v among its inputs */
    for (size_t w = 0; w < def->n_nodes; w++) {
        const mf_node_def *nw = &def->nodes[w];
        bool edge = false;
        for (size_t k = 0; k < nw->n_inputs; k++)
            edge |= nw->inputs[k].node == v;
        if (!edge)
            continue;
        if (color[w] == 1) {
            mf_str path = {0};
            size_t start = 0;
            while (stack[start] != w)
                start++;
            for (size_t i = start; i <= depth; i++)
                mf_str_printf(&path, "%s -> ", def->nodes[stack[i]].name);
            mf_str_puts(&path, nw->name);
            mf_diag_error(diag, nw->loc, "cycle: %s", path.data);
            mf_str_free(&path);
            return true;
        }
        if (color[w] == 0 && find_cycle(def, w, color, stack, depth + 1, diag))
            return true;
    }
    color[v] = 2;
    return false;
}

static void check_graph(const mf_pipeline_def *def, mf_diag *diag)
{
    size_t n = def->n_nodes;
    int *color = mf_xcalloc(n, sizeof *color);
    size_t *stack = mf_xcalloc(n + 1, sizeof *stack);
    for (size_t v = 0; v < n; v++)
        if (color[v] == 0 && find_cycle(def, v, color, stack, 0, diag))
            break;

    /* Which nodes reach a sink: iterate to a fixed point (n is small). */
    bool *reaches = mf_xcalloc(n, sizeof *reaches);
    for (size_t v = 0; v < n; v++)
        reaches[v] = def->nodes[v].kind == MF_KIND_SINK;
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t w = 0; w < n; w++) {
            if (!reaches[w])
                continue;
            for (size_t k = 0; k < def->nodes[w].n_inputs; k++) {
                size_t up = def->nodes[w].inputs[k].node;
                if (!reaches[up]) {
                    reaches[up] = true;
                    changed = true;
                }
            }
        }
    }
    for (size_t v = 0; v < n; v++)
        if (!reaches[v] && def->nodes[v].plugin)
            mf_diag_error(diag, def->nodes[v].loc, "%s has no path to a sink (nothing reads its output)",
                          mf_node_what(&def->nodes[v]));
    free(reaches);
    free(color);
    free(stack);
}

mf_pipeline_def *mf_pipeline_def_load(mf_config *cfg, mf_registry *reg, mf_diag *diag)
{
    int errors_before = diag->errors;
    mf_pipeline_def *def = mf_xcalloc(1, sizeof *def);
    def->cfg = cfg;
    def->settings.log_level = -1;
    json_t *root = mf_config_root(cfg);
    if (!json_is_object(root)) {
        mf_diag_error(diag, mf_config_container_loc(cfg, root), "a pipeline file is a map with 'pipeline:', "
                                                                 "'sources:', 'transforms:' and 'sinks:'");
        goto fail;
    }
    static const char *const top_keys[] = {"pipeline", "settings", "sources", "transforms", "sinks", NULL};
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        bool known = false;
        for (const char *const *k = top_keys; *k; k++)
            known |= strcmp(*k, key) == 0;
        if (!known)
            mf_diag_error(diag, mf_config_key_loc(cfg, root, key),
                          "unknown top-level key '%s' (expected pipeline, settings, sources, transforms, sinks)",
                          key);
    }
    json_t *name = json_object_get(root, "pipeline");
    if (name && !json_is_string(name))
        mf_diag_error(diag, mf_config_value_loc(cfg, root, "pipeline"), "'pipeline' must be a name");
    def->name = mf_xstrdup(json_is_string(name) ? json_string_value(name) : "pipeline");

    json_t *settings = json_object_get(root, "settings");
    if (settings && !json_is_object(settings)) {
        mf_diag_error(diag, mf_config_value_loc(cfg, root, "settings"), "'settings' must be a map");
        settings = NULL;
    }
    def->settings_vals = mf_options_apply(settings_options, settings, NULL, 0, cfg, "settings", &def->settings,
                                          diag);
    if (!def->settings_vals)
        goto fail;
    add_plugin_dirs(def, reg);
    mf_registry_add_default_dirs(reg);

    for (size_t s = 0; s < MF_ARRAY_LEN(sections); s++)
        load_section(def, reg, s, diag);
    set_aside_disabled(def);
    bool any_source = false, any_sink = false;
    for (size_t i = 0; i < def->n_nodes; i++) {
        any_source |= def->nodes[i].kind == MF_KIND_SOURCE;
        any_sink |= def->nodes[i].kind == MF_KIND_SINK;
    }
    if (!any_source && any_sink && def->n_disabled)
        mf_diag_error(diag, mf_config_container_loc(cfg, root), "every source of the pipeline is disabled (enabled: false)");
    else if (!any_source || !any_sink)
        mf_diag_error(diag, mf_config_container_loc(cfg, root), "a pipeline needs at least one source and one sink");
    resolve_inputs(def, diag);
    if (diag->errors == errors_before)
        check_graph(def, diag);
    if (diag->errors > errors_before)
        goto fail;
    return def;
fail:
    mf_pipeline_def_free(def);
    return NULL;
}

const mf_option *mf_settings_options(void)
{
    return settings_options;
}

const mf_option *mf_node_options(void)
{
    return node_options;
}
