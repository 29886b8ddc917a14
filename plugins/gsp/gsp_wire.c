/* gsp_wire.c — see gsp_wire.h. */
#include <string.h>

#include <martflow/alloc.h>
#include <martflow/helpers.h>

#include "gsp_wire.h"

void gsp_put(mf_buffer *out, const mf_host *host, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    host->buffer_append(out, b, (size_t)bytes);
}

void gsp_put_str(mf_buffer *out, const mf_host *host, const char *s, size_t len)
{
    gsp_put(out, host, len, 4);
    if (len)
        host->buffer_append(out, s, len);
}

uint8_t *gsp_put_begin(mf_buffer *out, size_t n)
{
    return mf_buffer_reserve(out, n);
}

void gsp_put_end(mf_buffer *out, const uint8_t *end)
{
    out->len = (size_t)(end - out->data);
}

uint64_t gsp_get(gsp_reader *r, int bytes)
{
    if (!r->ok || r->left < (size_t)bytes) {
        r->ok = false;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += bytes;
    r->left -= (size_t)bytes;
    return v;
}

const char *gsp_get_str(gsp_reader *r, size_t *len)
{
    uint64_t l = gsp_get(r, 4);
    *len = 0;
    if (!r->ok || l > r->left || memchr(r->p, '\0', l)) {
        r->ok = false;
        return NULL;
    }
    const char *s = (const char *)r->p;
    r->p += l;
    r->left -= l;
    *len = (size_t)l;
    return s;
}

void gsp_put_opt_str(mf_buffer *out, const mf_host *host, const char *s)
{
    gsp_put(out, host, s != NULL, 1);
    if (s)
        gsp_put_str(out, host, s, strlen(s));
}

bool gsp_get_opt_str(gsp_reader *r, char **s)
{
    uint64_t present = gsp_get(r, 1);
    size_t len;
    const char *p;
    *s = NULL;
    if (present > 1)
        return gsp_get_fail(r);
    if (!present)
        return r->ok;
    if (!(p = gsp_get_str(r, &len)))
        return false;
    *s = mf_xstrndup(p, len);
    return true;
}

bool gsp_get_fail(gsp_reader *r)
{
    r->ok = false;
    return false;
}
