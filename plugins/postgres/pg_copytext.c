/*
 * pg_copytext.c — JSON values as COPY text fields. See pg_copytext.h.
 */
#include "pg_copytext.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    pgt_kind kind;
} types[] = {
    {"text", PGT_AUTO},         {"varchar", PGT_AUTO},      {"uuid", PGT_AUTO},
    {"numeric", PGT_AUTO},      {"double", PGT_AUTO},       {"real", PGT_AUTO},
    {"boolean", PGT_AUTO},      {"bigint", PGT_INTEGER},    {"integer", PGT_INTEGER},
    {"smallint", PGT_INTEGER},  {"timestamptz", PGT_TIMESTAMP}, {"timestamp", PGT_TIMESTAMP},
    {"date", PGT_TIMESTAMP},    {"json", PGT_JSON},         {"jsonb", PGT_JSON},
};

bool pgt_kind_of(const char *type, pgt_kind *kind)
{
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (!strcmp(types[i].name, type)) {
            *kind = types[i].kind;
            return true;
        }
    return false;
}

const char *pgt_type_names(void)
{
    return "text, varchar, uuid, numeric, double, real, boolean, bigint, integer, smallint, timestamptz, "
           "timestamp, date, json, jsonb";
}

/* Room for n more bytes at out->data + out->len. */
static char *reserve(mf_buffer *out, size_t n)
{
    if (out->cap - out->len < n) {
        size_t cap = out->cap ? out->cap : 4096;
        while (cap - out->len < n)
            cap *= 2;
        out->data = mf_xrealloc(out->data, cap);
        out->cap = cap;
    }
    return (char *)out->data + out->len;
}

/* What COPY text needs escaped, and the letter after the backslash. */
static const char escape_letter[256] = {['\\'] = '\\', ['\t'] = 't', ['\n'] = 'n', ['\r'] = 'r'};

void pgt_append_escaped(mf_buffer *out, const char *s, size_t len)
{
    char *d = reserve(out, len * 2), *start = d;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (escape_letter[ch]) {
            *d++ = '\\';
            *d++ = escape_letter[ch];
        } else {
            *d++ = (char)ch;
        }
    }
    out->len += (size_t)(d - start);
}

/* A JSON string of s; escaped for COPY (every JSON backslash doubled), or
 * raw (binary COPY takes the text as it is). */
static void append_json_string(mf_buffer *out, const char *s, size_t len, bool escape)
{
    char *d = reserve(out, len * 7 + 2), *start = d; /* a control byte: \\u00XX */
    *d++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            if (escape) {
                memcpy(d, ch == '"' ? "\\\\\"" : "\\\\\\\\", ch == '"' ? 3 : 4);
                d += ch == '"' ? 3 : 4;
            } else {
                *d++ = '\\';
                *d++ = (char)ch;
            }
        } else if (ch < 0x20) {
            d += sprintf(d, escape ? "\\\\u%04x" : "\\u%04x", ch);
        } else {
            *d++ = (char)ch;
        }
    }
    *d++ = '"';
    out->len += (size_t)(d - start);
}

/* Digits by hand: snprintf was a tenth of the sink's time on integer-heavy rows. */
static void append_int(mf_buffer *out, int64_t v)
{
    char tmp[24], *e = tmp + sizeof tmp, *p = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    mf_buffer_append(out, p, (size_t)(e - p));
}

/* The shortest %g text that reads back as d (15 digits are enough for most). */
static void append_double(mf_buffer *out, double d)
{
    char *p = reserve(out, 32);
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(p, 32, "%.*g", prec, d);
        if (strtod(p, NULL) == d)
            break;
    }
    out->len += (size_t)n;
}

/* The proleptic Gregorian date of a day count from 1970-01-01, by 400-year
 * eras of 146097 days starting on March 1 (so a leap day ends its year). */
static void civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
    days += 719468; /* days from 0000-03-01 to 1970-01-01 */
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);                        /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                /* [0, 365], from March 1 */
    unsigned mp = (5 * doy + 2) / 153;                                     /* [0, 11], March = 0 */
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = (int64_t)yoe + era * 400 + (*month <= 2);
}

/* n decimal digits of v, zero-padded, at d. */
static char *digits(char *d, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        d[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return d + n;
}

/* Epoch microseconds as "YYYY-MM-DD HH:MM:SS.ffffff+00". By hand: snprintf
 * and gmtime_r were a seventh of the sink's time on rows with two timestamps. */
static void append_time_us(mf_buffer *out, int64_t us)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    int64_t year;
    unsigned month, day;
    civil_from_days(days, &year, &month, &day);
    char *d = reserve(out, 48), *start = d;
    if (year < 0 || year > 9999) { /* rare: the width grows, a sign may come (the server judges the range) */
        d += snprintf(d, 24, "%04lld", (long long)year);
    } else {
        d = digits(d, (unsigned)year, 4);
    }
    *d++ = '-';
    d = digits(d, month, 2);
    *d++ = '-';
    d = digits(d, day, 2);
    *d++ = ' ';
    d = digits(d, (unsigned)(sod / 3600), 2);
    *d++ = ':';
    d = digits(d, (unsigned)(sod / 60 % 60), 2);
    *d++ = ':';
    d = digits(d, (unsigned)(sod % 60), 2);
    *d++ = '.';
    d = digits(d, (unsigned)frac, 6);
    memcpy(d, "+00", 3);
    d += 3;
    out->len += (size_t)(d - start);
}

#define MAX_EXACT 9007199254740992.0 /* 2^53: doubles beyond are not exact integers */

static void append_value(mf_buffer *out, const mf_json_view *v, pgt_kind kind, bool escape)
{
    switch (v->type) {
    case MF_JSON_MISSING:
    case MF_JSON_NULL:
        mf_buffer_append(out, "\\N", 2);
        return;
    case MF_JSON_BOOL:
        if (v->boolean)
            mf_buffer_append(out, "true", 4);
        else
            mf_buffer_append(out, "false", 5);
        return;
    case MF_JSON_INT:
        if (kind == PGT_TIMESTAMP && v->integer > -9000000000000000LL && v->integer < 9000000000000000LL)
            append_time_us(out, v->integer * 1000);
        else
            append_int(out, v->integer);
        return;
    case MF_JSON_DOUBLE:
        if (kind == PGT_TIMESTAMP && fabs(v->number) < 9e15)
            append_time_us(out, llround(v->number * 1000.0));
        else if (kind == PGT_INTEGER && fabs(v->number) <= MAX_EXACT && v->number == trunc(v->number))
            append_int(out, (int64_t)v->number);
        else
            append_double(out, v->number);
        return;
    case MF_JSON_STRING:
        if (kind == PGT_JSON)
            append_json_string(out, v->str, v->len, escape);
        else if (escape)
            pgt_append_escaped(out, v->str, v->len);
        else
            mf_buffer_append(out, v->str, v->len);
        return;
    case MF_JSON_ARRAY:
    case MF_JSON_OBJECT:
        if (escape)
            pgt_append_escaped(out, v->str, v->len);
        else
            mf_buffer_append(out, v->str, v->len);
        return;
    }
}

void pgt_append(mf_buffer *out, const mf_json_view *v, pgt_kind kind)
{
    append_value(out, v, kind, true);
}

void pgt_append_raw(mf_buffer *out, const mf_json_view *v, pgt_kind kind)
{
    if (v->type == MF_JSON_MISSING || v->type == MF_JSON_NULL)
        return; /* binary COPY says NULL by the field's length */
    append_value(out, v, kind, false);
}
