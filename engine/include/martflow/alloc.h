/*
 * martflow/alloc.h — allocation that cannot fail. On out-of-memory these
 * print the size asked for and abort: a half-working pipeline is worse than
 * a restart (the source re-reads what was not acknowledged). The engine and
 * the plugins use them instead of checking every malloc.
 *
 * Ownership: every pointer returned is the caller's, released with free().
 * A size of 0 still returns a unique pointer.
 */
#ifndef MARTFLOW_ALLOC_H
#define MARTFLOW_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MF_ALLOC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MF_ALLOC_PRINTF(f, a)
#endif

void *mf_xmalloc(size_t n);
/* Zeroed; aborts also when n * size overflows. */
void *mf_xcalloc(size_t n, size_t size);
void *mf_xrealloc(void *p, size_t n);
char *mf_xstrdup(const char *s);
/* Exactly n bytes of s (which must have them; NULs are copied too) and a NUL. */
char *mf_xstrndup(const char *s, size_t n);
char *mf_xasprintf(const char *fmt, ...) MF_ALLOC_PRINTF(1, 2);
char *mf_xvasprintf(const char *fmt, va_list ap) MF_ALLOC_PRINTF(1, 0);

#ifdef __cplusplus
}
#endif
#endif
