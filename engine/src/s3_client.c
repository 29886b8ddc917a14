/* s3_client.c — the S3 client of martflow/s3.h: builds each request (URL
 * with the key encoded and the query canonical, x-amz-content-sha256),
 * lets libcurl sign it (CURLOPT_AWS_SIGV4), and turns the answer into an
 * mf_obj_status and a message. */
#include <martflow/s3.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <martflow/crypto.h>

#include "s3_internal.h"
#include "util.h"

/* SHA-256 of nothing: GET, HEAD, DELETE and empty POSTs. */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct mf_s3 {
    CURL *curl;
    char *endpoint;  /* scheme://host[:port], no trailing '/' */
    char *base;      /* URL of the bucket: ENDPOINT/BUCKET or scheme://BUCKET.host[:port] */
    char *bucket;
    char *userpwd;   /* "ACCESS:SECRET" for CURLOPT_USERPWD; wiped on free */
    char *sigv4;     /* "aws:amz:REGION:s3" */
    char *ca_file;
    char *describe;  /* "bucket B at ENDPOINT" */
    bool insecure, unsigned_payload;
    long connect_timeout_ms, timeout_ms;
    /* the answer of the last request */
    long status;
    mf_str body;
    char *etag;            /* ETag header, quotes included */
    uint64_t content_length;
    bool have_length;
    int64_t last_modified_ms;
    /* strings of the mf_s3_object last reported */
    char *out_key, *out_etag;
    char errbuf[CURL_ERROR_SIZE];
};

/* One request, as the operations describe it. */
struct req {
    const char *op;     /* S3's name of the operation, for messages */
    const char *method; /* GET PUT POST HEAD DELETE */
    const char *key;    /* NULL: the bucket itself */
    const struct mf_s3_param *query;
    size_t nquery;
    const void *body;   /* PUT and POST */
    size_t body_len;
    const char *content_type;
    const char *range;  /* "bytes=A-B" */
    bool not_found_ok;  /* 404 is MF_OBJ_NOT_FOUND (else fatal: a missing bucket on a write) */
    bool range_ok;      /* 416 is an answer (an empty range) */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void wipe_free(char *s)
{
    if (!s)
        return;
    volatile char *v = s;
    while (*v)
        *v++ = 0;
    free(s);
}

static void set_error(char **error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(char **error, const char *fmt, ...)
{
    if (!error)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *m = mf_xvasprintf(fmt, ap);
    va_end(ap);
    free(*error);
    *error = m;
}

mf_s3 *mf_s3_new(const struct mf_s3_config *cfg, char **error)
{
    const char *missing = !cfg->bucket || !*cfg->bucket         ? "bucket"
                          : !cfg->access_key || !*cfg->access_key ? "access key"
                          : !cfg->secret_key || !*cfg->secret_key ? "secret key"
                                                                  : NULL;
    if (missing) {
        set_error(error, "S3: no %s given", missing);
        return NULL;
    }
    const char *region = cfg->region && *cfg->region ? cfg->region : "us-east-1";
    for (const char *p = region; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
            set_error(error, "S3: region \"%s\" is not a region name (like us-east-1)", region);
            return NULL;
        }
    char *endpoint = cfg->endpoint && *cfg->endpoint ? mf_xstrdup(cfg->endpoint)
                                                     : mf_xasprintf("https://s3.%s.amazonaws.com", region);
    size_t n = strlen(endpoint);
    while (n > 0 && endpoint[n - 1] == '/')
        endpoint[--n] = '\0';
    const char *hostpart = strncmp(endpoint, "http://", 7) == 0    ? endpoint + 7
                           : strncmp(endpoint, "https://", 8) == 0 ? endpoint + 8
                                                                   : NULL;
    if (!hostpart || !*hostpart || strpbrk(hostpart, "/?#@ ")) {
        set_error(error, "S3: endpoint \"%s\" is not http(s)://HOST[:PORT]", endpoint);
        free(endpoint);
        return NULL;
    }
    pthread_once(&curl_once, curl_init);
    CURL *curl = curl_init_rc == CURLE_OK ? curl_easy_init() : NULL;
    if (!curl) {
        set_error(error, "S3: libcurl could not be initialised");
        free(endpoint);
        return NULL;
    }
    mf_s3 *s = mf_xcalloc(1, sizeof(*s));
    s->curl = curl;
    s->endpoint = endpoint;
    s->bucket = mf_xstrdup(cfg->bucket);
    if (cfg->path_style)
        s->base = mf_xasprintf("%s/%s", endpoint, cfg->bucket);
    else
        s->base = mf_xasprintf("%.*s%s.%s", (int)(hostpart - endpoint), endpoint, cfg->bucket, hostpart);
    s->userpwd = mf_xasprintf("%s:%s", cfg->access_key, cfg->secret_key);
    s->sigv4 = mf_xasprintf("aws:amz:%s:s3", region);
    s->ca_file = cfg->ca_file && *cfg->ca_file ? mf_xstrdup(cfg->ca_file) : NULL;
    s->describe = mf_xasprintf("bucket %s at %s", cfg->bucket, endpoint);
    s->insecure = cfg->insecure;
    s->unsigned_payload = cfg->unsigned_payload;
    s->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 10000;
    s->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 300000;
    return s;
}

void mf_s3_free(mf_s3 *s)
{
    if (!s)
        return;
    curl_easy_cleanup(s->curl);
    wipe_free(s->userpwd);
    free(s->endpoint);
    free(s->base);
    free(s->bucket);
    free(s->sigv4);
    free(s->ca_file);
    free(s->describe);
    mf_str_free(&s->body);
    free(s->etag);
    free(s->out_key);
    free(s->out_etag);
    free(s);
}

const char *mf_s3_describe(const mf_s3 *s)
{
    return s->describe;
}

/* ---- libcurl callbacks ------------------------------------------------------ */

struct upload {
    const char *data;
    size_t len, pos;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct upload *u = arg;
    size_t n = size * nitems;
    if (n > u->len - u->pos)
        n = u->len - u->pos;
    memcpy(buf, u->data + u->pos, n);
    u->pos += n;
    return n;
}

/* curl rewinds the body when it must send it again (a redirect, a 417) */
static int seek_cb(void *arg, curl_off_t offset, int origin)
{
    struct upload *u = arg;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > u->len)
        return CURL_SEEKFUNC_FAIL;
    u->pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
    mf_s3 *s = arg;
    mf_str_append(&s->body, ptr, size * nmemb);
    return size * nmemb;
}

/* Trimmed value of header line `name: value` into a malloc'd string. */
static char *header_value(const char *line, size_t len, const char *name)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return NULL;
    const char *v = line + nl + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    return mf_xstrndup(v, (size_t)(end - v));
}

static size_t header_cb(char *line, size_t size, size_t nitems, void *arg)
{
    mf_s3 *s = arg;
    size_t len = size * nitems;
    char *v;
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* a new answer (after a 100 Continue): forget the previous one's headers */
        free(s->etag);
        s->etag = NULL;
        s->have_length = false;
        s->last_modified_ms = 0;
    } else if ((v = header_value(line, len, "ETag")) != NULL) {
        free(s->etag);
        s->etag = v;
    } else if ((v = header_value(line, len, "Content-Length")) != NULL) {
        char *stop = NULL;
        unsigned long long n = strtoull(v, &stop, 10);
        if (stop != v && *stop == '\0') {
            s->content_length = n;
            s->have_length = true;
        }
        free(v);
    } else if ((v = header_value(line, len, "Last-Modified")) != NULL) {
        time_t t = curl_getdate(v, NULL);
        if (t != (time_t)-1)
            s->last_modified_ms = (int64_t)t * 1000;
        free(v);
    }
    return len;
}

/* ---- one request -------------------------------------------------------------- */

static char *request_url(mf_s3 *s, const struct req *r)
{
    mf_str url = {0};
    mf_str_puts(&url, s->base);
    mf_str_puts(&url, "/");
    if (r->key)
        mf_s3_uri_encode(&url, r->key, strlen(r->key), true);
    if (r->nquery) {
        char *q = mf_s3_canonical_query(r->query, r->nquery);
        mf_str_puts(&url, "?");
        mf_str_puts(&url, q);
        free(q);
    }
    return mf_str_take(&url);
}

static const char *what(const struct req *r, char *buf, size_t cap)
{
    if (r->key)
        snprintf(buf, cap, "S3 %s of \"%s\"", r->op, r->key);
    else
        snprintf(buf, cap, "S3 %s", r->op);
    return buf;
}

/* Transport failures worth another try: everything but a broken setup. */
static bool curl_transient(CURLcode rc)
{
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL: case CURLE_URL_MALFORMAT: case CURLE_NOT_BUILT_IN:
    case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CACERT_BADFILE: case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER: case CURLE_SSL_ENGINE_NOTFOUND: case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE: case CURLE_BAD_FUNCTION_ARGUMENT: case CURLE_FUNCTION_NOT_FOUND:
    case CURLE_UNKNOWN_OPTION: case CURLE_OUT_OF_MEMORY: case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR: case CURLE_FILESIZE_EXCEEDED: case CURLE_TOO_MANY_REDIRECTS:
        return false;
    default:
        return true;
    }
}

/* An HTTP error answer: status from S3's code and the HTTP status. */
static int http_error(mf_s3 *s, const struct req *r, char **error)
{
    char w[1200];
    char *code = mf_s3_xml_text(s->body.data ? s->body.data : "", s->body.len, "Code");
    char *msg = mf_s3_xml_text(s->body.data ? s->body.data : "", s->body.len, "Message");
    long st = s->status;
    int rc;
    const char *hint = "";
    if (st == 404 && r->not_found_ok) {
        rc = MF_OBJ_NOT_FOUND;
    } else if (st == 429 || st >= 500 ||
               (code && (strcmp(code, "RequestTimeout") == 0 || strcmp(code, "SlowDown") == 0 ||
                         strcmp(code, "OperationAborted") == 0 || strcmp(code, "InternalError") == 0))) {
        rc = MF_OBJ_RETRY;
    } else {
        rc = MF_OBJ_FATAL;
        if (st == 403 || (code && strstr(code, "Signature")))
            hint = " (check the access key, the secret key and the region)";
    }
    set_error(error, "%s in %s: HTTP %ld%s%s%s%s%s", what(r, w, sizeof w), s->describe, st, code ? " " : "",
              code ? code : "", msg && *msg ? ": " : "", msg ? msg : "", hint);
    free(code);
    free(msg);
    return rc;
}

static int perform(mf_s3 *s, const struct req *r, char **error)
{
    CURL *c = s->curl;
    char *url = request_url(s, r);
    struct curl_slist *headers = NULL;
    char hash[2 * MF_SHA256_LEN + 1];
    char line[256];
    struct upload up = {.data = r->body, .len = r->body_len};

    /* x-amz-content-sha256 on every request: libcurl 7.88.1 neither sends
     * it nor hashes an uploaded body; it signs this value when present */
    if (s->unsigned_payload) {
        snprintf(hash, sizeof hash, "UNSIGNED-PAYLOAD");
    } else if (r->body_len) {
        uint8_t d[MF_SHA256_LEN];
        mf_sha256(r->body, r->body_len, d);
        mf_hex_encode(d, sizeof d, hash);
    } else {
        snprintf(hash, sizeof hash, "%s", EMPTY_SHA256);
    }
    snprintf(line, sizeof line, "x-amz-content-sha256: %s", hash);
    headers = curl_slist_append(headers, line);
    if (r->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", r->content_type);
        headers = curl_slist_append(headers, line);
    }
    if (r->range) {
        snprintf(line, sizeof line, "Range: %s", r->range);
        headers = curl_slist_append(headers, line);
    }

    curl_easy_reset(c); /* keeps the connection and the DNS cache */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L); /* the key is already in its final form */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
    curl_easy_setopt(c, CURLOPT_USERPWD, s->userpwd);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
    if (s->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
    if (s->insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (strcmp(r->method, "PUT") == 0) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_cb);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, &up);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
        curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
    } else if (strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? (const char *)r->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    } else if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "DELETE") == 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }

    mf_str_reset(&s->body);
    free(s->etag);
    s->etag = NULL;
    s->have_length = false;
    s->last_modified_ms = 0;
    s->status = 0;
    s->errbuf[0] = '\0';
    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(headers);
    free(url);
    int rc = MF_OBJ_OK;
    char w[1200];
    if (cc != CURLE_OK) {
        set_error(error, "%s in %s: %s", what(r, w, sizeof w), s->describe,
                  s->errbuf[0] ? s->errbuf : curl_easy_strerror(cc));
        return curl_transient(cc) ? MF_OBJ_RETRY : MF_OBJ_FATAL;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status >= 200 && s->status < 300)
        rc = MF_OBJ_OK;
    else if (s->status == 416 && r->range_ok)
        rc = MF_OBJ_OK;
    else
        rc = http_error(s, r, error);
    return rc;
}

/* ---- operations --------------------------------------------------------------- */

int mf_s3_put_object(mf_s3 *s, const char *key, const void *data, size_t len, char **error)
{
    struct req r = {.op = "PutObject", .method = "PUT", .key = key, .body = data, .body_len = len};
    return perform(s, &r, error);
}

int mf_s3_get_object(mf_s3 *s, const char *key, uint64_t offset, size_t length, void **data, size_t *len,
                     char **error)
{
    char range[64];
    struct req r = {.op = "GetObject", .method = "GET", .key = key, .not_found_ok = true};
    *data = NULL;
    *len = 0;
    if (offset > 0 || length != SIZE_MAX) {
        if (length == SIZE_MAX || offset + length < offset)
            snprintf(range, sizeof range, "bytes=%llu-", (unsigned long long)offset);
        else
            snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)offset,
                     (unsigned long long)(offset + length - 1));
        r.range = range;
        r.range_ok = true;
    }
    int rc = perform(s, &r, error);
    if (rc != MF_OBJ_OK)
        return rc;
    if (s->status == 416) {
        *data = mf_xcalloc(1, 1);
        return MF_OBJ_OK;
    }
    if (s->have_length && s->content_length != s->body.len) {
        set_error(error, "S3 GetObject of \"%s\" in %s: %zu bytes received of %llu", key, s->describe,
                  s->body.len, (unsigned long long)s->content_length);
        return MF_OBJ_RETRY;
    }
    *len = s->body.len;
    *data = s->body.len ? mf_str_take(&s->body) : mf_xcalloc(1, 1);
    return MF_OBJ_OK;
}

static char *unquoted(const char *etag)
{
    if (!etag)
        return NULL;
    size_t n = strlen(etag);
    if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"')
        return mf_xstrndup(etag + 1, n - 2);
    return mf_xstrdup(etag);
}

int mf_s3_head_object(mf_s3 *s, const char *key, struct mf_s3_object *out, char **error)
{
    struct req r = {.op = "HeadObject", .method = "HEAD", .key = key, .not_found_ok = true};
    int rc = perform(s, &r, error);
    if (rc != MF_OBJ_OK || !out)
        return rc;
    free(s->out_key);
    free(s->out_etag);
    s->out_key = mf_xstrdup(key);
    s->out_etag = unquoted(s->etag);
    out->key = s->out_key;
    out->size = s->have_length ? s->content_length : 0;
    out->mtime_ms = s->last_modified_ms;
    out->etag = s->out_etag;
    return MF_OBJ_OK;
}

int mf_s3_delete_object(mf_s3 *s, const char *key, char **error)
{
    struct req r = {.op = "DeleteObject", .method = "DELETE", .key = key, .not_found_ok = true};
    return perform(s, &r, error);
}

/* "2026-08-01T12:34:56.789Z" -> epoch ms (0 when unreadable) */
static int64_t iso8601_ms(const char *t)
{
    struct tm tm = {0};
    int ms = 0, consumed = 0;
    if (!t || sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                     &tm.tm_min, &tm.tm_sec, &consumed) != 6)
        return 0;
    if (t[consumed] == '.') {
        int digits = 0;
        for (const char *p = t + consumed + 1; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        for (; digits < 3; digits++)
            ms *= 10;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

int mf_s3_list_page(mf_s3 *s, const char *prefix, const char *start_token, int max_keys, mf_s3_list_fn fn,
                    void *arg, char **next_token, char **error)
{
    char maxk[16];
    struct mf_s3_param q[4];
    size_t nq = 0;
    *next_token = NULL;
    q[nq++] = (struct mf_s3_param){"list-type", "2"};
    if (prefix && *prefix)
        q[nq++] = (struct mf_s3_param){"prefix", prefix};
    if (start_token && *start_token)
        q[nq++] = (struct mf_s3_param){"continuation-token", start_token};
    if (max_keys > 0) {
        snprintf(maxk, sizeof maxk, "%d", max_keys);
        q[nq++] = (struct mf_s3_param){"max-keys", maxk};
    }
    struct req r = {.op = "ListObjectsV2", .method = "GET", .query = q, .nquery = nq};
    int rc = perform(s, &r, error);
    if (rc != MF_OBJ_OK)
        return rc;
    /* the body is ours until the next request: fn must not make one */
    mf_str body = s->body;
    s->body = (mf_str){0};
    const char *p = body.data ? body.data : "", *end = p + body.len, *inner;
    size_t n;
    if (!strstr(p, "<ListBucketResult")) {
        set_error(error, "S3 ListObjectsV2 in %s: the answer is not a ListBucketResult", s->describe);
        mf_str_free(&body);
        return MF_OBJ_FATAL;
    }
    bool stopped = false;
    while (!stopped && mf_s3_xml_next(&p, end, "Contents", &inner, &n)) {
        char *key = mf_s3_xml_text(inner, n, "Key");
        char *size = mf_s3_xml_text(inner, n, "Size");
        char *mod = mf_s3_xml_text(inner, n, "LastModified");
        char *etag = mf_s3_xml_text(inner, n, "ETag");
        char *uq = unquoted(etag);
        if (!key) {
            set_error(error, "S3 ListObjectsV2 in %s: an entry without a Key", s->describe);
            rc = MF_OBJ_FATAL;
            stopped = true;
        } else {
            struct mf_s3_object o = {.key = key,
                                     .size = size ? strtoull(size, NULL, 10) : 0,
                                     .mtime_ms = iso8601_ms(mod),
                                     .etag = uq};
            stopped = fn(arg, &o) != 0;
        }
        free(key);
        free(size);
        free(mod);
        free(etag);
        free(uq);
    }
    if (rc == MF_OBJ_OK && !stopped) {
        char *trunc = mf_s3_xml_text(body.data, body.len, "IsTruncated");
        if (trunc && strcmp(trunc, "true") == 0) {
            *next_token = mf_s3_xml_text(body.data, body.len, "NextContinuationToken");
            if (!*next_token || !**next_token) {
                free(*next_token);
                *next_token = NULL;
                set_error(error, "S3 ListObjectsV2 in %s: truncated without a NextContinuationToken",
                          s->describe);
                rc = MF_OBJ_FATAL;
            }
        }
        free(trunc);
    }
    mf_str_free(&body);
    return rc;
}

int mf_s3_multipart_create(mf_s3 *s, const char *key, char **upload_id, char **error)
{
    struct mf_s3_param q[] = {{"uploads", ""}};
    struct req r = {.op = "CreateMultipartUpload", .method = "POST", .key = key, .query = q, .nquery = 1,
                    .content_type = "application/octet-stream"};
    *upload_id = NULL;
    int rc = perform(s, &r, error);
    if (rc != MF_OBJ_OK)
        return rc;
    *upload_id = mf_s3_xml_text(s->body.data ? s->body.data : "", s->body.len, "UploadId");
    if (!*upload_id || !**upload_id) {
        free(*upload_id);
        *upload_id = NULL;
        set_error(error, "S3 CreateMultipartUpload of \"%s\" in %s: no UploadId in the answer", key, s->describe);
        return MF_OBJ_RETRY;
    }
    return MF_OBJ_OK;
}

int mf_s3_multipart_upload_part(mf_s3 *s, const char *key, const char *upload_id, int part_number,
                                const void *data, size_t len, char **etag, char **error)
{
    char num[16];
    snprintf(num, sizeof num, "%d", part_number);
    struct mf_s3_param q[] = {{"partNumber", num}, {"uploadId", upload_id}};
    struct req r = {.op = "UploadPart", .method = "PUT", .key = key, .query = q, .nquery = 2, .body = data,
                    .body_len = len};
    *etag = NULL;
    int rc = perform(s, &r, error);
    if (rc != MF_OBJ_OK)
        return rc;
    if (!s->etag || !*s->etag) {
        set_error(error, "S3 UploadPart %d of \"%s\" in %s: no ETag in the answer", part_number, key,
                  s->describe);
        return MF_OBJ_RETRY;
    }
    *etag = mf_xstrdup(s->etag);
    return MF_OBJ_OK;
}

int mf_s3_multipart_complete(mf_s3 *s, const char *key, const char *upload_id, char *const *etags, size_t n,
                             char **error)
{
    mf_str xml = {0};
    mf_str_puts(&xml, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (size_t i = 0; i < n; i++) {
        mf_str_printf(&xml, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1);
        mf_s3_xml_escape(&xml, etags[i]);
        mf_str_puts(&xml, "</ETag></Part>");
    }
    mf_str_puts(&xml, "</CompleteMultipartUpload>");
    struct mf_s3_param q[] = {{"uploadId", upload_id}};
    struct req r = {.op = "CompleteMultipartUpload", .method = "POST", .key = key, .query = q, .nquery = 1,
                    .body = xml.data, .body_len = xml.len, .content_type = "application/xml"};
    int rc = perform(s, &r, error);
    mf_str_free(&xml);
    if (rc != MF_OBJ_OK)
        return rc;
    /* S3 may answer 200 and still fail: the error is in the body */
    if (s->body.data && strstr(s->body.data, "<Error>"))
        return http_error(s, &r, error) == MF_OBJ_FATAL ? MF_OBJ_FATAL : MF_OBJ_RETRY;
    if (!s->body.data || !strstr(s->body.data, "CompleteMultipartUploadResult")) {
        set_error(error, "S3 CompleteMultipartUpload of \"%s\" in %s: no result in the answer", key,
                  s->describe);
        return MF_OBJ_RETRY;
    }
    return MF_OBJ_OK;
}

int mf_s3_multipart_abort(mf_s3 *s, const char *key, const char *upload_id, char **error)
{
    struct mf_s3_param q[] = {{"uploadId", upload_id}};
    struct req r = {.op = "AbortMultipartUpload", .method = "DELETE", .key = key, .query = q, .nquery = 1,
                    .not_found_ok = true};
    return perform(s, &r, error);
}
