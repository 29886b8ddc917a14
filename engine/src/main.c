/*
 * main.c — the martflow command line: run, check, savepoint, job, plugins,
 * version; any other NAME runs the external subcommand martflow-NAME
 * (subcmd.h).
 */
#include "build_config.h" /* autoconf: PACKAGE_VERSION */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/helpers.h>

#include "config.h"
#include "heap_policy.h"
#include "json_alloc.h"
#include "log.h"
#include "metric_alias.h"
#include "options.h"
#include "pipeline.h"
#include "plugin_loader.h"
#include "redact.h"
#include "runtime.h"
#include "savepoint_cli.h"
#include "subcmd.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

static const char usage[] =
    "usage: martflow run FILE [--set NODE.OPTION=VALUE]... [--plugin-path DIRS] [--log-level LEVEL]\n"
    "                    [--from-checkpoint none|ID|URL | --from-savepoint URL]\n"
    "       martflow check FILE [--set NODE.OPTION=VALUE]... [--plugin-path DIRS] [--print]\n"
    "       martflow savepoint FILE [--stop] [--listen HOST:PORT] [--timeout DURATION] [--set ...]\n"
    "       martflow job FILE NAME [--set NODE.OPTION=VALUE]... [--plugin-path DIRS] [--log-level LEVEL]\n"
    "                    [-- ARG...]\n"
    "       martflow plugins [--json] [--plugin-path DIRS]\n"
    "       martflow version\n"
    "       martflow NAME [ARGS]...   (a subcommand below, e.g. martflow report --help)\n"
    "\n"
    "  run      run a pipeline file until its sources end or SIGTERM/SIGINT\n"
    "  check    validate a pipeline file; errors are printed as file:line:col: message\n"
    "  savepoint  ask FILE's running pipeline for a savepoint (settings.savepoints) through its\n"
    "           operations listener; print its URL; --stop: then stop the pipeline\n"
    "  job      run the job NAME a node of the file declares (e.g. the gim sink's jobs:) once, now;\n"
    "           the exit status is the job's; ARGs after -- are the job's own (e.g. martflow gdpr)\n"
    "  plugins  list the plugins found on the plugin path and their options\n"
    "\n"
    "  --set NODE.OPTION=VALUE  override an option (settings.KEY=VALUE for settings)\n"
    "  --plugin-path DIRS       colon-separated directories searched first for plugins\n"
    "                           (then settings.plugin_path, MARTFLOW_PLUGIN_PATH, the installed directory)\n"
    "  --log-level LEVEL        error, warn, info (default), debug or trace\n"
    "  --from-checkpoint WHAT   run with settings.checkpoints: start from checkpoint WHAT (an id, or a\n"
    "                           checkpoint's URL .../chk-N) instead of the latest; none: start empty\n"
    "  --from-savepoint URL     run from the savepoint URL (LOCATION/sp-N, printed by martflow savepoint)\n"
    "  --stop                   savepoint: stop the pipeline once the savepoint is stored\n"
    "  --listen HOST:PORT       savepoint: the pipeline's listener (default: settings.metrics_listen)\n"
    "  --timeout DURATION       savepoint: how long to wait for it (default 5m)\n"
    "  --print                  print the resolved pipeline as JSON, secrets redacted\n"
    "  --json                   machine-readable output\n";

struct cli {
    const char *command;
    const char *file;
    const char *job; /* job: its NAME */
    const char *const *job_args; /* job: the arguments after "--" */
    int n_job_args;
    const char **sets;
    size_t n_sets;
    const char **plugin_paths;
    size_t n_plugin_paths;
    const char *log_level;
    const char *from_checkpoint; /* run: NULL (the latest), "none", an id or a checkpoint's URL */
    const char *from_savepoint;  /* run: a savepoint's URL, or NULL */
    const char *listen;          /* savepoint: --listen, or NULL */
    const char *timeout;         /* savepoint: --timeout, or NULL */
    bool stop;                   /* savepoint --stop */
    bool json;
    bool print;
};

/* The options that take a value, as "--name VALUE" or "--name=VALUE". */
enum {
    OPT_SET,
    OPT_PLUGIN_PATH,
    OPT_LOG_LEVEL,
    OPT_FROM_CHECKPOINT,
    OPT_FROM_SAVEPOINT,
    OPT_LISTEN,
    OPT_TIMEOUT,
    N_VALUED
};
static const char *const valued[N_VALUED] = {"--set",           "--plugin-path", "--log-level", "--from-checkpoint",
                                             "--from-savepoint", "--listen",      "--timeout"};

/* Which valued option a is (exactly, or with "=VALUE"), or -1. A prefix such
 * as "--settings" is not "--set". */
static int valued_option(const char *a)
{
    for (int k = 0; k < N_VALUED; k++) {
        size_t n = strlen(valued[k]);
        if (strncmp(a, valued[k], n) == 0 && (a[n] == '\0' || a[n] == '='))
            return k;
    }
    return -1;
}

/* The value of the valued option at argv[*i] (consuming the next argument for
 * the "--name VALUE" form), or NULL after a message when it has none. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    const char *eq = strchr(argv[*i], '=');
    const char *v = eq ? eq + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
    if (!v || !*v || strncmp(v, "--", 2) == 0) {
        fprintf(stderr, "martflow: %s needs a value\n", name);
        return NULL;
    }
    return v;
}

static void push(const char ***list, size_t *n, const char *v)
{
    *list = mf_xrealloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = v;
}

/* 0, or -1 after a message: a usage error. */
static int parse_args(int argc, char **argv, struct cli *cli)
{
    if (argc < 2)
        return -1;
    cli->command = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int opt = valued_option(a);
        if (!strcmp(a, "--") && !strcmp(cli->command, "job") && cli->job) {
            cli->job_args = (const char *const *)argv + i + 1;
            cli->n_job_args = argc - i - 1;
            break;
        }
        if (opt >= 0) {
            const char *val = option_value(argc, argv, &i, valued[opt]);
            if (!val)
                return -1;
            if (opt == OPT_SET)
                push(&cli->sets, &cli->n_sets, val);
            else if (opt == OPT_PLUGIN_PATH)
                push(&cli->plugin_paths, &cli->n_plugin_paths, val);
            else if (opt == OPT_FROM_CHECKPOINT)
                cli->from_checkpoint = val;
            else if (opt == OPT_FROM_SAVEPOINT)
                cli->from_savepoint = val;
            else if (opt == OPT_LISTEN)
                cli->listen = val;
            else if (opt == OPT_TIMEOUT)
                cli->timeout = val;
            else
                cli->log_level = val;
        } else if (!strcmp(a, "--json")) {
            cli->json = true;
        } else if (!strcmp(a, "--print")) {
            cli->print = true;
        } else if (!strcmp(a, "--stop")) {
            cli->stop = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "martflow: unknown option '%s'\n", a);
            return -1;
        } else if (!cli->file) {
            cli->file = a;
        } else if (!cli->job && !strcmp(cli->command, "job")) {
            cli->job = a;
        } else {
            fprintf(stderr, "martflow: unexpected argument '%s'\n", a);
            return -1;
        }
    }
    return 0;
}

static mf_registry *make_registry(const struct cli *cli)
{
    mf_registry *reg = mf_registry_new();
    for (size_t i = 0; i < cli->n_plugin_paths; i++)
        mf_registry_add_dirs(reg, cli->plugin_paths[i]);
    return reg;
}

/* Load, override and validate; NULL after printing the diagnostics. */
static mf_pipeline_def *load_pipeline(const struct cli *cli, mf_registry *reg)
{
    mf_diag diag = {0};
    mf_pipeline_def *def = NULL;
    mf_config *cfg = mf_config_load(cli->file, &diag);
    if (cfg) {
        bool ok = true;
        for (size_t i = 0; i < cli->n_sets; i++)
            ok &= mf_pipeline_apply_set(cfg, cli->sets[i], &diag);
        if (ok)
            def = mf_pipeline_def_load(cfg, reg, &diag);
        else
            mf_config_free(cfg);
    }
    if (def) { /* the runtime loads them again; here only their errors count */
        mf_metric_aliases *aliases = mf_metric_aliases_load(def->cfg, &diag);
        if (!aliases) {
            mf_pipeline_def_free(def);
            def = NULL;
        }
        mf_metric_aliases_free(aliases);
    }
    if (!def) /* redacted again: a secret can be registered after the message that quotes it */
        mf_redact_fputs(diag.text.data ? diag.text.data : "martflow: invalid pipeline\n", stderr);
    mf_diag_free(&diag);
    return def;
}

static json_t *redacted_pipeline(const mf_pipeline_def *def)
{
    json_t *out = json_deep_copy(mf_config_root(def->cfg));
    static const char *const sections[] = {"sources", "transforms", "sinks"};
    for (size_t s = 0; s < MF_ARRAY_LEN(sections); s++) {
        json_t *sec = json_object_get(out, sections[s]);
        for (size_t i = 0; i < def->n_nodes + def->n_disabled; i++) { /* a disabled source's secrets too */
            const mf_node_def *n = i < def->n_nodes ? &def->nodes[i] : &def->disabled[i - def->n_nodes];
            if (json_object_get(sec, n->name))
                json_object_set_new(sec, n->name, mf_options_redact(n->plugin->desc.options, n->config, def->cfg));
        }
    }
    return out;
}

/* json_dump_callback into an mf_str (json_dumps would allocate with jansson's
 * allocator, which the caller then could not free() itself). */
static int append_dump(const char *buf, size_t size, void *data)
{
    mf_str_append(data, buf, size);
    return 0;
}

static int cmd_check(const struct cli *cli)
{
    mf_registry *reg = make_registry(cli);
    mf_pipeline_def *def = load_pipeline(cli, reg);
    int rc = MF_EXIT_CONFIG;
    if (def) {
        char *text;
        if (cli->print) {
            json_t *j = redacted_pipeline(def);
            mf_str dump = {0};
            json_dump_callback(j, append_dump, &dump, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            mf_str_puts(&dump, "\n");
            text = mf_str_take(&dump);
            json_decref(j);
        } else {
            text = mf_xasprintf("%s: OK (pipeline '%s', %zu nodes)\n", cli->file, def->name, def->n_nodes);
        }
        mf_redact_fputs(text, stdout); /* a secret may sit in a value that is not marked sensitive */
        free(text);
        rc = MF_EXIT_OK;
    }
    mf_pipeline_def_free(def);
    mf_registry_free(reg);
    return rc;
}

/* The pipeline a run or a job executes, with its log level and name set for
 * the log; NULL (the registry freed) when it does not load. The caller ends
 * with end_execution. */
static mf_pipeline_def *begin_execution(const struct cli *cli, mf_registry **reg)
{
    *reg = make_registry(cli);
    mf_pipeline_def *def = load_pipeline(cli, *reg);
    if (!def) {
        mf_registry_free(*reg);
        *reg = NULL;
        return NULL;
    }
    if (!cli->log_level && def->settings.log_level >= 0)
        mf_log_set_level((mf_log_level)def->settings.log_level);
    mf_log_set_pipeline(def->name);
    return def;
}

static void end_execution(mf_registry *reg)
{
    mf_log_set_pipeline(NULL);
    mf_registry_free(reg);
}

static int cmd_run(const struct cli *cli)
{
    mf_registry *reg;
    mf_pipeline_def *def = begin_execution(cli, &reg);
    if (!def)
        return MF_EXIT_CONFIG;
    def->settings.from_checkpoint = cli->from_checkpoint;
    def->settings.from_savepoint = cli->from_savepoint;
    char *error = NULL;
    mf_runtime *rt = mf_runtime_new(def, &error);
    int rc;
    if (!rt) {
        mf_log_error("%s", error);
        free(error);
        rc = MF_EXIT_FAILED;
    } else {
        rc = mf_runtime_run(rt);
        mf_runtime_free(rt);
    }
    end_execution(reg);
    return rc;
}

static int cmd_savepoint(const struct cli *cli)
{
    int64_t timeout_ms = 5 * 60 * 1000;
    if (cli->timeout && (!mf_parse_duration_ms(cli->timeout, &timeout_ms) || timeout_ms <= 0)) {
        fprintf(stderr, "martflow savepoint: --timeout '%s': expected a duration such as 90s or 10m\n", cli->timeout);
        return MF_EXIT_CONFIG;
    }
    mf_registry *reg = make_registry(cli);
    mf_pipeline_def *def = load_pipeline(cli, reg);
    int rc = MF_EXIT_CONFIG;
    if (def)
        rc = mf_savepoint_cli(def, cli->file, cli->listen, timeout_ms, cli->stop);
    mf_pipeline_def_free(def);
    mf_registry_free(reg);
    return rc;
}

static int cmd_job(const struct cli *cli)
{
    mf_registry *reg;
    mf_pipeline_def *def = begin_execution(cli, &reg);
    if (!def)
        return MF_EXIT_CONFIG;
    int rc = mf_runtime_job(def, cli->job, cli->n_job_args, cli->job_args);
    end_execution(reg);
    return rc;
}

static json_t *plugin_json(const mf_plugin *p)
{
    const mf_plugin_desc *d = &p->desc;
    json_t *ports = json_array();
    json_array_append_new(ports, json_string("default"));
    json_array_append_new(ports, json_string("errors"));
    for (const char *const *x = d->ports; x && *x; x++)
        json_array_append_new(ports, json_string(*x));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:b, s:o}", "kind", mf_kind_name(d->kind), "name", d->name,
                     "version", d->version, "description", d->description, "path", p->path, "ports", ports,
                     "dynamic_ports", (d->flags & MF_PLUGIN_DYNAMIC_PORTS) != 0, "options",
                     mf_options_schema(d->options));
}

static int cmp_plugins(const void *a, const void *b)
{
    const mf_plugin *x = *(const mf_plugin *const *)a, *y = *(const mf_plugin *const *)b;
    if (x->desc.kind != y->desc.kind)
        return (int)x->desc.kind - (int)y->desc.kind;
    return strcmp(x->desc.name, y->desc.name);
}

static void print_options_text(const mf_option *opts)
{
    for (const mf_option *o = opts; o && o->name; o++) {
        printf("    %-22s %-9s", o->name, mf_option_type_name(o->type));
        if (o->flags & MF_OPT_REQUIRED)
            printf(" (required)");
        else if (o->default_value && *o->default_value)
            printf(" [%s]", o->default_value);
        printf("  %s", o->doc);
        if (o->type == MF_OPT_ENUM)
            printf(" (%s)", o->choices);
        printf("\n");
    }
}

static int cmd_plugins(const struct cli *cli)
{
    mf_registry *reg = make_registry(cli);
    mf_registry_add_default_dirs(reg);
    char *errors = NULL;
    mf_registry_load_all(reg, &errors);
    size_t n = mf_registry_count(reg);
    const mf_plugin **list = mf_xcalloc(n ? n : 1, sizeof *list);
    for (size_t i = 0; i < n; i++)
        list[i] = mf_registry_at(reg, i);
    qsort(list, n, sizeof *list, cmp_plugins);
    if (cli->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, plugin_json(list[i]));
        char abi[32];
        snprintf(abi, sizeof abi, "%d.%d", MF_ABI_MAJOR, MF_ABI_MINOR);
        json_t *doc = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "martflow", PACKAGE_VERSION, "abi", abi,
                                "plugin_path", mf_registry_path_text(reg),
                                "plugins", arr, "settings", mf_options_schema(mf_settings_options()), "node_keys",
                                mf_options_schema(mf_node_options()));
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(doc);
    } else {
        for (size_t i = 0; i < n; i++) {
            const mf_plugin_desc *d = &list[i]->desc;
            printf("%s %s %s: %s\n", mf_kind_name(d->kind), d->name, d->version, d->description);
            printf("    (%s)\n", list[i]->path);
            print_options_text(d->options);
        }
        if (!n)
            printf("no plugins found (searched: %s)\n", mf_registry_path_text(reg));
    }
    if (errors) {
        fputs(errors, stderr);
        free(errors);
    }
    free(list);
    mf_registry_free(reg);
    return MF_EXIT_OK;
}

static bool builtin(const char *c)
{
    static const char *const names[] = {"run", "check", "savepoint", "job", "plugins", "version", "help"};
    for (size_t i = 0; i < MF_ARRAY_LEN(names); i++)
        if (!strcmp(c, names[i]))
            return true;
    return c[0] == '-';
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !builtin(argv[1])) {
        char *path = mf_subcmd_find(argv[1]);
        if (path) { /* its arguments are its own: not parsed here */
            mf_subcmd_exec(path, argv[1], argc - 2, argv + 2);
            fprintf(stderr, "martflow: cannot run %s: %s\n", path, strerror(errno));
            free(path);
            return MF_EXIT_FAILED;
        }
    }
    mf_heap_policy_install();
    mf_json_alloc_install(); /* before any JSON value exists */
    struct cli cli = {0};
    int rc = MF_EXIT_CONFIG;
    if (parse_args(argc, argv, &cli) != 0) {
        fputs(usage, stderr);
        goto done;
    }
    if (cli.log_level) {
        int lvl = mf_log_parse_level(cli.log_level);
        if (lvl < 0) {
            fprintf(stderr, "martflow: unknown log level '%s'\n", cli.log_level);
            goto done;
        }
        mf_log_set_level((mf_log_level)lvl);
    }
    const char *c = cli.command;
    bool needs_file = !strcmp(c, "run") || !strcmp(c, "check") || !strcmp(c, "savepoint") || !strcmp(c, "job");
    if (needs_file && !cli.file) {
        fprintf(stderr, "martflow %s: which pipeline file?\n%s", c, usage);
        goto done;
    }
    if (cli.from_checkpoint && cli.from_savepoint) {
        fprintf(stderr, "martflow: --from-checkpoint and --from-savepoint exclude each other\n");
        goto done;
    }
    if (!strcmp(c, "job") && !cli.job)
        fprintf(stderr, "martflow job: which job? (martflow job FILE NAME)\n%s", usage);
    else if (!strcmp(c, "job"))
        rc = cmd_job(&cli);
    else if (!strcmp(c, "run"))
        rc = cmd_run(&cli);
    else if (!strcmp(c, "check"))
        rc = cmd_check(&cli);
    else if (!strcmp(c, "savepoint"))
        rc = cmd_savepoint(&cli);
    else if (!strcmp(c, "plugins"))
        rc = cmd_plugins(&cli);
    else if (!strcmp(c, "version") || !strcmp(c, "--version")) {
        printf("martflow %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, MF_ABI_MAJOR, MF_ABI_MINOR);
        rc = MF_EXIT_OK;
    } else if (!strcmp(c, "help") || !strcmp(c, "--help") || !strcmp(c, "-h")) {
        fputs(usage, stdout);
        mf_subcmd_list(stdout);
        rc = MF_EXIT_OK;
    } else {
        fprintf(stderr, "martflow: unknown command '%s'\n%s", c, usage);
    }
done:
    free(cli.sets);
    free(cli.plugin_paths);
    mf_json_alloc_drain_all();
    return rc;
}
