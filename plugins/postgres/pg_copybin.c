/*
 * pg_copybin.c — JSON values as binary COPY fields. See pg_copybin.h.
 */
#include "pg_copybin.h"

#include <math.h>
#include <string.h>

/* PostgreSQL's epoch, 2000-01-01 00:00:00 UTC, in Unix microseconds. */
#define PG_EPOCH_US 946684800000000LL
#define EXACT_DOUBLE 9007199254740992.0 /* 2^53 */
#define EXACT_FLOAT 16777216            /* 2^24 */

pgb_type pgb_type_of_oid(unsigned oid)
{
    switch (oid) {
    case 16:
        return PGB_BOOL;
    case 20:
        return PGB_INT8;
    case 21:
        return PGB_INT2;
    case 23:
        return PGB_INT4;
    case 25:   /* text */
    case 1043: /* varchar: its length limit applies to binary input too */
        return PGB_TEXT;
    case 114:
        return PGB_JSON;
    case 700:
        return PGB_FLOAT4;
    case 701:
        return PGB_FLOAT8;
    case 1114:
        return PGB_TIMESTAMP;
    case 1184:
        return PGB_TIMESTAMPTZ;
    case 3802:
        return PGB_JSONB;
    default:
        return PGB_NONE;
    }
}

static const struct {
    const char *name;
    pgb_type type;
} names[] = {
    {"smallint", PGB_INT2},       {"integer", PGB_INT4},
    {"bigint", PGB_INT8},         {"boolean", PGB_BOOL},
    {"real", PGB_FLOAT4},         {"double", PGB_FLOAT8},
    {"double precision", PGB_FLOAT8},
    {"timestamp", PGB_TIMESTAMP}, {"timestamp without time zone", PGB_TIMESTAMP},
    {"timestamptz", PGB_TIMESTAMPTZ}, {"timestamp with time zone", PGB_TIMESTAMPTZ},
    {"text", PGB_TEXT},           {"varchar", PGB_TEXT},
    {"character varying", PGB_TEXT},
    {"json", PGB_JSON},           {"jsonb", PGB_JSONB},
};

pgb_type pgb_type_of_name(const char *name)
{
    /* "character varying(20)": the length limit is the server's to check */
    size_t len = strcspn(name, "(");
    if (len && name[len] == '(' && strncmp(name, "character varying", len) && strncmp(name, "varchar", len))
        return PGB_NONE; /* "timestamp(3) ...": a precision rounds; text rounds the same, but keep it simple */
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i].name) == len && !strncmp(names[i].name, name, len))
            return names[i].type;
    return PGB_NONE;
}

/* Room for n more bytes at out->data + out->len (as pg_copytext). */
static uint8_t *reserve(mf_buffer *out, size_t n)
{
    if (out->cap - out->len < n) {
        size_t cap = out->cap ? out->cap : 4096;
        while (cap - out->len < n)
            cap *= 2;
        out->data = mf_xrealloc(out->data, cap);
        out->cap = cap;
    }
    return out->data + out->len;
}

static void be(uint8_t *d, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        d[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* A field of n bytes of value v, big-endian, after its length. */
static void fixed(mf_buffer *out, uint64_t v, int bytes)
{
    uint8_t *d = reserve(out, 4 + (size_t)bytes);
    be(d, (uint64_t)bytes, 4);
    be(d + 4, v, bytes);
    out->len += 4 + (size_t)bytes;
}

void pgb_header(mf_buffer *out)
{
    /* signature, flags (no OIDs), header extension length */
    static const uint8_t h[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0};
    mf_buffer_append(out, h, sizeof h);
}

void pgb_trailer(mf_buffer *out)
{
    static const uint8_t t[2] = {0xff, 0xff};
    mf_buffer_append(out, t, sizeof t);
}

void pgb_row(mf_buffer *out, uint16_t n)
{
    uint8_t *d = reserve(out, 2);
    be(d, n, 2);
    out->len += 2;
}

void pgb_null(mf_buffer *out)
{
    uint8_t *d = reserve(out, 4);
    be(d, 0xffffffffu, 4);
    out->len += 4;
}

bool pgb_int(mf_buffer *out, int64_t v, pgb_type type)
{
    switch (type) {
    case PGB_INT2:
        if (v < INT16_MIN || v > INT16_MAX)
            return false;
        fixed(out, (uint64_t)v, 2);
        return true;
    case PGB_INT4:
        if (v < INT32_MIN || v > INT32_MAX)
            return false;
        fixed(out, (uint64_t)v, 4);
        return true;
    case PGB_INT8:
        fixed(out, (uint64_t)v, 8);
        return true;
    default:
        return false;
    }
}

void pgb_text(mf_buffer *out, const char *s, size_t len, pgb_type type)
{
    bool jsonb = type == PGB_JSONB;
    uint8_t *d = reserve(out, 5 + len);
    be(d, (uint64_t)(len + jsonb), 4);
    if (jsonb)
        d[4] = 1; /* jsonb's binary version: the JSON text follows */
    memcpy(d + 4 + jsonb, s, len);
    out->len += 4 + jsonb + len;
}

bool pgb_copytext(mf_buffer *out, const char *s, size_t len, pgb_type type)
{
    if (type == PGB_INT2 || type == PGB_INT4 || type == PGB_INT8) {
        /* digits only: the server's reading of anything else (spaces, '+') is its own */
        size_t i = len && s[0] == '-';
        if (i == len || len - i > 19)
            return false;
        uint64_t u = 0;
        for (; i < len; i++) {
            if (s[i] < '0' || s[i] > '9')
                return false;
            u = u * 10 + (uint64_t)(s[i] - '0');
        }
        bool neg = s[0] == '-';
        if (u > (uint64_t)INT64_MAX + neg)
            return false;
        return pgb_int(out, neg ? (int64_t)(0 - u) : (int64_t)u, type);
    }
    if (type != PGB_TEXT && type != PGB_JSON && type != PGB_JSONB)
        return false;
    bool jsonb = type == PGB_JSONB;
    uint8_t *d = reserve(out, 5 + len), *start = d + 4;
    d = start;
    if (jsonb)
        *d++ = 1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\\' || i + 1 == len) {
            *d++ = (uint8_t)s[i];
            continue;
        }
        char c = s[++i];
        *d++ = (uint8_t)(c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c);
    }
    be(out->data + out->len, (uint64_t)(d - start), 4);
    out->len += 4 + (size_t)(d - start);
    return true;
}

/* The value as pgt_append renders it, as a field: its length patched in after. */
static void textual(mf_buffer *out, const mf_json_view *v, pgt_kind kind, pgb_type type)
{
    bool jsonb = type == PGB_JSONB;
    reserve(out, 5);
    size_t at = out->len;
    out->len += 4;
    if (jsonb)
        out->data[out->len++] = 1;
    pgt_append_raw(out, v, kind);
    be(out->data + at, (uint64_t)(out->len - at - 4), 4);
}

static void float8(mf_buffer *out, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    fixed(out, bits, 8);
}

static bool float4(mf_buffer *out, double d)
{
    float f = (float)d;
    if ((double)f != d) /* the text is d's shortest digits: the server's float rounds them on its own */
        return false;
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    fixed(out, bits, 4);
    return true;
}

/* Epoch ms (what pg_copytext renders as an ISO time with "+00"). */
static bool time_us(mf_buffer *out, int64_t us)
{
    if (us < PGB_MIN_MS * 1000 || us > PGB_MAX_MS * 1000 + 999)
        return false; /* the text's years beyond 1..9999: the server's parser judges them */
    fixed(out, (uint64_t)(us - PG_EPOCH_US), 8);
    return true;
}

/* A number as the text renders it for an integer column: the integer, or
 * false when the text would not be plain digits. */
static bool integral(const mf_json_view *v, pgt_kind kind, int64_t *out)
{
    if (v->type == MF_JSON_INT) {
        *out = v->integer;
        return kind != PGT_TIMESTAMP;
    }
    double d = v->number;
    if (kind == PGT_TIMESTAMP || d != trunc(d))
        return false;
    /* PGT_INTEGER writes digits up to 2^53; the others the shortest %g,
     * which is digits below 1e15 */
    if (kind == PGT_INTEGER ? fabs(d) > EXACT_DOUBLE : fabs(d) >= 1e15)
        return false;
    *out = (int64_t)d;
    return true;
}

bool pgb_append(mf_buffer *out, const mf_json_view *v, pgt_kind kind, pgb_type type)
{
    if (v->type == MF_JSON_MISSING || v->type == MF_JSON_NULL) {
        if (type == PGB_NONE)
            return false;
        pgb_null(out);
        return true;
    }
    switch (type) {
    case PGB_NONE:
        return false;
    case PGB_TEXT:
    case PGB_JSON:
    case PGB_JSONB:
        textual(out, v, kind, type);
        return true;
    case PGB_BOOL:
        if (v->type != MF_JSON_BOOL) /* 1, "t", "yes": the server's reading */
            return false;
        fixed(out, v->boolean, 1);
        return true;
    case PGB_INT2:
    case PGB_INT4:
    case PGB_INT8: {
        int64_t i;
        if ((v->type != MF_JSON_INT && v->type != MF_JSON_DOUBLE) || !integral(v, kind, &i))
            return false;
        return pgb_int(out, i, type);
    }
    case PGB_FLOAT4:
    case PGB_FLOAT8: {
        double d;
        if (kind == PGT_TIMESTAMP)
            return false;
        if (v->type == MF_JSON_INT) {
            if (v->integer > (int64_t)EXACT_DOUBLE || v->integer < -(int64_t)EXACT_DOUBLE)
                return false;
            d = (double)v->integer;
        } else if (v->type == MF_JSON_DOUBLE) {
            d = v->number;
            if (kind == PGT_INTEGER && fabs(d) <= EXACT_DOUBLE && d == trunc(d))
                d = (double)(int64_t)d; /* the text's digits: -0 is 0 */
        } else {
            return false;
        }
        if (type == PGB_FLOAT4)
            return float4(out, d);
        float8(out, d);
        return true;
    }
    case PGB_TIMESTAMP:
    case PGB_TIMESTAMPTZ:
        if (kind != PGT_TIMESTAMP)
            return false;
        if (v->type == MF_JSON_INT)
            return v->integer >= PGB_MIN_MS && v->integer <= PGB_MAX_MS && time_us(out, v->integer * 1000);
        if (v->type == MF_JSON_DOUBLE)
            return fabs(v->number) < 9e15 && time_us(out, llround(v->number * 1000.0));
        return false;
    }
    return false;
}
