/* Unit tests: option validation, typed filling, units, schema, redaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "cunit_main.h"
#include "options.h"
#include "redact.h"
#include "units.h"

struct tctx {
    const char *name;
    int64_t count;
    bool on;
    double ratio;
    uint64_t size;
    int64_t wait;
    int mode;
    mf_strlist topics;
    const char *pw;
    mf_kvlist rd;
    const json_t *extra;
};

static const mf_option opts[] = {
    MF_OPTION(MF_OPT_STRING, "name", NULL, MF_OPT_REQUIRED, struct tctx, name, "A name"),
    MF_OPTION_RANGE(MF_OPT_INT, "count", "5", 0, struct tctx, count, 1, 100, "A count"),
    MF_OPTION(MF_OPT_BOOL, "on", "false", 0, struct tctx, on, "A flag"),
    MF_OPTION(MF_OPT_DOUBLE, "ratio", "0.5", 0, struct tctx, ratio, "A ratio"),
    MF_OPTION(MF_OPT_SIZE, "size", "1MiB", 0, struct tctx, size, "A size"),
    MF_OPTION(MF_OPT_DURATION, "wait", "10s", 0, struct tctx, wait, "A duration"),
    MF_OPTION_ENUM("mode", "fast", 0, struct tctx, mode, "slow|fast|auto", "A mode"),
    MF_OPTION(MF_OPT_LIST, "topics", NULL, 0, struct tctx, topics, "Topics"),
    MF_OPTION(MF_OPT_SECRET, "pw", NULL, 0, struct tctx, pw, "A password"),
    MF_OPTION(MF_OPT_PREFIX, "rdkafka.", NULL, 0, struct tctx, rd, "librdkafka settings"),
    MF_OPTION(MF_OPT_JSON, "extra", "{\"k\":1}", 0, struct tctx, extra, "Anything"),
    MF_OPTION_END,
};

/* Apply opts to the YAML map; returns the number of errors, message in *msg. */
static int apply(const char *yaml, struct tctx *ctx, char **msg, mf_optvals **vals_out)
{
    mf_diag d = {0};
    mf_config *c = mf_config_load_text("o.yaml", yaml, strlen(yaml), &d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    memset(ctx, 0, sizeof *ctx);
    mf_optvals *v = mf_options_apply(opts, mf_config_root(c), NULL, 0, c, "node 'n'", ctx, &d);
    int errors = d.errors;
    *msg = d.text.data ? strdup(d.text.data) : strdup("");
    mf_diag_free(&d);
    /* filled strings live in the option values, not in the config tree */
    if (vals_out)
        *vals_out = v;
    else
        mf_optvals_free(v);
    mf_config_free(c);
    return errors;
}

static void test_defaults_and_types(void)
{
    struct tctx t;
    char *msg;
    mf_optvals *v;
    int e = apply("name: n1\ncount: '7'\non: yes\nsize: 64KiB\nwait: 1m30s\nmode: auto\ntopics: [a, b]\n"
                  "rdkafka.fetch.min.bytes: 10\nrdkafka: {client.id: me}\n",
                  &t, &msg, &v);
    CU_ASSERT_EQUAL(e, 0);
    CU_ASSERT_STRING_EQUAL(t.name, "n1");
    CU_ASSERT_EQUAL(t.count, 7);
    CU_ASSERT_TRUE(t.on);
    CU_ASSERT_DOUBLE_EQUAL(t.ratio, 0.5, 1e-12);
    CU_ASSERT_EQUAL(t.size, 65536u);
    CU_ASSERT_EQUAL(t.wait, 90000);
    CU_ASSERT_EQUAL(t.mode, 2);
    CU_ASSERT_EQUAL(t.topics.count, 2);
    CU_ASSERT_STRING_EQUAL(t.topics.items[1], "b");
    CU_ASSERT_EQUAL(t.rd.count, 2);
    CU_ASSERT_STRING_EQUAL(t.rd.keys[0], "fetch.min.bytes");
    CU_ASSERT_STRING_EQUAL(t.rd.values[0], "10");
    CU_ASSERT_STRING_EQUAL(t.rd.keys[1], "client.id");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(t.extra, "k")), 1);
    CU_ASSERT_PTR_NULL(t.pw);
    mf_optvals_free(v);
    free(msg);
}

static void test_list_from_string(void)
{
    struct tctx t;
    char *msg;
    mf_optvals *v;
    CU_ASSERT_EQUAL(apply("name: x\ntopics: 'a, b ,,c'\n", &t, &msg, &v), 0);
    CU_ASSERT_EQUAL(t.topics.count, 4);
    CU_ASSERT_STRING_EQUAL(t.topics.items[1], "b");
    CU_ASSERT_STRING_EQUAL(t.topics.items[2], "");
    mf_optvals_free(v);
    free(msg);
}

static void expect_error(const char *yaml, const char *needle)
{
    struct tctx t;
    char *msg;
    int e = apply(yaml, &t, &msg, NULL);
    CU_ASSERT(e >= 1);
    if (!strstr(msg, needle))
        fprintf(stderr, "\nexpected '%s' in:\n%s\n", needle, msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, needle));
    free(msg);
}

static void test_errors(void)
{
    expect_error("count: 3\n", "node 'n': missing required option 'name'");
    expect_error("name: x\nnmae: y\n", "o.yaml:2:1: node 'n': unknown option 'nmae' (did you mean 'name'?)");
    expect_error("name: x\nzzzzzzzz: 1\n", "unknown option 'zzzzzzzz'");
    expect_error("name: x\ncount: many\n", "o.yaml:2:8: node 'n': option 'count': expected an integer");
    expect_error("name: x\ncount: 1000\n", "option 'count': 1000 is out of range [1, 100]");
    expect_error("name: x\non: perhaps\n", "option 'on': expected true or false");
    expect_error("name: x\nsize: 5 parsecs\n", "option 'size': expected a size");
    expect_error("name: x\nwait: 10\n", "option 'wait': expected a duration with a unit");
    expect_error("name: x\nmode: warp\n", "option 'mode': expected one of slow|fast|auto");
    expect_error("name: x\ntopics: {a: 1}\n", "option 'topics': expected a list");
    expect_error("name: [x]\n", "option 'name': expected a string");
    expect_error("name: x\nrdkafka.a: 1\nrdkafka: {a: 2}\n", "option 'rdkafka.a' is set twice");
}

static void test_units(void)
{
    uint64_t b;
    int64_t ms;
    CU_ASSERT_TRUE(mf_parse_size("512", &b) && b == 512);
    CU_ASSERT_TRUE(mf_parse_size("5MiB", &b) && b == 5u * 1048576u);
    CU_ASSERT_TRUE(mf_parse_size("1GB", &b) && b == 1000000000u);
    CU_ASSERT_TRUE(mf_parse_size("1.5KiB", &b) && b == 1536u);
    CU_ASSERT_FALSE(mf_parse_size("-1", &b));
    CU_ASSERT_FALSE(mf_parse_size("12 XB", &b));
    CU_ASSERT_TRUE(mf_parse_duration_ms("250ms", &ms) && ms == 250);
    CU_ASSERT_TRUE(mf_parse_duration_ms("1h30m", &ms) && ms == 5400000);
    CU_ASSERT_TRUE(mf_parse_duration_ms("2d", &ms) && ms == 172800000);
    CU_ASSERT_TRUE(mf_parse_duration_ms("0", &ms) && ms == 0);
    CU_ASSERT_FALSE(mf_parse_duration_ms("10", &ms));
    CU_ASSERT_FALSE(mf_parse_duration_ms("10 parsecs", &ms));
    CU_ASSERT_FALSE(mf_parse_duration_ms("", &ms));
    CU_ASSERT_TRUE(mf_parse_time_ms("2026-11-30T09:00:00.123Z", &ms) && ms == 1796029200123LL);
    CU_ASSERT_TRUE(mf_parse_time_ms("2026-11-30T10:00:00+01:00", &ms) && ms == 1796029200000LL);
    CU_ASSERT_TRUE(mf_parse_time_ms("1796029200123", &ms) && ms == 1796029200123LL);
    CU_ASSERT_FALSE(mf_parse_time_ms("2026-13-30T09:00:00Z", &ms));
    CU_ASSERT_FALSE(mf_parse_time_ms("yesterday", &ms));
}

/* RFC 3339 times against timegm (which the parser no longer calls): every
 * day of 1599-1601, 1899-1901, 1969-1971, 1999-2001, 2099-2101, 2399-2401
 * and a few far years, with D up to 31 in every month (running on into the
 * next month, as timegm normalises), a leap second, offsets. */
static void test_time_against_timegm(void)
{
    static const int years[] = {0, 1, 4, 100, 399, 400, 1599, 1600, 1601, 1899, 1900, 1901, 1969, 1970, 1971,
                                1999, 2000, 2001, 2024, 2099, 2100, 2101, 2399, 2400, 2401, 9999};
    int bad = 0, n = 0;
    for (size_t yi = 0; yi < sizeof years / sizeof years[0]; yi++)
        for (int mo = 1; mo <= 12; mo++)
            for (int d = 1; d <= 31; d++) {
                int h = (d * 7) % 24, mi = (d * 13) % 60, se = d == 31 ? 60 : (d * 17) % 60;
                char text[64];
                snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", years[yi], mo, d, h, mi, se,
                         d * 31 % 1000);
                struct tm tm = {.tm_year = years[yi] - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                                .tm_min = mi, .tm_sec = se};
                int64_t want = (int64_t)timegm(&tm) * 1000 + d * 31 % 1000, got = 0;
                bad += !mf_parse_time_ms(text, &got) || got != want;
                snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d-05:30", years[yi], mo, d, h, mi, se);
                want = (int64_t)timegm(&tm) * 1000 + 330 * 60000;
                bad += !mf_parse_time_ms(text, &got) || got != want;
                n += 2;
            }
    CU_ASSERT_EQUAL(n, 26 * 12 * 31 * 2);
    CU_ASSERT_EQUAL(bad, 0);
    int64_t ms;
    CU_ASSERT_TRUE(mf_parse_time_ms("-5", &ms) && ms == -5); /* integer text still, either sign */
    CU_ASSERT_FALSE(mf_parse_time_ms("2024-03-30T23:30:50", &ms)); /* no zone */
    CU_ASSERT_FALSE(mf_parse_time_ms("2024-03-30T23:30:50Zx", &ms));
}

static void test_schema_and_redaction(void)
{
    json_t *schema = mf_options_schema(opts);
    CU_ASSERT_EQUAL(json_array_size(schema), 11);
    json_t *first = json_array_get(schema, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "type")), "string");
    CU_ASSERT_TRUE(json_is_true(json_object_get(first, "required")));
    json_t *mode = json_array_get(schema, 6);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(mode, "choices")), 3);
    json_decref(schema);

    const char *yaml = "name: x\npw: hunter2\nrdkafka.sasl.password: p2\nrdkafka: {sasl.username: u, ssl.key.password: k}\n";
    mf_diag d = {0};
    mf_config *c = mf_config_load_text("r.yaml", yaml, strlen(yaml), &d);
    json_t *red = mf_options_redact(opts, mf_config_root(c), c);
    char *text = json_dumps(red, JSON_COMPACT);
    CU_ASSERT_PTR_NULL(strstr(text, "hunter2"));
    CU_ASSERT_PTR_NULL(strstr(text, "p2"));
    CU_ASSERT_PTR_NULL(strstr(text, "\"k\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"sasl.username\":\"u\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"name\":\"x\""));
    free(text);
    json_decref(red);
    mf_config_free(c);
    mf_diag_free(&d);
}

/* A secret from a file is redacted at any depth a pipeline file allows. */
static void test_redaction_at_depth(void)
{
    char path[] = "/tmp/mf-redact-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, "deep-s3cret\n", 12), 12);
    close(fd);
    mf_str yaml = {0};
    mf_str_puts(&yaml, "name: x\nextra: ");
    for (int i = 0; i < MF_CONFIG_MAX_DEPTH - 2; i++)
        mf_str_puts(&yaml, "{a: ");
    mf_str_printf(&yaml, "{pw: \"${file:%s}\"}", path);
    for (int i = 0; i < MF_CONFIG_MAX_DEPTH - 2; i++)
        mf_str_puts(&yaml, "}");
    mf_str_puts(&yaml, "\n");
    mf_diag d = {0};
    mf_config *c = mf_config_load_text("deep.yaml", yaml.data, yaml.len, &d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    json_t *red = mf_options_redact(opts, mf_config_root(c), c);
    char *text = json_dumps(red, JSON_COMPACT);
    CU_ASSERT_PTR_NULL(strstr(text, "deep-s3cret"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "{\"pw\":\"***\"}"));
    free(text);
    json_decref(red);
    mf_config_free(c);
    mf_diag_free(&d);
    mf_str_free(&yaml);
    unlink(path);
}

/* Pass-through values under secret-looking keys stay out of logs, as secret
 * options do; other pass-through values are not redacted. */
static void test_prefix_secrets_redacted(void)
{
    struct tctx ctx;
    char *msg;
    mf_redact_reset();
    int errors = apply("name: x\nrdkafka.sasl.password: pfx-hunter2\nrdkafka: {ssl.key.password: map-hunter3}\n"
                       "rdkafka.client.id: visible-client\n",
                       &ctx, &msg, NULL);
    CU_ASSERT_EQUAL(errors, 0);
    char *a = mf_redacted("login with pfx-hunter2 and map-hunter3 as visible-client");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_STRING_EQUAL(a, "login with *** and *** as visible-client");
    free(a);
    free(msg);
    mf_redact_reset();
}

static const mf_test tests[] = {
    {"pass-through secrets are redacted", test_prefix_secrets_redacted},
    {"defaults and every type", test_defaults_and_types},
    {"list from a string", test_list_from_string},
    {"errors name place and option", test_errors},
    {"sizes, durations, times", test_units},
    {"RFC 3339 times against timegm", test_time_against_timegm},
    {"schema and redaction", test_schema_and_redaction},
    {"redaction at any depth", test_redaction_at_depth},
    {NULL, NULL},
};

int main(void)
{
    static const mf_suite suites[] = {{"options", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
