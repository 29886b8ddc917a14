/* Unit tests: log rate limiting and levels; the redaction set and the places
 * that feed it (substitution, secret options) and use it (log, diagnostics). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "cunit_main.h"
#include "diag.h"
#include "log.h"
#include "options.h"
#include "redact.h"
#include "subst.h"

/* ---- capture the log ------------------------------------------------------ */

static FILE *log_file;

static void capture_log(void)
{
    log_file = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(log_file);
    mf_log_set_fd(fileno(log_file));
    mf_log_set_level(MF_LOG_TRACE);
}

/* Everything logged since capture_log(); the caller frees it. */
static char *captured_log(void)
{
    mf_log_set_fd(1);
    mf_log_set_level(MF_LOG_INFO);
    int fd = fileno(log_file);
    off_t n = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, n > 0 ? (size_t)n + 1 : 1);
    ssize_t got = n > 0 ? pread(fd, text, (size_t)n, 0) : 0;
    text[got > 0 ? got : 0] = '\0';
    fclose(log_file);
    return text;
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ---- rate limiting -------------------------------------------------------- */

/* The burst is 20 per (format text, level, node) and window. */
static void test_levels_do_not_share_a_slot(void)
{
    capture_log();
    for (int i = 0; i < 25; i++)
        mf_log_write(MF_LOG_ERROR, "lv", NULL, "%s", "an error");
    mf_log_write(MF_LOG_WARN, "lv", NULL, "%s", "a warning"); /* the same literal "%s" */
    char *log = captured_log();
    CU_ASSERT_EQUAL(count(log, "\"message\":\"an error\""), 20);
    CU_ASSERT_EQUAL(count(log, "\"level\":\"warn\""), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "a warning"));
    free(log);
}

/* Log the way the host table does for a plugin (the format is the rate key). */
static void plugin_log(const char *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mf_log_vwrite(MF_LOG_INFO, node, "p", fmt, fmt, ap);
    va_end(ap);
}

/* Two copies of one format text (a plugin's and the engine's) are one call site. */
static void test_same_text_shares_a_slot(void)
{
    char *a = strdup("copy %d"), *b = strdup("copy %d");
    CU_ASSERT_PTR_NOT_EQUAL(a, b);
    capture_log();
    for (int i = 0; i < 15; i++) {
        plugin_log("same", a, i);
        plugin_log("same", b, i);
    }
    /* another node has its own slot */
    plugin_log("other", a, 99);
    char *log = captured_log();
    CU_ASSERT_EQUAL(count(log, "\"node\":\"same\""), 20);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "\"node\":\"other\",\"plugin\":\"p\",\"message\":\"copy 99\""));
    free(log);
    free(a);
    free(b);
}

/* ---- levels from plugins -------------------------------------------------- */

static void test_out_of_range_levels(void)
{
    capture_log();
    mf_log_write((mf_log_level)-7, "clamp", NULL, "below error");
    mf_log_write((mf_log_level)99, "clamp", NULL, "above trace");
    CU_ASSERT_TRUE(mf_log_enabled((mf_log_level)-7));
    char *log = captured_log();
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "\"level\":\"error\",\"node\":\"clamp\",\"message\":\"below error\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "\"level\":\"trace\",\"node\":\"clamp\",\"message\":\"above trace\""));
    free(log);

    capture_log();
    mf_log_set_level(MF_LOG_INFO);
    mf_log_write((mf_log_level)99, "clamp", NULL, "still trace");
    CU_ASSERT_FALSE(mf_log_enabled((mf_log_level)99));
    char *quiet = captured_log();
    CU_ASSERT_PTR_NULL(strstr(quiet, "still trace"));
    free(quiet);
}

/* ---- the redaction set ---------------------------------------------------- */

static void expect_redacted(const char *text, const char *want)
{
    char *got = mf_redact_dup(text);
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "redacted '%s': got '%s', want '%s'\n", text, got, want);
    free(got);
}

static void test_redact_basics(void)
{
    mf_redact_reset();
    CU_ASSERT_PTR_NULL(mf_redacted("nothing registered"));
    CU_ASSERT_TRUE(mf_redact_add("abc")); /* shorter than MF_REDACT_MIN_LEN: ignored */
    CU_ASSERT_PTR_NULL(mf_redacted("xabcx"));
    CU_ASSERT_TRUE(mf_redact_add("pass"));
    CU_ASSERT_TRUE(mf_redact_add("password1"));
    CU_ASSERT_TRUE(mf_redact_add("password1")); /* again: no change */
    expect_redacted("my password1 and pass", "my *** and ***");
    expect_redacted("passpass", "******");
    CU_ASSERT_TRUE(mf_redact_add("abcdef"));
    CU_ASSERT_TRUE(mf_redact_add("defghi"));
    expect_redacted("xxabcdefghiyy", "xx***yy"); /* overlapping: one run, nothing left over */
    expect_redacted("", "");
    CU_ASSERT_PTR_NULL(mf_redacted("clean text"));

    mf_str s = {0};
    mf_str_puts(&s, "pass: keep | pass: hide");
    CU_ASSERT_TRUE(mf_redact_str(&s, 12));
    CU_ASSERT_STRING_EQUAL(s.data, "pass: keep | ***: hide");
    CU_ASSERT_EQUAL(s.len, strlen(s.data));
    mf_str_free(&s);
    mf_redact_reset();
    CU_ASSERT_PTR_NULL(mf_redacted("password1"));
}

static void test_redact_lines_and_bound(void)
{
    mf_redact_reset();
    CU_ASSERT_TRUE(mf_redact_add("root:hashOne::\r\ndaemon:hashTwo::\nab\n"));
    expect_redacted("bad path 'daemon:hashTwo::'", "bad path '***'");
    expect_redacted("x root:hashOne:: y", "x *** y");
    expect_redacted("ab", "ab"); /* a short line is not registered */

    mf_redact_reset();
    char v[32];
    int added = 0;
    for (int i = 0; i < MF_REDACT_MAX_VALUES + 10; i++) {
        snprintf(v, sizeof v, "secret-%05d", i);
        if (!mf_redact_add(v))
            break;
        added++;
    }
    CU_ASSERT_EQUAL(added, MF_REDACT_MAX_VALUES);
    CU_ASSERT_TRUE(mf_redact_add("secret-00007")); /* registered already */
    expect_redacted("a secret-00000 b secret-04095", "a *** b ***");
    mf_redact_reset();
}

/* ---- what feeds the set: substitution and secret options ------------------ */

static char tmpdir[64];

static char *write_tmp(const char *name, const char *content)
{
    char *path = mf_xasprintf("%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(content, f);
    fclose(f);
    return path;
}

static char *subst(const char *in, bool *sensitive, char **error)
{
    *sensitive = false;
    *error = NULL;
    return mf_subst_string(in, sensitive, error);
}

static void test_subst_registers_file_values(void)
{
    mf_redact_reset();
    char *sec = write_tmp("sec", "fromFile42\n");
    char *js = write_tmp("k.json", "{\"pw\":\"fromJson42\",\"n\":12345}");
    char *in = mf_xasprintf("a/${file:%s}/b ${json:%s#pw} ${json:%s#n}", sec, js, js);
    bool sensitive;
    char *error;
    char *out = subst(in, &sensitive, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_TRUE(sensitive);
    CU_ASSERT_STRING_EQUAL(out, "a/fromFile42/b fromJson42 12345");
    expect_redacted(out, "a/***/b *** ***");
    free(out);
    free(in);

    /* ${env:} values are not secret */
    setenv("MF_TEST_PLAIN", "plainEnvValue", 1);
    out = subst("${env:MF_TEST_PLAIN}", &sensitive, &error);
    CU_ASSERT_FALSE(sensitive);
    CU_ASSERT_PTR_NULL(mf_redacted(out));
    free(out);

    /* a JSON parse error does not quote the file's content */
    char *bad = write_tmp("bad.json", "notJsonSecretText");
    in = mf_xasprintf("${json:%s#pw}", bad);
    out = subst(in, &sensitive, &error);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(error);
    CU_ASSERT_PTR_NULL(strstr(error, "notJsonSecretText"));
    CU_ASSERT_PTR_NOT_NULL(strstr(error, "is not a JSON object file"));
    free(error);
    free(in);

    /* a FIFO is refused at once (opening it for reading would wait for a writer) */
    char *fifo = mf_xasprintf("%s/fifo", tmpdir);
    CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
    for (int k = 0; k < 2; k++) {
        in = mf_xasprintf(k ? "${json:%s#pw}" : "${file:%s}", fifo);
        out = subst(in, &sensitive, &error);
        CU_ASSERT_PTR_NULL(out);
        CU_ASSERT_PTR_NOT_NULL(error && strstr(error, "is not a regular file"));
        free(error);
        free(in);
    }
    unlink(fifo);
    unlink(sec);
    unlink(js);
    unlink(bad);
    free(fifo);
    free(sec);
    free(js);
    free(bad);
    mf_redact_reset();
}

struct sctx {
    const char *user;
    const char *pw;
};

static void test_secret_option_registered(void)
{
    static const mf_option opts[] = {
        MF_OPTION(MF_OPT_STRING, "user", NULL, 0, struct sctx, user, "A user"),
        MF_OPTION(MF_OPT_SECRET, "pw", NULL, 0, struct sctx, pw, "A password"),
        MF_OPTION_END,
    };
    mf_redact_reset();
    const char *yaml = "user: plainUser\npw: literalPw99\n";
    mf_diag d = {0};
    mf_config *c = mf_config_load_text("s.yaml", yaml, strlen(yaml), &d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct sctx ctx = {0};
    mf_optvals *v = mf_options_apply(opts, mf_config_root(c), NULL, 0, c, "node 'n'", &ctx, &d);
    CU_ASSERT_EQUAL(d.errors, 0);
    CU_ASSERT_STRING_EQUAL(ctx.pw, "literalPw99");
    expect_redacted("user plainUser pw literalPw99", "user plainUser pw ***");
    mf_optvals_free(v);
    mf_config_free(c);
    mf_diag_free(&d);
    mf_redact_reset();
}

/* ---- what uses the set: log lines and diagnostics ------------------------- */

static void test_log_and_diag_redacted(void)
{
    mf_redact_reset();
    mf_redact_add("s3cr3t\"Val");
    mf_redact_add("nodeSecret");
    capture_log();
    mf_log_set_pipeline("pipe-nodeSecret");
    mf_log_write(MF_LOG_ERROR, "n-nodeSecret", "plug", "cannot open '/x/%s/y'", "s3cr3t\"Val");
    mf_log_set_pipeline(NULL);
    char *log = captured_log();
    CU_ASSERT_PTR_NULL(strstr(log, "s3cr3t"));
    CU_ASSERT_PTR_NULL(strstr(log, "nodeSecret"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "\"pipeline\":\"pipe-***\",\"node\":\"n-***\",\"plugin\":\"plug\","
                                       "\"message\":\"cannot open '/x/***/y'\""));
    free(log);

    mf_diag d = {0};
    mf_diag_error(&d, (mf_loc){"f.yaml", 3, 7}, "bad value '%s'", "nodeSecret");
    CU_ASSERT_STRING_EQUAL(d.text.data, "f.yaml:3:7: bad value '***'\n");
    CU_ASSERT_EQUAL(d.errors, 1);
    mf_diag_free(&d);
    mf_redact_reset();
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mf-test-log.XXXXXX");
    if (!mkdtemp(tmpdir))
        return 2;
    static const mf_test rate[] = {
        {"two levels never share a slot", test_levels_do_not_share_a_slot},
        {"the same format text at two addresses is one slot", test_same_text_shares_a_slot},
        {"levels below error and above trace are clamped", test_out_of_range_levels},
        {NULL, NULL},
    };
    static const mf_test redact[] = {
        {"registered values become ***", test_redact_basics},
        {"lines of a multi-line value; the set is bounded", test_redact_lines_and_bound},
        {"${file:} and ${json:} values are registered, ${env:} not; FIFOs refused",
         test_subst_registers_file_values},
        {"a literal secret option is registered", test_secret_option_registered},
        {"log lines and diagnostics are redacted", test_log_and_diag_redacted},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {{"log", rate}, {"redact", redact}, {NULL, NULL}};
    int rc = mf_cunit_run(suites);
    rmdir(tmpdir);
    return rc;
}
