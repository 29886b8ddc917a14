/*
 * subst.h — value substitution in pipeline files:
 *   ${env:VAR}            the variable; an error if it is not set
 *   ${env:VAR:-default}   the variable, or default when unset or empty
 *   ${env:VAR-default}    the variable (also when empty), or default when unset
 *   ${file:/path}         the file's content (one trailing newline dropped)
 *   ${json:/path#key}     a top-level key of a JSON object file (a Kubernetes
 *                         secret mounted as JSON, e.g. bootstrap/username/password)
 *   $${                   a literal "${"
 * Values read from files (${file:}, ${json:}) are secret: they are registered
 * with redact.h, so they never appear in a log line or a diagnostic, and the
 * configuration values holding them are redacted when printed. ${env:} values
 * are not secret. Only regular files are read (a FIFO or a device is refused:
 * it could block loading forever).
 */
#ifndef MF_SUBST_H
#define MF_SUBST_H

#include <stdbool.h>

#include "config.h"

/* Substitute in one string. Returns a new string, or NULL with *error set (a
 * malloc'd message the caller frees). *sensitive is set when a file was read;
 * what was read is then registered as a secret (redact.h). */
char *mf_subst_string(const char *in, bool *sensitive, char **error);

/* Substitute in every string value of cfg's tree, reporting errors at their
 * locations. false if anything failed. */
bool mf_subst_tree(mf_config *cfg, mf_diag *diag);

#endif
