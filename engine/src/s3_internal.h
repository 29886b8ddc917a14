/*
 * s3_internal.h — the pieces of the S3 client (s3_client.c) that need no
 * server, kept apart so unit tests can check them: RFC 3986 encoding of
 * keys and canonical query strings (s3_encode.c), and reading the few
 * elements of S3's XML answers the client needs (s3_xml.c).
 */
#ifndef MF_S3_INTERNAL_H
#define MF_S3_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Append s (len bytes) percent-encoded as SigV4 wants: A-Z a-z 0-9 - _ . ~
 * stay, every other byte becomes %XX (uppercase hex); '/' stays when
 * keep_slash (object keys in the path), else %2F (query values). */
void mf_s3_uri_encode(mf_str *out, const char *s, size_t len, bool keep_slash);

/* One query parameter; value NULL or "" is written "name=" (S3 computes
 * "uploads=" for "?uploads"). */
struct mf_s3_param {
    const char *name;
    const char *value;
};

/* The query string already in canonical form (what SigV4 signs, so libcurl
 * 7.88.1's own, uncanonicalised, copy of it is right): names and values
 * encoded, pairs sorted by encoded name then value, joined by '&'. No '?'.
 * Returns a malloc'd string ("" for n == 0). */
char *mf_s3_canonical_query(const struct mf_s3_param *params, size_t n);

/* XML: S3's answers are small, flat documents with no CDATA or comments in
 * the elements read here. */

/* Find the next element <tag> (also <tag attr="...">; <tag/> is empty)
 * from *p, before end. On success *inner and *inner_len are its raw
 * content, *p moves past its end tag, and true is returned. */
bool mf_s3_xml_next(const char **p, const char *end, const char *tag, const char **inner, size_t *inner_len);

/* The text of the first <tag> in [xml, xml + len), entities decoded
 * (&amp; &lt; &gt; &quot; &apos; &#N; &#xN;), malloc'd; NULL when absent. */
char *mf_s3_xml_text(const char *xml, size_t len, const char *tag);

/* Append text with & < > " ' escaped, for a request body. */
void mf_s3_xml_escape(mf_str *out, const char *text);

#endif
