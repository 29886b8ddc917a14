/* helpers.c — the public helpers of martflow/helpers.h. */
#include <martflow/helpers.h>

#include <martflow/crypto.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"
#include "util.h"

uint8_t *mf_buffer_reserve(mf_buffer *b, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        b->data = mf_xrealloc(b->data, cap);
        b->cap = cap;
    }
    return b->data + b->len;
}

void mf_buffer_append(mf_buffer *b, const void *data, size_t len)
{
    if (len == 0)
        return; /* data may be NULL then (an empty view) */
    memcpy(mf_buffer_reserve(b, len), data, len);
    b->len += len;
}

void mf_buffer_append_str(mf_buffer *b, const char *text)
{
    mf_buffer_append(b, text, strlen(text));
}

void mf_buffer_reset(mf_buffer *b)
{
    b->len = 0;
}

void mf_buffer_free(mf_buffer *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static bool valid_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t extra;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + extra >= n)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += extra + 1;
    }
    return true;
}

static void base64(mf_str *out, const uint8_t *s, size_t n)
{
    size_t len = MF_BASE64_ENCODED_LEN(n);
    mf_str_reserve(out, len);
    out->len += mf_base64_encode(s, n, out->data + out->len);
}

/* "name":"text" or "name_base64":"..." for bytes that are not UTF-8. */
static void bytes_field(mf_str *s, const char *name, const uint8_t *v, size_t n)
{
    if (valid_utf8(v, n)) {
        mf_str_printf(s, "\"%s\":\"", name);
        mf_str_json_escape(s, (const char *)v, n);
    } else {
        mf_str_printf(s, "\"%s_base64\":\"", name);
        base64(s, v, n);
    }
    mf_str_puts(s, "\"");
}

void mf_envelope_append(mf_buffer *out, const mf_record *rec, const uint8_t *value, size_t value_len,
                        bool value_is_json)
{
    /* Build in place: borrow the buffer's storage as an mf_str (both are
     * realloc-grown byte arrays), so a record costs no allocation of its own. */
    mf_str s = {.data = (char *)out->data, .len = out->len, .cap = out->cap};
    mf_str_puts(&s, "{");
    if (rec->flags & MF_RECORD_KEY_NULL)
        mf_str_puts(&s, "\"key\":null");
    else
        bytes_field(&s, "key", rec->key ? rec->key : (const uint8_t *)"", rec->key_len);
    mf_str_puts(&s, ",");
    if (rec->flags & MF_RECORD_VALUE_NULL)
        mf_str_puts(&s, "\"value\":null");
    else if (value_is_json) {
        mf_str_puts(&s, "\"value\":");
        mf_str_append(&s, (const char *)value, value_len);
    } else
        bytes_field(&s, "value", value, value_len);
    if (rec->time_ms == MF_TIME_UNSET)
        mf_str_puts(&s, ",\"time\":null");
    else
        mf_str_printf(&s, ",\"time\":%lld", (long long)rec->time_ms);
    mf_str_puts(&s, ",\"headers\":{");
    for (uint16_t i = 0; i < rec->n_headers; i++) {
        const mf_header *h = &rec->headers[i];
        mf_str_puts(&s, i ? ",\"" : "\"");
        mf_str_json_escape(&s, h->name, strlen(h->name));
        mf_str_puts(&s, "\":\"");
        mf_str_json_escape(&s, (const char *)h->value, h->value_len);
        mf_str_puts(&s, "\"");
    }
    mf_str_puts(&s, "},\"origin\":{");
    bool first = true;
    if (rec->origin.source) {
        mf_str_puts(&s, "\"source\":\"");
        mf_str_json_escape(&s, rec->origin.source, strlen(rec->origin.source));
        mf_str_puts(&s, "\"");
        first = false;
    }
    if (rec->origin.topic) {
        mf_str_puts(&s, first ? "\"topic\":\"" : ",\"topic\":\"");
        mf_str_json_escape(&s, rec->origin.topic, strlen(rec->origin.topic));
        mf_str_puts(&s, "\"");
        first = false;
    }
    if (rec->origin.partition >= 0) {
        mf_str_printf(&s, "%s\"partition\":%d", first ? "" : ",", (int)rec->origin.partition);
        first = false;
    }
    if (rec->origin.offset >= 0)
        mf_str_printf(&s, "%s\"offset\":%lld", first ? "" : ",", (long long)rec->origin.offset);
    mf_str_puts(&s, "}}");
    out->data = (uint8_t *)s.data;
    out->len = s.len;
    out->cap = s.cap;
}

static bool digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

/* Days from 1970-01-01 to Y-M-D of the proleptic Gregorian calendar, for
 * any D (D past the month's end runs on into the next, as timegm does):
 * the year taken from March, so the leap day ends it, in 400-year eras.
 * Every event's time is parsed here, and timegm costs many times this. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                  /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* from March 1 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* [0, 146096] for d in range */
    return era * 146097 + doe - 719468;
}

/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
static bool parse_rfc3339_ms(const char *p, int64_t *ms)
{
    int Y, M, D, h, m, sec;
    if (strlen(p) < 19 || !digits(p, 4, &Y) || p[4] != '-' || !digits(p + 5, 2, &M) || p[7] != '-' ||
        !digits(p + 8, 2, &D) || (p[10] != 'T' && p[10] != 't' && p[10] != ' ') || !digits(p + 11, 2, &h) ||
        p[13] != ':' || !digits(p + 14, 2, &m) || p[16] != ':' || !digits(p + 17, 2, &sec))
        return false;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return false;
    p += 19;
    int frac_ms = 0;
    if (*p == '.') {
        p++;
        int scale = 100, nd = 0;
        while (isdigit((unsigned char)*p)) {
            if (nd < 3)
                frac_ms += (*p - '0') * scale;
            scale /= 10;
            nd++;
            p++;
        }
        if (nd == 0)
            return false;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
            return false;
        offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p)
        return false;
    int64_t t = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec;
    *ms = (t - (int64_t)offset_min * 60) * 1000 + frac_ms;
    return true;
}

bool mf_parse_time_ms(const char *text, int64_t *ms)
{
    if (!text || !*text)
        return false;
    /* the text form first: no integer text has '-' after four digits */
    if (parse_rfc3339_ms(text, ms))
        return true;
    int64_t iv;
    if (mf_parse_int(text, &iv)) {
        *ms = iv;
        return true;
    }
    return false;
}

void mf_format_record_line(const mf_host *host, mf_node *node, mf_record *rec, mf_record_format format,
                           mf_buffer *out)
{
    size_t len;
    const uint8_t *value = host->record_value(node, rec, &len);
    if (format == MF_FORMAT_VALUE) {
        mf_buffer_append(out, value, len);
    } else {
        const char *error = NULL;
        bool is_json = !(rec->flags & MF_RECORD_VALUE_NULL) && host->record_json(node, rec, &error) != NULL;
        mf_envelope_append(out, rec, value, len, is_json);
    }
    mf_buffer_append(out, "\n", 1);
}

const char *mf_json_kind_text(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "a map";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}
