/* The shipped filters (lua/) against their fixtures, in the harness:
 * tests/lua/fixtures/<case>/
 *   node.yaml            the node's options (@SRCDIR@: the source tree)
 *   input.jsonl          one record per line, processed as one batch, then
 *                        the end of input (shutdown)
 *   expected.jsonl       the default port, line for line
 *   expected.<port>.jsonl  other ports (errors included); a port without a
 *                        file must stay empty
 *   expected.reasons.txt   substrings of the errors' mf.error, in order
 *   expected.keys.txt      the keys of the default port's records
 *   expected.log.txt       substrings of the log
 * tests/lua/test_lua_pipeline.sh runs the same fixtures through `martflow run`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_test.h"

static char *subst_srcdir(const char *text)
{
    const char *tag = "@SRCDIR@";
    const char *src = lt_srcdir();
    size_t cap = strlen(text) * 2 + strlen(src) * 4 + 1;
    char *out = malloc(cap), *o = out;
    for (const char *p = text; *p;) {
        if (strncmp(p, tag, strlen(tag)) == 0) {
            o += sprintf(o, "%s", src);
            p += strlen(tag);
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* Split text into lines (in place); returns the count. */
static size_t lines(char *text, char **out, size_t max)
{
    size_t n = 0;
    for (char *p = text; p && *p && n < max;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (*p)
            out[n++] = p;
        p = nl ? nl + 1 : NULL;
    }
    return n;
}

static char *fixture(const char *dir, const char *file)
{
    char rel[256];
    snprintf(rel, sizeof rel, "%s/%s", dir, file);
    return lt_fixture(rel);
}

static void check_port(mfh *h, const char *dir, const char *port)
{
    char file[64];
    snprintf(file, sizeof file, strcmp(port, "default") == 0 ? "expected.jsonl" : "expected.%s.jsonl", port);
    char *text = fixture(dir, file);
    char *want[256];
    size_t n = text ? lines(text, want, 256) : 0;
    CU_ASSERT_EQUAL(mfh_count(h, port), n);
    if (mfh_count(h, port) != n)
        fprintf(stderr, "\n  %s: port %s has %zu records, expected %zu\n", dir, port, mfh_count(h, port), n);
    for (size_t i = 0; i < n && i < mfh_count(h, port); i++) {
        const char *got = mfh_value(h, port, i);
        CU_ASSERT_STRING_EQUAL(got, want[i]);
        if (strcmp(got, want[i]) != 0)
            fprintf(stderr, "\n  %s port %s line %zu\n  want: %s\n  got:  %s\n", dir, port, i + 1, want[i], got);
    }
    free(text);
}

static void run_fixture(const char *dir, const char *const *ports)
{
    char *node = fixture(dir, "node.yaml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(node);
    char *cfg = subst_srcdir(node);
    char *yaml = malloc(strlen(cfg) + 16);
    sprintf(yaml, "api: 1\n%s", cfg);
    char *err = NULL;
    mfh *h = mfh_open(MF_KIND_TRANSFORM, "lua", yaml, &err);
    if (!h)
        fprintf(stderr, "\n  %s: %s\n", dir, err);
    free(err);
    free(node);
    free(cfg);
    free(yaml);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    int st = mfh_init(h);
    if (st != MF_OK)
        fprintf(stderr, "\n  %s: %s\n", dir, mfh_log(h));
    CU_ASSERT_EQUAL_FATAL(st, MF_OK);

    char *input = fixture(dir, "input.jsonl");
    CU_ASSERT_PTR_NOT_NULL_FATAL(input);
    char *in[256];
    size_t n = lines(input, in, 256);
    for (size_t i = 0; i < n; i++)
        mfh_push(h, NULL, in[i]);
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    CU_ASSERT_EQUAL(mfh_flush(h, MF_FLUSH_END), MF_OK);

    check_port(h, dir, "default");
    check_port(h, dir, "errors");
    for (const char *const *p = ports; p && *p; p++)
        check_port(h, dir, *p);

    char *reasons = fixture(dir, "expected.reasons.txt");
    if (reasons) {
        char *want[64];
        size_t nr = lines(reasons, want, 64);
        for (size_t i = 0; i < nr; i++) {
            const char *why = mfh_header(h, "errors", i, MF_HEADER_ERROR);
            CU_ASSERT_TRUE(lt_contains(why, want[i]));
            if (!lt_contains(why, want[i]))
                fprintf(stderr, "\n  %s reject %zu: want '%s', got '%s'\n", dir, i + 1, want[i], why);
        }
        free(reasons);
    }
    char *keys = fixture(dir, "expected.keys.txt");
    if (keys) {
        char *want[64];
        size_t nk = lines(keys, want, 64);
        CU_ASSERT_EQUAL(nk, mfh_count(h, "default"));
        for (size_t i = 0; i < nk && i < mfh_count(h, "default"); i++) {
            mf_record *r = mfh_record(h, "default", i);
            CU_ASSERT_EQUAL(r->key_len, strlen(want[i]));
            CU_ASSERT_TRUE(r->key_len == strlen(want[i]) && memcmp(r->key, want[i], r->key_len) == 0);
        }
        free(keys);
    }
    char *log = fixture(dir, "expected.log.txt");
    if (log) {
        char *want[16];
        size_t nl = lines(log, want, 16);
        for (size_t i = 0; i < nl; i++) {
            CU_ASSERT_TRUE(lt_contains(mfh_log(h), want[i]));
            if (!lt_contains(mfh_log(h), want[i]))
                fprintf(stderr, "\n  %s log: want '%s' in:\n%s\n", dir, want[i], mfh_log(h));
        }
        free(log);
    }
    free(input);
    mfh_close(h);
}

static void test_mask_pii(void)
{
    run_fixture("mask_pii", NULL);
}

static void test_mask_pii_hash(void)
{
    run_fixture("mask_pii_hash", NULL);
}

static void test_drop_test_calls(void)
{
    run_fixture("drop_test_calls", NULL);
}

static void test_route_custom(void)
{
    static const char *const ports[] = {"custom", NULL};
    run_fixture("route_custom", ports);
}

static void test_route_custom_only_keys(void)
{
    static const char *const ports[] = {"cases", NULL};
    run_fixture("route_custom_only", ports);
}

static void test_foreign_events(void)
{
    run_fixture("foreign_events", NULL);
}

/* martflow.sha256 / hmac_sha256 against the FIPS 180-2 and RFC 4231 vectors
 * (mask_pii's hash mode rests on them). */
static void test_hash_vectors(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  emit({value = {\n"
                     "    abc = martflow.sha256('abc'),\n"
                     "    empty = martflow.sha256(''),\n"
                     "    long = martflow.sha256('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),\n"
                     "    hmac = martflow.hmac_sha256('Jefe', 'what do ya want for nothing?'),\n"
                     "    hmac_long_key = martflow.hmac_sha256(string.rep('\\xaa', 131),\n"
                     "      'Test Using Larger Than Block-Size Key - Hash Key First')}})\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{}"};
    lt_run(h, in, 1);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(
        mfh_value(h, "default", 0),
        "{\"abc\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\","
        "\"empty\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\","
        "\"hmac\":\"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843\","
        "\"hmac_long_key\":\"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54\","
        "\"long\":\"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1\"}");
    mfh_close(h);
}

const mf_test lt_filter_tests[] = {
    {"mask_pii.lua (mask)", test_mask_pii},
    {"mask_pii.lua (hash)", test_mask_pii_hash},
    {"drop_test_calls.lua", test_drop_test_calls},
    {"route_custom.lua", test_route_custom},
    {"route_custom.lua (copy: false, only_keys)", test_route_custom_only_keys},
    {"foreign_events.lua", test_foreign_events},
    {"sha256 and hmac_sha256 test vectors", test_hash_vectors},
    {NULL, NULL},
};
