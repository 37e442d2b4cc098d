/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark: SigV4 for a typical DynamoDB PutItem (the inputs of
 * testdata/sigv4/dynamodb/dynamodb-putitem), our signer vs libcurl's.
 * Not part of `make check`; `make bench-sigv4` runs both.
 *
 *   bench_sigv4 ours N         items_sigv4_sign N times (request pool cleared
 *                              each time); prints ns/op. The first result must
 *                              equal the vector's Authorization.
 *   bench_sigv4 ours-token N   the same with a session token (signed)
 *   bench_sigv4 curl N         N curl_easy_perform POSTs with CURLOPT_AWS_SIGV4
 *                              over one kept-alive loopback connection to
 *                              tests/unit/capture_server.c
 *   bench_sigv4 curl-nosign N  the same loop without CURLOPT_AWS_SIGV4
 *
 * Instruction counts per sign (what the report quotes):
 *   ours:  valgrind --tool=callgrind --toggle-collect=items_sigv4_sign \
 *              ./tests/unit/bench_sigv4 ours 20000      -> total Ir / 20000
 *   curl:  valgrind --tool=callgrind --separate-threads=yes ./tests/unit/bench_sigv4 curl 20000
 *          and the same with curl-nosign; (main-thread Ir difference) / 20000.
 *          libcurl's signer is internal (no exported symbol), hence the difference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <curl/curl.h>

#include "items_sigv4.h"
#include "capture_server.h"

static const char body[] =
    "{\"TableName\": \"items\", \"Item\": {\"pk\": {\"S\": \"user#1\"}, \"count\": {\"N\": \"42\"}}}";
static const char want_authz[] =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
    "Signature=0ff20a9334d0221bbc19034e4a4f0c150c4f6d324d58cf8fb960b33c1223624d";
static const char token[] =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpS"
    "PfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYw"
    "T7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKml"
    "zm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench_ours(long n, int with_token)
{
    static const items_sigv4_header_t headers[] = {
        { "X-Amz-Target", "DynamoDB_20120810.PutItem" },
        { "Content-Type", "application/x-amz-json-1.0" },
        { "Host", "dynamodb.us-east-1.amazonaws.com" },
    };
    items_creds_t creds = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL };
    items_sigv4_request_t req;
    items_sigv4_result_t res;
    items_sigv4_t *signer;
    apr_pool_t *pchild, *p;
    apr_time_t t = apr_time_from_sec(1440938160); /* 2015-08-30T12:36:00Z */
    double start, ns;
    long i;

    if (with_token) {
        creds.session_token = token;
    }
    apr_pool_create(&pchild, NULL);
    apr_pool_create(&p, pchild);
    if (items_sigv4_create(&signer, pchild) != APR_SUCCESS) {
        fprintf(stderr, "items_sigv4_create failed\n");
        return 1;
    }
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.path = "/";
    req.headers = headers;
    req.n_headers = 3;
    req.body = body;
    req.body_len = sizeof(body) - 1;

    if (items_sigv4_sign(&res, signer, p, &req, &creds, "us-east-1", "dynamodb", t) != APR_SUCCESS
        || (!with_token && strcmp(res.authorization, want_authz) != 0)) {
        fprintf(stderr, "wrong signature: %s\n", res.authorization ? res.authorization : "(none)");
        return 1;
    }
    apr_pool_clear(p);
    start = now_ns();
    for (i = 0; i < n; i++) {
        if (items_sigv4_sign(&res, signer, p, &req, &creds, "us-east-1", "dynamodb", t)
            != APR_SUCCESS) {
            fprintf(stderr, "sign failed\n");
            return 1;
        }
        apr_pool_clear(p);
    }
    ns = now_ns() - start;
    printf("ours%s: %ld signs, %.0f ns/op\n", with_token ? " (session token)" : "", n,
           n ? ns / (double)n : 0.0);
    apr_pool_destroy(pchild);
    return 0;
}

static size_t discard(char *d, size_t s, size_t n, void *u)
{
    (void)d;
    (void)u;
    return s * n;
}

static int bench_curl(long n, int sign)
{
    capture_server_t *srv = capture_server_start();
    struct curl_slist *h = NULL;
    char url[64];
    double start, ns;
    CURL *c;
    long i;

    if (!srv || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c = curl_easy_init())) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)capture_server_port(srv));
    h = curl_slist_append(h, "X-Amz-Target: DynamoDB_20120810.PutItem");
    h = curl_slist_append(h, "Content-Type: application/x-amz-json-1.0");
    h = curl_slist_append(h, "Host: dynamodb.us-east-1.amazonaws.com");
    h = curl_slist_append(h, "X-Amz-Date: 20150830T123600Z");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(sizeof(body) - 1));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    if (sign) {
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:dynamodb");
        curl_easy_setopt(c, CURLOPT_USERNAME, "AKIDEXAMPLE");
        curl_easy_setopt(c, CURLOPT_PASSWORD, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    }
    /* one checked round trip first */
    if (curl_easy_perform(c) != CURLE_OK || capture_server_wait_requests(srv, 1, 2000) != 0) {
        fprintf(stderr, "first request failed\n");
        return 1;
    }
    if (sign) {
        const char *a = capture_request_header(capture_server_request(srv, 0), "Authorization", 0);
        if (!a || strcmp(a, want_authz) != 0) {
            fprintf(stderr, "libcurl's signature differs: %s\n", a ? a : "(none)");
            return 1;
        }
    }
    capture_server_reset(srv);
    start = now_ns();
    for (i = 0; i < n; i++) {
        if (curl_easy_perform(c) != CURLE_OK) {
            fprintf(stderr, "request %ld failed\n", i);
            return 1;
        }
        if (i % 1000 == 999) {
            capture_server_reset(srv); /* keep the server's record list short */
        }
    }
    ns = now_ns() - start;
    printf("curl%s: %ld POSTs over loopback, %.0f ns/request (round trip included)\n",
           sign ? " + CURLOPT_AWS_SIGV4" : " (unsigned)", n, n ? ns / (double)n : 0.0);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    capture_server_stop(srv);
    curl_global_cleanup();
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 2 ? atol(argv[2]) : 200000;
    int rc;

    if (argc < 2) {
        fprintf(stderr, "usage: %s ours|ours-token|curl|curl-nosign [N]\n", argv[0]);
        return 2;
    }
    apr_initialize();
    if (!strcmp(argv[1], "ours")) {
        rc = bench_ours(n, 0);
    }
    else if (!strcmp(argv[1], "ours-token")) {
        rc = bench_ours(n, 1);
    }
    else if (!strcmp(argv[1], "curl")) {
        rc = bench_curl(n, 1);
    }
    else if (!strcmp(argv[1], "curl-nosign")) {
        rc = bench_curl(n, 0);
    }
    else {
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        rc = 2;
    }
    apr_terminate();
    return rc;
}
