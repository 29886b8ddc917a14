/* s3_encode.c — RFC 3986 encoding and canonical query strings for SigV4
 * (see s3_internal.h). */
#include "s3_internal.h"

#include <stdlib.h>
#include <string.h>

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

void mf_s3_uri_encode(mf_str *out, const char *s, size_t len, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    if (len == 0)
        return; /* (reserving would leave an unterminated buffer behind) */
    mf_str_reserve(out, len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            mf_str_append(out, (const char *)&c, 1);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            mf_str_append(out, esc, 3);
        }
    }
}

struct pair {
    char *name;
    char *value;
};

static int pair_cmp(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *encoded(const char *s)
{
    mf_str e = {0};
    if (s)
        mf_s3_uri_encode(&e, s, strlen(s), false);
    return mf_str_take(&e);
}

char *mf_s3_canonical_query(const struct mf_s3_param *params, size_t n)
{
    struct pair *pairs = mf_xcalloc(n ? n : 1, sizeof(*pairs));
    for (size_t i = 0; i < n; i++) {
        pairs[i].name = encoded(params[i].name);
        pairs[i].value = encoded(params[i].value);
    }
    /* sorted by the encoded bytes, as SigV4's canonical request orders them */
    qsort(pairs, n, sizeof(*pairs), pair_cmp);
    mf_str q = {0};
    for (size_t i = 0; i < n; i++) {
        if (i)
            mf_str_puts(&q, "&");
        mf_str_puts(&q, pairs[i].name);
        mf_str_puts(&q, "=");
        mf_str_puts(&q, pairs[i].value);
        free(pairs[i].name);
        free(pairs[i].value);
    }
    free(pairs);
    return mf_str_take(&q);
}
