/* SPDX-License-Identifier: Apache-2.0 */
#include "items_http.h"
#include "items_http1.h"
#include "items_sigv4.h"
#include "items_status.h"

#include <apr_date.h>
#include <apr_lib.h>
#include <apr_reslist.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <curl/curl.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <stdlib.h>
#include <string.h>

/*
 * Per-process pool of kept-alive connections; set in child_init, read-only
 * after. libcurl opens each one (DNS, proxy tunnel, TLS, CA checks) in
 * CONNECT_ONLY mode and then moves its bytes (curl_easy_send/recv); the
 * request is written and its answer framed here (items_http1.c). A whole
 * curl_easy_perform per call was most of the module's user-space instructions
 * per request (bench/README.md), and its dead-connection checks cost poll()s.
 *
 * A plain connection (http://, no proxy tunnel) is then used directly: its socket
 * is made blocking, with SO_RCVTIMEO/SO_SNDTIMEO as the clock, so that waiting for
 * the answer and reading it is one recv() rather than poll() then recv(); system
 * calls are most of a request's cost (bench/README.md). TLS and tunnelled
 * connections stay with libcurl's non-blocking send/recv.
 */
static apr_reslist_t *handles;
static items_sigv4_t *signer; /* our SigV4 signer (items_sigv4.c), same lifetime */

/* A connection is probed for a close by the peer only after this long unused. */
#define IDLE_PROBE_AFTER apr_time_from_sec(1)
#define FIRST_READ_SIZE 8192
/*
 * A blocking socket's send/receive timeout: each wait lasts at most this long before
 * the deadline is looked at again; the last one is cut to end at the deadline. Longer
 * than most DynamoDB answers take, so that the clock is seldom set.
 */
#define SOCKET_WAIT_SLICE apr_time_from_msec(100)

typedef struct conn {
    CURL *curl;          /* the CONNECT_ONLY handle holding the connection; NULL: none */
    curl_socket_t fd;
    int direct;          /* plain: fd is blocking and used directly */
    apr_interval_time_t wait_set; /* SO_RCVTIMEO = SO_SNDTIMEO of a direct fd */
    char *url;           /* the endpoint it was opened to (malloc) */
    apr_time_t last_used;
} conn_t;

typedef struct body_sink {
    apr_pool_t *pool;
    char *buf;
    apr_size_t len, cap, max;
} body_sink_t;

static void conn_close(conn_t *conn)
{
    if (conn->curl) {
        curl_easy_cleanup(conn->curl);
        conn->curl = NULL;
    }
    free(conn->url);
    conn->url = NULL;
}

static apr_status_t conn_create(void **resource, void *params, apr_pool_t *p)
{
    (void)params;
    (void)p;
    *resource = calloc(1, sizeof(conn_t));
    return *resource ? APR_SUCCESS : APR_ENOMEM;
}

static apr_status_t conn_destroy(void *resource, void *params, apr_pool_t *p)
{
    (void)params;
    (void)p;
    conn_close(resource);
    free(resource);
    return APR_SUCCESS;
}

static apr_status_t global_cleanup(void *unused)
{
    (void)unused;
    handles = NULL;
    signer = NULL;
    curl_global_cleanup();
    return APR_SUCCESS;
}

apr_status_t items_http_init(apr_pool_t *pchild, int max_handles)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return APR_EGENERAL;
    }
    /* Registered first, so it runs after the reslist (and its connections) is gone. */
    apr_pool_cleanup_register(pchild, NULL, global_cleanup, apr_pool_cleanup_null);
    if (items_sigv4_create(&signer, pchild) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (max_handles < 1) {
        max_handles = 1;
    }
    return apr_reslist_create(&handles, 0, max_handles, max_handles, 0, conn_create,
                              conn_destroy, NULL, pchild);
}

static apr_status_t status_from_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return APR_SUCCESS;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SEND_ERROR:
        return ITEMS_EUNAVAILABLE;
    case CURLE_OPERATION_TIMEDOUT:
        return ITEMS_ETIMEOUT;
    default:
        return ITEMS_EBADGATEWAY;
    }
}

static long to_ms(apr_interval_time_t t)
{
    long ms = (long)apr_time_as_msec(t);
    return ms > 0 ? ms : 1;
}

const char *items_http_host(apr_pool_t *p, const char *url)
{
    apr_uri_t uri;
    const char *host;
    int https;

    if (apr_uri_parse(p, url, &uri) != APR_SUCCESS || !uri.scheme || !uri.hostname
        || !*uri.hostname) {
        return NULL;
    }
    https = !strcasecmp(uri.scheme, "https");
    if (!https && strcasecmp(uri.scheme, "http")) {
        return NULL;
    }
    /* apr_uri_parse drops the brackets of an IPv6 literal; a Host header keeps them. */
    host = strchr(uri.hostname, ':') ? apr_pstrcat(p, "[", uri.hostname, "]", NULL) : uri.hostname;
    if (uri.port_str && *uri.port_str && uri.port != (https ? 443 : 80)) {
        host = apr_psprintf(p, "%s:%u", host, (unsigned)uri.port);
    }
    return host;
}

/* The path and query of url as sent: "/" and NULL when it has none. */
static void url_target(apr_pool_t *p, const char *url, const char **path, const char **query)
{
    const char *s = strstr(url, "://"), *start, *q;
    apr_size_t n;

    *path = "/";
    *query = NULL;
    if (!s) {
        return;
    }
    start = s + 3 + strcspn(s + 3, "/?#");
    n = strcspn(start, "?#");
    if (n) {
        *path = apr_pstrmemdup(p, start, n);
    }
    if (start[n] == '?') {
        q = start + n + 1;
        *query = apr_pstrmemdup(p, q, strcspn(q, "#"));
    }
}

/* "20150830T123600Z" -> time; 0 when malformed. */
static apr_time_t parse_amz_date(const char *s)
{
    apr_time_exp_t tm;
    apr_time_t t;
    int i;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    for (i = 0; i < 16; i++) {
        if (i == 8 ? s[i] != 'T' : i == 15 ? s[i] != 'Z' : !apr_isdigit(s[i])) {
            return 0;
        }
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0') - 1900;
    tm.tm_mon = (s[4] - '0') * 10 + (s[5] - '0') - 1;
    tm.tm_mday = (s[6] - '0') * 10 + (s[7] - '0');
    tm.tm_hour = (s[9] - '0') * 10 + (s[10] - '0');
    tm.tm_min = (s[11] - '0') * 10 + (s[12] - '0');
    tm.tm_sec = (s[13] - '0') * 10 + (s[14] - '0');
    return apr_time_exp_gmt_get(&t, &tm) == APR_SUCCESS ? t : 0;
}

/*
 * Sign req with our SigV4 signer (items_sigv4.c) and write the whole message:
 * request line, the caller's header lines, then Host (unless given),
 * X-Amz-Date, the session token, Authorization, Content-Length, and the body.
 * Everything signed is sent byte for byte as signed. *secret_len: how many
 * leading bytes of the message to wipe after the call (it holds a token).
 */
static apr_status_t build_message(char **msg, apr_size_t *msg_len, apr_size_t *secret_len,
                                  const char **why, apr_pool_t *p, const items_http_request_t *req)
{
    items_sigv4_header_t *hs;
    items_sigv4_request_t sreq;
    items_sigv4_result_t res;
    apr_time_t when = req->sign_time;
    const char *const *h;
    const char **lines, *host_line = NULL;
    char content_length[48];
    apr_size_t n = 0, n_lines = 0, i, total;
    char *out;
    apr_status_t rv;

    for (h = req->headers; h && *h; h++) {
        n++;
    }
    hs = apr_palloc(p, (n + 1) * sizeof(*hs));
    lines = apr_palloc(p, (n + 8) * sizeof(*lines));
    n = 0;
    for (h = req->headers; h && *h; h++) {
        const char *colon = strchr(*h, ':');
        if (!colon || strpbrk(*h, "\r\n")) {
            *why = "a request header line has no ':' or breaks the line";
            return APR_EINVAL;
        }
        hs[n].name = apr_pstrmemdup(p, *h, (apr_size_t)(colon - *h));
        hs[n].value = colon + 1;
        if (!strcasecmp(hs[n].name, "X-Amz-Date")) {
            /* a preset date sets the signing time; the header is written below */
            if (!(when = parse_amz_date(hs[n].value))) {
                *why = "malformed X-Amz-Date header";
                return APR_EINVAL;
            }
            continue;
        }
        if (!strcasecmp(hs[n].name, "Host")) {
            host_line = *h;
        }
        lines[n_lines++] = *h;
        n++;
    }
    if (!host_line) {
        const char *host = req->host ? req->host : items_http_host(p, req->url);
        if (!host) {
            *why = "the endpoint URL has no host";
            return APR_EINVAL;
        }
        hs[n].name = "Host";
        hs[n++].value = host;
        lines[n_lines++] = apr_pstrcat(p, "Host: ", host, NULL);
    }

    memset(&sreq, 0, sizeof(sreq));
    sreq.method = "POST";
    url_target(p, req->url, &sreq.path, &sreq.query);
    sreq.headers = hs;
    sreq.n_headers = n;
    sreq.body = req->body;
    sreq.body_len = req->body_len;
    rv = items_sigv4_sign(&res, signer, p, &sreq, req->creds, req->region, req->service,
                          when ? when : apr_time_now());
    if (rv != APR_SUCCESS) {
        *why = "cannot sign the request (credentials, region or a header are invalid)";
        return rv;
    }
    lines[n_lines++] = apr_pstrcat(p, "X-Amz-Date: ", res.amz_date, NULL);
    if (res.security_token) {
        lines[n_lines++] = apr_pstrcat(p, "X-Amz-Security-Token: ", res.security_token, NULL);
    }
    lines[n_lines++] = apr_pstrcat(p, "Authorization: ", res.authorization, NULL);
    snprintf(content_length, sizeof(content_length), "Content-Length: %" APR_SIZE_T_FMT,
             req->body_len);
    lines[n_lines++] = content_length;

    /* "POST " target " HTTP/1.1\r\n", each line + "\r\n", "\r\n", body */
    total = 5 + strlen(sreq.path) + (sreq.query ? 1 + strlen(sreq.query) : 0) + 11 + 2
            + req->body_len;
    for (i = 0; i < n_lines; i++) {
        total += strlen(lines[i]) + 2;
    }
    out = *msg = apr_palloc(p, total);
    out = memcpy(out, "POST ", 5) + 5;
    out = memcpy(out, sreq.path, strlen(sreq.path)) + strlen(sreq.path);
    if (sreq.query) {
        *out++ = '?';
        out = memcpy(out, sreq.query, strlen(sreq.query)) + strlen(sreq.query);
    }
    out = memcpy(out, " HTTP/1.1\r\n", 11) + 11;
    for (i = 0; i < n_lines; i++) {
        apr_size_t k = strlen(lines[i]);
        out = memcpy(out, lines[i], k) + k;
        out = memcpy(out, "\r\n", 2) + 2;
    }
    out = memcpy(out, "\r\n", 2) + 2;
    *secret_len = res.security_token ? (apr_size_t)(out - *msg) : 0;
    if (req->body_len) {
        memcpy(out, req->body, req->body_len);
    }
    *msg_len = total;
    if (res.security_token) {
        for (i = 0; i < n_lines; i++) {
            if (!strncmp(lines[i], "X-Amz-Security-Token:", 21)) {
                memset((char *)lines[i], 0, strlen(lines[i]));
            }
        }
    }
    return APR_SUCCESS;
}

/*
 * An idle kept-alive connection is readable only when the peer closed it (or
 * sent what nobody asked for): either way it cannot carry the next request.
 */
static int conn_idle_alive(const conn_t *conn)
{
    struct pollfd pfd;

    pfd.fd = conn->fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    return poll(&pfd, 1, 0) == 0;
}

/* Wait until fd is readable (POLLIN) or writable (POLLOUT); ETIMEDOUT past deadline. */
static apr_status_t wait_fd(curl_socket_t fd, short events, apr_time_t deadline)
{
    struct pollfd pfd;
    int n;

    for (;;) {
        apr_interval_time_t left = deadline - apr_time_now();
        if (left <= 0) {
            return APR_TIMEUP;
        }
        pfd.fd = fd;
        pfd.events = events;
        pfd.revents = 0;
        n = poll(&pfd, 1, (int)to_ms(left));
        if (n > 0) {
            return APR_SUCCESS; /* readable, writable, or an error the next call reports */
        }
        if (n < 0 && errno != EINTR) {
            return APR_FROM_OS_ERROR(errno);
        }
    }
}

/*
 * Whether a failure to open a connection is one of configuration, which no retry
 * cures: a certificate that does not verify against the trusted CAs or the host
 * name, an unreadable CA file, a proxy refusing the tunnel (403) or asking for
 * credentials it was not given (407). Resolution failures and refused or timed-out
 * connections may pass; so may a proxy's 5xx.
 */
static int failure_lasts(CURLcode rc, long connect_code)
{
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return 1;
    default:
        return connect_code == 403 || connect_code == 407;
    }
}

/* Open a connection to req->url; libcurl resolves, connects, tunnels and does TLS. */
static apr_status_t conn_open(conn_t *conn, items_http_response_t *resp, apr_pool_t *p,
                              const items_http_request_t *req, apr_time_t deadline)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_socket_t fd = CURL_SOCKET_BAD;
    CURLcode rc;

    conn->curl = curl_easy_init();
    conn->url = strdup(req->url);
    if (!conn->curl || !conn->url) {
        conn_close(conn);
        resp->error = "out of memory for a connection";
        return APR_ENOMEM;
    }
    curl_easy_setopt(conn->curl, CURLOPT_URL, req->url);
    curl_easy_setopt(conn->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(conn->curl, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(conn->curl, CURLOPT_HTTPPROXYTUNNEL, 1L); /* a proxy only relays bytes */
    curl_easy_setopt(conn->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(conn->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(conn->curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(conn->curl, CURLOPT_CONNECTTIMEOUT_MS, to_ms(req->connect_timeout));
    curl_easy_setopt(conn->curl, CURLOPT_TIMEOUT_MS, to_ms(deadline - apr_time_now()));
    curl_easy_setopt(conn->curl, CURLOPT_ERRORBUFFER, errbuf);
    if (req->ca_file) {
        curl_easy_setopt(conn->curl, CURLOPT_CAINFO, req->ca_file);
    }
    rc = curl_easy_perform(conn->curl);
    curl_easy_setopt(conn->curl, CURLOPT_ERRORBUFFER, NULL);
    if (rc == CURLE_OK) {
        rc = curl_easy_getinfo(conn->curl, CURLINFO_ACTIVESOCKET, &fd);
    }
    if (rc != CURLE_OK || fd == CURL_SOCKET_BAD) {
        long connect_code = 0;

        resp->error = apr_psprintf(p, "%s (curl %d)", *errbuf ? errbuf : curl_easy_strerror(rc),
                                   (int)rc);
        curl_easy_getinfo(conn->curl, CURLINFO_HTTP_CONNECTCODE, &connect_code);
        resp->lasting = failure_lasts(rc, connect_code);
        conn_close(conn);
        /* Nothing reached DynamoDB: whatever failed (DNS, refused, proxy, TLS), it is unreachable. */
        return rc == CURLE_OPERATION_TIMEDOUT ? ITEMS_ETIMEOUT : ITEMS_EUNAVAILABLE;
    }
    conn->fd = fd;
    conn->direct = 0;
    if (!strncasecmp(req->url, "http://", 7)) {
        long connect_code = 0;

        /* A CONNECT answer means a proxy tunnel, which may itself be TLS: leave it to libcurl. */
        if (curl_easy_getinfo(conn->curl, CURLINFO_HTTP_CONNECTCODE, &connect_code) == CURLE_OK
            && connect_code == 0) {
            int flags = fcntl(fd, F_GETFL);

            conn->direct = flags >= 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0;
            conn->wait_set = 0;
        }
    }
    return APR_SUCCESS;
}

/*
 * Before a blocking send or receive on a direct connection: APR_TIMEUP past the
 * deadline, else the socket's timeouts set to what is left, at most one slice
 * (a system call only when that changes: near the deadline).
 */
static apr_status_t direct_wait(conn_t *conn, apr_time_t deadline)
{
    apr_interval_time_t left = deadline - apr_time_now(), want;
    struct timeval tv;

    if (left <= 0) {
        return APR_TIMEUP;
    }
    want = left < SOCKET_WAIT_SLICE ? left : SOCKET_WAIT_SLICE;
    if (want == conn->wait_set) {
        return APR_SUCCESS;
    }
    tv.tv_sec = (time_t)apr_time_sec(want);
    tv.tv_usec = (suseconds_t)apr_time_usec(want);
    if (setsockopt(conn->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0
        || setsockopt(conn->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
        conn->wait_set = 0;
        return APR_FROM_OS_ERROR(errno);
    }
    conn->wait_set = want;
    return APR_SUCCESS;
}

/*
 * One send or receive: *n bytes moved; CURLE_AGAIN when nothing could be moved yet
 * (a direct socket's wait ran out, or a non-blocking one would block).
 */
static CURLcode conn_io(conn_t *conn, int sending, char *buf, size_t len, size_t *n,
                        apr_time_t deadline, apr_status_t *waited)
{
    ssize_t r;

    *n = 0;
    *waited = APR_SUCCESS;
    if (!conn->direct) {
        return sending ? curl_easy_send(conn->curl, buf, len, n)
                       : curl_easy_recv(conn->curl, buf, len, n);
    }
    if ((*waited = direct_wait(conn, deadline)) != APR_SUCCESS) {
        return CURLE_AGAIN;
    }
    do {
        r = sending ? send(conn->fd, buf, len, MSG_NOSIGNAL) : recv(conn->fd, buf, len, 0);
    } while (r < 0 && errno == EINTR);
    if (r >= 0) {
        *n = (size_t)r;
        return CURLE_OK;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return CURLE_AGAIN;
    }
    return sending ? CURLE_SEND_ERROR : CURLE_RECV_ERROR;
}

static apr_status_t send_all(conn_t *conn, items_http_response_t *resp, apr_pool_t *p,
                             const char *msg, apr_size_t len, apr_time_t deadline,
                             apr_size_t *sent)
{
    *sent = 0;
    while (*sent < len) {
        size_t n = 0;
        apr_status_t waited;
        CURLcode rc = conn_io(conn, 1, (char *)msg + *sent, len - *sent, &n, deadline, &waited);

        *sent += n;
        if (rc == CURLE_AGAIN) {
            if (waited == APR_SUCCESS && !conn->direct) {
                waited = wait_fd(conn->fd, POLLOUT, deadline);
            }
            if (waited == APR_TIMEUP) {
                resp->error = "the request could not be sent in time";
                return ITEMS_ETIMEOUT;
            }
            if (waited != APR_SUCCESS) {
                resp->error = "waiting to send failed";
                return ITEMS_EUNAVAILABLE;
            }
        }
        else if (rc != CURLE_OK) {
            resp->error = apr_psprintf(p, "sending failed: %s (curl %d)", curl_easy_strerror(rc),
                                       (int)rc);
            return ITEMS_EUNAVAILABLE;
        }
    }
    return APR_SUCCESS;
}

/* Read until items_http1_parse() has the whole answer. *got: bytes received. */
static apr_status_t recv_answer(items_http1_answer_t *ans, conn_t *conn,
                                items_http_response_t *resp, apr_pool_t *p,
                                const items_http_request_t *req, apr_time_t deadline,
                                apr_size_t *got)
{
    apr_size_t cap = FIRST_READ_SIZE, len = 0;
    apr_size_t limit = req->max_response + 2 * ITEMS_HTTP1_MAX_HEAD;
    char *buf = apr_palloc(p, cap);
    const char *why;
    apr_status_t rv;
    int readable = 0;

    *got = 0;
    for (;;) {
        size_t n = 0;
        apr_status_t waited = APR_SUCCESS;
        CURLcode rc;

        if (cap - len < 2) {
            char *grown;
            if (cap >= limit) {
                resp->error = "the answer is larger than allowed";
                return ITEMS_EBADGATEWAY;
            }
            cap = cap * 2 < limit ? cap * 2 : limit;
            grown = apr_palloc(p, cap);
            memcpy(grown, buf, len);
            buf = grown;
        }
        /* The answer takes a round trip: wait first rather than read in vain (a
         * direct socket waits in recv() itself). */
        if (!readable && !conn->direct) {
            waited = wait_fd(conn->fd, POLLIN, deadline);
        }
        if (waited == APR_SUCCESS) {
            rc = conn_io(conn, 0, buf + len, cap - len - 1, &n, deadline, &waited);
            if (rc == CURLE_AGAIN && waited == APR_SUCCESS) {
                readable = 0;
                continue;
            }
        }
        if (waited != APR_SUCCESS) {
            resp->error = waited == APR_TIMEUP
                              ? apr_psprintf(p, "timed out: no answer within %ld ms", to_ms(req->timeout))
                              : "waiting for the answer failed";
            return waited == APR_TIMEUP ? ITEMS_ETIMEOUT : ITEMS_EBADGATEWAY;
        }
        if (rc != CURLE_OK) {
            resp->error = apr_psprintf(p, "receiving failed: %s (curl %d)", curl_easy_strerror(rc),
                                       (int)rc);
            return ITEMS_EBADGATEWAY;
        }
        len += n;
        *got = len;
        rv = items_http1_parse(ans, &why, buf, len, n == 0, req->max_response);
        if (rv == APR_SUCCESS) {
            return APR_SUCCESS;
        }
        if (rv != APR_INCOMPLETE) {
            resp->error = why;
            return rv;
        }
        readable = 1; /* more may be there already: read until the socket says EAGAIN */
    }
}

apr_status_t items_http_post(items_http_response_t *resp, apr_pool_t *p,
                             const items_http_request_t *req)
{
    items_http1_answer_t ans;
    apr_time_t now = apr_time_now(), deadline = now + req->timeout;
    apr_size_t msg_len, secret_len = 0, sent, got;
    const char *why = "out of memory for the request";
    char *msg = NULL;
    conn_t *conn;
    apr_status_t rv;
    void *res;
    int attempt, first_copy_out = 0;

    memset(resp, 0, sizeof(*resp));
    if (!handles) {
        resp->error = "HTTP client not initialised";
        return APR_EINIT;
    }
    if ((rv = build_message(&msg, &msg_len, &secret_len, &why, p, req)) != APR_SUCCESS) {
        resp->error = why;
        return rv;
    }
    if (apr_reslist_acquire(handles, &res) != APR_SUCCESS) {
        resp->error = "no HTTP connection available";
        rv = ITEMS_EUNAVAILABLE;
        goto done;
    }
    conn = res;
    if (conn->curl
        && (strcmp(conn->url, req->url)
            || (now - conn->last_used > IDLE_PROBE_AFTER && !conn_idle_alive(conn)))) {
        conn_close(conn);
    }

    for (attempt = 0;; attempt++) {
        int reused = conn->curl != NULL;

        if (!reused && (rv = conn_open(conn, resp, p, req, deadline)) != APR_SUCCESS) {
            break;
        }
        rv = send_all(conn, resp, p, msg, msg_len, deadline, &sent);
        resp->sent |= sent > 0;
        resp->resent |= first_copy_out && sent > 0;
        got = 0;
        if (rv == APR_SUCCESS) {
            rv = recv_answer(&ans, conn, resp, p, req, deadline, &got);
        }
        if (rv == APR_SUCCESS) {
            break;
        }
        conn_close(conn);
        /*
         * A kept-alive connection the peer closed while it sat idle fails
         * before a byte of the answer: send once more on a new one. The peer
         * may have taken the first copy, so the caller learns (resent) and
         * checks what its write did.
         */
        if (!reused || attempt > 0 || got > 0 || rv == ITEMS_ETIMEOUT) {
            break;
        }
        first_copy_out = sent == msg_len;
        resp->error = NULL;
    }

    if (rv == APR_SUCCESS) {
        resp->status = ans.status;
        resp->body = ans.body;
        resp->body_len = ans.body_len;
        resp->date = ans.date;
        if (ans.keep_alive) {
            conn->last_used = apr_time_now();
        }
        else {
            conn_close(conn);
        }
    }
    apr_reslist_release(handles, conn);

done:
    if (secret_len) {
        volatile char *c = msg;
        while (secret_len--) {
            *c++ = '\0';
        }
    }
    return rv;
}

/* --- unsigned calls (credential providers) ---------------------------------- */

static size_t sink_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    body_sink_t *sink = userdata;
    apr_size_t n = size * nmemb;

    if (n > sink->max - sink->len) {
        return 0; /* too large: curl fails the transfer with CURLE_WRITE_ERROR */
    }
    if (sink->len + n + 1 > sink->cap) {
        apr_size_t cap = sink->cap ? sink->cap : 4096;
        char *grown;
        while (cap < sink->len + n + 1) {
            cap *= 2;
        }
        grown = apr_palloc(sink->pool, cap);
        if (sink->len) {
            memcpy(grown, sink->buf, sink->len);
        }
        sink->buf = grown;
        sink->cap = cap;
    }
    memcpy(sink->buf + sink->len, data, n);
    sink->len += n;
    return n;
}

/* The transfer's outcome: its status, and the body or the error in words. */
static apr_status_t take_result(items_http_response_t *resp, apr_pool_t *p, CURLcode rc,
                                const char *errbuf, body_sink_t *sink)
{
    apr_status_t rv = status_from_curl(rc);

    if (rv != APR_SUCCESS) {
        resp->error = apr_psprintf(p, "%s (curl %d)", *errbuf ? errbuf : curl_easy_strerror(rc),
                                   (int)rc);
        return rv;
    }
    resp->body = sink->buf ? sink->buf : "";
    resp->body_len = sink->len;
    if (sink->buf) {
        sink->buf[sink->len] = '\0';
    }
    return APR_SUCCESS;
}

/* Free a header list after zeroing it: it may hold a session token. */
static void free_wiped(struct curl_slist *headers)
{
    struct curl_slist *s;

    for (s = headers; s; s = s->next) {
        volatile char *c = s->data;
        while (*c) {
            *c++ = '\0';
        }
    }
    curl_slist_free_all(headers);
}


/* Metadata endpoints are on this host or link-local: a proxy must never see them. */
static int host_is_local(const char *url)
{
    static const char *const prefixes[] = { "127.", "169.254.", "localhost", "[::1]",
                                            "[fd00:ec2::", NULL };
    const char *host = strstr(url, "://");
    const char *const *pre;

    if (!host) {
        return 0;
    }
    host += 3;
    for (pre = prefixes; *pre; pre++) {
        if (!strncmp(host, *pre, strlen(*pre))) {
            return 1;
        }
    }
    return 0;
}

apr_status_t items_http_call(items_http_response_t *resp, apr_pool_t *p, const char *method,
                             const items_http_request_t *req)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    body_sink_t sink = { p, NULL, 0, 0, req->max_response };
    struct curl_slist *headers = NULL, *added;
    const char *const *h;
    CURL *curl;
    CURLcode rc;
    apr_status_t rv;

    memset(resp, 0, sizeof(*resp));
    /* A handle of its own: these calls are rare (a credential refresh) and unsigned. */
    if ((curl = curl_easy_init()) == NULL) {
        resp->error = "cannot create an HTTP handle";
        return APR_ENOMEM;
    }

    rv = APR_SUCCESS;
    for (h = req->headers; h && *h && rv == APR_SUCCESS; h++) {
        added = curl_slist_append(headers, *h);
        rv = added ? APR_SUCCESS : APR_ENOMEM;
        headers = added ? added : headers;
    }
    if (rv != APR_SUCCESS) {
        resp->error = "out of memory for the request headers";
        goto done;
    }

    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, to_ms(req->connect_timeout));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, to_ms(req->timeout));
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    if (host_is_local(req->url)) {
        curl_easy_setopt(curl, CURLOPT_PROXY, "");
    }
    if (!strcmp(method, "GET")) {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    else {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        if (strcmp(method, "POST")) {
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
        }
    }

    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    rv = take_result(resp, p, rc, errbuf, &sink);

done:
    curl_easy_cleanup(curl);
    free_wiped(headers); /* curl's copies of the token lines */
    return rv;
}
