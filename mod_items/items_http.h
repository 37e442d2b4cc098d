/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one libcurl user: signed HTTP POSTs over kept-alive connections.
 * libcurl opens each connection (DNS, proxy tunnel, TLS and its checks) and
 * carries its bytes; the request is written here and its answer framed by
 * items_http1.c. Connections live in a per-process pool and are never shared
 * between threads at the same time.
 */
#ifndef ITEMS_HTTP_H
#define ITEMS_HTTP_H

#include <apr_pools.h>
#include <apr_time.h>

#include "items_creds.h"

typedef struct items_http_request {
    const char *url;
    const char *region;            /* SigV4 scope */
    const char *service;           /* SigV4 scope, e.g. "dynamodb" */
    const items_creds_t *creds;    /* signs the request; its session token is sent and signed */
    const char *const *headers;    /* NULL-terminated "Name: value" lines, all signed; a "Host:"
                                    * line replaces the URL's, an "X-Amz-Date:" line sets the
                                    * signing time; no Authorization / X-Amz-Security-Token */
    const char *host;              /* Host header as sent and signed, from items_http_host()
                                    * once per endpoint; NULL: derived from url on each call */
    const char *body;
    apr_size_t body_len;
    apr_interval_time_t connect_timeout;
    apr_interval_time_t timeout;   /* whole transfer */
    apr_size_t max_response;       /* larger response bodies fail the call */
    const char *ca_file;           /* CA bundle for TLS peer verification, NULL: system default */
    apr_time_t sign_time;          /* the signature's time (clock-skew corrected), 0: now */
} items_http_request_t;

typedef struct items_http_response {
    long status;                   /* HTTP status, 0 when none arrived */
    const char *body;              /* NUL-terminated, pool memory */
    apr_size_t body_len;
    const char *error;             /* transport failure in words, for the log */
    apr_time_t date;               /* the answer's Date header, 0 when absent */
    int sent;                      /* the request went out (a failed call may have taken effect) */
    int resent;                    /* it may have been sent twice: a kept-alive connection died
                                      under it and it was sent again on a new one */
    int lasting;                   /* the failure will not pass by itself: the endpoint's
                                      certificate does not verify, or the proxy refuses the
                                      tunnel (403, 407); trying again is pointless */
} items_http_response_t;

/*
 * The Host header value for url (as libcurl would send it), computed once per
 * endpoint (config time): the host name as written (an IPv6 literal in
 * brackets), then ":port" only when the URL names a port other than the
 * scheme's default (80 for http, 443 for https). NULL when url is no
 * http(s) URL with a host.
 */
const char *items_http_host(apr_pool_t *p, const char *url);

/*
 * Once per process (child_init): curl_global_init, the SigV4 signer and the
 * handle pool, owned by pchild. max_handles bounds concurrent transfers (one
 * per worker thread).
 */
apr_status_t items_http_init(apr_pool_t *pchild, int max_handles);

/*
 * POST req->body to req->url, signed with SigV4. APR_SUCCESS whenever an HTTP
 * answer arrived (any status); ITEMS_EUNAVAILABLE when the peer could not be
 * reached, ITEMS_ETIMEOUT when it did not answer in time, ITEMS_EBADGATEWAY
 * when the answer broke off, was garbled or too large.
 */
apr_status_t items_http_post(items_http_response_t *resp, apr_pool_t *p,
                             const items_http_request_t *req);

/*
 * An unsigned call, for the credential providers (instance metadata, the
 * container credentials endpoint, STS): method is "GET", "PUT" or "POST";
 * req->url, headers, body (PUT and POST), timeouts and max_response are used,
 * req->creds, region and service are not (nothing is signed). Uses the handle
 * pool when items_http_init() ran in this process, else a handle of its own
 * (httpd's parent process at startup). Link-local and loopback hosts are never
 * reached through a proxy. Header lines are wiped from memory after the call
 * (they may carry tokens). Same return values as items_http_post().
 */
apr_status_t items_http_call(items_http_response_t *resp, apr_pool_t *p, const char *method,
                             const items_http_request_t *req);

#endif
