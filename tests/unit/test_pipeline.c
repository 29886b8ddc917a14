/* Unit tests: pipeline model and graph validation (each error with its line). */
#include <string.h>

#include "cunit_main.h"
#include "pipeline.h"
#include "testplugins.h"

/* Load a pipeline from text with the test plugins; returns the def (or NULL)
 * and the diagnostics in *msg (caller frees). */
static mf_pipeline_def *load(const char *text, char **msg)
{
    mf_registry *reg = mf_registry_new();
    tp_register(reg);
    mf_diag d = {0};
    mf_pipeline_def *def = NULL;
    mf_config *c = mf_config_load_text("p.yaml", text, strlen(text), &d);
    if (c)
        def = mf_pipeline_def_load(c, reg, &d);
    *msg = strdup(d.text.data ? d.text.data : "");
    mf_diag_free(&d);
    mf_registry_free(reg);
    return def;
}

static void expect(const char *text, const char *needle)
{
    char *msg;
    mf_pipeline_def *def = load(text, &msg);
    CU_ASSERT_PTR_NULL(def);
    if (!strstr(msg, needle))
        fprintf(stderr, "\nexpected '%s' in:\n%s\n", needle, msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, needle));
    mf_pipeline_def_free(def);
    free(msg);
}

static void test_valid(void)
{
    char *msg;
    mf_pipeline_def *def = load("pipeline: ok\n"
                                "settings: {queue_records: 64, checkpoint_interval: 0}\n"
                                "sources:\n  g: {plugin: gen, count: 5}\n"
                                "transforms:\n  p: {plugin: pass, inputs: [g], parallelism: 3}\n"
                                "sinks:\n  c: {plugin: collect, inputs: [p]}\n"
                                "  e: {plugin: collect, inputs: [p.errors, g.errors, c.errors]}\n",
                                &msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(def);
    CU_ASSERT_STRING_EQUAL(def->name, "ok");
    CU_ASSERT_EQUAL(def->n_nodes, 4);
    CU_ASSERT_EQUAL(def->settings.queue_records, 64);
    CU_ASSERT_EQUAL(def->settings.checkpoint_ms, 0);
    CU_ASSERT_EQUAL(def->nodes[1].keys.parallelism, 3);
    CU_ASSERT_EQUAL(def->nodes[3].n_inputs, 3);
    CU_ASSERT_EQUAL(def->nodes[3].inputs[0].port, MF_PORT_ERRORS);
    mf_pipeline_def_free(def);
    free(msg);
}

static const char head[] = "pipeline: t\nsources:\n  g: {plugin: gen}\n";

static void test_errors(void)
{
    char buf[1024];
    /* unknown plugin, naming the search path */
    snprintf(buf, sizeof buf, "%ssinks:\n  c: {plugin: nosuch, inputs: [g]}\n", head);
    expect(buf, "p.yaml:5:15: unknown sink plugin 'nosuch' (searched:");
    /* unknown option of a plugin */
    snprintf(buf, sizeof buf, "%ssinks:\n  c: {plugin: collect, inputs: [g], hodl: true}\n", head);
    expect(buf, "p.yaml:5:37: node 'c' (sink collect): unknown option 'hodl' (did you mean 'hold'?)");
    /* wrong type */
    snprintf(buf, sizeof buf, "%ssinks:\n  c: {plugin: collect, inputs: [g], delay_ms: soon}\n", head);
    expect(buf, "p.yaml:5:47: node 'c' (sink collect): option 'delay_ms': expected an integer");
    /* dangling input */
    snprintf(buf, sizeof buf, "%ssinks:\n  c:\n    plugin: collect\n    inputs: [g, nowhere]\n", head);
    expect(buf, "p.yaml:7:17: node 'c' (sink collect): input 'nowhere' names no node");
    /* no such port */
    snprintf(buf, sizeof buf, "%ssinks:\n  c: {plugin: collect, inputs: [g.side]}\n", head);
    expect(buf, "input 'g.side': node 'g' has no port 'side' (its ports: default, errors)");
    /* a sink's default port is not an output */
    snprintf(buf, sizeof buf, "%ssinks:\n  c: {plugin: collect, inputs: [g]}\n  d: {plugin: collect, inputs: [c]}\n",
             head);
    expect(buf, "p.yaml:6:33: node 'd' (sink collect): input 'c': a sink's only output is its errors port");
    /* cycle */
    snprintf(buf, sizeof buf,
             "%stransforms:\n  a: {plugin: pass, inputs: [g, b]}\n  b: {plugin: pass, inputs: [a]}\n"
             "sinks:\n  c: {plugin: collect, inputs: [b]}\n",
             head);
    expect(buf, "cycle: a -> b -> a");
    /* no path to a sink */
    snprintf(buf, sizeof buf,
             "%stransforms:\n  lonely: {plugin: pass, inputs: [g]}\nsinks:\n  c: {plugin: collect, inputs: [g]}\n",
             head);
    expect(buf, "p.yaml:5:3: node 'lonely' (transform pass) has no path to a sink");
    /* a transform without inputs, a source with inputs */
    snprintf(buf, sizeof buf, "%stransforms:\n  t: {plugin: pass}\nsinks:\n  c: {plugin: collect, inputs: [t]}\n",
             head);
    expect(buf, "p.yaml:5:3: node 't' (transform pass): needs 'inputs:'");
    expect("sources:\n  g: {plugin: gen, inputs: [x]}\nsinks:\n  c: {plugin: collect, inputs: [g]}\n",
           "p.yaml:2:20: node 'g' (source gen): a source takes no inputs");
    /* structure */
    expect("sauces: {}\n", "p.yaml:1:1: unknown top-level key 'sauces'");
    expect("sources:\n  g: {plugin: gen}\n", "a pipeline needs at least one source and one sink");
    expect("sources:\n  g: {plugin: gen}\nsinks:\n  g: {plugin: collect, inputs: [g]}\n", "node name 'g' is used twice");
    expect("sources:\n  g: {plugin: gen, parallelism: 2}\nsinks:\n  c: {plugin: collect, inputs: [g]}\n",
           "only transforms take 'parallelism'");
    expect("sources:\n  g: {plugin: gen, ports: [x]}\nsinks:\n  c: {plugin: collect, inputs: [g]}\n",
           "plugin does not take 'ports'");
    expect("settings: {queue_records: 0}\nsources:\n  g: {plugin: gen}\nsinks:\n  c: {plugin: collect, inputs: [g]}\n",
           "settings: option 'queue_records': 0 is out of range");
    expect("sources:\n  g: {count: 1}\nsinks:\n  c: {plugin: collect, inputs: [g]}\n",
           "node 'g': missing required option 'plugin'");
}

static void test_set_override(void)
{
    mf_registry *reg = mf_registry_new();
    tp_register(reg);
    mf_diag d = {0};
    const char *text = "sources:\n  g: {plugin: gen, count: 5}\nsinks:\n  c: {plugin: collect, inputs: [g]}\n";
    mf_config *c = mf_config_load_text("p.yaml", text, strlen(text), &d);
    CU_ASSERT_TRUE(mf_pipeline_apply_set(c, "g.count=notanumber", &d));
    CU_ASSERT_TRUE(mf_pipeline_apply_set(c, "settings.queue_records=7", &d));
    CU_ASSERT_FALSE(mf_pipeline_apply_set(c, "nosuch.x=1", &d));
    CU_ASSERT_FALSE(mf_pipeline_apply_set(c, "novalue", &d));
    mf_diag_free(&d);
    mf_pipeline_def *def = mf_pipeline_def_load(c, reg, &d);
    CU_ASSERT_PTR_NULL(def);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text.data, "--set: node 'g' (source gen): option 'count': expected an integer"));
    mf_diag_free(&d);
    mf_registry_free(reg);
}

static const mf_test tests[] = {
    {"a valid pipeline", test_valid},
    {"each check error with its place", test_errors},
    {"--set overrides", test_set_override},
    {NULL, NULL},
};

int main(void)
{
    tp_reset();
    static const mf_suite suites[] = {{"pipeline", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
