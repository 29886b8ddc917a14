/* redact.c — see redact.h. */
#include "redact.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct secret {
    char *text;
    size_t len;
};

/* Sorted by first byte, then longest first (so the first match at a position is
 * the longest), then bytes; first[c] .. first[c + 1] are the values starting
 * with byte c. */
static pthread_rwlock_t set_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct secret *set;
static size_t set_n, set_cap, set_bytes;
static size_t first[257];
static _Atomic size_t set_count; /* set_n, readable without the lock */

static int compare(const char *v, size_t len, const struct secret *s)
{
    unsigned char a = (unsigned char)v[0], b = (unsigned char)s->text[0];
    if (a != b)
        return a < b ? -1 : 1;
    if (len != s->len)
        return len > s->len ? -1 : 1;
    return memcmp(v, s->text, len);
}

/* Under the write lock. false when the set is full. */
static bool insert(const char *v, size_t len)
{
    size_t lo = 0, hi = set_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = compare(v, len, &set[mid]);
        if (c == 0)
            return true;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (set_n >= MF_REDACT_MAX_VALUES || set_bytes + len > MF_REDACT_MAX_BYTES)
        return false;
    if (set_n == set_cap) {
        set_cap = set_cap ? set_cap * 2 : 16;
        set = mf_xrealloc(set, set_cap * sizeof *set);
    }
    memmove(set + lo + 1, set + lo, (set_n - lo) * sizeof *set);
    set[lo] = (struct secret){mf_xstrndup(v, len), len};
    set_n++;
    set_bytes += len;
    return true;
}

static void reindex(void)
{
    size_t i = 0;
    for (unsigned c = 0; c < 256; c++) {
        first[c] = i;
        while (i < set_n && (unsigned char)set[i].text[0] == c)
            i++;
    }
    first[256] = set_n;
    atomic_store(&set_count, set_n);
}

bool mf_redact_add_len(const char *value, size_t len)
{
    if (!value || len < MF_REDACT_MIN_LEN)
        return true;
    pthread_rwlock_wrlock(&set_lock);
    bool ok = insert(value, len);
    if (ok && memchr(value, '\n', len)) {
        const char *p = value, *end = value + len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t line = nl ? (size_t)(nl - p) : (size_t)(end - p);
            size_t n = line;
            if (n && p[n - 1] == '\r')
                n--;
            if (n >= MF_REDACT_MIN_LEN)
                (void)insert(p, n); /* best effort: the whole value is registered */
            p += line + 1;
        }
    }
    reindex();
    pthread_rwlock_unlock(&set_lock);
    return ok;
}

bool mf_redact_add(const char *value)
{
    return value ? mf_redact_add_len(value, strlen(value)) : true;
}

/* Under the read lock: the length of the longest value at text[i], or 0. */
static size_t match_at(const char *text, size_t len, size_t i)
{
    unsigned char c = (unsigned char)text[i];
    for (size_t k = first[c]; k < first[c + 1]; k++)
        if (set[k].len <= len - i && memcmp(text + i, set[k].text, set[k].len) == 0)
            return set[k].len;
    return 0;
}

/* Under the read lock: append text to out with every occurrence (and every run
 * of overlapping ones) replaced by "***". true if anything was replaced. */
static bool redact_into(const char *text, size_t len, mf_str *out)
{
    size_t covered = 0; /* text[0 .. covered) is written or hidden */
    bool any = false;
    for (size_t i = 0; i < len; i++) {
        size_t m = match_at(text, len, i);
        if (!m)
            continue;
        if (i < covered) {
            if (i + m > covered)
                covered = i + m;
            continue;
        }
        mf_str_append(out, text + covered, i - covered);
        mf_str_puts(out, "***");
        covered = i + m;
        any = true;
    }
    mf_str_append(out, text + covered, len - covered);
    return any;
}

char *mf_redacted(const char *text)
{
    if (!text || atomic_load(&set_count) == 0)
        return NULL;
    mf_str out = {0};
    pthread_rwlock_rdlock(&set_lock);
    bool any = redact_into(text, strlen(text), &out);
    pthread_rwlock_unlock(&set_lock);
    if (!any) {
        mf_str_free(&out);
        return NULL;
    }
    return mf_str_take(&out);
}

char *mf_redact_dup(const char *text)
{
    if (!text)
        return NULL;
    char *r = mf_redacted(text);
    return r ? r : mf_xstrdup(text);
}

bool mf_redact_str(mf_str *s, size_t from)
{
    if (!s->data || from >= s->len)
        return false;
    char *r = mf_redacted(s->data + from);
    if (!r)
        return false;
    s->len = from;
    s->data[from] = '\0';
    mf_str_puts(s, r);
    free(r);
    return true;
}

void mf_redact_fputs(const char *text, FILE *f)
{
    char *r = mf_redacted(text);
    fputs(r ? r : text, f);
    free(r);
}

void mf_redact_reset(void)
{
    pthread_rwlock_wrlock(&set_lock);
    for (size_t i = 0; i < set_n; i++)
        free(set[i].text);
    free(set);
    set = NULL;
    set_n = set_cap = set_bytes = 0;
    reindex();
    pthread_rwlock_unlock(&set_lock);
}
