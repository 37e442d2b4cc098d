/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS Signature Version 4, written from AWS's published description of the
 * algorithm ("Create a signed AWS API request", AWS General Reference); see
 * items_sigv4.h for the stages and the cost model.
 */
#include "items_sigv4.h"

#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define SHA256_LEN 32
#define HMAC_BLOCK 64
#define SCOPE_TERM "aws4_request"
#define CACHE_SLOTS 8
#define CACHE_PART_MAX 64 /* region/service longer than this (never in AWS) bypass the cache */

typedef struct cache_slot {
    apr_uint64_t stamp;                  /* 0 = empty; larger = used more recently */
    unsigned char secret_id[SHA256_LEN]; /* SHA-256 of the secret key, never the key */
    char date[8];
    char region[CACHE_PART_MAX];         /* NUL-padded */
    char service[CACHE_PART_MAX];
    unsigned char key[ITEMS_SIGV4_KEY_SIZE];
} cache_slot_t;

struct items_sigv4 {
    EVP_MD *sha256;
#if APR_HAS_THREADS
    apr_thread_mutex_t *lock;
#endif
    /* under lock: */
    apr_uint64_t clock, hits, misses;
    cache_slot_t slots[CACHE_SLOTS];
};

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";
static const char empty_sha256_hex[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* ------------------------------------------------------------------------ */
/* hashing: every call runs on one caller-owned EVP_MD_CTX                  */

static void hex_encode(char *out, const unsigned char *in, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hex_lower[in[i] >> 4];
        out[2 * i + 1] = hex_lower[in[i] & 0x0f];
    }
}

/* SHA-256 of d1 || d2. 1 on success. */
static int sha256_2(EVP_MD_CTX *ctx, const EVP_MD *md, const void *d1, apr_size_t n1,
                    const void *d2, apr_size_t n2, unsigned char out[SHA256_LEN])
{
    return EVP_DigestInit_ex2(ctx, md, NULL) && (n1 == 0 || EVP_DigestUpdate(ctx, d1, n1))
           && (n2 == 0 || EVP_DigestUpdate(ctx, d2, n2)) && EVP_DigestFinal_ex(ctx, out, NULL);
}

/* Hex SHA-256 of d into out[64] (no NUL). */
static int sha256_hex(EVP_MD_CTX *ctx, const EVP_MD *md, const void *d, apr_size_t n, char *out)
{
    unsigned char h[SHA256_LEN];

    if (!sha256_2(ctx, md, d, n, NULL, 0, h)) {
        return 0;
    }
    hex_encode(out, h, SHA256_LEN);
    return 1;
}

/*
 * HMAC-SHA256 (RFC 2104) with the key k1 || k2 (the split spares a copy of
 * "AWS4" + secret). Key material on the stack is wiped before return.
 */
static int hmac_sha256(EVP_MD_CTX *ctx, const EVP_MD *md, const void *k1, apr_size_t k1n,
                       const void *k2, apr_size_t k2n, const void *msg, apr_size_t msgn,
                       unsigned char out[SHA256_LEN])
{
    unsigned char pad[HMAC_BLOCK], inner[SHA256_LEN];
    apr_size_t i;
    int ok = 1;

    memset(pad, 0, sizeof(pad));
    if (k1n + k2n > HMAC_BLOCK) {
        ok = sha256_2(ctx, md, k1, k1n, k2, k2n, pad);
    }
    else {
        if (k1n) {
            memcpy(pad, k1, k1n);
        }
        if (k2n) {
            memcpy(pad + k1n, k2, k2n);
        }
    }
    for (i = 0; i < HMAC_BLOCK; i++) {
        pad[i] ^= 0x36;
    }
    ok = ok && sha256_2(ctx, md, pad, HMAC_BLOCK, msg, msgn, inner);
    for (i = 0; i < HMAC_BLOCK; i++) {
        pad[i] ^= 0x36 ^ 0x5c;
    }
    ok = ok && sha256_2(ctx, md, pad, HMAC_BLOCK, inner, SHA256_LEN, out);
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
    return ok;
}

/* ------------------------------------------------------------------------ */
/* signer lifecycle                                                         */

static apr_status_t signer_cleanup(void *data)
{
    items_sigv4_t *s = data;

    OPENSSL_cleanse(s->slots, sizeof(s->slots));
    EVP_MD_free(s->sha256);
    s->sha256 = NULL;
    return APR_SUCCESS;
}

apr_status_t items_sigv4_create(items_sigv4_t **signer, apr_pool_t *p)
{
    items_sigv4_t *s = apr_pcalloc(p, sizeof(*s));

    *signer = NULL;
#if APR_HAS_THREADS
    {
        apr_status_t rv = apr_thread_mutex_create(&s->lock, APR_THREAD_MUTEX_DEFAULT, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
#endif
    s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!s->sha256) {
        return APR_EGENERAL;
    }
    apr_pool_cleanup_register(p, s, signer_cleanup, apr_pool_cleanup_null);
    *signer = s;
    return APR_SUCCESS;
}

static void cache_lock(items_sigv4_t *s)
{
#if APR_HAS_THREADS
    apr_thread_mutex_lock(s->lock);
#else
    (void)s;
#endif
}

static void cache_unlock(items_sigv4_t *s)
{
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(s->lock);
#else
    (void)s;
#endif
}

void items_sigv4_cache_stats(items_sigv4_t *signer, apr_uint64_t *hits, apr_uint64_t *misses)
{
    cache_lock(signer);
    if (hits) {
        *hits = signer->hits;
    }
    if (misses) {
        *misses = signer->misses;
    }
    cache_unlock(signer);
}

/* ------------------------------------------------------------------------ */
/* small string helpers                                                     */

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
           || c == '.' || c == '_' || c == '~';
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* RFC 7230 tchar */
static int is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Percent-encode s[0..n) (everything but unreserved, and '/' when keep_slash). */
static char *uri_encode(char *o, const char *s, apr_size_t n, int keep_slash)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hex_upper[c >> 4];
            *o++ = hex_upper[c & 0x0f];
        }
    }
    return o;
}

/* Decode %XX in s[0..n) into o (a stray '%' stays); returns the end of o. */
static char *uri_decode(char *o, const char *s, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hex_value((unsigned char)s[i + 1])) >= 0
            && (lo = hex_value((unsigned char)s[i + 2])) >= 0) {
            *o++ = (char)((hi << 4) | lo);
            i += 2;
        }
        else {
            *o++ = s[i];
        }
    }
    return o;
}

/*
 * RFC 3986 remove_dot_segments on path[0..n), also collapsing empty segments
 * ("//"). Writes at most n + 1 bytes to out; returns the length. The result
 * starts with '/', and ends with one when the input ended with "/", "/." or
 * "/..".
 */
static apr_size_t normalize_path(char *out, const char *path, apr_size_t n)
{
    apr_size_t len = 1, i = 0;
    int trailing = 0;

    out[0] = '/';
    while (i < n) {
        apr_size_t start, seg;
        while (i < n && path[i] == '/') {
            i++;
        }
        if (i == n) {
            trailing = 1; /* the path ends with '/' */
            break;
        }
        start = i;
        while (i < n && path[i] != '/') {
            i++;
        }
        seg = i - start;
        if (seg == 1 && path[start] == '.') {
            trailing = 1;
        }
        else if (seg == 2 && path[start] == '.' && path[start + 1] == '.') {
            if (len > 1) { /* drop the last "segment/" */
                len--;
                while (len > 1 && out[len - 1] != '/') {
                    len--;
                }
            }
            trailing = 1;
        }
        else {
            memcpy(out + len, path + start, seg);
            len += seg;
            out[len++] = '/';
            trailing = 0;
        }
    }
    if (!trailing && len > 1) {
        len--; /* the '/' written after the last segment */
    }
    return len;
}

/* ------------------------------------------------------------------------ */
/* stable merge sort (no allocation outside the pool)                       */

typedef int (*cmp_fn)(const void *a, const void *b);

static void merge_sort(void **v, void **tmp, apr_size_t n, cmp_fn cmp)
{
    apr_size_t width, i;

    if (n < 2) {
        return;
    }
    if (n <= 8) { /* insertion sort: stable, and what DynamoDB's 5 headers need */
        for (i = 1; i < n; i++) {
            void *x = v[i];
            apr_size_t j = i;
            while (j > 0 && cmp(v[j - 1], x) > 0) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
        return;
    }
    for (width = 1; width < n; width *= 2) {
        for (i = 0; i < n; i += 2 * width) {
            apr_size_t lo = i, mid = i + width < n ? i + width : n;
            apr_size_t hi = i + 2 * width < n ? i + 2 * width : n, a = lo, b = mid, k = lo;
            while (a < mid && b < hi) {
                tmp[k++] = cmp(v[a], v[b]) <= 0 ? v[a++] : v[b++];
            }
            while (a < mid) {
                tmp[k++] = v[a++];
            }
            while (b < hi) {
                tmp[k++] = v[b++];
            }
        }
        memcpy(v, tmp, n * sizeof(*v));
    }
}

static int bytes_cmp(const char *a, apr_size_t an, const char *b, apr_size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);

    return c ? c : (an > bn) - (an < bn);
}

/* ------------------------------------------------------------------------ */
/* stage 1: canonical request                                               */

typedef struct canon_header {
    const char *name; /* lower case, pool copy */
    apr_size_t name_len;
    const char *value;
    apr_size_t value_len;
} canon_header_t;

static int header_cmp(const void *a, const void *b)
{
    const canon_header_t *x = a, *y = b;

    return bytes_cmp(x->name, x->name_len, y->name, y->name_len);
}

typedef struct query_param {
    const char *key; /* encoded */
    apr_size_t key_len;
    const char *value; /* encoded */
    apr_size_t value_len;
} query_param_t;

static int param_cmp(const void *a, const void *b)
{
    const query_param_t *x = a, *y = b;
    int c = bytes_cmp(x->key, x->key_len, y->key, y->key_len);

    return c ? c : bytes_cmp(x->value, x->value_len, y->value, y->value_len);
}

/* Write trimmed, whitespace-collapsed v to o; returns the end. */
static char *canon_value(char *o, const char *v, apr_size_t n)
{
    apr_size_t i = 0;
    int pending = 0;

    while (i < n && is_space((unsigned char)v[i])) {
        i++;
    }
    for (; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (is_space(c)) {
            pending = 1;
            continue;
        }
        if (pending) {
            *o++ = ' ';
            pending = 0;
        }
        *o++ = (char)c;
    }
    return o;
}

/* Canonical query string of q[0..n) written to o (room: 4n + 1); returns the end. */
static char *canon_query(char *o, apr_pool_t *p, const char *q, apr_size_t n)
{
    apr_size_t count = 0, i, k = 0;
    query_param_t *params;
    void **order, **tmp;
    char *scratch;

    for (i = 0; i < n; i++) {
        count += q[i] == '&';
    }
    count++;
    params = apr_palloc(p, count * sizeof(*params));
    order = apr_palloc(p, 2 * count * sizeof(*order));
    tmp = order + count;
    /* decoded bytes never outnumber their source; encoded are at most 3x */
    scratch = apr_palloc(p, n + 1);

    i = 0;
    while (i <= n) {
        apr_size_t start = i, eq, end;
        char *d, *e;
        while (i < n && q[i] != '&') {
            i++;
        }
        end = i++;
        if (end == start) {
            continue; /* "&&" or a trailing '&' */
        }
        for (eq = start; eq < end && q[eq] != '='; eq++) {
        }
        /* key */
        d = uri_decode(scratch, q + start, eq - start);
        e = apr_palloc(p, 3 * (apr_size_t)(d - scratch) + 1);
        params[k].key = e;
        params[k].key_len = (apr_size_t)(uri_encode(e, scratch, (apr_size_t)(d - scratch), 0) - e);
        /* value (empty without '=') */
        if (eq < end) {
            d = uri_decode(scratch, q + eq + 1, end - eq - 1);
            e = apr_palloc(p, 3 * (apr_size_t)(d - scratch) + 1);
            params[k].value = e;
            params[k].value_len =
                (apr_size_t)(uri_encode(e, scratch, (apr_size_t)(d - scratch), 0) - e);
        }
        else {
            params[k].value = "";
            params[k].value_len = 0;
        }
        order[k] = &params[k];
        k++;
    }
    merge_sort(order, tmp, k, param_cmp);
    for (i = 0; i < k; i++) {
        const query_param_t *qp = order[i];
        if (i) {
            *o++ = '&';
        }
        memcpy(o, qp->key, qp->key_len);
        o += qp->key_len;
        *o++ = '=';
        memcpy(o, qp->value, qp->value_len);
        o += qp->value_len;
    }
    return o;
}

/*
 * The canonical request, with the headers of req plus `extra` (sign() adds
 * X-Amz-Date & co. there). payload_hex: 64 hex digits or the caller's string.
 */
static apr_status_t build_canonical(items_sigv4_canonical_t *out, apr_pool_t *p,
                                    const items_sigv4_request_t *req,
                                    const items_sigv4_header_t *extra, apr_size_t n_extra,
                                    const char *payload_hex)
{
    apr_size_t n = req->n_headers + n_extra, i, j, cap, names_total = 0, payload_len;
    apr_size_t method_len, path_len, query_len;
    const char *path = req->path && *req->path ? req->path : "/";
    const char *query = req->query ? req->query : "";
    canon_header_t *hs;
    void **order, **tmp;
    char *buf, *o, *sh, *lower;

    if (!req->method || !*req->method || n == 0) {
        return APR_EINVAL;
    }
    method_len = strlen(req->method);
    path_len = strlen(path);
    query_len = strlen(query);
    payload_len = strlen(payload_hex);

    hs = apr_palloc(p, n * sizeof(*hs));
    order = apr_palloc(p, 2 * n * sizeof(*order));
    tmp = order + n;
    cap = method_len + 1 + 3 * (path_len + 2) + 1 + 4 * query_len + 2 + 1 + 1 + payload_len + 1;
    for (i = 0; i < n; i++) {
        const items_sigv4_header_t *h = i < req->n_headers ? &req->headers[i]
                                                           : &extra[i - req->n_headers];
        if (!h->name || !h->value || !*h->name) {
            return APR_EINVAL;
        }
        hs[i].name_len = strlen(h->name);
        hs[i].value = h->value;
        hs[i].value_len = strlen(h->value);
        names_total += hs[i].name_len;
        order[i] = &hs[i];
    }
    lower = apr_palloc(p, names_total);
    for (i = 0, o = lower; i < n; i++) {
        const char *name = i < req->n_headers ? req->headers[i].name
                                              : extra[i - req->n_headers].name;
        hs[i].name = o;
        for (j = 0; j < hs[i].name_len; j++) {
            unsigned char c = (unsigned char)name[j];
            if (!is_tchar(c)) {
                return APR_EINVAL;
            }
            *o++ = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
        }
        /* each header: name ':' value '\n', and name ';' in the signed list */
        cap += 2 * hs[i].name_len + hs[i].value_len + 3;
    }
    merge_sort(order, tmp, n, header_cmp);

    buf = o = apr_palloc(p, cap);
    memcpy(o, req->method, method_len);
    o += method_len;
    *o++ = '\n';

    /* canonical URI */
    if (req->flags & ITEMS_SIGV4_SINGLE_ENCODE) {
        if (req->flags & ITEMS_SIGV4_NO_NORMALIZE) {
            memcpy(o, path, path_len);
            o += path_len;
        }
        else {
            o += normalize_path(o, path, path_len);
        }
    }
    else if (req->flags & ITEMS_SIGV4_NO_NORMALIZE) {
        o = uri_encode(o, path, path_len, 1);
    }
    else if (path_len == 1 && path[0] == '/') {
        *o++ = '/'; /* every DynamoDB call */
    }
    else {
        char *norm = apr_palloc(p, path_len + 2);
        o = uri_encode(o, norm, normalize_path(norm, path, path_len), 1);
    }
    *o++ = '\n';

    /* canonical query string */
    if (query_len) {
        o = canon_query(o, p, query, query_len);
    }
    *o++ = '\n';

    /* canonical headers: repeated names joined with ',' in their given order */
    for (i = 0; i < n; i = j) {
        const canon_header_t *h = order[i];
        memcpy(o, h->name, h->name_len);
        o += h->name_len;
        *o++ = ':';
        o = canon_value(o, h->value, h->value_len);
        for (j = i + 1; j < n && !header_cmp(order[j], h); j++) {
            const canon_header_t *r = order[j];
            *o++ = ',';
            o = canon_value(o, r->value, r->value_len);
        }
        *o++ = '\n';
    }
    *o++ = '\n';

    /* signed headers */
    sh = o;
    for (i = 0; i < n; i = j) {
        const canon_header_t *h = order[i];
        if (i) {
            *o++ = ';';
        }
        memcpy(o, h->name, h->name_len);
        o += h->name_len;
        for (j = i + 1; j < n && !header_cmp(order[j], h); j++) {
        }
    }
    out->signed_headers = apr_pstrmemdup(p, sh, (apr_size_t)(o - sh));
    *o++ = '\n';

    out->payload_hash = o;
    memcpy(o, payload_hex, payload_len);
    o += payload_len;
    *o = '\0';
    out->request = buf;
    out->request_len = (apr_size_t)(o - buf);
    return APR_SUCCESS;
}

/* Hex payload hash of req into hex[65], or the caller's own string. */
static const char *payload_hash(EVP_MD_CTX *ctx, const EVP_MD *md, apr_pool_t *p,
                                const items_sigv4_request_t *req)
{
    char *hex;

    if (req->payload_hash) {
        return req->payload_hash;
    }
    if (req->body_len == 0) {
        return empty_sha256_hex;
    }
    if (!req->body) {
        return NULL;
    }
    hex = apr_palloc(p, ITEMS_SIGV4_HEX_SIZE);
    if (!sha256_hex(ctx, md, req->body, req->body_len, hex)) {
        return NULL;
    }
    hex[ITEMS_SIGV4_HEX_SIZE - 1] = '\0';
    return hex;
}

apr_status_t items_sigv4_canonical_request(items_sigv4_canonical_t *out,
                                           const items_sigv4_t *signer, apr_pool_t *p,
                                           const items_sigv4_request_t *req)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const char *ph;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    if (!ctx) {
        return APR_ENOMEM;
    }
    ph = payload_hash(ctx, signer->sha256, p, req);
    rv = ph ? build_canonical(out, p, req, NULL, 0, ph) : req->body ? APR_EGENERAL : APR_EINVAL;
    EVP_MD_CTX_free(ctx);
    return rv;
}

/* ------------------------------------------------------------------------ */
/* stage 2: string to sign                                                  */

static int scope_part_ok(const char *s)
{
    if (!s || !*s) {
        return 0;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == 0x7f || c == '/') {
            return 0;
        }
    }
    return 1;
}

static int amz_date_ok(const char *d)
{
    int i;

    for (i = 0; i < 16; i++) {
        char c = d[i];
        if (i == 8 ? c != 'T' : i == 15 ? c != 'Z' : (c < '0' || c > '9')) {
            return 0;
        }
    }
    return d[16] == '\0';
}

/* "AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex sha256(creq)>" into p. */
static apr_status_t build_sts(const char **sts, apr_size_t *sts_len, EVP_MD_CTX *ctx,
                              const EVP_MD *md, apr_pool_t *p, const char *amz_date,
                              const char *scope, apr_size_t scope_len, const char *creq,
                              apr_size_t creq_len)
{
    static const char alg[] = ITEMS_SIGV4_ALGORITHM "\n";
    apr_size_t len = (sizeof(alg) - 1) + 16 + 1 + scope_len + 1 + 64;
    char *buf = apr_palloc(p, len + 1), *o = buf;

    memcpy(o, alg, sizeof(alg) - 1);
    o += sizeof(alg) - 1;
    memcpy(o, amz_date, 16);
    o += 16;
    *o++ = '\n';
    memcpy(o, scope, scope_len);
    o += scope_len;
    *o++ = '\n';
    if (!sha256_hex(ctx, md, creq, creq_len, o)) {
        return APR_EGENERAL;
    }
    o += 64;
    *o = '\0';
    *sts = buf;
    *sts_len = len;
    return APR_SUCCESS;
}

/* "<YYYYMMDD>/<region>/<service>/aws4_request" */
static char *build_scope(apr_pool_t *p, apr_size_t *len, const char *amz_date, const char *region,
                         const char *service)
{
    apr_size_t rl = strlen(region), sl = strlen(service);
    char *buf, *o;

    *len = 8 + 1 + rl + 1 + sl + 1 + sizeof(SCOPE_TERM) - 1;
    buf = o = apr_palloc(p, *len + 1);
    memcpy(o, amz_date, 8);
    o += 8;
    *o++ = '/';
    memcpy(o, region, rl);
    o += rl;
    *o++ = '/';
    memcpy(o, service, sl);
    o += sl;
    *o++ = '/';
    memcpy(o, SCOPE_TERM, sizeof(SCOPE_TERM));
    return buf;
}

apr_status_t items_sigv4_string_to_sign(const char **sts, apr_size_t *sts_len,
                                        const items_sigv4_t *signer, apr_pool_t *p,
                                        const char *amz_date, const char *region,
                                        const char *service, const char *creq,
                                        apr_size_t creq_len)
{
    EVP_MD_CTX *ctx;
    const char *scope;
    apr_size_t scope_len;
    apr_status_t rv;

    if (!amz_date || !amz_date_ok(amz_date) || !scope_part_ok(region) || !scope_part_ok(service)
        || !creq) {
        return APR_EINVAL;
    }
    ctx = EVP_MD_CTX_new();
    if (!ctx) {
        return APR_ENOMEM;
    }
    scope = build_scope(p, &scope_len, amz_date, region, service);
    rv = build_sts(sts, sts_len, ctx, signer->sha256, p, amz_date, scope, scope_len, creq,
                   creq_len);
    EVP_MD_CTX_free(ctx);
    return rv;
}

/* ------------------------------------------------------------------------ */
/* stage 3: signing key, cached                                             */

static int derive_key(EVP_MD_CTX *ctx, const EVP_MD *md, const char *secret,
                      apr_size_t secret_len, const char *date, const char *region,
                      apr_size_t region_len, const char *service, apr_size_t service_len,
                      unsigned char key[ITEMS_SIGV4_KEY_SIZE])
{
    unsigned char k[SHA256_LEN];
    int ok;

    ok = hmac_sha256(ctx, md, "AWS4", 4, secret, secret_len, date, 8, k)
         && hmac_sha256(ctx, md, k, SHA256_LEN, NULL, 0, region, region_len, k)
         && hmac_sha256(ctx, md, k, SHA256_LEN, NULL, 0, service, service_len, k)
         && hmac_sha256(ctx, md, k, SHA256_LEN, NULL, 0, SCOPE_TERM, sizeof(SCOPE_TERM) - 1, key);
    OPENSSL_cleanse(k, sizeof(k));
    return ok;
}

/* NUL-padded copy for fixed-size comparison. */
static void pad_copy(char dst[CACHE_PART_MAX], const char *src, apr_size_t n)
{
    memset(dst, 0, CACHE_PART_MAX);
    memcpy(dst, src, n);
}

static apr_status_t signing_key(unsigned char key[ITEMS_SIGV4_KEY_SIZE], EVP_MD_CTX *ctx,
                                items_sigv4_t *s, const char *secret, const char *date,
                                const char *region, const char *service)
{
    apr_size_t secret_len = strlen(secret), rl = strlen(region), sl = strlen(service), i;
    unsigned char id[SHA256_LEN];
    char r[CACHE_PART_MAX], sv[CACHE_PART_MAX];
    cache_slot_t *victim;
    int cacheable = rl < CACHE_PART_MAX && sl < CACHE_PART_MAX;

    if (!cacheable) {
        return derive_key(ctx, s->sha256, secret, secret_len, date, region, rl, service, sl, key)
                   ? APR_SUCCESS
                   : APR_EGENERAL;
    }
    if (!sha256_2(ctx, s->sha256, secret, secret_len, NULL, 0, id)) {
        return APR_EGENERAL;
    }
    pad_copy(r, region, rl);
    pad_copy(sv, service, sl);

    cache_lock(s);
    for (i = 0; i < CACHE_SLOTS; i++) {
        cache_slot_t *c = &s->slots[i];
        if (c->stamp && !memcmp(c->date, date, 8) && !memcmp(c->region, r, CACHE_PART_MAX)
            && !memcmp(c->service, sv, CACHE_PART_MAX)
            && !CRYPTO_memcmp(c->secret_id, id, SHA256_LEN)) {
            memcpy(key, c->key, ITEMS_SIGV4_KEY_SIZE);
            c->stamp = ++s->clock;
            s->hits++;
            cache_unlock(s);
            OPENSSL_cleanse(id, sizeof(id));
            return APR_SUCCESS;
        }
    }
    s->misses++;
    cache_unlock(s);

    /* Derive outside the lock; a concurrent miss for the same scope is harmless. */
    if (!derive_key(ctx, s->sha256, secret, secret_len, date, region, rl, service, sl, key)) {
        OPENSSL_cleanse(id, sizeof(id));
        return APR_EGENERAL;
    }

    cache_lock(s);
    victim = &s->slots[0];
    for (i = 0; i < CACHE_SLOTS; i++) {
        cache_slot_t *c = &s->slots[i];
        if (c->stamp && !memcmp(c->date, date, 8) && !memcmp(c->region, r, CACHE_PART_MAX)
            && !memcmp(c->service, sv, CACHE_PART_MAX)
            && !CRYPTO_memcmp(c->secret_id, id, SHA256_LEN)) {
            victim = c; /* another thread got there first: same key */
            break;
        }
        if (c->stamp < victim->stamp) {
            victim = c; /* least recently used, empty slots first */
        }
    }
    victim->stamp = ++s->clock;
    memcpy(victim->secret_id, id, SHA256_LEN);
    memcpy(victim->date, date, 8);
    memcpy(victim->region, r, CACHE_PART_MAX);
    memcpy(victim->service, sv, CACHE_PART_MAX);
    memcpy(victim->key, key, ITEMS_SIGV4_KEY_SIZE);
    cache_unlock(s);
    OPENSSL_cleanse(id, sizeof(id));
    return APR_SUCCESS;
}

static int date8_ok(const char *d)
{
    int i;

    for (i = 0; i < 8; i++) {
        if (d[i] < '0' || d[i] > '9') {
            return 0;
        }
    }
    return 1;
}

apr_status_t items_sigv4_signing_key(unsigned char key[ITEMS_SIGV4_KEY_SIZE],
                                     items_sigv4_t *signer, const char *secret,
                                     const char *date, const char *region, const char *service)
{
    EVP_MD_CTX *ctx;
    apr_status_t rv;

    if (!secret || !*secret || !date || !date8_ok(date) || !scope_part_ok(region)
        || !scope_part_ok(service)) {
        return APR_EINVAL;
    }
    ctx = EVP_MD_CTX_new();
    if (!ctx) {
        return APR_ENOMEM;
    }
    rv = signing_key(key, ctx, signer, secret, date, region, service);
    EVP_MD_CTX_free(ctx);
    return rv;
}

/* ------------------------------------------------------------------------ */
/* stage 4: signature                                                       */

static apr_status_t signature(char hex[ITEMS_SIGV4_HEX_SIZE], EVP_MD_CTX *ctx, const EVP_MD *md,
                              const unsigned char key[ITEMS_SIGV4_KEY_SIZE], const char *sts,
                              apr_size_t sts_len)
{
    unsigned char mac[SHA256_LEN];

    if (!hmac_sha256(ctx, md, key, ITEMS_SIGV4_KEY_SIZE, NULL, 0, sts, sts_len, mac)) {
        return APR_EGENERAL;
    }
    hex_encode(hex, mac, SHA256_LEN);
    hex[ITEMS_SIGV4_HEX_SIZE - 1] = '\0';
    return APR_SUCCESS;
}

apr_status_t items_sigv4_signature(char hex[ITEMS_SIGV4_HEX_SIZE], const items_sigv4_t *signer,
                                   const unsigned char key[ITEMS_SIGV4_KEY_SIZE],
                                   const char *sts, apr_size_t sts_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    apr_status_t rv;

    if (!ctx) {
        return APR_ENOMEM;
    }
    rv = signature(hex, ctx, signer->sha256, key, sts, sts_len);
    EVP_MD_CTX_free(ctx);
    return rv;
}

/* ------------------------------------------------------------------------ */
/* everything at once                                                       */

static void put_digits(char *o, unsigned v, int n)
{
    while (n-- > 0) {
        o[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

apr_status_t items_sigv4_amz_date(char out[ITEMS_SIGV4_AMZ_DATE_SIZE], apr_time_t t)
{
    apr_time_exp_t tm;
    int year;

    if (apr_time_exp_gmt(&tm, t) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    year = tm.tm_year + 1900;
    if (year < 0 || year > 9999) {
        return APR_EINVAL;
    }
    put_digits(out, (unsigned)year, 4);
    put_digits(out + 4, (unsigned)tm.tm_mon + 1, 2);
    put_digits(out + 6, (unsigned)tm.tm_mday, 2);
    out[8] = 'T';
    put_digits(out + 9, (unsigned)tm.tm_hour, 2);
    put_digits(out + 11, (unsigned)tm.tm_min, 2);
    put_digits(out + 13, (unsigned)tm.tm_sec, 2);
    out[15] = 'Z';
    out[16] = '\0';
    return APR_SUCCESS;
}

/* Is name (any case) equal to lower-case lname? */
static int name_is(const char *name, const char *lname)
{
    for (; *lname; name++, lname++) {
        char c = *name;
        if ((c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c) != *lname) {
            return 0;
        }
    }
    return *name == '\0';
}

static int akid_ok(const char *s)
{
    if (!s || !*s) {
        return 0;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == 0x7f || c == '/' || c == ',') {
            return 0;
        }
    }
    return 1;
}

static int token_ok(const char *s)
{
    for (; *s; s++) {
        if (*s == '\r' || *s == '\n') {
            return 0;
        }
    }
    return 1;
}

apr_status_t items_sigv4_sign(items_sigv4_result_t *out, items_sigv4_t *signer, apr_pool_t *p,
                              const items_sigv4_request_t *req, const items_creds_t *creds,
                              const char *region, const char *service, apr_time_t now)
{
    static const char cred_pfx[] = ITEMS_SIGV4_ALGORITHM " Credential=";
    static const char sh_pfx[] = ", SignedHeaders=";
    static const char sig_pfx[] = ", Signature=";
    items_sigv4_header_t extra[3];
    apr_size_t n_extra = 0, i, scope_len, akid_len, sh_len, len;
    unsigned char key[ITEMS_SIGV4_KEY_SIZE];
    int have_host = 0, sign_token;
    char *date, *authz, *o;
    const char *scope, *ph;
    EVP_MD_CTX *ctx;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    if (!creds || !akid_ok(creds->access_key_id) || !creds->secret_access_key
        || !*creds->secret_access_key || (creds->session_token && !token_ok(creds->session_token))
        || !scope_part_ok(region) || !scope_part_ok(service) || (req->n_headers && !req->headers)) {
        return APR_EINVAL;
    }
    sign_token = creds->session_token && !(req->flags & ITEMS_SIGV4_OMIT_TOKEN);
    for (i = 0; i < req->n_headers; i++) {
        const char *name = req->headers[i].name;
        if (!name) {
            return APR_EINVAL;
        }
        switch (name[0]) {
        case 'h':
        case 'H':
            have_host |= name_is(name, "host");
            break;
        case 'a':
        case 'A':
            if (name_is(name, "authorization")) {
                return APR_EINVAL;
            }
            break;
        case 'x':
        case 'X':
            if (name_is(name, "x-amz-date") || name_is(name, "x-amz-security-token")
                || ((req->flags & ITEMS_SIGV4_SIGN_BODY) && name_is(name, "x-amz-content-sha256"))) {
                return APR_EINVAL;
            }
            break;
        default:
            break;
        }
    }
    if (!have_host) {
        return APR_EINVAL;
    }

    date = apr_palloc(p, ITEMS_SIGV4_AMZ_DATE_SIZE);
    rv = items_sigv4_amz_date(date, now);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    out->amz_date = date;
    out->security_token = creds->session_token;

    ctx = EVP_MD_CTX_new();
    if (!ctx) {
        return APR_ENOMEM;
    }
    ph = payload_hash(ctx, signer->sha256, p, req);
    if (!ph) {
        rv = req->body ? APR_EGENERAL : APR_EINVAL;
        goto done;
    }
    extra[n_extra].name = "X-Amz-Date";
    extra[n_extra++].value = date;
    if (sign_token) {
        extra[n_extra].name = "X-Amz-Security-Token";
        extra[n_extra++].value = creds->session_token;
    }
    if (req->flags & ITEMS_SIGV4_SIGN_BODY) {
        out->content_sha256 = ph;
        extra[n_extra].name = "X-Amz-Content-Sha256";
        extra[n_extra++].value = ph;
    }

    rv = build_canonical(&out->canonical, p, req, extra, n_extra, ph);
    if (rv != APR_SUCCESS) {
        goto done;
    }
    scope = build_scope(p, &scope_len, date, region, service);
    rv = build_sts(&out->string_to_sign, &out->string_to_sign_len, ctx, signer->sha256, p, date,
                   scope, scope_len, out->canonical.request, out->canonical.request_len);
    if (rv != APR_SUCCESS) {
        goto done;
    }
    rv = signing_key(key, ctx, signer, creds->secret_access_key, date, region, service);
    if (rv != APR_SUCCESS) {
        goto done;
    }
    rv = signature(out->signature, ctx, signer->sha256, key, out->string_to_sign,
                   out->string_to_sign_len);
    if (rv != APR_SUCCESS) {
        goto done;
    }

    /* AWS4-HMAC-SHA256 Credential=<akid>/<scope>, SignedHeaders=<list>, Signature=<hex> */
    akid_len = strlen(creds->access_key_id);
    sh_len = strlen(out->canonical.signed_headers);
    len = (sizeof(cred_pfx) - 1) + akid_len + 1 + scope_len + (sizeof(sh_pfx) - 1) + sh_len
          + (sizeof(sig_pfx) - 1) + 64;
    authz = o = apr_palloc(p, len + 1);
    memcpy(o, cred_pfx, sizeof(cred_pfx) - 1);
    o += sizeof(cred_pfx) - 1;
    memcpy(o, creds->access_key_id, akid_len);
    o += akid_len;
    *o++ = '/';
    memcpy(o, scope, scope_len);
    o += scope_len;
    memcpy(o, sh_pfx, sizeof(sh_pfx) - 1);
    o += sizeof(sh_pfx) - 1;
    memcpy(o, out->canonical.signed_headers, sh_len);
    o += sh_len;
    memcpy(o, sig_pfx, sizeof(sig_pfx) - 1);
    o += sizeof(sig_pfx) - 1;
    memcpy(o, out->signature, 64);
    o[64] = '\0';
    out->authorization = authz;

done:
    OPENSSL_cleanse(key, sizeof(key));
    EVP_MD_CTX_free(ctx);
    return rv;
}
