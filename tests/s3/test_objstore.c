/* tests/s3/test_objstore.c — martflow/objstore.h against a real backend: the
 * location in MF_TEST_STORE (s3://BUCKET or file:///DIR; default a fresh
 * temporary directory). For s3:// the server comes from S3_ENDPOINT,
 * S3_REGION, S3_ACCESS_KEY and S3_SECRET_KEY (tests/services.sh env), and
 * the S3-only cases run too: a wrong secret, a server that is not there.
 * Every run works under its own prefix, so runs never meet. Links only the
 * public libmartflow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <martflow/objstore.h>

#include "../unit/cunit_main.h"

static char *base_url;  /* the store every test opens: MF_TEST_STORE plus the run's prefix */
static bool is_s3;
static struct mf_objstore_opts opts;

#define MIB ((size_t)1 << 20)

static mf_objstore *open_store(void)
{
    char *err = NULL;
    mf_objstore *s = mf_objstore_open(base_url, is_s3 ? &opts : NULL, &err);
    if (!s)
        fprintf(stderr, "open %s: %s\n", base_url, err);
    free(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

static unsigned char *pattern(size_t n, unsigned seed)
{
    unsigned char *b = malloc(n ? n : 1);
    unsigned x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (unsigned char)(x >> 16);
    }
    return b;
}

/* put, head, get, a range: the object comes back byte for byte */
static void round_trip(mf_objstore *s, const char *key, size_t n)
{
    unsigned char *data = pattern(n, (unsigned)n);
    char *err = NULL;
    int rc = mf_objstore_put(s, key, data, n, &err);
    if (rc != MF_OBJ_OK)
        fprintf(stderr, "put %s (%zu B): %d %s\n", key, n, rc, err);
    CU_ASSERT_EQUAL_FATAL(rc, MF_OBJ_OK);
    struct mf_objstore_info info;
    CU_ASSERT_EQUAL(mf_objstore_head(s, key, &info, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(info.size, n);
    CU_ASSERT_STRING_EQUAL(info.key, key);
    CU_ASSERT(info.mtime_ms > 1700000000000LL);
    void *got = NULL;
    size_t len = 99;
    rc = mf_objstore_get(s, key, &got, &len, &err);
    if (rc != MF_OBJ_OK)
        fprintf(stderr, "get %s: %d %s\n", key, rc, err);
    CU_ASSERT_EQUAL_FATAL(rc, MF_OBJ_OK);
    CU_ASSERT_EQUAL(len, n);
    CU_ASSERT(len == n && memcmp(got, data, n) == 0);
    CU_ASSERT_EQUAL(((char *)got)[len], '\0');
    free(got);
    if (n > 2) { /* the middle, and a range running past the end */
        CU_ASSERT_EQUAL(mf_objstore_get_range(s, key, 1, n - 2, &got, &len, &err), MF_OBJ_OK);
        CU_ASSERT(len == n - 2 && memcmp(got, data + 1, n - 2) == 0);
        free(got);
        CU_ASSERT_EQUAL(mf_objstore_get_range(s, key, n - 1, 100, &got, &len, &err), MF_OBJ_OK);
        CU_ASSERT(len == 1 && ((unsigned char *)got)[0] == data[n - 1]);
        free(got);
    }
    CU_ASSERT_EQUAL(mf_objstore_get_range(s, key, n, 10, &got, &len, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(len, 0);
    free(got);
    free(data);
    free(err);
}

static void test_sizes(void)
{
    mf_objstore *s = open_store();
    round_trip(s, "sizes/zero", 0);
    round_trip(s, "sizes/one", 1);
    round_trip(s, "sizes/5MiB+1", 5 * MIB + 1); /* part_size 5 MiB: two parts over S3 */
    round_trip(s, "sizes/10MiB", 10 * MIB);     /* exactly two full parts, no empty third */
    mf_objstore_close(s);
}

static void test_key_characters(void)
{
    static const char *keys[] = {
        "odd/with space", "odd/plus+sign", "odd/per%cent", "odd/equals=sign", "odd/unicodé ✓ 日本",
        "odd/all of them +%=&?#;,:@$!'()*[]~", "odd/tilde~dot.dash-under_score",
    };
    mf_objstore *s = open_store();
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        round_trip(s, keys[i], 7 + i);
    mf_objstore_close(s);
}

struct collected {
    char **keys;
    uint64_t *sizes;
    size_t n, stop_after;
};

static int collect(void *arg, const struct mf_objstore_info *info)
{
    struct collected *c = arg;
    c->keys = realloc(c->keys, (c->n + 1) * sizeof(*c->keys));
    c->sizes = realloc(c->sizes, (c->n + 1) * sizeof(*c->sizes));
    c->keys[c->n] = strdup(info->key);
    c->sizes[c->n] = info->size;
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static void collected_free(struct collected *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->keys[i]);
    free(c->keys);
    free(c->sizes);
    memset(c, 0, sizeof(*c));
}

static void test_list_keys_back(void)
{
    mf_objstore *s = open_store();
    const char *keys[] = {"lk/b", "lk/a b", "lk/a+b", "lk/a%b", "lk/a=b", "lk/é", "lk/z/deep/er"};
    size_t nk = sizeof keys / sizeof keys[0];
    char *err = NULL;
    for (size_t i = 0; i < nk; i++)
        CU_ASSERT_EQUAL(mf_objstore_put(s, keys[i], keys[i], strlen(keys[i]), &err), MF_OBJ_OK);
    struct collected c = {0};
    CU_ASSERT_EQUAL(mf_objstore_list(s, "lk/", collect, &c, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL_FATAL(c.n, nk);
    for (size_t i = 1; i < c.n; i++)
        CU_ASSERT(strcmp(c.keys[i - 1], c.keys[i]) < 0);
    for (size_t i = 0; i < nk; i++) {
        bool found = false;
        for (size_t j = 0; j < c.n; j++)
            if (strcmp(c.keys[j], keys[i]) == 0 && c.sizes[j] == strlen(keys[i]))
                found = true;
        CU_ASSERT(found);
    }
    collected_free(&c);
    /* a plain string prefix, not a directory */
    CU_ASSERT_EQUAL(mf_objstore_list(s, "lk/a", collect, &c, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(c.n, 4);
    collected_free(&c);
    CU_ASSERT_EQUAL(mf_objstore_list(s, "lk/z/d", collect, &c, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(c.n, 1);
    collected_free(&c);
    free(err);
    mf_objstore_close(s);
}

static void test_list_many(void)
{
    enum { N = 1105 };
    mf_objstore *s = open_store();
    char key[64], *err = NULL;
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "many/k%05d", i);
        int rc = mf_objstore_put(s, key, key, strlen(key), &err);
        if (rc != MF_OBJ_OK) {
            fprintf(stderr, "put %s: %s\n", key, err);
            CU_FAIL_FATAL("put");
        }
    }
    CU_ASSERT_EQUAL(mf_objstore_put(s, "manyother", "x", 1, &err), MF_OBJ_OK);
    struct collected c = {0};
    CU_ASSERT_EQUAL(mf_objstore_list(s, "many/", collect, &c, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL_FATAL(c.n, N);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "many/k%05d", i);
        CU_ASSERT_STRING_EQUAL(c.keys[i], key);
    }
    collected_free(&c);
    /* the callback stops the listing, across the page boundary too */
    c.stop_after = 1001;
    CU_ASSERT_EQUAL(mf_objstore_list(s, "many", collect, &c, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(c.n, 1001);
    collected_free(&c);
    free(err);
    mf_objstore_close(s);
}

static void test_writer(void)
{
    mf_objstore *s = open_store();
    char *err = NULL;
    mf_objstore_writer *w = NULL;
    size_t n = 6 * MIB + 12345;
    unsigned char *data = pattern(n, 7);
    CU_ASSERT_EQUAL_FATAL(mf_objstore_writer_open(s, "w/streamed", &w, &err), MF_OBJ_OK);
    for (size_t off = 0; off < n;) {
        size_t piece = off % 3 ? 100000 : 777777;
        if (piece > n - off)
            piece = n - off;
        CU_ASSERT_EQUAL_FATAL(mf_objstore_writer_write(w, data + off, piece, &err), MF_OBJ_OK);
        off += piece;
    }
    CU_ASSERT_EQUAL(mf_objstore_writer_size(w), n);
    /* a part is up, the object is not there yet */
    CU_ASSERT_EQUAL(mf_objstore_head(s, "w/streamed", NULL, &err), MF_OBJ_NOT_FOUND);
    struct collected c = {0};
    CU_ASSERT_EQUAL(mf_objstore_list(s, "w/", collect, &c, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(c.n, 0);
    collected_free(&c);
    CU_ASSERT_EQUAL(mf_objstore_writer_commit(w, &err), MF_OBJ_OK);
    mf_objstore_writer_free(w);
    void *got = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(mf_objstore_get(s, "w/streamed", &got, &len, &err), MF_OBJ_OK);
    CU_ASSERT(len == n && memcmp(got, data, n) == 0);
    free(got);

    /* an abandoned writer leaves nothing, also after a part went up */
    CU_ASSERT_EQUAL_FATAL(mf_objstore_writer_open(s, "w/abandoned", &w, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(mf_objstore_writer_write(w, data, n, &err), MF_OBJ_OK);
    mf_objstore_writer_free(w);
    CU_ASSERT_EQUAL(mf_objstore_head(s, "w/abandoned", NULL, &err), MF_OBJ_NOT_FOUND);
    CU_ASSERT_EQUAL(mf_objstore_list(s, "w/", collect, &c, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(c.n, 1);
    collected_free(&c);
    /* a put replaces the object */
    CU_ASSERT_EQUAL(mf_objstore_put(s, "w/streamed", "new", 3, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(mf_objstore_get(s, "w/streamed", &got, &len, &err), MF_OBJ_OK);
    CU_ASSERT(len == 3 && memcmp(got, "new", 3) == 0);
    free(got);
    free(data);
    free(err);
    mf_objstore_close(s);
}

static void test_missing_and_delete(void)
{
    mf_objstore *s = open_store();
    char *err = NULL;
    void *got = (void *)1;
    size_t len = 5;
    CU_ASSERT_EQUAL(mf_objstore_get(s, "nope/never", &got, &len, &err), MF_OBJ_NOT_FOUND);
    CU_ASSERT_PTR_NULL(got);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_PTR_NOT_NULL(err);
    free(err);
    err = NULL;
    CU_ASSERT_EQUAL(mf_objstore_head(s, "nope/never", NULL, &err), MF_OBJ_NOT_FOUND);
    CU_ASSERT_EQUAL(mf_objstore_delete(s, "nope/never", &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(mf_objstore_put(s, "del/x y", "1", 1, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(mf_objstore_delete(s, "del/x y", &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(mf_objstore_head(s, "del/x y", NULL, &err), MF_OBJ_NOT_FOUND);
    struct collected c = {0};
    CU_ASSERT_EQUAL(mf_objstore_list(s, "del", collect, &c, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(c.n, 0);
    collected_free(&c);
    free(err);
    mf_objstore_close(s);
}

static void test_bad_keys(void)
{
    static const char *bad[] = {"", "/lead", "trail/", "dou//ble", "a/./b", "../up", "a/..", ".mf-tmp/x"};
    mf_objstore *s = open_store();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *err = NULL;
        CU_ASSERT_EQUAL(mf_objstore_put(s, bad[i], "x", 1, &err), MF_OBJ_FATAL);
        CU_ASSERT_PTR_NOT_NULL(err);
        if (err)
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "key"));
        free(err);
    }
    char longkey[1100];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    char *err = NULL;
    CU_ASSERT_EQUAL(mf_objstore_head(s, longkey, NULL, &err), MF_OBJ_FATAL);
    free(err);
    mf_objstore_close(s);
}

static void test_bad_urls(void)
{
    static const char *bad[] = {"", "http://x/y", "s3://", "s3://UPPER/x", "s3://ab", "s3://bkt//x", "file://rel/dir"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *err = NULL;
        mf_objstore *s = mf_objstore_open(bad[i], &opts, &err);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_PTR_NOT_NULL(err);
        mf_objstore_close(s);
        free(err);
    }
}

/* ---- S3 only --------------------------------------------------------------- */

static void test_wrong_secret(void)
{
    struct mf_objstore_opts o = opts;
    const char *wrong = "wrong-secret-Zq9Xv";
    o.secret_key = wrong;
    char *err = NULL;
    mf_objstore *s = mf_objstore_open(base_url, &o, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    int rc = mf_objstore_put(s, "denied", "x", 1, &err);
    CU_ASSERT_EQUAL(rc, MF_OBJ_FATAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    fprintf(stderr, "wrong secret -> %s\n", err);
    CU_ASSERT_PTR_NULL(strstr(err, wrong));
    CU_ASSERT_PTR_NULL(strstr(err, opts.secret_key));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, opts.endpoint));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "SignatureDoesNotMatch"));
    const char *bucket = getenv("S3_BUCKET");
    CU_ASSERT_PTR_NOT_NULL(bucket && strstr(err, bucket));
    free(err);
    err = NULL;
    CU_ASSERT_EQUAL(mf_objstore_head(s, "denied", NULL, &err), MF_OBJ_FATAL);
    free(err);
    err = NULL;
    struct collected c = {0};
    CU_ASSERT_EQUAL(mf_objstore_list(s, "", collect, &c, &err), MF_OBJ_FATAL);
    collected_free(&c);
    free(err);
    mf_objstore_close(s);
}

static void test_no_server(void)
{
    struct mf_objstore_opts o = opts;
    o.endpoint = "http://127.0.0.1:1"; /* nothing listens on port 1 */
    o.connect_timeout_ms = 2000;
    char *err = NULL;
    mf_objstore *s = mf_objstore_open(base_url, &o, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(mf_objstore_put(s, "x", "x", 1, &err), MF_OBJ_RETRY);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "127.0.0.1:1"));
    free(err);
    mf_objstore_close(s);
}

static void test_missing_bucket(void)
{
    char *err = NULL;
    mf_objstore *s = mf_objstore_open("s3://no-such-bucket-mf", &opts, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(mf_objstore_head(s, "x", NULL, &err), MF_OBJ_NOT_FOUND);
    free(err);
    err = NULL;
    CU_ASSERT_EQUAL(mf_objstore_put(s, "x", "x", 1, &err), MF_OBJ_FATAL);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "NoSuchBucket"));
    free(err);
    mf_objstore_close(s);
}

static const mf_test common_tests[] = {
    {"sizes 0 B, 1 B, 5 MiB + 1 B, 10 MiB", test_sizes},
    {"keys with spaces, +, %, = and unicode", test_key_characters},
    {"listing gives the keys back", test_list_keys_back},
    {"listing more than 1,000 objects", test_list_many},
    {"streaming writer: invisible until commit", test_writer},
    {"missing objects and delete", test_missing_and_delete},
    {"bad keys refused", test_bad_keys},
    {"bad URLs refused", test_bad_urls},
    {NULL, NULL},
};

static const mf_test s3_tests[] = {
    {"wrong secret: fatal, named, not shown", test_wrong_secret},
    {"no server: retry", test_no_server},
    {"missing bucket", test_missing_bucket},
    {NULL, NULL},
};

int main(void)
{
    const char *store = getenv("MF_TEST_STORE");
    char tmpl[] = "/tmp/mf-objstore.XXXXXX";
    char *tmpdir = NULL;
    if (!store || !*store) {
        tmpdir = mkdtemp(tmpl);
        if (!tmpdir)
            return 2;
        base_url = malloc(strlen(tmpdir) + 16);
        sprintf(base_url, "file://%s/run", tmpdir);
    } else {
        base_url = malloc(strlen(store) + 32);
        sprintf(base_url, "%s/run-%ld", store, (long)getpid());
    }
    is_s3 = strncmp(base_url, "s3://", 5) == 0;
    opts.endpoint = getenv("S3_ENDPOINT");
    opts.region = getenv("S3_REGION");
    opts.access_key = getenv("S3_ACCESS_KEY");
    opts.secret_key = getenv("S3_SECRET_KEY");
    opts.path_style = true;
    opts.part_size = 5 * MIB;
    if (is_s3 && (!opts.endpoint || !opts.access_key || !opts.secret_key)) {
        fprintf(stderr, "MF_TEST_STORE is s3:// but S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY are not set\n");
        return 2;
    }
    fprintf(stderr, "store: %s\n", base_url);
    mf_suite suites[3] = {{"objstore", common_tests}, {NULL, NULL}, {NULL, NULL}};
    if (is_s3)
        suites[1] = (mf_suite){"objstore s3", s3_tests};
    int rc = mf_cunit_run(suites);
    if (tmpdir && rc == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            rc = 1;
    }
    free(base_url);
    return rc;
}
