/* SPDX-License-Identifier: Apache-2.0 */
#include "items_cursor.h"
#include "items_status.h"

#include <apr_atomic.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#define MAC_LEN 16
#define SHA256_LEN 32
#define HMAC_BLOCK 64
#define MAX_ID 1024 /* DynamoDB's partition key limit is 2048 bytes; ours is far less */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/*
 * SHA-256, fetched once per process: HMAC() fetched it, and its MAC, on every
 * call (about 20,000 instructions per list request). Never freed: it lives as
 * long as the process.
 */
static const EVP_MD *sha256(void)
{
    static volatile void *fetched;
    EVP_MD *md;

    if (fetched) {
        return (const EVP_MD *)fetched;
    }
    if (!(md = EVP_MD_fetch(NULL, "SHA256", NULL))) {
        return NULL;
    }
    if (apr_atomic_casptr(&fetched, md, NULL) != NULL) {
        EVP_MD_free(md); /* another thread was first */
    }
    return (const EVP_MD *)fetched;
}

/* HMAC-SHA256 (RFC 2104) of table NUL id, truncated to MAC_LEN; 0 on failure. */
static int mac(unsigned char out[MAC_LEN], const unsigned char *key, const char *table,
               const char *id, apr_size_t id_len)
{
    unsigned char pad[HMAC_BLOCK], inner[SHA256_LEN], full[SHA256_LEN];
    const EVP_MD *md = sha256();
    EVP_MD_CTX *ctx;
    int i, ok;

    if (!md || !(ctx = EVP_MD_CTX_new())) {
        return 0;
    }
    memset(pad, 0x36, sizeof(pad));
    for (i = 0; i < ITEMS_CURSOR_KEY_LEN; i++) {
        pad[i] ^= key[i];
    }
    ok = EVP_DigestInit_ex2(ctx, md, NULL) && EVP_DigestUpdate(ctx, pad, sizeof(pad))
         && EVP_DigestUpdate(ctx, table, strlen(table) + 1) /* the NUL separates */
         && EVP_DigestUpdate(ctx, id, id_len) && EVP_DigestFinal_ex(ctx, inner, NULL);
    for (i = 0; i < HMAC_BLOCK; i++) {
        pad[i] ^= 0x36 ^ 0x5c;
    }
    ok = ok && EVP_DigestInit_ex2(ctx, md, NULL) && EVP_DigestUpdate(ctx, pad, sizeof(pad))
         && EVP_DigestUpdate(ctx, inner, sizeof(inner)) && EVP_DigestFinal_ex(ctx, full, NULL);
    EVP_MD_CTX_free(ctx);
    OPENSSL_cleanse(pad, sizeof(pad));
    if (ok) {
        memcpy(out, full, MAC_LEN);
    }
    return ok;
}

const char *items_cursor_encode(apr_pool_t *p, const unsigned char *key, const char *table,
                                const char *last_id)
{
    apr_size_t id_len = strlen(last_id), n, i;
    unsigned char *raw;
    char *out, *o;
    unsigned long bits = 0;
    int nbits = 0;

    if (id_len > MAX_ID || strlen(table) > 256) {
        return NULL;
    }
    n = MAC_LEN + id_len;
    raw = apr_palloc(p, n);
    if (!mac(raw, key, table, last_id, id_len)) {
        return NULL;
    }
    memcpy(raw + MAC_LEN, last_id, id_len);
    out = o = apr_palloc(p, (n * 4 + 2) / 3 + 1);
    for (i = 0; i < n; i++) {
        bits = (bits << 8) | raw[i];
        nbits += 8;
        while (nbits >= 6) {
            nbits -= 6;
            *o++ = b64url[(bits >> nbits) & 0x3f];
        }
    }
    if (nbits) {
        *o++ = b64url[(bits << (6 - nbits)) & 0x3f];
    }
    *o = '\0';
    return out;
}

apr_status_t items_cursor_decode(const char **last_id, apr_pool_t *p, const unsigned char *key,
                                 const char *table, const char *cursor)
{
    apr_size_t len = strlen(cursor), n = 0, i;
    unsigned char *raw, expect[MAC_LEN];
    unsigned long bits = 0;
    int nbits = 0;
    const char *c;
    char *id;

    *last_id = NULL;
    /* 17 bytes at least (a MAC and one byte of id): 23 characters */
    if (len < 23 || len > ((MAC_LEN + MAX_ID) * 4 + 2) / 3 || len % 4 == 1
        || strlen(table) > 256) {
        return ITEMS_EBADREQUEST;
    }
    raw = apr_palloc(p, len);
    for (i = 0; i < len; i++) {
        c = strchr(b64url, cursor[i]);
        if (!c || !cursor[i]) {
            return ITEMS_EBADREQUEST;
        }
        bits = (bits << 6) | (unsigned long)(c - b64url);
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            raw[n++] = (unsigned char)((bits >> nbits) & 0xff);
        }
    }
    /* Leftover bits must be zero: exactly one encoding per cursor. */
    if (bits & ((1UL << nbits) - 1)) {
        return ITEMS_EBADREQUEST;
    }
    if (n <= MAC_LEN) {
        return ITEMS_EBADREQUEST;
    }
    if (!mac(expect, key, table, (const char *)raw + MAC_LEN, n - MAC_LEN)
        || CRYPTO_memcmp(expect, raw, MAC_LEN) != 0) {
        return ITEMS_EBADREQUEST;
    }
    id = apr_pstrmemdup(p, (const char *)raw + MAC_LEN, n - MAC_LEN);
    if (strlen(id) != n - MAC_LEN) {
        return ITEMS_EBADREQUEST;
    }
    *last_id = id;
    return APR_SUCCESS;
}
