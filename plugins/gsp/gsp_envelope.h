/*
 * gsp_envelope.h — reading the fields every GSP input event has the same
 * way (docs/events.md §1: `id`, `time`, `seq`, the tenant from a field or
 * the key) and typed fields of a view array, with the reject reason written
 * once, and the compiled field set behind them. Shared by the decoders
 * (voice_event.c, outbound_event.c, digital_event.c, digital_agent_event.c):
 * each names its fields and has its own views; this module compiles them
 * and reads views.
 *
 * Ownership: gsp_env owns its compiled field set and borrows the views and
 * paths of its decoder; strings it returns borrow from the record (see
 * martflow/jsonview.h).
 */
#ifndef GSP_ENVELOPE_H
#define GSP_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/martflow.h>

/* A borrowed string; s == NULL (len 0) when the field is absent or null. */
typedef struct gsp_str {
    const char *s;
    size_t len;
} gsp_str;

/* Why a record was rejected, for the counter's `reason` label. */
typedef enum gsp_reject_kind {
    GSP_REJECT_NONE = 0,
    GSP_REJECT_INVALID_JSON,
    GSP_REJECT_MISSING_FIELD,
    GSP_REJECT_UNKNOWN_EVENT,
    GSP_REJECT_BAD_TIME,
    GSP_REJECT_WRONG_TYPE,
    GSP_REJECT_KIND_COUNT
} gsp_reject_kind;
/* "invalid_json", "missing_field", "unknown_event", "bad_time", "wrong_type". */
const char *gsp_reject_kind_name(gsp_reject_kind k);

/* A decoder's compiled field set, the views of the record it decodes and
 * their paths (for the reasons). */
typedef struct gsp_env {
    mf_json_view *views; /* written by gsp_env_read */
    const char *const *paths;
    char reason[256];
    const mf_host *host;
    mf_node *node;
    mf_json_fieldset *set; /* owned (gsp_env_close) */
} gsp_env;

/* Compile paths[0 .. n) for the n views (both borrowed: they must outlive
 * e, as a decoder's static paths and own views do). false, logged ("cannot
 * compile the event fields: ..."), when they do not compile. */
bool gsp_env_open(gsp_env *e, const mf_host *host, mf_node *node, const char *const *paths, size_t n,
                  mf_json_view *views);
void gsp_env_close(gsp_env *e);
/* Read rec's fields into the views: GSP_REJECT_INVALID_JSON (the reason
 * set) when its value is not JSON. */
gsp_reject_kind gsp_env_read(gsp_env *e, const mf_record *rec);

/* Set the reason; returns kind. */
gsp_reject_kind gsp_env_fail(gsp_env *e, gsp_reject_kind kind, const char *fmt, ...) MF_PRINTF(3, 4);
/* A string field, cut to GSP_TEXT_MAX bytes (gsp_text.h): absent and null
 * leave *out empty; another type is wrong. */
gsp_reject_kind gsp_env_str(gsp_env *e, int f, gsp_str *out);
/* The same, and empty is missing. */
gsp_reject_kind gsp_env_mandatory(gsp_env *e, int f, gsp_str *out);
/* An optional integer field: *present false when absent or null. */
gsp_reject_kind gsp_env_int(gsp_env *e, int f, int64_t *out, bool *present);
/* A mandatory integer field. */
gsp_reject_kind gsp_env_mandatory_int(gsp_env *e, int f, int64_t *out);
/* Absent, null or an object; another type is wrong. */
gsp_reject_kind gsp_env_object(gsp_env *e, int f);
/* The event time: RFC 3339 text or integer epoch milliseconds. */
gsp_reject_kind gsp_env_time(gsp_env *e, int f, int64_t *ms);
/* The tenant: the string field f wins, else the key up to its first ':'. */
gsp_reject_kind gsp_env_tenant(gsp_env *e, int f, const mf_record *rec, gsp_str *out);
/* The event name of field f as an index into names[1 .. n) (0: unknown;
 * names[0] is never matched); a missing or non-string id is rejected. */
gsp_reject_kind gsp_env_event(gsp_env *e, int f, const char *const *names, unsigned n, unsigned *out);
/* Index of the view's text in names[1 .. n), or 0. */
unsigned gsp_env_name_index(const mf_json_view *v, const char *const *names, unsigned n);
/* Reject an unknown event name (the view's text, shortened). */
gsp_reject_kind gsp_env_unknown_event(gsp_env *e, int f);

/* Evaluate a gsp_reject_kind expression; return it unless NONE. */
#define GSP_TRY(expr)                                                                                          \
    do {                                                                                                       \
        gsp_reject_kind k_ = (expr);                                                                           \
        if (k_ != GSP_REJECT_NONE)                                                                             \
            return k_;                                                                                         \
    } while (0)

#endif
