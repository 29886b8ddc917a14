/* gsp_btext.c — see gsp_btext.h. */
#include <stdlib.h>
#include <string.h>

#include "gsp_btext.h"
#include "gsp_text.h"

void gsp_btext_set(gsp_btext *t, const char *s, size_t len)
{
    len = gsp_text_cut(s, len);
    if (len >= t->cap) {
        t->cap = (uint32_t)len + 16;
        t->s = mf_xrealloc(t->s, t->cap);
    }
    if (len)
        memcpy(t->s, s, len);
    t->len = (uint32_t)len;
}

void gsp_btext_take(gsp_btext *t, const char *s, size_t len)
{
    if (len)
        gsp_btext_set(t, s, len);
}

bool gsp_btext_eq(const gsp_btext *t, const char *s, size_t len)
{
    len = gsp_text_cut(s, len);
    return t->len == len && (len == 0 || memcmp(t->s, s, len) == 0);
}

void gsp_btext_free(gsp_btext *t)
{
    free(t->s);
    memset(t, 0, sizeof *t);
}

void gsp_btext_save(const gsp_btext *t, const mf_host *host, mf_buffer *out)
{
    gsp_put_str(out, host, t->s, t->len);
}

bool gsp_btext_load(gsp_btext *t, gsp_reader *r)
{
    size_t len;
    const char *s = gsp_get_str(r, &len);
    t->len = 0;
    if (!s || len > GSP_BTEXT_MAX)
        return gsp_get_fail(r);
    gsp_btext_set(t, s, len);
    return true;
}
