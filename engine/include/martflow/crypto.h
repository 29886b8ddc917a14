/*
 * martflow/crypto.h — digests and encodings over OpenSSL's libcrypto, in
 * libmartflow so every plugin (the Lua hashing helpers, S3 request signing)
 * uses one implementation and none carries its own.
 *
 * The digests cannot fail short of a broken libcrypto: then they print why
 * and abort, as the allocation helpers do on out-of-memory (martflow/alloc.h).
 * Output buffers are the caller's. Nothing allocates per call: mf_sha256
 * keeps one digest context per thread, made at the thread's first call and
 * freed when the thread exits.
 */
#ifndef MARTFLOW_CRYPTO_H
#define MARTFLOW_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MF_SHA256_LEN 32

/* SHA-256 (FIPS 180-4) of len bytes at data (data may be NULL when len is 0). */
void mf_sha256(const void *data, size_t len, uint8_t out[MF_SHA256_LEN]);

/* SHA-256 of data that comes in pieces (a streamed export file): new, then
 * update any number of times, then final (the digest; the context may be
 * updated again for a new digest after final), free. new never fails (it
 * aborts as above). The context is the caller's, used by one thread. */
typedef struct mf_sha256_ctx mf_sha256_ctx;
mf_sha256_ctx *mf_sha256_new(void);
void mf_sha256_update(mf_sha256_ctx *ctx, const void *data, size_t len);
void mf_sha256_final(mf_sha256_ctx *ctx, uint8_t out[MF_SHA256_LEN]);
void mf_sha256_free(mf_sha256_ctx *ctx);

/* HMAC-SHA-256 (RFC 2104): keys longer than 64 bytes are hashed first, as
 * the RFC says; an empty key is allowed. */
void mf_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, uint8_t out[MF_SHA256_LEN]);

/* Lowercase hex of len bytes: writes 2 * len digits and a NUL to out, which
 * must hold 2 * len + 1 bytes. */
void mf_hex_encode(const void *data, size_t len, char *out);

/* Base64 (RFC 4648 section 4: the standard alphabet "+/", padded with '='). */

/* Characters mf_base64_encode writes for len bytes, without the NUL. */
#define MF_BASE64_ENCODED_LEN(len) ((((len) + 2) / 3) * 4)
/* Bytes at most that mf_base64_decode writes for text_len characters. */
#define MF_BASE64_DECODED_MAX(text_len) (((text_len) / 4) * 3)

/* Encode len bytes into out (MF_BASE64_ENCODED_LEN(len) + 1 bytes: the text
 * and a NUL). Returns the length of the text. */
size_t mf_base64_encode(const void *data, size_t len, char *out);

/* Decode text_len characters of padded standard base64 into out
 * (MF_BASE64_DECODED_MAX(text_len) bytes) and set *out_len. Strict: the
 * length must be a multiple of 4, '=' may only end the text (at most two),
 * and no other character (no whitespace, no URL-safe "-_") is accepted.
 * Returns false, leaving *out_len 0, for anything else. */
bool mf_base64_decode(const char *text, size_t text_len, uint8_t *out, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
