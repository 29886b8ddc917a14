/*
 * sha256.h — SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), for the
 * hashing helpers of Lua scripts (pseudonymising PII). Self-contained so the
 * plugin needs no crypto library.
 */
#ifndef MF_LUA_SHA256_H
#define MF_LUA_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t len;      /* bytes hashed */
    uint8_t buf[64];
    size_t used;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
void sha256_final(sha256_ctx *c, uint8_t out[32]);

void sha256(const void *data, size_t n, uint8_t out[32]);
void hmac_sha256(const void *key, size_t key_len, const void *data, size_t n, uint8_t out[32]);

#endif
