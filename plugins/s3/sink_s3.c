/*
 * sink s3 — write records as objects (JSON lines or CSV, gzip or not) to an
 * S3 bucket or a directory, through the engine's object store
 * (martflow/objstore.h: s3://BUCKET or file:///DIR).
 *
 * Records collect in the open object, each holding its ack. The object is
 * sealed when it reaches max_object_size (uncompressed bytes), when its
 * oldest record waited max_age, when the next record comes from another
 * source partition (so {first_offset}-{last_offset} name one range of one
 * partition), at the end of the input and at shutdown (not at checkpoints:
 * the held acks already keep sources from committing past them). A sealed
 * object is compressed, named from its key template (deterministic: the
 * same records give the same key, so a retried upload overwrites the same
 * object) and uploaded; its acks are
 * released only after the server's 200 for PutObject or
 * CompleteMultipartUpload. A transient error (5xx, 429, timeouts, no
 * connection) keeps the sealed objects and retries them after a backoff
 * (full jitter, settings retry_base/retry_cap); meanwhile process() answers
 * MF_RETRY, so the engine backs off and nothing more is taken in. A fatal
 * error (403, a bad signature) stops the node, the records unacknowledged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include <martflow/alloc.h>
#include <martflow/helpers.h>
#include <martflow/objstore.h>
#include <martflow/plugin.h>
#include <martflow/secrets.h>

#define TICK_MS 200

enum { FORMAT_JSONL, FORMAT_CSV };
enum { COMPRESS_GZIP, COMPRESS_NONE };

struct object {
    char *data; /* uncompressed lines */
    size_t len, cap;
    mf_ack **acks;
    size_t n, acks_cap;
    int64_t first_time_ms;  /* event time of the first record (or the wall clock when it has none) */
    int64_t opened_mono;    /* for max_age */
    const char *source;     /* origin of the first record */
    int32_t partition;
    int64_t first_offset, last_offset;
    char *key;              /* set when sealed */
};

struct ctx {
    /* options */
    const char *url, *bucket, *prefix, *endpoint, *region, *access_key, *secret_key, *secret_file;
    const char *ca_file, *key_template, *tenant;
    bool path_style, insecure, unsigned_payload;
    int format, compression;
    mf_strlist columns;
    uint64_t max_object_size;
    int64_t max_age_ms;

    mf_node *node;
    const mf_host *host;
    mf_objstore *store;
    char *prefix_value; /* {prefix} */
    mf_json_fieldset *fields;
    mf_json_view *views;
    struct object open;
    struct object **sealed; /* oldest first */
    size_t nsealed;
    int64_t retry_at;
    unsigned attempt;
    int64_t retry_base_ms, retry_cap_ms;
    uint64_t rng;
    uint64_t objects, records, retries;
    mf_metric *m_objects, *m_bytes, *m_records, *m_retries, *m_pending;
};

static const mf_option options[] = {
    MF_OPTION(MF_OPT_STRING, "url", NULL, 0, struct ctx, url,
              "Where objects go: s3://BUCKET[/PREFIX] or file:///DIR (instead of bucket and prefix)"),
    MF_OPTION(MF_OPT_STRING, "bucket", NULL, 0, struct ctx, bucket, "S3 bucket (when url is not given)"),
    MF_OPTION(MF_OPT_STRING, "prefix", "", 0, struct ctx, prefix,
              "The {prefix} of the key template (with url: the URL's path is the prefix)"),
    MF_OPTION(MF_OPT_STRING, "endpoint", NULL, 0, struct ctx, endpoint,
              "S3 endpoint http(s)://HOST[:PORT]; default https://s3.<region>.amazonaws.com"),
    MF_OPTION(MF_OPT_STRING, "region", "us-east-1", 0, struct ctx, region, "S3 region (signed into every request)"),
    MF_OPTION(MF_OPT_SECRET, "access_key", NULL, 0, struct ctx, access_key, "S3 access key (or secret_file)"),
    MF_OPTION(MF_OPT_SECRET, "secret_key", NULL, 0, struct ctx, secret_key, "S3 secret key (or secret_file)"),
    MF_OPTION(MF_OPT_STRING, "secret_file", NULL, 0, struct ctx, secret_file,
              "JSON file {\"accessKey\", \"secretKey\"} (a mounted Kubernetes secret); its values win"),
    MF_OPTION(MF_OPT_BOOL, "path_style", "true", 0, struct ctx, path_style,
              "Address ENDPOINT/BUCKET/KEY (needed for IP endpoints) instead of BUCKET.HOST/KEY"),
    MF_OPTION(MF_OPT_STRING, "ca_file", NULL, 0, struct ctx, ca_file, "https: PEM bundle to verify the server with"),
    MF_OPTION(MF_OPT_BOOL, "insecure", "false", 0, struct ctx, insecure,
              "https: do not verify the server's certificate (the guide's Insecure)"),
    MF_OPTION(MF_OPT_BOOL, "unsigned_payload", "false", 0, struct ctx, unsigned_payload,
              "Sign UNSIGNED-PAYLOAD instead of each body's SHA-256 (saves CPU; use with https)"),
    MF_OPTION(MF_OPT_STRING, "key", "{prefix}/{yyyy}/{mm}/{dd}/{partition}-{first_offset}-{last_offset}.{ext}", 0,
              struct ctx, key_template,
              "Object key template: {prefix} {tenant} {node} {worker} {yyyy} {mm} {dd} {hh} {partition} "
              "{first_offset} {last_offset} {count} {ext}"),
    MF_OPTION(MF_OPT_STRING, "tenant", "default", 0, struct ctx, tenant, "The {tenant} of the key template"),
    MF_OPTION_ENUM("format", "jsonl", 0, struct ctx, format, "jsonl|csv",
                   "jsonl: each record's value on a line; csv: the fields of `columns`, with a header line"),
    MF_OPTION(MF_OPT_LIST, "columns", NULL, 0, struct ctx, columns, "format csv: the field paths, one per column"),
    MF_OPTION_ENUM("compression", "gzip", 0, struct ctx, compression, "gzip|none", "Compression of each object"),
    MF_OPTION_RANGE(MF_OPT_SIZE, "max_object_size", "64MiB", 0, struct ctx, max_object_size, 1024, 4e9,
                    "An object is written when its uncompressed data reaches this size"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "max_age", "60s", 0, struct ctx, max_age_ms, 100, 864e5,
                    "An object is written when its oldest record waited this long"),
    MF_OPTION_END,
};

/* ---- validate and init ------------------------------------------------------------- */

static const char *const key_vars[] = {"prefix", "tenant", "node", "worker", "yyyy", "mm", "dd", "hh",
                                       "partition", "first_offset", "last_offset", "count", "ext", NULL};

/* The first {name} of the template that is not a variable, or NULL. */
static char *bad_key_var(const char *tpl)
{
    for (const char *p = strchr(tpl, '{'); p; p = strchr(p + 1, '{')) {
        const char *close = strchr(p, '}');
        if (!close)
            return mf_xstrdup(p);
        size_t n = (size_t)(close - p - 1);
        bool known = false;
        for (const char *const *v = key_vars; *v && !known; v++)
            known = strlen(*v) == n && memcmp(*v, p + 1, n) == 0;
        if (!known)
            return mf_xstrndup(p, n + 2);
    }
    return NULL;
}

static void validate(const json_t *config, mf_check *check)
{
    const json_t *key = json_object_get(config, "key");
    if (json_is_string(key)) {
        char *bad = bad_key_var(json_string_value(key));
        if (bad)
            check->problem(check, key, "key template: %s is not a variable ({prefix} {tenant} {node} {worker} "
                                       "{yyyy} {mm} {dd} {hh} {partition} {first_offset} {last_offset} {count} {ext})",
                           bad);
        free(bad);
    }
    const json_t *url = json_object_get(config, "url"), *bucket = json_object_get(config, "bucket");
    if (!url && !bucket)
        check->problem(check, NULL, "give `url` (s3://BUCKET/PREFIX or file:///DIR) or `bucket`");
    if (url && bucket)
        check->problem(check, bucket, "give either `url` or `bucket`, not both");
    if (url && json_object_get(config, "prefix"))
        check->problem(check, json_object_get(config, "prefix"), "with `url`, the URL's path is the prefix");
    const json_t *format = json_object_get(config, "format"), *columns = json_object_get(config, "columns");
    bool csv = json_is_string(format) && !strcmp(json_string_value(format), "csv");
    if (csv && !columns)
        check->problem(check, format, "format csv needs `columns` (the field paths)");
    if (!csv && columns)
        check->problem(check, columns, "only format csv uses `columns`");
}

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->node = node;
    c->host = host;
    c->open.partition = -1;
    char *file_access = NULL, *file_secret = NULL, why[512];
    if (c->secret_file && !mf_secret_read_s3_keys(c->secret_file, &file_access, &file_secret, why, sizeof why)) {
        host->log(node, MF_LOG_ERROR, "%s", why);
        return MF_FATAL;
    }
    /* the store is the bucket (or the directory): {prefix} is the template's */
    char *location;
    if (c->url) {
        const char *rest = strncmp(c->url, "s3://", 5) == 0 ? c->url + 5 : NULL;
        const char *slash = rest ? strchr(rest, '/') : NULL;
        location = slash ? mf_xstrndup(c->url, (size_t)(slash - c->url)) : mf_xstrdup(c->url);
        c->prefix_value = mf_xstrdup(slash ? slash + 1 : "");
    } else {
        location = mf_xasprintf("s3://%s", c->bucket);
        c->prefix_value = mf_xstrdup(c->prefix ? c->prefix : "");
    }
    struct mf_objstore_opts o = {
        .endpoint = c->endpoint,
        .region = c->region,
        .access_key = file_access ? file_access : c->access_key,
        .secret_key = file_secret ? file_secret : c->secret_key,
        .path_style = c->path_style,
        .insecure = c->insecure,
        .unsigned_payload = c->unsigned_payload,
        .ca_file = c->ca_file,
    };
    char *err = NULL;
    c->store = mf_objstore_open(location, &o, &err);
    mf_secret_text_free(file_access);
    mf_secret_text_free(file_secret);
    free(location);
    if (!c->store) {
        host->log(node, MF_LOG_ERROR, "%s", err);
        free(err);
        return MF_FATAL;
    }
    if (c->format == FORMAT_CSV) {
        if (!c->columns.count) {
            host->log(node, MF_LOG_ERROR, "format csv needs `columns` (the field paths)");
            return MF_FATAL;
        }
        const char *ferr = NULL;
        c->fields = host->fieldset_new(node, (const char *const *)c->columns.items, c->columns.count, &ferr);
        if (!c->fields) {
            host->log(node, MF_LOG_ERROR, "columns: %s", ferr ? ferr : "bad field path");
            return MF_FATAL;
        }
        c->views = mf_xcalloc(c->columns.count, sizeof *c->views);
    }
    const json_t *settings = host->settings(node);
    c->retry_base_ms = 100;
    c->retry_cap_ms = 30000;
    mf_setting_int(settings, "retry_base", &c->retry_base_ms);
    mf_setting_int(settings, "retry_cap", &c->retry_cap_ms);
    c->rng = (uint64_t)host->monotonic_ms() ^ (uint64_t)(uintptr_t)c;
    c->m_objects = host->counter(node, "martflow_s3_objects_written_total", NULL, "Objects written (200 received)");
    c->m_bytes = host->counter(node, "martflow_s3_bytes_written_total", NULL, "Bytes of the objects written");
    c->m_records = host->counter(node, "martflow_s3_records_written_total", NULL, "Records in the objects written");
    c->m_retries = host->counter(node, "martflow_s3_retries_total", NULL, "Uploads failed transiently and retried");
    c->m_pending = host->gauge(node, "martflow_s3_pending_objects", NULL, "Sealed objects waiting for upload");
    host->set_tick(node, TICK_MS);
    return MF_OK;
}

/* ---- the open object ----------------------------------------------------------------- */

static void obj_append(struct object *o, const void *data, size_t len)
{
    if (o->len + len > o->cap) {
        size_t cap = o->cap ? o->cap : 65536;
        while (cap < o->len + len)
            cap *= 2;
        o->data = mf_xrealloc(o->data, cap);
        o->cap = cap;
    }
    memcpy(o->data + o->len, data, len);
    o->len += len;
}

static void csv_field(struct object *o, const char *s, size_t n)
{
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        obj_append(o, s, n);
        return;
    }
    obj_append(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            obj_append(o, "\"", 1);
        obj_append(o, s + i, 1);
    }
    obj_append(o, "\"", 1);
}

static void csv_header(struct ctx *c, struct object *o)
{
    for (size_t i = 0; i < c->columns.count; i++) {
        if (i)
            obj_append(o, ",", 1);
        csv_field(o, c->columns.items[i], strlen(c->columns.items[i]));
    }
    obj_append(o, "\n", 1);
}

/* One line for rec; false (and *why) when it cannot be one. */
static bool render(struct ctx *c, mf_record *rec, struct object *o, const char **why)
{
    if (c->format == FORMAT_JSONL) {
        size_t len;
        const uint8_t *v = c->host->record_value(c->node, rec, &len);
        if (!v || (rec->flags & MF_RECORD_VALUE_NULL)) {
            *why = "no value";
            return false;
        }
        if (memchr(v, '\n', len)) {
            /* compact JSON has no newline; a value with one would break the lines */
            if (c->host->json_check(c->node, rec, why) != MF_OK)
                return false;
            json_t *j = c->host->record_json(c->node, rec, why);
            if (!j)
                return false;
            char *compact = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
            obj_append(o, compact, strlen(compact));
            free(compact);
        } else {
            obj_append(o, v, len);
        }
        obj_append(o, "\n", 1);
        return true;
    }
    if (c->host->json_fields(c->node, rec, c->fields, c->views, why) != MF_OK)
        return false;
    for (size_t i = 0; i < c->columns.count; i++) {
        const mf_json_view *v = &c->views[i];
        char num[64];
        if (i)
            obj_append(o, ",", 1);
        switch (v->type) {
        case MF_JSON_MISSING: case MF_JSON_NULL: break;
        case MF_JSON_BOOL: obj_append(o, v->boolean ? "true" : "false", v->boolean ? 4 : 5); break;
        case MF_JSON_INT: snprintf(num, sizeof num, "%lld", (long long)v->integer); obj_append(o, num, strlen(num)); break;
        case MF_JSON_DOUBLE: snprintf(num, sizeof num, "%.17g", v->number); obj_append(o, num, strlen(num)); break;
        default: csv_field(o, v->str, v->len); /* strings unescaped; arrays and objects as their JSON */
        }
    }
    obj_append(o, "\n", 1);
    return true;
}

/* ---- sealing: the key and the bytes ------------------------------------------------------ */

static const char *ext(const struct ctx *c)
{
    static const char *names[2][2] = {{"jsonl.gz", "jsonl"}, {"csv.gz", "csv"}};
    return names[c->format][c->compression];
}

/* The template with its variables filled; empty segments dropped ("a//b" ->
 * "a/b", no leading '/'), so an empty {prefix} leaves no trace. */
static char *object_key(struct ctx *c, const struct object *o)
{
    time_t t = (time_t)(o->first_time_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    int count = 0;
    int worker = c->host->worker(c->node, &count);
    char buf[64];
    size_t cap = 256, len = 0;
    char *out = mf_xmalloc(cap);
#define PUT(s, n)                                                                                                   \
    do {                                                                                                            \
        size_t n_ = (n);                                                                                            \
        if (len + n_ + 1 > cap) {                                                                                   \
            while (len + n_ + 1 > cap)                                                                              \
                cap *= 2;                                                                                           \
            out = mf_xrealloc(out, cap);                                                                            \
        }                                                                                                           \
        memcpy(out + len, (s), n_);                                                                                 \
        len += n_;                                                                                                  \
    } while (0)
    for (const char *p = c->key_template; *p;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (!close) {
            PUT(p, 1);
            p++;
            continue;
        }
        size_t n = (size_t)(close - p - 1);
        const char *name = p + 1, *val = NULL;
#define IS(s) (n == strlen(s) && memcmp(name, s, n) == 0)
        if (IS("prefix")) val = c->prefix_value;
        else if (IS("tenant")) val = c->tenant;
        else if (IS("node")) val = c->host->node_name(c->node);
        else if (IS("ext")) val = ext(c);
        else if (IS("yyyy")) { snprintf(buf, sizeof buf, "%04d", tm.tm_year + 1900); val = buf; }
        else if (IS("mm")) { snprintf(buf, sizeof buf, "%02d", tm.tm_mon + 1); val = buf; }
        else if (IS("dd")) { snprintf(buf, sizeof buf, "%02d", tm.tm_mday); val = buf; }
        else if (IS("hh")) { snprintf(buf, sizeof buf, "%02d", tm.tm_hour); val = buf; }
        else if (IS("worker")) { snprintf(buf, sizeof buf, "%d", worker); val = buf; }
        else if (IS("partition")) { snprintf(buf, sizeof buf, "%d", o->partition); val = buf; }
        else if (IS("first_offset")) { snprintf(buf, sizeof buf, "%lld", (long long)o->first_offset); val = buf; }
        else if (IS("last_offset")) { snprintf(buf, sizeof buf, "%lld", (long long)o->last_offset); val = buf; }
        else if (IS("count")) { snprintf(buf, sizeof buf, "%zu", o->n); val = buf; }
#undef IS
        if (val) {
            PUT(val, strlen(val));
        } else {
            PUT(p, n + 2); /* unknown: kept as written (init checked the template) */
        }
        p = close + 1;
    }
    out[len] = '\0';
#undef PUT
    /* drop empty segments */
    size_t w = 0;
    for (size_t r = 0; r < len; r++) {
        if (out[r] == '/' && (w == 0 || out[w - 1] == '/'))
            continue;
        out[w++] = out[r];
    }
    while (w > 0 && out[w - 1] == '/')
        w--;
    out[w] = '\0';
    return out;
}

/* gzip (RFC 1952) of the object's lines, by zlib. */
static bool gzip(const char *in, size_t len, char **out, size_t *out_len)
{
    z_stream z = {0};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    size_t cap = deflateBound(&z, (uLong)len) + 32;
    char *buf = mf_xmalloc(cap);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return false;
    }
    *out = buf;
    return true;
}

/* Move the open object to the sealed list (compressing is upload's job). */
static void seal(struct ctx *c)
{
    if (!c->open.n)
        return;
    struct object *o = mf_xmalloc(sizeof *o);
    *o = c->open;
    o->key = object_key(c, o);
    c->sealed = mf_xrealloc(c->sealed, (c->nsealed + 1) * sizeof *c->sealed);
    c->sealed[c->nsealed++] = o;
    memset(&c->open, 0, sizeof c->open);
    c->open.partition = -1;
    c->host->metric_set(c->m_pending, (double)c->nsealed);
}

static void object_free(struct object *o, const mf_host *host, mf_node *node, bool release)
{
    if (release)
        for (size_t i = 0; i < o->n; i++)
            host->ack_release(node, o->acks[i]);
    free(o->acks);
    free(o->data);
    free(o->key);
}

static int64_t backoff_ms(struct ctx *c)
{
    return mf_backoff_delay_ms(c->attempt, c->retry_base_ms, c->retry_cap_ms, &c->rng);
}

/* Upload the sealed objects, oldest first. MF_OK: none left; MF_RETRY: a
 * transient error, backoff set, the rest kept; MF_FATAL. */
static int upload(struct ctx *c)
{
    while (c->nsealed) {
        struct object *o = c->sealed[0];
        char *body = o->data, *gz = NULL;
        size_t len = o->len;
        if (c->compression == COMPRESS_GZIP) {
            if (!gzip(o->data, o->len, &gz, &len)) {
                c->host->log(c->node, MF_LOG_ERROR, "gzip of object %s failed", o->key);
                return MF_FATAL;
            }
            body = gz;
        }
        char *err = NULL;
        int rc = mf_objstore_put(c->store, o->key, body, len, &err);
        free(gz);
        if (rc != MF_OBJ_OK) {
            if (rc == MF_OBJ_RETRY) {
                c->retries++;
                c->host->metric_add(c->m_retries, 1);
                c->retry_at = c->host->monotonic_ms() + backoff_ms(c);
                c->attempt++;
                c->host->log(c->node, MF_LOG_WARN, "writing object %s (%zu records) failed, retrying: %s", o->key,
                             o->n, err);
                free(err);
                return MF_RETRY;
            }
            c->host->log(c->node, MF_LOG_ERROR, "writing object %s failed (fatal): %s", o->key, err);
            free(err);
            return MF_FATAL;
        }
        /* durable: 200 of PutObject or CompleteMultipartUpload */
        c->attempt = 0;
        c->objects++;
        c->records += o->n;
        c->host->metric_add(c->m_objects, 1);
        c->host->metric_add(c->m_bytes, (double)len);
        c->host->metric_add(c->m_records, (double)o->n);
        c->host->log(c->node, MF_LOG_DEBUG, "wrote %s: %zu records, %zu bytes", o->key, o->n, len);
        object_free(o, c->host, c->node, true);
        free(o);
        memmove(c->sealed, c->sealed + 1, (c->nsealed - 1) * sizeof *c->sealed);
        c->nsealed--;
        c->host->metric_set(c->m_pending, (double)c->nsealed);
    }
    return MF_OK;
}

/* ---- callbacks ----------------------------------------------------------------------- */

static void add_record(struct ctx *c, mf_record *rec, int64_t now_mono)
{
    struct object *o = &c->open;
    if (o->n && (o->partition != rec->origin.partition || o->source != rec->origin.source))
        seal(c); /* one source partition per object */
    if (!o->n) {
        o->first_time_ms = rec->time_ms != MF_TIME_UNSET ? rec->time_ms : c->host->now_ms();
        o->opened_mono = now_mono;
        o->source = rec->origin.source;
        o->partition = rec->origin.partition;
        o->first_offset = rec->origin.offset;
        if (c->format == FORMAT_CSV)
            csv_header(c, o);
    }
    size_t before = o->len;
    const char *why = NULL;
    if (!render(c, rec, o, &why)) {
        o->len = before;
        if (!o->n) { /* nothing in it yet: start it again with the next record */
            o->len = 0;
            o->partition = -1;
        }
        c->host->reject(c->node, rec, "%s", why ? why : "cannot be written");
        return;
    }
    if (o->n == o->acks_cap) {
        o->acks_cap = o->acks_cap ? 2 * o->acks_cap : 256;
        o->acks = mf_xrealloc(o->acks, o->acks_cap * sizeof *o->acks);
    }
    o->acks[o->n++] = c->host->ack_hold(c->node, rec);
    o->last_offset = rec->origin.offset;
    if (o->len >= c->max_object_size)
        seal(c);
}

static int process(void *vctx, mf_batch *batch)
{
    struct ctx *c = vctx;
    int64_t now = c->host->monotonic_ms();
    if (c->nsealed) {
        /* earlier objects wait: take nothing more in until they are written */
        if (now < c->retry_at)
            return MF_RETRY;
        int st = upload(c);
        if (st != MF_OK)
            return st;
    }
    for (size_t i = 0; i < batch->count; i++)
        add_record(c, &batch->records[i], now);
    if (c->open.n && now - c->open.opened_mono >= c->max_age_ms)
        seal(c);
    /* this batch's records are held: a transient failure keeps them for tick */
    return upload(c) == MF_FATAL ? MF_FATAL : MF_OK;
}

static int tick(void *vctx)
{
    struct ctx *c = vctx;
    int64_t now = c->host->monotonic_ms();
    if (c->open.n && now - c->open.opened_mono >= c->max_age_ms)
        seal(c);
    if (!c->nsealed || now < c->retry_at)
        return MF_OK;
    return upload(c) == MF_FATAL ? MF_FATAL : MF_OK;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Upload until nothing is left, a fatal error, shutdown (until_stopping) or
 * the deadline (monotonic ms; 0: none). */
static int drain(struct ctx *c, bool until_stopping, int64_t deadline)
{
    for (;;) {
        int64_t now = c->host->monotonic_ms();
        if (now >= c->retry_at) {
            int st = upload(c);
            if (st != MF_RETRY)
                return st;
        }
        now = c->host->monotonic_ms();
        if ((until_stopping && c->host->stopping(c->node)) || (deadline && now >= deadline))
            return MF_RETRY;
        int64_t wait = c->retry_at - now;
        if (deadline && wait > deadline - now)
            wait = deadline - now;
        sleep_ms(wait < 50 ? (wait > 0 ? wait : 1) : 50); /* notice shutdown soon */
    }
}

static int flush(void *vctx, mf_flush_reason reason)
{
    struct ctx *c = vctx;
    /* A checkpoint leaves the open object open: its records' acks are held,
     * so no source commits past them, and objects keep their size. */
    if (reason != MF_FLUSH_CHECKPOINT)
        seal(c);
    switch (reason) {
    case MF_FLUSH_END: /* the run ends: keep trying until told to stop */
        return drain(c, true, 0) == MF_FATAL ? MF_FATAL : MF_OK;
    case MF_FLUSH_CHECKPOINT:
    case MF_FLUSH_STOP:
        if (c->host->monotonic_ms() < c->retry_at)
            return MF_OK; /* tick retries after the backoff */
        return upload(c) == MF_FATAL ? MF_FATAL : MF_OK;
    }
    return MF_OK;
}

static int stop_cb(void *vctx, int64_t deadline_ms)
{
    struct ctx *c = vctx;
    if (!c->store)
        return MF_OK;
    seal(c);
    int st = drain(c, false, deadline_ms);
    size_t left = 0;
    for (size_t i = 0; i < c->nsealed; i++)
        left += c->sealed[i]->n;
    if (left)
        c->host->log(c->node, MF_LOG_WARN,
                     "%zu records could not be written before the deadline: they stay unacknowledged (read again "
                     "on the next run)", left);
    c->host->log(c->node, MF_LOG_INFO, "%s: %llu objects (%llu records) written, %llu uploads retried",
                 mf_objstore_url(c->store), (unsigned long long)c->objects, (unsigned long long)c->records,
                 (unsigned long long)c->retries);
    return st == MF_FATAL ? MF_FATAL : MF_OK;
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    /* holds of unwritten records stay taken: never acknowledged */
    for (size_t i = 0; i < c->nsealed; i++) {
        object_free(c->sealed[i], c->host, c->node, false);
        free(c->sealed[i]);
    }
    free(c->sealed);
    object_free(&c->open, c->host, c->node, false);
    if (c->fields)
        c->host->fieldset_free(c->node, c->fields);
    free(c->views);
    free(c->prefix_value);
    mf_objstore_close(c->store);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_SINK,
    .name = "s3",
    .version = "1.0.0",
    .description = "Write records as objects (JSON lines or CSV, gzip) to S3 or a directory; acknowledged after "
                   "the object is stored",
    .options = options,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .validate = validate,
    .free = free_cb,
    .stop = stop_cb,
    .process = process,
    .flush = flush,
    .tick = tick,
};
