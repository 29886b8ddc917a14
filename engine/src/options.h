/*
 * options.h — validation of a configuration object against a declared option
 * table (a plugin's, or the engine's own node and settings keys), filling the
 * typed values into a context struct at the declared offsets, and the schema
 * and redacted views used when options or configuration are printed.
 */
#ifndef MF_OPTIONS_H
#define MF_OPTIONS_H

#include <jansson.h>
#include <martflow/plugin.h>
#include <stdbool.h>

#include "config.h"

/* Owns the memory behind filled string, list and prefix fields. */
typedef struct mf_optvals mf_optvals;

#define MF_OPTS_IGNORE_UNKNOWN 0x1u /* keys not in the table are someone else's */

/*
 * Check `obj` against `opts` and fill `ctx` (may be NULL: check only).
 * `reserved`: NULL-terminated keys that are not errors even if unknown (the
 * engine's node keys when checking a plugin's options). `what` prefixes every
 * message ("node 'x' (source file)"). Errors go to diag with the key's or
 * value's location. Returns the value owner (free it after ctx is done), or
 * NULL on any error.
 */
mf_optvals *mf_options_apply(const mf_option *opts, const json_t *obj, const char *const *reserved,
                             unsigned flags, const mf_config *cfg, const char *what, void *ctx,
                             mf_diag *diag);
void mf_optvals_free(mf_optvals *vals);

/* Type names as written in docs and schema dumps ("string", "duration" ...). */
const char *mf_option_type_name(mf_opt_type type);

/* The option table as JSON: [{name, type, default, required, doc, ...}]. */
json_t *mf_options_schema(const mf_option *opts);

/* A copy of obj with secret values replaced by "***": options of type secret,
 * values substituted from files, and pass-through keys that name a password,
 * secret, token or key. */
json_t *mf_options_redact(const mf_option *opts, const json_t *obj, const mf_config *cfg);

/* Does a pass-through key look like it holds a secret? */
bool mf_option_key_looks_secret(const char *key);

#endif
