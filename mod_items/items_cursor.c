/* SPDX-License-Identifier: Apache-2.0 */
#include "items_cursor.h"
#include "items_status.h"

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define MAC_LEN 16
#define MAX_ID 1024 /* DynamoDB's partition key limit is 2048 bytes; ours is far less */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void mac(unsigned char out[MAC_LEN], const unsigned char *key, const char *table,
                const char *id, apr_size_t id_len)
{
    unsigned char full[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    apr_size_t tlen = strlen(table);
    unsigned char buf[256 + 1 + MAX_ID];

    memcpy(buf, table, tlen);
    buf[tlen] = '\0';
    memcpy(buf + tlen + 1, id, id_len);
    HMAC(EVP_sha256(), key, ITEMS_CURSOR_KEY_LEN, buf, tlen + 1 + id_len, full, &n);
    memcpy(out, full, MAC_LEN);
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
    mac(raw, key, table, last_id, id_len);
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
    mac(expect, key, table, (const char *)raw + MAC_LEN, n - MAC_LEN);
    if (CRYPTO_memcmp(expect, raw, MAC_LEN) != 0) {
        return ITEMS_EBADREQUEST;
    }
    id = apr_pstrmemdup(p, (const char *)raw + MAC_LEN, n - MAC_LEN);
    if (strlen(id) != n - MAC_LEN) {
        return ITEMS_EBADREQUEST;
    }
    *last_id = id;
    return APR_SUCCESS;
}
