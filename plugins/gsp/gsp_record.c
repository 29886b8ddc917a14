/* gsp_record.c — see gsp_record.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gsp_record.h"

void gsp_rec_free(gsp_rec *w)
{
    mf_buffer_free(&w->buf);
}

/* A JSON string: quotes, backslash and control characters escaped; the
 * bytes are UTF-8 already (they come from validated JSON). */
static void put_string(mf_buffer *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    mf_buffer_append(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        mf_buffer_append(b, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t n = 2;
        if (c == '\n')
            esc[1] = 'n';
        else if (c == '\t')
            esc[1] = 't';
        else if (c == '\r')
            esc[1] = 'r';
        else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        mf_buffer_append(b, esc, n);
    }
    mf_buffer_append(b, s + run, len - run);
    mf_buffer_append(b, "\"", 1);
}

static void put_name(gsp_rec *w, const char *name)
{
    if (w->need_comma)
        mf_buffer_append(&w->buf, ",", 1);
    put_string(&w->buf, name, strlen(name));
    mf_buffer_append(&w->buf, ":", 1);
    w->need_comma = true;
}

void gsp_rec_begin(gsp_rec *w, const char *table, const char *op, const char *tenant, size_t tenant_len)
{
    w->buf.len = 0;
    mf_buffer_append_str(&w->buf, "{\"table\":");
    put_string(&w->buf, table, strlen(table));
    mf_buffer_append_str(&w->buf, ",\"op\":");
    put_string(&w->buf, op, strlen(op));
    mf_buffer_append_str(&w->buf, ",\"tenant\":");
    put_string(&w->buf, tenant, tenant_len);
    mf_buffer_append_str(&w->buf, ",\"row\":{");
    w->need_comma = false;
}

void gsp_rec_int(gsp_rec *w, const char *name, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%" PRId64, v);
    put_name(w, name);
    mf_buffer_append(&w->buf, num, (size_t)n);
}

void gsp_rec_str(gsp_rec *w, const char *name, const char *s, size_t len)
{
    put_name(w, name);
    put_string(&w->buf, s, len);
}

void gsp_rec_cstr(gsp_rec *w, const char *name, const char *s)
{
    gsp_rec_str(w, name, s, strlen(s));
}

void gsp_rec_null(gsp_rec *w, const char *name)
{
    put_name(w, name);
    mf_buffer_append(&w->buf, "null", 4);
}

void gsp_rec_obj(gsp_rec *w, const char *name)
{
    put_name(w, name);
    mf_buffer_append(&w->buf, "{", 1);
    w->need_comma = false;
}

void gsp_rec_end_obj(gsp_rec *w)
{
    mf_buffer_append(&w->buf, "}", 1);
    w->need_comma = true;
}

void gsp_rec_finish(gsp_rec *w)
{
    mf_buffer_append(&w->buf, "}}", 2);
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
