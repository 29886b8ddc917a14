/* crypto.c — martflow/crypto.h over libcrypto's one-shot EVP and HMAC calls. */
#include <martflow/crypto.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

static void crypto_failed(const char *what)
{
    fprintf(stderr, "martflow: libcrypto failed in %s\n", what);
    abort();
}

/* EVP_Digest fetches the algorithm from the provider and allocates a
 * context on every call, which costs several times the hashing of the short
 * inputs the GSP ids hash (docs/events.md §2.3): the algorithm is fetched
 * once per process, and each thread keeps one context, freed when it exits. */
static EVP_MD *sha256_md;
static pthread_key_t sha256_key;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void sha256_setup(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!sha256_md || pthread_key_create(&sha256_key, sha256_ctx_free) != 0)
        crypto_failed("SHA-256 set-up");
}

void mf_sha256(const void *data, size_t len, uint8_t out[MF_SHA256_LEN])
{
    pthread_once(&sha256_once, sha256_setup);
    EVP_MD_CTX *ctx = pthread_getspecific(sha256_key);
    if (!ctx) {
        if (!(ctx = EVP_MD_CTX_new()) || pthread_setspecific(sha256_key, ctx) != 0)
            crypto_failed("SHA-256 context");
    }
    unsigned int n = 0;
    if (!EVP_DigestInit_ex2(ctx, sha256_md, NULL) || !EVP_DigestUpdate(ctx, len ? data : "", len) ||
        !EVP_DigestFinal_ex(ctx, out, &n) || n != MF_SHA256_LEN)
        crypto_failed("SHA-256");
}

struct mf_sha256_ctx {
    EVP_MD_CTX *md;
};

mf_sha256_ctx *mf_sha256_new(void)
{
    pthread_once(&sha256_once, sha256_setup);
    mf_sha256_ctx *c = calloc(1, sizeof *c);
    if (!c || !(c->md = EVP_MD_CTX_new()) || !EVP_DigestInit_ex2(c->md, sha256_md, NULL))
        crypto_failed("SHA-256 context");
    return c;
}

void mf_sha256_update(mf_sha256_ctx *c, const void *data, size_t len)
{
    if (len && !EVP_DigestUpdate(c->md, data, len))
        crypto_failed("SHA-256");
}

void mf_sha256_final(mf_sha256_ctx *c, uint8_t out[MF_SHA256_LEN])
{
    unsigned int n = 0;
    if (!EVP_DigestFinal_ex(c->md, out, &n) || n != MF_SHA256_LEN || !EVP_DigestInit_ex2(c->md, sha256_md, NULL))
        crypto_failed("SHA-256");
}

void mf_sha256_free(mf_sha256_ctx *c)
{
    if (!c)
        return;
    EVP_MD_CTX_free(c->md);
    free(c);
}

void mf_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, uint8_t out[MF_SHA256_LEN])
{
    unsigned int n = 0;
    /* HMAC() reads a NULL key as "no key given": pass an empty one instead. */
    if (key_len > INT32_MAX ||
        !HMAC(EVP_sha256(), key_len ? key : "", (int)key_len, len ? data : (const void *)"", len, out, &n) ||
        n != MF_SHA256_LEN)
        crypto_failed("HMAC-SHA-256");
}

void mf_hex_encode(const void *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

/* EVP_EncodeBlock and EVP_DecodeBlock take an int length: go in slices that
 * are a multiple of the 3-byte (4-character) group, so the slices join. */
#define SLICE_GROUPS (1u << 20)

size_t mf_base64_encode(const void *data, size_t len, char *out)
{
    const uint8_t *p = data;
    size_t o = 0;
    while (len) {
        size_t take = len < SLICE_GROUPS * 3 ? len : SLICE_GROUPS * 3;
        o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, p, (int)take);
        p += take;
        len -= take;
    }
    out[o] = '\0';
    return o;
}

static bool b64_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' ||
           ch == '/';
}

bool mf_base64_decode(const char *text, size_t text_len, uint8_t *out, size_t *out_len)
{
    *out_len = 0;
    if (text_len % 4)
        return false;
    /* EVP_DecodeBlock skips surrounding whitespace and counts padding as
     * zero bytes: check the text here, then subtract the padding. */
    size_t pad = 0;
    if (text_len && text[text_len - 1] == '=')
        pad = text_len > 1 && text[text_len - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < text_len - pad; i++)
        if (!b64_char(text[i]))
            return false;
    size_t o = 0;
    for (size_t i = 0; i < text_len;) {
        size_t take = text_len - i < SLICE_GROUPS * 4 ? text_len - i : SLICE_GROUPS * 4;
        int n = EVP_DecodeBlock(out + o, (const unsigned char *)text + i, (int)take);
        if (n < 0)
            return false;
        o += (size_t)n;
        i += take;
    }
    *out_len = o - pad;
    return true;
}
