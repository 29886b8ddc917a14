/*
 * pipeline.h — the validated model of a pipeline file: settings, nodes (with
 * their plugin and engine-level keys) and the edges between their ports. This
 * is all `martflow check` needs; the runtime (runtime.h) instantiates it.
 */
#ifndef MF_PIPELINE_H
#define MF_PIPELINE_H

#include <martflow/plugin.h>

#include "config.h"
#include "options.h"
#include "plugin_loader.h"

/* Engine-level settings of the whole pipeline (the `settings:` map). */
typedef struct mf_settings {
    mf_strlist plugin_path;
    const char *metrics_listen;   /* "" = no HTTP listener */
    bool remote_operations;       /* POST /savepoint from other hosts too (default: loopback only) */
    int64_t queue_records;        /* per edge queue bound */
    uint64_t queue_bytes;
    int64_t batch_records;        /* records per batch a node emits */
    uint64_t batch_bytes;
    int64_t grace_ms;             /* SIGTERM: time to drain before exiting */
    int64_t checkpoint_ms;        /* interval between checkpoints; 0: none */
    const char *checkpoints;      /* "" = no checkpoint store */
    int64_t checkpoint_retain;
    const char *savepoints;       /* "" = no savepoints (docs/checkpoints.md, "Savepoints") */
    const char *s3_endpoint, *s3_region, *s3_access_key, *s3_secret_key, *s3_secret_file, *s3_ca_file;
    bool s3_path_style, s3_insecure;
    /* not settings: `run --from-checkpoint` (NULL: the latest; "none": none)
     * and `run --from-savepoint URL` (NULL: none) */
    const char *from_checkpoint;
    const char *from_savepoint;
    const char *tenant;
    const char *data_dir;         /* "" = derived at run time (host data_dir) */
    int log_level;                /* enum index, -1: leave as is */
    int64_t retry_max;            /* 0: retry without limit */
    int64_t retry_base_ms;
    int64_t retry_cap_ms;
} mf_settings;

/* Engine-level keys of one node. */
typedef struct mf_node_keys {
    const char *plugin;
    mf_strlist inputs;
    mf_strlist broadcast;   /* entries of `inputs` whose records reach every worker */
    mf_strlist after;       /* sources only: sources whose input ends before this one reads */
    bool enabled;           /* sources only: false leaves the node out of the run */
    int64_t parallelism;
    mf_strlist ports;
    int64_t queue_records;  /* 0: the pipeline's */
    uint64_t queue_bytes;   /* 0: the pipeline's */
    int64_t retry_max;      /* -1: the pipeline's */
    int64_t retry_base_ms;  /* 0: the pipeline's */
    int64_t retry_cap_ms;
} mf_node_keys;

typedef struct mf_input_ref {
    size_t node;  /* upstream node index */
    int port;     /* upstream port id */
    bool broadcast; /* its records go to every worker, not by key (node key `broadcast`) */
    mf_loc loc;
} mf_input_ref;

typedef struct mf_node_def {
    char *name;
    mf_kind kind;
    const mf_plugin *plugin;
    json_t *config;      /* the node's map in the tree (borrowed) */
    mf_loc loc;
    mf_node_keys keys;
    mf_optvals *key_vals;
    char **ports;        /* [MF_PORT_DEFAULT]="default", [MF_PORT_ERRORS]="errors", ... */
    size_t n_ports;
    mf_input_ref *inputs;
    size_t n_inputs;
} mf_node_def;

typedef struct mf_pipeline_def {
    mf_config *cfg;
    char *name;
    mf_settings settings;
    mf_optvals *settings_vals;
    mf_node_def *nodes;
    size_t n_nodes;
    /* Sources with `enabled: false`: checked as the others, then left out of
     * `nodes`; inputs naming them carry nothing. */
    mf_node_def *disabled;
    size_t n_disabled;
} mf_pipeline_def;

/* The engine's own node keys, reserved in every node map. */
extern const char *const mf_node_reserved_keys[];

/* Apply a command-line override "node.option=value" (or "settings.key=value")
 * to the loaded tree. */
bool mf_pipeline_apply_set(mf_config *cfg, const char *assignment, mf_diag *diag);

/* Build and validate. Takes ownership of cfg (even on failure). Adds the
 * pipeline's plugin directories, MARTFLOW_PLUGIN_PATH and the installed
 * directory to reg's search path (the caller adds --plugin-path first). */
mf_pipeline_def *mf_pipeline_def_load(mf_config *cfg, mf_registry *reg, mf_diag *diag);
void mf_pipeline_def_free(mf_pipeline_def *def);

/* "node 'x' (source file)" for messages; static per-thread buffer. */
const char *mf_node_what(const mf_node_def *n);
int mf_node_port_id(const mf_node_def *n, const char *port);

/* The engine's own option tables (for `martflow plugins` and docs). */
const mf_option *mf_settings_options(void);
const mf_option *mf_node_options(void);

/* Add MARTFLOW_PLUGIN_PATH and the installed directory to the search path. */
void mf_registry_add_default_dirs(mf_registry *reg);

#endif
