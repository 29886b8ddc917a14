/* secrets.c — see martflow/secrets.h. */
#include <martflow/secrets.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "redact.h"
#include "util.h"

/* The single place where a secret read from a file is handed to the
 * engine's redaction of logged text (redact.c): from here on no log line or
 * diagnostic shows it. A full registry only means a value too many to scrub;
 * the value is still returned (the caller needs it), and the registry's own
 * limit is documented with it. */
static void remember_secret(const char *value)
{
    (void)mf_redact_add(value);
}

static void set_error(char *error, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_error(char *error, size_t cap, const char *fmt, ...)
{
    if (!error || !cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, cap, fmt, ap);
    va_end(ap);
}

static void wipe(void *p, size_t n)
{
    /* volatile: a plain memset before free may be optimised away */
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* The file's bytes (NUL-terminated, *len without the NUL), or NULL with error
 * set. Opened non-blocking, so a FIFO is refused instead of waited on. */
static char *read_file(const char *path, size_t *len, char *error, size_t cap)
{
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        set_error(error, cap, "secret file %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        set_error(error, cap, "secret file %s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        set_error(error, cap, "secret file %s: not a regular file", path);
        goto fail;
    }
    if (st.st_size > MF_SECRET_MAX_BYTES) {
        set_error(error, cap, "secret file %s: larger than %d bytes", path, MF_SECRET_MAX_BYTES);
        goto fail;
    }
    /* One byte more than the limit: a file that grew since fstat is noticed. */
    buf = mf_xmalloc(MF_SECRET_MAX_BYTES + 2);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, MF_SECRET_MAX_BYTES + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            set_error(error, cap, "secret file %s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > MF_SECRET_MAX_BYTES) {
            set_error(error, cap, "secret file %s: larger than %d bytes", path, MF_SECRET_MAX_BYTES);
            goto fail;
        }
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    if (buf) {
        wipe(buf, MF_SECRET_MAX_BYTES + 2);
        free(buf);
    }
    close(fd);
    return NULL;
}

char *mf_secret_read_text(const char *path, char *error, size_t error_cap)
{
    size_t len;
    char *buf = read_file(path, &len, error, error_cap);
    if (!buf)
        return NULL;
    if (memchr(buf, '\0', len)) {
        set_error(error, error_cap, "secret file %s: holds a NUL byte (not text)", path);
        wipe(buf, len);
        free(buf);
        return NULL;
    }
    size_t start = 0, end = len;
    while (start < end && is_space(buf[start]))
        start++;
    while (end > start && is_space(buf[end - 1]))
        end--;
    char *text = mf_xstrndup(buf + start, end - start);
    wipe(buf, len);
    free(buf);
    remember_secret(text);
    return text;
}

void mf_secret_text_free(char *text)
{
    if (!text)
        return;
    wipe(text, strlen(text));
    free(text);
}

void mf_secret_fields_free(mf_secret_field *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mf_secret_text_free(fields[i].value);
        fields[i].value = NULL;
    }
}

bool mf_secret_read_json(const char *path, mf_secret_field *fields, size_t n, char *error, size_t error_cap)
{
    for (size_t i = 0; i < n; i++)
        fields[i].value = NULL;
    size_t len;
    char *buf = read_file(path, &len, error, error_cap);
    if (!buf)
        return false;
    json_error_t e;
    json_t *j = json_loadb(buf, len, 0, &e);
    wipe(buf, len);
    free(buf);
    if (!j) {
        /* Only the position: the text near it could be part of the password. */
        set_error(error, error_cap, "secret file %s: not valid JSON (line %d, column %d)", path, e.line, e.column);
        return false;
    }
    bool ok = json_is_object(j);
    if (!ok)
        set_error(error, error_cap, "secret file %s: expected a JSON object", path);
    for (size_t i = 0; ok && i < n; i++) {
        json_t *v = json_object_get(j, fields[i].name);
        if (!v || json_is_null(v))
            continue;
        if (!json_is_string(v)) {
            set_error(error, error_cap, "secret file %s: \"%s\" must be a string", path, fields[i].name);
            ok = false;
            break;
        }
        fields[i].value = mf_xstrdup(json_string_value(v));
        if (fields[i].secret)
            remember_secret(fields[i].value);
    }
    json_decref(j);
    if (!ok)
        mf_secret_fields_free(fields, n);
    return ok;
}

bool mf_secret_read_s3_keys(const char *path, char **access_key, char **secret_key, char *error, size_t error_cap)
{
    *access_key = *secret_key = NULL;
    mf_secret_field f[2] = {{.name = "accessKey", .secret = false}, {.name = "secretKey", .secret = true}};
    if (!mf_secret_read_json(path, f, 2, error, error_cap))
        return false;
    if (!f[0].value || !f[1].value) {
        set_error(error, error_cap, "secret file %s: needs the members accessKey and secretKey", path);
        mf_secret_fields_free(f, 2);
        return false;
    }
    *access_key = f[0].value;
    *secret_key = f[1].value;
    return true;
}
