/* Unit tests: martflow/secrets.h — plain-text and JSON secret files, the
 * size limit, regular files only, and errors that never quote the content.
 * Links only the public libmartflow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <martflow/secrets.h>

#include "cunit_main.h"

static char dir[] = "/tmp/mf-test-secrets.XXXXXX";

static const char *path_of(const char *name)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static const char *write_file(const char *name, const void *data, size_t len)
{
    const char *p = path_of(name);
    FILE *f = fopen(p, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
    fclose(f);
    return p;
}

static void test_text_trimmed(void)
{
    char err[256] = "";
    const char *p = write_file("pw", " \tPa55 w0rd\r\n\n", 14);
    char *t = mf_secret_read_text(p, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t, "Pa55 w0rd"); /* inner space kept */
    mf_secret_text_free(t);
    p = write_file("empty", "\n", 1);
    t = mf_secret_read_text(p, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t, "");
    mf_secret_text_free(t);
    /* through a symlink, as Kubernetes mounts secrets */
    char target[256];
    snprintf(target, sizeof target, "%s", path_of("pw"));
    CU_ASSERT_EQUAL(symlink(target, path_of("link")), 0);
    t = mf_secret_read_text(path_of("link"), err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(t);
    CU_ASSERT_STRING_EQUAL(t ? t : "", "Pa55 w0rd");
    mf_secret_text_free(t);
}

static void test_refused(void)
{
    char err[256];
    CU_ASSERT_PTR_NULL(mf_secret_read_text(path_of("missing"), err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "missing: No such file"));
    CU_ASSERT_PTR_NULL(mf_secret_read_text(dir, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file"));
    /* a FIFO nobody writes to: refused at once, not waited on */
    CU_ASSERT_EQUAL(mkfifo(path_of("fifo"), 0600), 0);
    CU_ASSERT_PTR_NULL(mf_secret_read_text(path_of("fifo"), err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file"));
    const char *p = write_file("nul", "ab\0cd", 5);
    CU_ASSERT_PTR_NULL(mf_secret_read_text(p, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "NUL"));
    /* the limit: MF_SECRET_MAX_BYTES is fine, one more is not */
    char *big = malloc(MF_SECRET_MAX_BYTES + 1);
    memset(big, 'x', MF_SECRET_MAX_BYTES + 1);
    p = write_file("max", big, MF_SECRET_MAX_BYTES);
    char *t = mf_secret_read_text(p, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(t);
    CU_ASSERT_EQUAL(t ? strlen(t) : 0, MF_SECRET_MAX_BYTES);
    mf_secret_text_free(t);
    p = write_file("big", big, MF_SECRET_MAX_BYTES + 1);
    CU_ASSERT_PTR_NULL(mf_secret_read_text(p, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "larger than 65536 bytes"));
    free(big);
}

enum { BOOTSTRAP, USERNAME, PASSWORD, N };

static void fields_init(mf_secret_field *f)
{
    f[BOOTSTRAP] = (mf_secret_field){.name = "bootstrap"};
    f[USERNAME] = (mf_secret_field){.name = "username"};
    f[PASSWORD] = (mf_secret_field){.name = "password", .secret = true};
}

static void test_json(void)
{
    char err[256];
    mf_secret_field f[N];
    fields_init(f);
    const char *text = "{\"bootstrap\": \"127.0.0.1:9092\", \"password\": \"S3cret-pw\", \"username\": null, "
                       "\"extra\": 5}\n";
    const char *p = write_file("kafkasecrets.json", text, strlen(text));
    CU_ASSERT_TRUE_FATAL(mf_secret_read_json(p, f, N, err, sizeof err));
    CU_ASSERT_STRING_EQUAL(f[BOOTSTRAP].value, "127.0.0.1:9092");
    CU_ASSERT_PTR_NULL(f[USERNAME].value); /* null: absent */
    CU_ASSERT_STRING_EQUAL(f[PASSWORD].value, "S3cret-pw");
    mf_secret_fields_free(f, N);
    CU_ASSERT_PTR_NULL(f[PASSWORD].value);
}

static void test_json_errors(void)
{
    char err[256];
    mf_secret_field f[N];
    fields_init(f);
    const char *text = "{\"bootstrap\": \"b:1\", \"password\": \"S3cret-pw\" oops}";
    const char *p = write_file("broken.json", text, strlen(text));
    CU_ASSERT_FALSE(mf_secret_read_json(p, f, N, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "broken.json: not valid JSON (line 1, column"));
    CU_ASSERT_PTR_NULL(strstr(err, "S3cret")); /* the position only */
    CU_ASSERT_PTR_NULL(strstr(err, "oops"));
    CU_ASSERT_PTR_NULL(f[BOOTSTRAP].value);

    text = "{\"bootstrap\": \"b:1\", \"password\": 42}";
    p = write_file("number.json", text, strlen(text));
    CU_ASSERT_FALSE(mf_secret_read_json(p, f, N, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"password\" must be a string"));
    CU_ASSERT_PTR_NULL(f[BOOTSTRAP].value); /* nothing is left behind on failure */

    p = write_file("array.json", "[\"x\"]", 5);
    CU_ASSERT_FALSE(mf_secret_read_json(p, f, N, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "expected a JSON object"));

    CU_ASSERT_FALSE(mf_secret_read_json(path_of("fifo"), f, N, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file"));
}

static const mf_test tests[] = {
    {"text: trimmed, through a symlink", test_text_trimmed},
    {"refused: missing, directory, FIFO, NUL byte, too large", test_refused},
    {"json: wanted string members", test_json},
    {"json: errors never quote the content", test_json_errors},
    {NULL, NULL},
};

int main(void)
{
    if (!mkdtemp(dir))
        return 2;
    static const mf_suite suites[] = {{"secrets", tests}, {NULL, NULL}};
    int rc = mf_cunit_run(suites);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 2;
    return rc;
}
