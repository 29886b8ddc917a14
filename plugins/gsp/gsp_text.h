/*
 * gsp_text.h — integers as decimal text without printf, for the writers of
 * output records and id inputs (both run for every fact). Header-only, so
 * every module and test that links one of them has it.
 */
#ifndef GSP_TEXT_H
#define GSP_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define GSP_INT_TEXT 20 /* "-9223372036854775808" */

/* The decimal text of v into out (no NUL); returns its length. */
static inline size_t gsp_int_text(char out[GSP_INT_TEXT], int64_t v)
{
    char tmp[GSP_INT_TEXT];
    size_t n = 0, len = 0;
    /* through uint64_t so that INT64_MIN negates without overflow */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[len++] = '-';
    while (n)
        out[len++] = tmp[--n];
    return len;
}

#endif
