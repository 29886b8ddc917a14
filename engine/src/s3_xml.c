/* s3_xml.c — the little XML reading and writing the S3 client needs (see
 * s3_internal.h): S3 answers are flat and small, a parser library would be
 * a dependency for a dozen element names. */
#include "s3_internal.h"

#include <stdlib.h>
#include <string.h>

/* Does an element named tag start at s ("<tag>", "<tag " or "<tag/")? */
static bool starts_element(const char *s, const char *end, const char *tag, size_t tl)
{
    if ((size_t)(end - s) < tl + 2 || s[0] != '<' || memcmp(s + 1, tag, tl) != 0)
        return false;
    char c = s[1 + tl];
    return c == '>' || c == ' ' || c == '/' || c == '\t' || c == '\n' || c == '\r';
}

static const char *find(const char *p, const char *end, const char *needle, size_t nl)
{
    for (; (size_t)(end - p) >= nl; p++) {
        p = memchr(p, needle[0], (size_t)(end - p));
        if (!p || (size_t)(end - p) < nl)
            return NULL;
        if (memcmp(p, needle, nl) == 0)
            return p;
    }
    return NULL;
}

bool mf_s3_xml_next(const char **p, const char *end, const char *tag, const char **inner, size_t *inner_len)
{
    size_t tl = strlen(tag);
    const char *s = *p;
    while ((s = find(s, end, "<", 1)) != NULL) {
        if (!starts_element(s, end, tag, tl)) {
            s++;
            continue;
        }
        const char *gt = memchr(s, '>', (size_t)(end - s));
        if (!gt)
            return false;
        if (gt[-1] == '/') { /* <tag/> */
            *inner = gt + 1;
            *inner_len = 0;
            *p = gt + 1;
            return true;
        }
        char close[80];
        if (tl + 4 > sizeof close)
            return false;
        close[0] = '<';
        close[1] = '/';
        memcpy(close + 2, tag, tl);
        close[2 + tl] = '>';
        const char *e = find(gt + 1, end, close, tl + 3);
        if (!e)
            return false;
        *inner = gt + 1;
        *inner_len = (size_t)(e - (gt + 1));
        *p = e + tl + 3;
        return true;
    }
    return false;
}

static void put_utf8(mf_str *out, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    mf_str_append(out, b, n);
}

char *mf_s3_xml_text(const char *xml, size_t len, const char *tag)
{
    const char *p = xml, *inner;
    size_t n;
    if (!mf_s3_xml_next(&p, xml + len, tag, &inner, &n))
        return NULL;
    static const struct {
        const char *name;
        char ch;
    } named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    mf_str out = {0};
    if (n)
        mf_str_reserve(&out, n); /* (not for 0: it would leave the buffer unterminated) */
    for (size_t i = 0; i < n; i++) {
        if (inner[i] != '&') {
            mf_str_append(&out, inner + i, 1);
            continue;
        }
        const char *semi = memchr(inner + i, ';', n - i);
        bool done = false;
        if (semi && inner[i + 1] == '#') {
            char *stop = NULL;
            bool hexa = inner[i + 2] == 'x' || inner[i + 2] == 'X';
            unsigned long cp = strtoul(inner + i + (hexa ? 3 : 2), &stop, hexa ? 16 : 10);
            if (stop == semi && cp > 0 && cp <= 0x10FFFF) {
                put_utf8(&out, cp);
                i = (size_t)(semi - inner);
                done = true;
            }
        } else if (semi) {
            for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
                size_t nl = strlen(named[k].name);
                if ((size_t)(semi - (inner + i + 1)) + 1 == nl && memcmp(inner + i + 1, named[k].name, nl) == 0) {
                    mf_str_append(&out, &named[k].ch, 1);
                    i = (size_t)(semi - inner);
                    done = true;
                    break;
                }
            }
        }
        if (!done) /* not an entity we know: keep the text as it is */
            mf_str_append(&out, "&", 1);
    }
    return mf_str_take(&out);
}

void mf_s3_xml_escape(mf_str *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '&': mf_str_puts(out, "&amp;"); break;
        case '<': mf_str_puts(out, "&lt;"); break;
        case '>': mf_str_puts(out, "&gt;"); break;
        case '"': mf_str_puts(out, "&quot;"); break;
        case '\'': mf_str_puts(out, "&apos;"); break;
        default: mf_str_append(out, p, 1);
        }
    }
}
