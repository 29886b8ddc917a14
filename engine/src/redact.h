/*
 * redact.h — the process-wide set of secret values that must never be printed.
 *
 * Values that ${file:} and ${json:} substitution produced and values of options
 * of type MF_OPT_SECRET are registered while a pipeline loads. Everything the
 * engine prints passes through here first: every log line (the message and
 * every field), every diagnostic (mf_diag_error) and the command line's own
 * output. Each occurrence of a registered value is replaced by "***" (a run of
 * overlapping or adjacent occurrences becomes one "***"). ${env:} values are
 * not secret: they are how non-secret deployment values arrive.
 *
 * Values shorter than MF_REDACT_MIN_LEN bytes are not registered: a password of
 * one to three characters protects nothing, and blanking every "1" or "abc" of
 * every log line would make the logs useless (and point at the value).
 * The set is bounded (MF_REDACT_MAX_VALUES values, MF_REDACT_MAX_BYTES bytes in
 * all); registered values stay until the process exits, since a value that was
 * secret once stays secret. Thread-safe: registration takes a write lock,
 * redaction a read lock; with nothing registered, redaction is one atomic load.
 */
#ifndef MF_REDACT_H
#define MF_REDACT_H

#include <stdbool.h>
#include <stdio.h>

#include "util.h"

#define MF_REDACT_MIN_LEN 4
#define MF_REDACT_MAX_VALUES 4096
#define MF_REDACT_MAX_BYTES (16u << 20)

/* Register a secret (copied). A value of several lines also registers each line
 * of at least MF_REDACT_MIN_LEN bytes, while there is room, so that a message
 * quoting one line of a secret file is redacted too. Returns false only when
 * the value itself does not fit in the set (the caller must then refuse to use
 * it); short values and values already registered return true. */
bool mf_redact_add(const char *value);
bool mf_redact_add_len(const char *value, size_t len);

/* NULL when text contains no registered value (print text as is); otherwise a
 * malloc'd copy with each occurrence replaced by "***" (the caller frees it). */
char *mf_redacted(const char *text);

/* Always a malloc'd copy (redacted); NULL for NULL. The caller frees it. */
char *mf_redact_dup(const char *text);

/* Redact s from byte offset `from` on, in place. true if anything was replaced. */
bool mf_redact_str(mf_str *s, size_t from);

/* fputs(text, f), redacted. */
void mf_redact_fputs(const char *text, FILE *f);

/* Forget every registered value. For tests only. */
void mf_redact_reset(void);

#endif
