/* Tests of the lua transform (plugins/lua) and the shipped filters (lua/),
 * through the plugin harness. Suites: api, values, sandbox, filters, caps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lua_test.h"

static char last_error[8192];

const char *lt_error(void)
{
    return last_error;
}

mfh *lt_open_status(const char *code, const char *extra_yaml, int *init_status)
{
    size_t cap = strlen(code) * 2 + (extra_yaml ? strlen(extra_yaml) : 0) + 64;
    char *yaml = malloc(cap);
    size_t n = (size_t)snprintf(yaml, cap, "api: 1\n%scode: |\n", extra_yaml ? extra_yaml : "");
    for (const char *p = code; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        n += (size_t)snprintf(yaml + n, cap - n, "  %.*s\n", (int)len, p);
        p += len + (nl ? 1 : 0);
    }
    char *err = NULL;
    mfh *h = mfh_open(MF_KIND_TRANSFORM, "lua", yaml, &err);
    free(yaml);
    last_error[0] = '\0';
    if (!h) {
        snprintf(last_error, sizeof last_error, "%s", err ? err : "open failed");
        free(err);
        *init_status = -1;
        return NULL;
    }
    *init_status = mfh_init(h);
    if (*init_status != MF_OK)
        snprintf(last_error, sizeof last_error, "%s", mfh_log(h));
    return h;
}

mfh *lt_open(const char *code, const char *extra_yaml)
{
    int st;
    mfh *h = lt_open_status(code, extra_yaml, &st);
    if (h && st != MF_OK) {
        fprintf(stderr, "lua node failed to start: %s\n", lt_error());
        mfh_close(h);
        return NULL;
    }
    if (!h)
        fprintf(stderr, "lua node failed to open: %s\n", lt_error());
    return h;
}

int lt_run(mfh *h, const char *const *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mfh_push(h, NULL, values[i]);
    return mfh_process(h);
}

const char *lt_srcdir(void)
{
    const char *s = getenv("top_srcdir");
    return s && *s ? s : ".";
}

char *lt_fixture(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/lua/fixtures/%s", lt_srcdir(), rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)len + 1);
    size_t got = fread(text, 1, (size_t)len, f);
    text[got] = '\0';
    fclose(f);
    return text;
}

bool lt_contains(const char *text, const char *sub)
{
    return text && sub && strstr(text, sub) != NULL;
}

bool lt_json_equal(const char *a, const char *b)
{
    json_t *x = json_loads(a, JSON_DECODE_ANY, NULL);
    json_t *y = json_loads(b, JSON_DECODE_ANY, NULL);
    bool eq = x && y && json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return eq;
}

int main(void)
{
    static const mf_suite suites[] = {
        {"api", lt_api_tests},
        {"values", lt_value_tests},
        {"sandbox", lt_sandbox_tests},
        {"filters", lt_filter_tests},
        {"caps", lt_caps_tests},
        {NULL, NULL},
    };
    return mf_cunit_run(suites);
}
