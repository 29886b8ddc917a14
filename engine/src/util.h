/*
 * util.h — small helpers every engine module uses: allocation that cannot fail
 * (martflow/alloc.h), clocks, a growable string, and JSON-escaping.
 */
#ifndef MF_UTIL_H
#define MF_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MF_UNUSED(x) ((void)(x))

/* mf_xmalloc, mf_xcalloc, mf_xrealloc, mf_xstrdup, mf_xstrndup, mf_xasprintf:
 * public, for plugins too. */
#include <martflow/alloc.h>

int64_t mf_time_now_ms(void);       /* wall clock, epoch ms */
int64_t mf_time_mono_ms(void);      /* monotonic ms */
/* Format epoch ms as RFC 3339 UTC with milliseconds into buf (>= 25 bytes). */
void mf_time_format(int64_t epoch_ms, char *buf, size_t len);

/* A growable NUL-terminated string. */
typedef struct mf_str {
    char *data;
    size_t len;
    size_t cap;
} mf_str;

/* Make room for `extra` more bytes (plus the NUL). */
void mf_str_reserve(mf_str *s, size_t extra);
void mf_str_append(mf_str *s, const char *data, size_t len);
void mf_str_puts(mf_str *s, const char *text);
void mf_str_printf(mf_str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mf_str_vprintf(mf_str *s, const char *fmt, va_list ap);
/* Append text as the inside of a JSON string (no quotes added). */
void mf_str_json_escape(mf_str *s, const char *text, size_t len);
void mf_str_reset(mf_str *s);
void mf_str_free(mf_str *s);
/* Take the buffer (never NULL), leaving s empty. */
char *mf_str_take(mf_str *s);

/* Levenshtein distance, capped: for "did you mean" hints. */
int mf_edit_distance(const char *a, const char *b);

#endif
