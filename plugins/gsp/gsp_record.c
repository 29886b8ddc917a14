/* gsp_record.c — see gsp_record.h. Records are written straight into the
 * buffer: room is made once per member, then the bytes are stored without
 * a call per piece (this writer runs for every fact of every thread). */
#include <string.h>

#include "gsp_record.h"
#include "gsp_text.h"

void gsp_rec_free(gsp_rec *w)
{
    mf_buffer_free(&w->buf);
}

/* Room for n more bytes; the free space starts at the returned pointer. */
static char *room(mf_buffer *b, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        b->data = mf_xrealloc(b->data, cap);
        b->cap = cap;
    }
    return (char *)b->data + b->len;
}

static void put_bytes(mf_buffer *b, const char *s, size_t len)
{
    memcpy(room(b, len), s, len);
    b->len += len;
}

/* A JSON string: quotes, backslash and control characters escaped; the
 * bytes are UTF-8 already (they come from validated JSON). Room is made for
 * the worst case (6 bytes per input byte) only when an escape is needed. */
static void put_string(mf_buffer *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"' || c == '\\')
            break;
        i++;
    }
    char *o = room(b, len + 2);
    o[0] = '"';
    memcpy(o + 1, s, i);
    if (i == len) {
        o[len + 1] = '"';
        b->len += len + 2;
        return;
    }
    b->len += i + 1;
    o = room(b, (len - i) * 6 + 1);
    size_t k = 0;
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            o[k++] = (char)c;
            continue;
        }
        o[k++] = '\\';
        if (c == '\n')
            o[k++] = 'n';
        else if (c == '\t')
            o[k++] = 't';
        else if (c == '\r')
            o[k++] = 'r';
        else if (c < 0x20) {
            memcpy(o + k, "u00", 3);
            o[k + 3] = hex[c >> 4];
            o[k + 4] = hex[c & 15];
            k += 5;
        } else
            o[k++] = (char)c;
    }
    o[k++] = '"';
    b->len += k;
}

/* `,"name":` (the comma when a member came before); extra: bytes of room to
 * make for the value as well. Names are the callers' column names, plain
 * text that needs no escape. */
static void put_name(gsp_rec *w, const char *name, size_t extra)
{
    size_t n = strlen(name);
    char *o = room(&w->buf, n + 4 + extra);
    size_t k = 0;
    if (w->need_comma)
        o[k++] = ',';
    o[k++] = '"';
    memcpy(o + k, name, n);
    k += n;
    o[k++] = '"';
    o[k++] = ':';
    w->buf.len += k;
    w->need_comma = true;
}

void gsp_rec_begin(gsp_rec *w, const char *table, const char *op, const char *tenant, size_t tenant_len)
{
    w->buf.len = 0;
    put_bytes(&w->buf, "{\"table\":", 9);
    put_string(&w->buf, table, strlen(table));
    put_bytes(&w->buf, ",\"op\":", 6);
    put_string(&w->buf, op, strlen(op));
    put_bytes(&w->buf, ",\"tenant\":", 10);
    put_string(&w->buf, tenant, tenant_len);
    put_bytes(&w->buf, ",\"row\":{", 8);
    w->need_comma = false;
}

void gsp_rec_int(gsp_rec *w, const char *name, int64_t v)
{
    put_name(w, name, GSP_INT_TEXT);
    w->buf.len += gsp_int_text((char *)w->buf.data + w->buf.len, v);
}

void gsp_rec_str(gsp_rec *w, const char *name, const char *s, size_t len)
{
    put_name(w, name, 0);
    put_string(&w->buf, s, len);
}

void gsp_rec_cstr(gsp_rec *w, const char *name, const char *s)
{
    gsp_rec_str(w, name, s, strlen(s));
}

void gsp_rec_null(gsp_rec *w, const char *name)
{
    put_name(w, name, 4);
    put_bytes(&w->buf, "null", 4);
}

void gsp_rec_obj(gsp_rec *w, const char *name)
{
    put_name(w, name, 1);
    put_bytes(&w->buf, "{", 1);
    w->need_comma = false;
}

void gsp_rec_end_obj(gsp_rec *w)
{
    put_bytes(&w->buf, "}", 1);
    w->need_comma = true;
}

void gsp_rec_finish(gsp_rec *w)
{
    put_bytes(&w->buf, "}}", 2);
}

void gsp_rec_open(gsp_rec *w)
{
    w->buf.len = 0;
    put_bytes(&w->buf, "{", 1);
    w->need_comma = false;
}

void gsp_rec_close(gsp_rec *w)
{
    put_bytes(&w->buf, "}", 1);
}

int gsp_rec_emit(gsp_rec *w, const mf_host *host, mf_node *node, int port, const void *key, size_t key_len,
                 mf_ack *ack)
{
    mf_record out = {0};
    out.key = key;
    out.key_len = (uint32_t)key_len;
    out.value = w->buf.data;
    out.value_len = (uint32_t)w->buf.len;
    out.time_ms = MF_TIME_UNSET;
    out.origin.partition = -1;
    out.origin.offset = -1;
    return host->emit(node, port, &out, ack);
}
