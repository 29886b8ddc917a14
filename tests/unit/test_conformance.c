/*
 * Conformance: every plugin built in this tree (every .so on
 * MARTFLOW_PLUGIN_PATH) must load (descriptor sanity: magic, ABI, size, kind,
 * callbacks, option table), dump its schema, reject an unknown option with
 * its name, and init/stop/free cleanly (under ASan: no leak, no error) from a
 * minimal configuration in tests/conformance/<kind>_<name>.yaml. A plugin
 * without such a file fails the test: new plugins must add one.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "harness.h"
#include "options.h"
#include "plugin_loader.h"

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = calloc(1, (size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

static void check_plugin(const char *dir, const char *file)
{
    char path[4096 + 300];
    snprintf(path, sizeof path, "%.4096s/%.256s", dir, file);
    mf_registry *reg = mf_registry_new();
    char *err = NULL;
    const mf_plugin *p = mf_registry_load_file(reg, path, &err);
    if (!p)
        fprintf(stderr, "\n%s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    const mf_plugin_desc *d = &p->desc;
    char expect[256];
    snprintf(expect, sizeof expect, "%s_%s.so", mf_kind_name(d->kind), d->name);
    CU_ASSERT_STRING_EQUAL(file, expect); /* file name matches the descriptor */

    json_t *schema = mf_options_schema(d->options);
    CU_ASSERT_TRUE(json_is_array(schema));
    size_t i;
    json_t *o;
    json_array_foreach(schema, i, o) {
        CU_ASSERT(json_string_length(json_object_get(o, "doc")) > 0);
    }
    json_decref(schema);

    char cfgpath[4096 + 300];
    snprintf(cfgpath, sizeof cfgpath, "%.4096s/tests/conformance/%s_%.64s.yaml", getenv("top_srcdir"),
             mf_kind_name(d->kind), d->name);
    char *cfg = read_text(cfgpath);
    if (!cfg)
        fprintf(stderr, "\nplugin %s has no minimal config %s: add one\n", file, cfgpath);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);

    /* an unknown option is refused, by name */
    size_t n = strlen(cfg) + 64;
    char *bad = malloc(n);
    snprintf(bad, n, "%s\nzz_unknown_option: 1\n", strcmp(cfg, "{}\n") == 0 ? "" : cfg);
    mfh *h = mfh_open(d->kind, d->name, bad, &err);
    CU_ASSERT_PTR_NULL(h);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "unknown option 'zz_unknown_option'"));
    free(err);
    err = NULL;
    mfh_close(h);
    free(bad);

    /* init, stop, free cleanly */
    setenv("MARTFLOW_PLUGIN_PATH", dir, 1);
    h = mfh_open(d->kind, d->name, cfg, &err);
    if (!h)
        fprintf(stderr, "\n%s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    int st = mfh_init(h);
    if (st != MF_OK)
        fprintf(stderr, "\n%s init: %d\n%s\n", file, st, mfh_log(h));
    CU_ASSERT_EQUAL(st, MF_OK);
    CU_ASSERT_EQUAL(mfh_stop(h), MF_OK);
    mfh_close(h);
    free(cfg);
    mf_registry_free(reg);
}

static void test_all_plugins(void)
{
    const char *dir = getenv("MARTFLOW_PLUGIN_PATH");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char tmp[] = "/tmp/mf-conformance-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmp));
    setenv("MFC_TMP", tmp, 1);
    char in[300];
    snprintf(in, sizeof in, "%s/in.jsonl", tmp);
    FILE *f = fopen(in, "w");
    fputs("{\"a\":1}\n", f);
    fclose(f);

    DIR *dd = opendir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dd);
    struct dirent *de;
    int checked = 0;
    char names[64][256];
    while ((de = readdir(dd)) != NULL && checked < 64) {
        size_t len = strlen(de->d_name);
        if (len > 3 && strcmp(de->d_name + len - 3, ".so") == 0)
            snprintf(names[checked++], sizeof names[0], "%s", de->d_name);
    }
    closedir(dd);
    for (int i = 0; i < checked; i++) {
        fprintf(stderr, "  conformance: %s\n", names[i]);
        check_plugin(dir, names[i]);
    }
    CU_ASSERT(checked >= 5); /* file x2, stdout, null, fields at least */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

static const mf_test tests[] = {{"every plugin in the tree", test_all_plugins}, {NULL, NULL}};

int main(void)
{
    static const mf_suite suites[] = {{"conformance", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
