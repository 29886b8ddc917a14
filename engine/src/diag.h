/*
 * diag.h — source locations and the collected diagnostics of a configuration
 * load ("file:line:col: message" lines), so `martflow check` can report every
 * problem of a file at once instead of the first one only.
 */
#ifndef MF_DIAG_H
#define MF_DIAG_H

#include "util.h"

typedef struct mf_loc {
    const char *file; /* borrowed; NULL when unknown */
    int line;         /* 1-based; 0 when unknown */
    int col;          /* 1-based */
} mf_loc;

typedef struct mf_diag {
    mf_str text;  /* one message per line */
    int errors;
} mf_diag;

/* Append one "file:line:col: message" line; registered secrets (redact.h) in
 * it are replaced by "***". */
void mf_diag_error(mf_diag *d, mf_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void mf_diag_free(mf_diag *d);

#endif
