/* util.c — see util.h. */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <martflow/helpers.h>

static void out_of_memory(size_t n)
{
    fprintf(stderr, "martflow: out of memory allocating %zu bytes\n", n);
    abort();
}

void *mf_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *mf_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory(n * size);
    return p;
}

void *mf_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *mf_xstrdup(const char *s)
{
    return mf_xstrndup(s, strlen(s));
}

char *mf_xstrndup(const char *s, size_t n)
{
    char *p = mf_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *mf_xvasprintf(const char *fmt, va_list ap)
{
    mf_str s = {0};
    mf_str_vprintf(&s, fmt, ap);
    return mf_str_take(&s);
}

char *mf_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = mf_xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

int64_t mf_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec mf_timespec_after(clockid_t clock, int64_t ms)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int64_t mf_time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mf_time_format(int64_t epoch_ms, char *buf, size_t len)
{
    time_t secs = (time_t)(epoch_ms / 1000);
    int ms = (int)(epoch_ms % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

void mf_str_reserve(mf_str *s, size_t extra)
{
    if (s->len + extra + 1 <= s->cap)
        return;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < s->len + extra + 1)
        cap *= 2;
    s->data = mf_xrealloc(s->data, cap);
    s->cap = cap;
}

void mf_str_append(mf_str *s, const char *data, size_t len)
{
    mf_str_reserve(s, len);
    memcpy(s->data + s->len, data, len);
    s->len += len;
    s->data[s->len] = '\0';
}

void mf_str_puts(mf_str *s, const char *text)
{
    mf_str_append(s, text, strlen(text));
}

void mf_str_vprintf(mf_str *s, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    mf_str_reserve(s, (size_t)n);
    vsnprintf(s->data + s->len, (size_t)n + 1, fmt, ap);
    s->len += (size_t)n;
}

void mf_str_printf(mf_str *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mf_str_vprintf(s, fmt, ap);
    va_end(ap);
}

void mf_str_json_escape(mf_str *s, const char *text, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    mf_str_reserve(s, len + 8);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        char esc[7];
        const char *out = NULL;
        size_t olen = 2;
        switch (c) {
        case '"': out = "\\\""; break;
        case '\\': out = "\\\\"; break;
        case '\n': out = "\\n"; break;
        case '\r': out = "\\r"; break;
        case '\t': out = "\\t"; break;
        default:
            if (c < 0x20) {
                esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
                esc[4] = hex[c >> 4]; esc[5] = hex[c & 15]; esc[6] = 0;
                out = esc;
                olen = 6;
            }
        }
        if (out)
            mf_str_append(s, out, olen);
        else {
            mf_str_reserve(s, 1);
            s->data[s->len++] = (char)c;
            s->data[s->len] = '\0';
        }
    }
}

void mf_str_reset(mf_str *s)
{
    s->len = 0;
    if (s->data)
        s->data[0] = '\0';
}

void mf_str_free(mf_str *s)
{
    free(s->data);
    s->data = NULL;
    s->len = s->cap = 0;
}

char *mf_str_take(mf_str *s)
{
    char *p = s->data ? s->data : mf_xstrdup("");
    s->data = NULL;
    s->len = s->cap = 0;
    return p;
}

int mf_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    int prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;
            cur[j] = best;
        }
        memcpy(prev, cur, sizeof(int) * (lb + 1));
    }
    return prev[lb];
}
