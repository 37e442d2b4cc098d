/* SPDX-License-Identifier: Apache-2.0 */
#include "items_http.h"
#include "items_sigv4.h"
#include "items_status.h"

#include <apr_date.h>
#include <apr_lib.h>
#include <apr_reslist.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <curl/curl.h>

/* Per-process pool of easy handles; set in child_init, read-only after. */
static apr_reslist_t *handles;
static items_sigv4_t *signer; /* our SigV4 signer (items_sigv4.c), same lifetime */

typedef struct body_sink {
    apr_pool_t *pool;
    char *buf;
    apr_size_t len, cap, max;
    apr_time_t date;
} body_sink_t;

static apr_status_t handle_create(void **resource, void *params, apr_pool_t *p)
{
    (void)params;
    (void)p;
    *resource = curl_easy_init();
    return *resource ? APR_SUCCESS : APR_ENOMEM;
}

static apr_status_t handle_destroy(void *resource, void *params, apr_pool_t *p)
{
    (void)params;
    (void)p;
    curl_easy_cleanup(resource);
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
    /* Registered first, so it runs after the reslist (and its handles) is gone. */
    apr_pool_cleanup_register(pchild, NULL, global_cleanup, apr_pool_cleanup_null);
    if (items_sigv4_create(&signer, pchild) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (max_handles < 1) {
        max_handles = 1;
    }
    return apr_reslist_create(&handles, 0, max_handles, max_handles, 0, handle_create,
                              handle_destroy, NULL, pchild);
}

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

/* The Date header, for clock-skew correction. */
static size_t sink_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    body_sink_t *sink = userdata;
    size_t n = size * nmemb;

    if (n > 5 && n < 128 && !strncasecmp(data, "date:", 5)) {
        char line[128];
        memcpy(line, data + 5, n - 5);
        line[n - 5] = '\0';
        sink->date = apr_date_parse_rfc(line);
    }
    return n;
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
    /* apr_uri_parse drops the brackets of an IPv6 literal; curl sends them. */
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

static apr_status_t append(struct curl_slist **list, const char *line)
{
    struct curl_slist *added = curl_slist_append(*list, line);

    if (!added) {
        return APR_ENOMEM;
    }
    *list = added;
    return APR_SUCCESS;
}

/*
 * Sign req with our SigV4 signer (items_sigv4.c) and build the header list:
 * the caller's lines, then Host (unless given), X-Amz-Date, the session
 * token and Authorization. Everything signed is sent byte for byte as signed.
 */
static apr_status_t sign_request(struct curl_slist **list, const char **why, apr_pool_t *p,
                                 const items_http_request_t *req)
{
    items_sigv4_header_t *hs;
    items_sigv4_request_t sreq;
    items_sigv4_result_t res;
    apr_time_t when = req->sign_time;
    const char *const *h;
    apr_size_t n = 0;
    int caller_host = 0;
    apr_status_t rv;

    for (h = req->headers; h && *h; h++) {
        n++;
    }
    hs = apr_palloc(p, (n + 1) * sizeof(*hs));
    n = 0;
    for (h = req->headers; h && *h; h++) {
        const char *colon = strchr(*h, ':');
        if (!colon) {
            *why = "a request header line has no ':'";
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
        caller_host |= !strcasecmp(hs[n].name, "Host");
        if ((rv = append(list, *h)) != APR_SUCCESS) {
            return rv;
        }
        n++;
    }
    if (!caller_host) {
        const char *host = req->host ? req->host : items_http_host(p, req->url);
        if (!host) {
            *why = "the endpoint URL has no host";
            return APR_EINVAL;
        }
        hs[n].name = "Host";
        hs[n++].value = host;
        if ((rv = append(list, apr_pstrcat(p, "Host: ", host, NULL))) != APR_SUCCESS) {
            return rv;
        }
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
    rv = append(list, apr_pstrcat(p, "X-Amz-Date: ", res.amz_date, NULL));
    if (rv == APR_SUCCESS && res.security_token) {
        char *line = apr_pstrcat(p, "X-Amz-Security-Token: ", res.security_token, NULL);
        rv = append(list, line);
        memset(line, 0, strlen(line));
    }
    if (rv == APR_SUCCESS) {
        rv = append(list, apr_pstrcat(p, "Authorization: ", res.authorization, NULL));
    }
    return rv;
}

apr_status_t items_http_post(items_http_response_t *resp, apr_pool_t *p,
                             const items_http_request_t *req)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    body_sink_t sink = { p, NULL, 0, 0, req->max_response, 0 };
    struct curl_slist *headers = NULL;
    CURL *curl = NULL;
    CURLcode rc;
    apr_status_t rv;
    void *res, *warm = NULL;
    long connects = 0;

    memset(resp, 0, sizeof(*resp));
    if (!handles) {
        resp->error = "HTTP client not initialised";
        return APR_EINIT;
    }
    rv = apr_reslist_acquire(handles, &res);
    if (rv != APR_SUCCESS) {
        resp->error = "no HTTP handle available";
        return ITEMS_EUNAVAILABLE;
    }
    curl = res;
    /* Whether the handle's last transfer left a kept-alive connection (see resent). */
    curl_easy_getinfo(curl, CURLINFO_PRIVATE, &warm);
    curl_easy_reset(curl); /* keeps the connection cache */
    rv = APR_SUCCESS;

    {
        const char *why = "out of memory for the request headers";
        rv = sign_request(&headers, &why, p, req);
        if (rv != APR_SUCCESS) {
            resp->error = why;
            goto done;
        }
    }

    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, to_ms(req->connect_timeout));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, to_ms(req->timeout));
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, sink_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
    if (req->ca_file) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, req->ca_file);
    }

    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    {
        long request_size = 0;
        curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_size);
        resp->sent = request_size > 0;
    }
    resp->date = sink.date;
    /*
     * A transfer that had a kept-alive connection yet connected anew either found
     * it closed (nothing sent) or lost it after sending and sent again: assume the
     * worse, so that writes check what happened.
     */
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
    resp->resent = warm && connects > 0;
    rv = take_result(resp, p, rc, errbuf, &sink);

done:
    /* Leave nothing of this request (credentials, headers, buffers) in the handle. */
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, NULL);
    curl_easy_setopt(curl, CURLOPT_PRIVATE, rv == APR_SUCCESS ? (void *)curl : NULL);
    free_wiped(headers); /* curl's copies of the token line */
    if (rv == APR_SUCCESS || rv == APR_ENOMEM) {
        apr_reslist_release(handles, curl);
    }
    else {
        /* A failed transfer may leave a half-dead connection: start afresh. */
        apr_reslist_invalidate(handles, curl);
    }
    return rv;
}

/* --- unsigned calls (credential providers) ---------------------------------- */

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
    body_sink_t sink = { p, NULL, 0, 0, req->max_response, 0 };
    struct curl_slist *headers = NULL, *added;
    const char *const *h;
    int pooled = handles != NULL;
    CURL *curl = NULL;
    CURLcode rc;
    apr_status_t rv;
    void *res;

    memset(resp, 0, sizeof(*resp));
    if (pooled) {
        if (apr_reslist_acquire(handles, &res) != APR_SUCCESS) {
            resp->error = "no HTTP handle available";
            return ITEMS_EUNAVAILABLE;
        }
        curl = res;
        curl_easy_reset(curl);
    }
    else if ((curl = curl_easy_init()) == NULL) {
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
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, NULL);
    free_wiped(headers);
    /* As items_http_post does: a kept-alive connection, for its resend detection. */
    curl_easy_setopt(curl, CURLOPT_PRIVATE, rv == APR_SUCCESS ? (void *)curl : NULL);
    if (!pooled) {
        curl_easy_cleanup(curl);
    }
    else if (rv == APR_SUCCESS || rv == APR_ENOMEM) {
        apr_reslist_release(handles, curl);
    }
    else {
        apr_reslist_invalidate(handles, curl);
    }
    return rv;
}
