/* gsp_ids.c — see gsp_ids.h. */
#include <string.h>

#include "gsp_ids.h"
#include "gsp_text.h"

static void append_part(mf_buffer *b, const char *s, size_t len)
{
    static const char sep = 0x1f;
    if (b->len)
        mf_buffer_append(b, &sep, 1);
    mf_buffer_append(b, s, len);
}

int64_t gsp_id(mf_buffer *scratch, const char *kind, const char *tenant, size_t tenant_len,
               const gsp_idpart *parts, size_t n)
{
    scratch->len = 0;
    append_part(scratch, "mf1", 3);
    append_part(scratch, kind, strlen(kind));
    append_part(scratch, tenant, tenant_len);
    for (size_t i = 0; i < n; i++) {
        if (parts[i].s) {
            append_part(scratch, parts[i].s, parts[i].len);
        } else {
            char num[GSP_INT_TEXT];
            append_part(scratch, num, gsp_int_text(num, parts[i].i));
        }
    }
    uint8_t digest[MF_SHA256_LEN];
    mf_sha256(scratch->data, scratch->len, digest);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | digest[i];
    v &= 0x7FFFFFFFFFFFFFFFull;
    return v ? (int64_t)v : 1;
}

int64_t gsp_voice_ixn_id(mf_buffer *scratch, const char *tenant, size_t tenant_len, const char *ctid,
                         size_t ctid_len)
{
    gsp_idpart parts[] = {GSP_ID_STR("voice", 5), GSP_ID_STR(ctid, ctid_len)};
    return gsp_id(scratch, "ixn", tenant, tenant_len, parts, 2);
}

int64_t gsp_voice_leg_id(mf_buffer *scratch, const char *kind, const char *tenant, size_t tenant_len,
                         const char *ctid, size_t ctid_len, const char *conn, size_t conn_len, const char *dn,
                         size_t dn_len, int64_t begin_seq)
{
    gsp_idpart parts[] = {GSP_ID_STR(ctid, ctid_len), GSP_ID_STR(conn, conn_len), GSP_ID_STR(dn, dn_len),
                          GSP_ID_INT(begin_seq)};
    return gsp_id(scratch, kind, tenant, tenant_len, parts, 4);
}
