/* Unit tests: the Data Export file writer and manifest (plugins/gim/gim_csvgz.h)
 * over a file:// object store in a temporary directory: PostgreSQL's CSV in
 * any pieces becomes CRLF-terminated records (line breaks inside quotes kept),
 * gzipped, counted and checksummed; an uncommitted file never appears. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include <martflow/alloc.h>
#include <martflow/crypto.h>
#include <martflow/helpers.h>

#include "cunit_main.h"
#include "gim_csvgz.h"

static char dir[] = "/tmp/mf-test-csvgz.XXXXXX";

static mf_objstore *store(void)
{
    char *url = mf_xasprintf("file://%s", dir);
    char *err = NULL;
    mf_objstore *s = mf_objstore_open(url, NULL, &err);
    free(url);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

/* The file's bytes (malloc'd, *len). */
static uint8_t *slurp(const char *key, size_t *len)
{
    char *path = mf_xasprintf("%s/%s", dir, key);
    FILE *f = fopen(path, "rb");
    free(path);
    *len = 0;
    if (!f)
        return NULL;
    uint8_t *buf = mf_xmalloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* gunzip (one member) into a malloc'd NUL-terminated string. */
static char *gunzip(const uint8_t *data, size_t len, size_t *out_len)
{
    size_t cap = 1 << 20;
    char *out = mf_xmalloc(cap + 1);
    z_stream z = {0};
    CU_ASSERT_EQUAL_FATAL(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    CU_ASSERT_EQUAL(inflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    out[*out_len] = '\0';
    inflateEnd(&z);
    return out;
}

static const char pg_csv[] = "id,name,note\n"
                             "1,\"a,b\",plain\n"
                             "2,\"say \"\"hi\"\"\",\"two\nlines\"\n"
                             "3,,\"\"\n"
                             "4,caf\xc3\xa9,\"\xe6\x97\xa5\xe6\x9c\xac\r\nx\"\n";
static const char rfc_csv[] = "id,name,note\r\n"
                              "1,\"a,b\",plain\r\n"
                              "2,\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
                              "3,,\"\"\r\n"
                              "4,caf\xc3\xa9,\"\xe6\x97\xa5\xe6\x9c\xac\r\nx\"\r\n";

static void write_in_pieces(size_t step)
{
    mf_objstore *s = store();
    gim_csvgz *w = NULL;
    char *err = NULL;
    char key[64];
    snprintf(key, sizeof key, "f/t%zu.csv.gz", step);
    CU_ASSERT_EQUAL_FATAL(gim_csvgz_open(s, key, 6, &w, &err), MF_OBJ_OK);
    size_t n = strlen(pg_csv);
    for (size_t i = 0; i < n; i += step)
        CU_ASSERT_EQUAL(gim_csvgz_write(w, pg_csv + i, i + step <= n ? step : n - i, &err), MF_OBJ_OK);
    gim_csvgz_result res;
    CU_ASSERT_EQUAL_FATAL(gim_csvgz_commit(w, &res, &err), MF_OBJ_OK);
    gim_csvgz_free(w);
    CU_ASSERT_EQUAL(res.records, 5);
    CU_ASSERT_EQUAL(res.csv_bytes, strlen(rfc_csv));
    size_t len, plain_len;
    uint8_t *gz = slurp(key, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gz);
    CU_ASSERT_EQUAL(res.bytes, len);
    uint8_t d[MF_SHA256_LEN];
    char hex[2 * MF_SHA256_LEN + 1];
    mf_sha256(gz, len, d);
    mf_hex_encode(d, sizeof d, hex);
    CU_ASSERT_STRING_EQUAL(res.sha256, hex);
    char *plain = gunzip(gz, len, &plain_len);
    CU_ASSERT_EQUAL(plain_len, strlen(rfc_csv));
    CU_ASSERT_STRING_EQUAL(plain, rfc_csv);
    free(plain);
    free(gz);
    mf_objstore_close(s);
}

static void test_pieces(void)
{
    write_in_pieces(strlen(pg_csv)); /* at once */
    write_in_pieces(1);              /* byte by byte: quotes and line ends split */
    write_in_pieces(7);
}

/* More than the writer's buffers (64 KiB): many deflate calls, still exact. */
static void test_large(void)
{
    mf_objstore *s = store();
    gim_csvgz *w = NULL;
    char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(gim_csvgz_open(s, "big.csv.gz", 1, &w, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(gim_csvgz_write(w, "k,v\n", 4, &err), MF_OBJ_OK);
    char line[64];
    for (int i = 0; i < 30000; i++) {
        int n = snprintf(line, sizeof line, "%d,\"row %d\nsecond line\"\n", i, i * 7);
        CU_ASSERT_EQUAL_FATAL(gim_csvgz_write(w, line, (size_t)n, &err), MF_OBJ_OK);
    }
    gim_csvgz_result res;
    CU_ASSERT_EQUAL_FATAL(gim_csvgz_commit(w, &res, &err), MF_OBJ_OK);
    gim_csvgz_free(w);
    CU_ASSERT_EQUAL(res.records, 30001);
    size_t len, plain_len;
    uint8_t *gz = slurp("big.csv.gz", &len);
    char *plain = gunzip(gz, len, &plain_len);
    CU_ASSERT_EQUAL(plain_len, res.csv_bytes);
    CU_ASSERT_PTR_NOT_NULL(strstr(plain, "29999,\"row 209993\nsecond line\"\r\n"));
    CU_ASSERT(plain_len > (64u << 10));
    free(plain);
    free(gz);
    mf_objstore_close(s);
}

/* Freed without commit: nothing appears; a CSV ending inside quotes is refused. */
static void test_uncommitted(void)
{
    mf_objstore *s = store();
    gim_csvgz *w = NULL;
    char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(gim_csvgz_open(s, "gone.csv.gz", 6, &w, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(gim_csvgz_write(w, "a\n1\n", 4, &err), MF_OBJ_OK);
    gim_csvgz_free(w);
    CU_ASSERT_EQUAL(mf_objstore_head(s, "gone.csv.gz", NULL, &err), MF_OBJ_NOT_FOUND);
    free(err);
    err = NULL;
    CU_ASSERT_EQUAL_FATAL(gim_csvgz_open(s, "open.csv.gz", 6, &w, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(gim_csvgz_write(w, "a\n\"1\n", 5, &err), MF_OBJ_OK);
    gim_csvgz_result res;
    CU_ASSERT_EQUAL(gim_csvgz_commit(w, &res, &err), MF_OBJ_FATAL);
    CU_ASSERT_PTR_NOT_NULL(err);
    free(err);
    gim_csvgz_free(w);
    err = NULL;
    CU_ASSERT_EQUAL(mf_objstore_head(s, "open.csv.gz", NULL, &err), MF_OBJ_NOT_FOUND);
    free(err);
    mf_objstore_close(s);
}

static void test_manifest(void)
{
    gim_manifest_table t[2] = {
        {.table = "interaction_fact", .file = "interaction_fact.csv.gz", .rows = 3,
         .res = {.records = 4, .csv_bytes = 100, .bytes = 80, .sha256 = "ab"}},
        {.table = "tenant", .file = "tenant.csv.gz", .rows = 1, .res = {.records = 2, .bytes = 40, .sha256 = "cd"}},
    };
    gim_manifest m = {.folder = "export_9_2026_01_02_03_04_05", .audit_key_from = 4, .audit_key_hwm = 9,
                      .created_ms = 1767323045000, .job = "export", .tables = t, .ntables = 2};
    char *text = gim_manifest_json(&m);
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "format")), "martflow-gim-export");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "created")), "2026-01-02T03:04:05Z");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "audit_key_from")), 4);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "audit_key_hwm")), 9);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "rows")), 4);
    json_t *t1 = json_array_get(json_object_get(j, "tables"), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t1, "file")), "tenant.csv.gz");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t1, "sha256")), "cd");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(t1, "bytes")), 40);
    CU_ASSERT(text[strlen(text) - 1] == '\n');
    json_decref(j);
    free(text);
}

static const mf_test tests[] = {
    {"CSV in any pieces -> RFC 4180, gzip, counted, SHA-256", test_pieces},
    {"larger than the buffers", test_large},
    {"uncommitted or unterminated: nothing appears", test_uncommitted},
    {"manifest JSON", test_manifest},
    {NULL, NULL},
};

int main(void)
{
    if (!mkdtemp(dir))
        return 2;
    static const mf_suite suites[] = {{"gim_csvgz", tests}, {NULL, NULL}};
    int rc = mf_cunit_run(suites);
    char *cmd = mf_xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    free(cmd);
    return rc;
}
