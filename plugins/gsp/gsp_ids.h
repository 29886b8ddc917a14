/*
 * gsp_ids.h — the deterministic 63-bit ids of docs/events.md §2.3:
 *   id = int64_be(SHA-256(join(0x1F, ["mf1", kind, tenant, key1, ...]))[0..8])
 *        & 0x7FFFFFFFFFFFFFFF, and 1 if that is 0.
 * Integers are written in decimal, strings as they are. Pure functions; the
 * caller's scratch buffer (reused between calls, so no allocation per id
 * once it has grown) holds the joined input.
 */
#ifndef GSP_IDS_H
#define GSP_IDS_H

#include <stddef.h>
#include <stdint.h>

#include <martflow/martflow.h>

/* One natural key: a string (s, len) when s is not NULL, else the integer. */
typedef struct gsp_idpart {
    const char *s;
    size_t len;
    int64_t i;
} gsp_idpart;

#define GSP_ID_STR(p, n) ((gsp_idpart){.s = (p), .len = (n)})
#define GSP_ID_INT(v) ((gsp_idpart){.s = NULL, .i = (v)})

/* The id of kind ("ixn", "irf", "msf", ...) for tenant and the n parts.
 * scratch: the caller's buffer, reset and reused. */
int64_t gsp_id(mf_buffer *scratch, const char *kind, const char *tenant, size_t tenant_len,
               const gsp_idpart *parts, size_t n);

/* The voice ids every transform that names a voice row computes the same
 * way (callthread makes the rows; agentstate and outbound refer to them):
 * interaction_id ("ixn": "voice", CallThreadID) and the ids of a call leg
 * ("irf" or "msf": CallThreadID, ConnID, DN, seq of the event that began it). */
int64_t gsp_voice_ixn_id(mf_buffer *scratch, const char *tenant, size_t tenant_len, const char *ctid,
                         size_t ctid_len);
int64_t gsp_voice_leg_id(mf_buffer *scratch, const char *kind, const char *tenant, size_t tenant_len,
                         const char *ctid, size_t ctid_len, const char *conn, size_t conn_len, const char *dn,
                         size_t dn_len, int64_t begin_seq);

#endif
