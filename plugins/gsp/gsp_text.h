/*
 * gsp_text.h — integers as decimal text without printf, for the writers of
 * output records and id inputs (both run for every fact), and the bound on
 * the texts of input events. Header-only, so every module and test that
 * links one of them has it.
 */
#ifndef GSP_TEXT_H
#define GSP_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define GSP_INT_TEXT 20 /* "-9223372036854775808" */

/* The longest text of an input event any GSP state keeps: the decoders cut
 * every string field to it (gsp_env_str), so one event with a huge field
 * cannot make a call thread, an agent or a chain, their snapshots and their
 * facts large. Real values (ids, DNs, names, codes) are far shorter. */
#define GSP_TEXT_MAX 256

/* The length s keeps once cut: at most GSP_TEXT_MAX, before a byte that
 * continues a UTF-8 character (the cut text stays valid UTF-8). */
static inline size_t gsp_text_cut(const char *s, size_t len)
{
    if (len > GSP_TEXT_MAX) {
        len = GSP_TEXT_MAX;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--; /* s[len] continues a character: cut before it */
    }
    return len;
}

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
