/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_items_floor: the benchmark's lower bound for mod_items (bench/run, "floor").
 *
 * One httpd request plus one keep-alive round trip to DynamoDB, and nothing else:
 * each worker thread keeps one TCP connection to the backend (ItemsFloorBackend);
 * a request sends a fixed GetItem call on it, waits for the whole answer and then
 * returns the constant JSON item that mod_items returns for GET /items/bench-0001
 * on bench/run's stub. No JSON, no signing, no libcurl, no error mapping: no
 * handler that makes the call can cost less. Like mod_items, it spares its
 * requests httpd's directory walk. Any failure closes the connection (the next
 * request opens a new one) and answers 502.
 *
 *   LoadModule items_floor_module .../mod_items_floor.so
 *   ItemsFloorBackend 127.0.0.1:8000
 *   <Location "/floor">
 *       SetHandler items-floor
 *       Require all granted
 *   </Location>
 *
 * Built by bench/run with apxs; not part of mod_items.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <ap_expr.h>
#include <apr_network_io.h>
#include <apr_strings.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/time.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define FLOOR_HANDLER "items-floor"
#define FLOOR_TIMEOUT_MS 10000
#define FLOOR_BUFFER 8192

#define FLOOR_CALL_BODY \
    "{\"TableName\":\"items\",\"Key\":{\"id\":{\"S\":\"bench-0001\"}}}"

/* What mod_items answers for GET /items/bench-0001 on the stub, byte for byte. */
#define FLOOR_ANSWER \
    "{\"id\":\"bench-0001\",\"name\":\"Benchmark item\"," \
    "\"description\":\"A constant item answered by the DynamoDB stub of bench/run\"}"

module AP_MODULE_DECLARE_DATA items_floor_module;

APLOG_USE_MODULE(items_floor);

typedef struct {
    int set;
    struct sockaddr_in addr;
    const char *call;           /* the whole HTTP request sent per call */
    apr_size_t call_len;
} floor_conf_t;

/* This worker thread's connection to the backend, or -1. */
static __thread int floor_fd = -1;

static void *floor_create_server(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pcalloc(p, sizeof(floor_conf_t));
}

static void *floor_merge_server(apr_pool_t *p, void *basev, void *addv)
{
    floor_conf_t *add = addv;

    (void)p;
    return add->set ? add : basev;
}

static const char *floor_set_backend(cmd_parms *cmd, void *dummy, const char *arg)
{
    floor_conf_t *c = ap_get_module_config(cmd->server->module_config,
                                           &items_floor_module);
    char *host, *scope;
    apr_port_t port;

    (void)dummy;
    if (apr_parse_addr_port(&host, &scope, &port, arg, cmd->pool) != APR_SUCCESS
        || !host || scope || !port) {
        return "ItemsFloorBackend: expected IPv4-ADDRESS:PORT, e.g. 127.0.0.1:8000";
    }
    memset(&c->addr, 0, sizeof(c->addr));
    c->addr.sin_family = AF_INET;
    c->addr.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &c->addr.sin_addr) != 1) {
        return "ItemsFloorBackend: the address must be an IPv4 literal";
    }
    c->call = apr_psprintf(cmd->pool,
                           "POST / HTTP/1.1\r\n"
                           "Host: %s:%u\r\n"
                           "X-Amz-Target: DynamoDB_20120810.GetItem\r\n"
                           "Content-Type: application/x-amz-json-1.0\r\n"
                           "Content-Length: %u\r\n"
                           "\r\n"
                           "%s",
                           host, (unsigned)port,
                           (unsigned)(sizeof(FLOOR_CALL_BODY) - 1), FLOOR_CALL_BODY);
    c->call_len = strlen(c->call);
    c->set = 1;
    return NULL;
}

static void floor_close(void)
{
    if (floor_fd >= 0) {
        close(floor_fd);
        floor_fd = -1;
    }
}

static apr_status_t floor_connect(const floor_conf_t *c)
{
    struct timeval tv = { FLOOR_TIMEOUT_MS / 1000, (FLOOR_TIMEOUT_MS % 1000) * 1000 };
    int one = 1;

    floor_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (floor_fd < 0) {
        return errno;
    }
    if (setsockopt(floor_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0
        || setsockopt(floor_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0
        || setsockopt(floor_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0
        || connect(floor_fd, (const struct sockaddr *)&c->addr, sizeof(c->addr)) < 0) {
        apr_status_t rv = errno;

        floor_close();
        return rv;
    }
    return APR_SUCCESS;
}

static apr_status_t floor_send(const char *data, apr_size_t len)
{
    while (len > 0) {
        ssize_t n = send(floor_fd, data, len, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        data += n;
        len -= (apr_size_t)n;
    }
    return APR_SUCCESS;
}

/* The value of Content-Length in a header block that ends with CRLF CRLF, or -1. */
static long floor_content_length(const char *head, const char *end)
{
    static const char name[] = "\r\ncontent-length:";
    const apr_size_t n = sizeof(name) - 1;
    const char *p;
    long v = -1;

    for (p = head; p + n <= end; p++) {
        if (*p == '\r' && !strncasecmp(p, name, n)) {
            p += n;
            while (p < end && (*p == ' ' || *p == '\t')) {
                p++;
            }
            for (v = 0; p < end && *p >= '0' && *p <= '9'; p++) {
                v = v * 10 + (*p - '0');
                if (v > FLOOR_BUFFER) {
                    return -1;
                }
            }
            return v;
        }
    }
    return v;
}

/*
 * Reads one whole answer: its headers, then Content-Length bytes of body, with
 * blocking recv() calls (the socket's SO_RCVTIMEO bounds each): one system call
 * waits for and takes each piece. An answer that is not 200, has no
 * Content-Length or does not fit is an error.
 */
static apr_status_t floor_receive(const char **what)
{
    char buf[FLOOR_BUFFER];
    apr_size_t got = 0, need = 0;

    for (;;) {
        ssize_t n = recv(floor_fd, buf + got, sizeof(buf) - got, 0);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            *what = errno == EAGAIN || errno == EWOULDBLOCK ? "recv (timed out)" : "recv";
            return errno;
        }
        if (n == 0) {
            *what = "recv (closed by the backend)";
            return APR_EOF;
        }
        got += (apr_size_t)n;
        if (!need) {
            const char *end = memmem(buf, got, "\r\n\r\n", 4);
            long len;

            if (!end) {
                if (got == sizeof(buf)) {
                    *what = "headers too long";
                    return APR_EGENERAL;
                }
                continue;
            }
            end += 4;
            if (got < 13 || memcmp(buf, "HTTP/1.1 200 ", 13)) {
                *what = "status other than 200";
                return APR_EGENERAL;
            }
            len = floor_content_length(buf, end);
            if (len < 0 || (apr_size_t)(end - buf) + (apr_size_t)len > sizeof(buf)) {
                *what = "no usable Content-Length";
                return APR_EGENERAL;
            }
            need = (apr_size_t)(end - buf) + (apr_size_t)len;
        }
        if (got == need) {
            return APR_SUCCESS;
        }
        if (got > need) {
            *what = "more bytes than the answer holds";
            return APR_EGENERAL;
        }
    }
}

static int floor_handler(request_rec *r)
{
    const floor_conf_t *c;
    const char *what = "connect";
    apr_status_t rv;

    if (!r->handler || strcmp(r->handler, FLOOR_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        r->allowed = AP_METHOD_BIT << M_GET;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    c = ap_get_module_config(r->server->module_config, &items_floor_module);
    if (!c->set) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "FLOOR0001: no ItemsFloorBackend");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = floor_fd < 0 ? floor_connect(c) : APR_SUCCESS;
    if (rv == APR_SUCCESS) {
        what = "send";
        rv = floor_send(c->call, c->call_len);
    }
    if (rv == APR_SUCCESS) {
        rv = floor_receive(&what);
    }
    if (rv != APR_SUCCESS) {
        floor_close();
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "FLOOR0002: backend call failed: %s",
                      what);
        return HTTP_BAD_GATEWAY;
    }
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, sizeof(FLOOR_ANSWER) - 1);
    if (!r->header_only) {
        ap_rwrite(FLOOR_ANSWER, sizeof(FLOOR_ANSWER) - 1, r);
    }
    return OK;
}

/*
 * Requests for a <Location> whose handler is ours map to no file: as mod_items
 * does for its own, name them here so that map_to_storage can skip the
 * directory walk. Runs after mod_items' hook, which takes /items first.
 */
static int floor_translate_name(request_rec *r)
{
    core_dir_config *d = ap_get_core_module_config(r->per_dir_config);
    const char *err = NULL, *h;

    if (!d->expr_handler) {
        return DECLINED;
    }
    h = ap_expr_str_exec(r, d->expr_handler, &err);
    if (err || !h || strcmp(h, FLOOR_HANDLER)) {
        return DECLINED;
    }
    r->filename = apr_pstrcat(r->pool, "floor:", r->uri, NULL);
    return OK;
}

static int floor_map_to_storage(request_rec *r)
{
    return (r->filename && !strncmp(r->filename, "floor:", 6)) ? OK : DECLINED;
}

static void floor_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_translate_name(floor_translate_name, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(floor_map_to_storage, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(floor_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

static const command_rec floor_cmds[] = {
    AP_INIT_TAKE1("ItemsFloorBackend", floor_set_backend, NULL, RSRC_CONF,
                  "IPv4-ADDRESS:PORT of the backend the floor calls once per request"),
    { NULL }
};

module AP_MODULE_DECLARE_DATA items_floor_module = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    floor_create_server,
    floor_merge_server,
    floor_cmds,
    floor_register_hooks,
    AP_MODULE_FLAG_NONE
};
