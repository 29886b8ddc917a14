/* gim_csvgz.c — see gim_csvgz.h. */
#include "gim_csvgz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include <martflow/alloc.h>
#include <martflow/helpers.h>

#define IN_CAP (64u << 10)  /* CSV gathered before a deflate call */
#define OUT_CAP (64u << 10) /* gzip bytes handed to the store at once */

struct gim_csvgz {
    mf_objstore_writer *ow;
    z_stream z;
    bool z_ready;
    mf_sha256_ctx *sha;
    uint8_t *in, *out;
    size_t in_len;
    bool quoted;     /* inside a quoted field */
    uint64_t records, csv_bytes, bytes;
};

int gim_csvgz_open(mf_objstore *store, const char *key, int level, gim_csvgz **out, char **error)
{
    *out = NULL;
    gim_csvgz *w = mf_xcalloc(1, sizeof *w);
    /* windowBits 15 + 16: a gzip header and trailer around the deflate data */
    if (deflateInit2(&w->z, level < 1 || level > 9 ? Z_DEFAULT_COMPRESSION : level, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        free(w);
        if (error)
            *error = mf_xstrdup("zlib: cannot start a gzip stream");
        return MF_OBJ_FATAL;
    }
    w->z_ready = true;
    int st = mf_objstore_writer_open(store, key, &w->ow, error);
    if (st != MF_OBJ_OK) {
        gim_csvgz_free(w);
        return st;
    }
    w->sha = mf_sha256_new();
    w->in = mf_xmalloc(IN_CAP);
    w->out = mf_xmalloc(OUT_CAP);
    *out = w;
    return MF_OBJ_OK;
}

/* Deflate what the input buffer holds (flush: Z_NO_FLUSH or Z_FINISH) and
 * hand the output to the store. */
static int deflate_out(gim_csvgz *w, int flush, char **error)
{
    w->z.next_in = w->in;
    w->z.avail_in = (uInt)w->in_len;
    for (;;) {
        w->z.next_out = w->out;
        w->z.avail_out = OUT_CAP;
        int zr = deflate(&w->z, flush);
        if (zr == Z_STREAM_ERROR) {
            if (error)
                *error = mf_xstrdup("zlib: deflate failed");
            return MF_OBJ_FATAL;
        }
        size_t n = OUT_CAP - w->z.avail_out;
        if (n) {
            mf_sha256_update(w->sha, w->out, n);
            int st = mf_objstore_writer_write(w->ow, w->out, n, error);
            if (st != MF_OBJ_OK)
                return st;
            w->bytes += n;
        }
        if (flush == Z_FINISH ? zr == Z_STREAM_END : w->z.avail_out != 0)
            break;
    }
    w->in_len = 0;
    return MF_OBJ_OK;
}

/* Append n bytes to the input buffer, deflating each time it fills. */
static int put(gim_csvgz *w, const uint8_t *p, size_t n, char **error)
{
    while (n) {
        if (w->in_len == IN_CAP) {
            int st = deflate_out(w, Z_NO_FLUSH, error);
            if (st != MF_OBJ_OK)
                return st;
        }
        size_t k = IN_CAP - w->in_len < n ? IN_CAP - w->in_len : n;
        memcpy(w->in + w->in_len, p, k);
        w->in_len += k;
        w->csv_bytes += k;
        p += k;
        n -= k;
    }
    return MF_OBJ_OK;
}

int gim_csvgz_write(gim_csvgz *w, const void *data, size_t len, char **error)
{
    const uint8_t *p = data;
    size_t i = 0;
    while (i < len) {
        size_t j = i; /* the next quote or line feed: only they matter */
        while (j < len && p[j] != '"' && p[j] != '\n')
            j++;
        int st = put(w, p + i, j - i, error);
        if (st == MF_OBJ_OK && j < len) {
            if (p[j] == '"') {
                w->quoted = !w->quoted; /* a doubled quote toggles twice */
                st = put(w, p + j, 1, error);
            } else if (w->quoted) {
                st = put(w, p + j, 1, error); /* data: kept as it is */
            } else {
                w->records++;
                st = put(w, (const uint8_t *)"\r\n", 2, error);
            }
        }
        if (st != MF_OBJ_OK)
            return st;
        i = j + 1;
    }
    return MF_OBJ_OK;
}

int gim_csvgz_commit(gim_csvgz *w, gim_csvgz_result *res, char **error)
{
    if (w->quoted) {
        if (error)
            *error = mf_xstrdup("the CSV ends inside a quoted field");
        return MF_OBJ_FATAL;
    }
    int st = deflate_out(w, Z_FINISH, error);
    if (st == MF_OBJ_OK)
        st = mf_objstore_writer_commit(w->ow, error);
    if (st != MF_OBJ_OK)
        return st;
    uint8_t d[MF_SHA256_LEN];
    mf_sha256_final(w->sha, d);
    *res = (gim_csvgz_result){.records = w->records, .csv_bytes = w->csv_bytes, .bytes = w->bytes};
    mf_hex_encode(d, sizeof d, res->sha256);
    return MF_OBJ_OK;
}

void gim_csvgz_free(gim_csvgz *w)
{
    if (!w)
        return;
    if (w->z_ready)
        deflateEnd(&w->z);
    mf_objstore_writer_free(w->ow);
    mf_sha256_free(w->sha);
    free(w->in);
    free(w->out);
    free(w);
}

/* ---- the manifest ---------------------------------------------------------- */

static int append_dump(const char *buf, size_t size, void *data)
{
    mf_buffer_append(data, buf, size);
    return 0;
}

char *gim_manifest_json(const gim_manifest *m)
{
    char created[32];
    time_t t = (time_t)(m->created_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *tables = json_array();
    uint64_t rows = 0;
    for (size_t i = 0; i < m->ntables; i++) {
        const gim_manifest_table *x = &m->tables[i];
        rows += x->rows;
        json_array_append_new(tables, json_pack("{s:s, s:s, s:I, s:I, s:I, s:s}", "table", x->table, "file", x->file,
                                                "rows", (json_int_t)x->rows, "bytes", (json_int_t)x->res.bytes,
                                                "csv_bytes", (json_int_t)x->res.csv_bytes, "sha256",
                                                x->res.sha256));
    }
    json_t *doc = json_pack("{s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:I, s:o}", "format", "martflow-gim-export",
                            "version", 1, "folder", m->folder, "job", m->job ? m->job : "", "created", created,
                            "audit_key_from", (json_int_t)m->audit_key_from, "audit_key_hwm",
                            (json_int_t)m->audit_key_hwm, "rows", (json_int_t)rows, "tables", tables);
    mf_buffer b = {0};
    json_dump_callback(doc, append_dump, &b, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    mf_buffer_append(&b, "\n", 1);
    char *text = mf_xstrndup((const char *)b.data, b.len);
    mf_buffer_free(&b);
    return text;
}
