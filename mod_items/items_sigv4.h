/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS Signature Version 4 (header signing, HMAC-SHA256) on OpenSSL libcrypto.
 * No httpd headers; APR for pools and the mutex.
 *
 * Staged like AWS's own signers, so that each stage can be checked against
 * the published vectors (../shared/testdata/sigv4):
 *
 *   1. items_sigv4_canonical_request()  method, URI, query, headers, payload hash
 *   2. items_sigv4_string_to_sign()     "AWS4-HMAC-SHA256\n<date>\n<scope>\n<hash>"
 *   3. items_sigv4_signing_key()        HMAC chain date/region/service/aws4_request
 *   4. items_sigv4_signature()          hex HMAC(signing key, string to sign)
 *
 * and items_sigv4_sign() runs all four for a request and returns the header
 * values to send (Authorization, X-Amz-Date, X-Amz-Security-Token).
 *
 * Cost: the signing key is derived once per (secret, date, region, service)
 * and kept in a small per-process cache inside the signer; SHA-256 is fetched
 * once (EVP_MD_fetch in items_sigv4_create) and every hash of one call runs on
 * one EVP_MD_CTX; hex is written by table. All memory comes from the pools
 * given; OpenSSL allocates only its digest context (one per call).
 *
 * Secrets: the secret key is read, never copied into pool memory; the cache
 * is keyed by SHA-256(secret) (compared in constant time), and every stack
 * buffer that held key material is cleansed before return.
 */
#ifndef ITEMS_SIGV4_H
#define ITEMS_SIGV4_H

#include <apr_pools.h>
#include <apr_time.h>

#include "items_creds.h"

#define ITEMS_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define ITEMS_SIGV4_KEY_SIZE 32       /* bytes of a signing key */
#define ITEMS_SIGV4_HEX_SIZE 65       /* 64 hex digits + NUL (signature, hashes) */
#define ITEMS_SIGV4_AMZ_DATE_SIZE 17  /* "20150830T123600Z" + NUL */

/* Request flags (0 = what every AWS service but S3, DynamoDB included, wants). */
#define ITEMS_SIGV4_NO_NORMALIZE  0x01u /* keep "." / ".." segments and "//" in the path (S3) */
#define ITEMS_SIGV4_SINGLE_ENCODE 0x02u /* the wire path is the canonical URI, not encoded again (S3) */
#define ITEMS_SIGV4_SIGN_BODY     0x04u /* sign: add and sign X-Amz-Content-Sha256 (S3 style) */
#define ITEMS_SIGV4_OMIT_TOKEN    0x08u /* sign: send the session token but leave it unsigned */

/* Per-process signer: the fetched digest and the signing-key cache. */
typedef struct items_sigv4 items_sigv4_t;

typedef struct items_sigv4_header {
    const char *name;  /* any case; an HTTP token (no ':', blanks or controls) */
    const char *value; /* raw; canonical form trims it and collapses inner whitespace runs */
} items_sigv4_header_t;

typedef struct items_sigv4_request {
    const char *method;                  /* "POST" */
    const char *path;                    /* as on the wire (percent-encoded); NULL or "" = "/" */
    const char *query;                   /* as on the wire, without '?'; NULL or "" = none */
    const items_sigv4_header_t *headers; /* every one is signed; Host must be among them */
    apr_size_t n_headers;
    const void *body;
    apr_size_t body_len;
    const char *payload_hash;            /* hex SHA-256 of body if already known, else NULL */
    unsigned flags;                      /* ITEMS_SIGV4_* */
} items_sigv4_request_t;

typedef struct items_sigv4_canonical {
    const char *request;        /* the canonical request (NUL-terminated) */
    apr_size_t request_len;
    const char *signed_headers; /* "content-type;host;x-amz-date;x-amz-target" */
    const char *payload_hash;   /* last line of the canonical request */
} items_sigv4_canonical_t;

typedef struct items_sigv4_result {
    /* To send: */
    const char *authorization;  /* value of the Authorization header */
    const char *amz_date;       /* value of X-Amz-Date */
    const char *security_token; /* value of X-Amz-Security-Token; NULL when no token */
    const char *content_sha256; /* value of X-Amz-Content-Sha256 with ITEMS_SIGV4_SIGN_BODY, else NULL */
    /* For tests and debugging: */
    items_sigv4_canonical_t canonical;
    const char *string_to_sign;
    apr_size_t string_to_sign_len;
    char signature[ITEMS_SIGV4_HEX_SIZE];
} items_sigv4_result_t;

/*
 * Create the signer in p (a per-process pool such as pchild): fetches
 * SHA-256, creates the cache mutex; everything is released (and the cached
 * keys wiped) when p is cleared or destroyed. APR_EGENERAL when libcrypto has
 * no SHA-256.
 */
apr_status_t items_sigv4_create(items_sigv4_t **signer, apr_pool_t *p);

/* Stage 1. APR_EINVAL for a header name that is not a token or a NULL name/value. */
apr_status_t items_sigv4_canonical_request(items_sigv4_canonical_t *out,
                                           const items_sigv4_t *signer, apr_pool_t *p,
                                           const items_sigv4_request_t *req);

/*
 * Stage 2. amz_date is the X-Amz-Date value ("YYYYMMDDTHHMMSSZ"); the scope
 * is <its first 8 characters>/region/service/aws4_request.
 */
apr_status_t items_sigv4_string_to_sign(const char **sts, apr_size_t *sts_len,
                                        const items_sigv4_t *signer, apr_pool_t *p,
                                        const char *amz_date, const char *region,
                                        const char *service, const char *creq,
                                        apr_size_t creq_len);

/*
 * Stage 3, through the cache. date: "YYYYMMDD" (an X-Amz-Date value works,
 * only its first 8 characters are used). Thread-safe.
 */
apr_status_t items_sigv4_signing_key(unsigned char key[ITEMS_SIGV4_KEY_SIZE],
                                     items_sigv4_t *signer, const char *secret,
                                     const char *date, const char *region, const char *service);

/* Stage 4: hex[] gets the 64 lower-case hex digits and a NUL. */
apr_status_t items_sigv4_signature(char hex[ITEMS_SIGV4_HEX_SIZE], const items_sigv4_t *signer,
                                   const unsigned char key[ITEMS_SIGV4_KEY_SIZE],
                                   const char *sts, apr_size_t sts_len);

/* "YYYYMMDDTHHMMSSZ" (UTC) for t. APR_EINVAL outside years 0..9999. */
apr_status_t items_sigv4_amz_date(char out[ITEMS_SIGV4_AMZ_DATE_SIZE], apr_time_t t);

/*
 * Sign req at time now with creds for region/service. Adds to the signed
 * headers X-Amz-Date, X-Amz-Security-Token (when creds have a token, unless
 * ITEMS_SIGV4_OMIT_TOKEN) and X-Amz-Content-Sha256 (ITEMS_SIGV4_SIGN_BODY); the
 * caller sends those with the values in *out, plus Authorization. req->headers
 * must therefore not contain Authorization, X-Amz-Date or X-Amz-Security-Token
 * (nor X-Amz-Content-Sha256 with ITEMS_SIGV4_SIGN_BODY): APR_EINVAL. Also
 * APR_EINVAL for missing keys, or a region/service that is empty or holds
 * '/', blanks or controls. Thread-safe; results live in p.
 */
apr_status_t items_sigv4_sign(items_sigv4_result_t *out, items_sigv4_t *signer, apr_pool_t *p,
                              const items_sigv4_request_t *req, const items_creds_t *creds,
                              const char *region, const char *service, apr_time_t now);

/* Cache counters since creation (for tests and status pages). */
void items_sigv4_cache_stats(items_sigv4_t *signer, apr_uint64_t *hits, apr_uint64_t *misses);

#endif
