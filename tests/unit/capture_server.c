/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loopback HTTP/1.1 capture server for the unit tests; see capture_server.h.
 * One thread runs a poll() loop over a wake-up pipe, the listening socket and
 * every open connection. All sockets are non-blocking; answers are queued per
 * connection and written when the socket is writable and the configured delay
 * has passed.
 */
#include "capture_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAD (64u * 1024u)            /* request line + headers */
#define MAX_BODY (64u * 1024u * 1024u)    /* Content-Length accepted */
#define READ_CHUNK 65536

static const char garbage_bytes[] = "SSH-2.0-OpenSSH_9.2p1 this is not HTTP\r\n\r\n";

/* A recorded request and the memory behind it. */
typedef struct record {
    capture_request_t pub;  /* first member: a record is handed out as its pub */
    char *method, *target, *version, *body;
    capture_header_t *headers;
    size_t n_headers;
} record_t;

typedef struct conn {
    int fd;
    unsigned id;
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_off;
    uint64_t send_at;   /* monotonic ms: queued output is held back until then */
    uint64_t last_active; /* monotonic ms: accepted, bytes read, or output flushed */
    int close_after;    /* close once the output is flushed */
    int silent;         /* swallow input, never answer */
    int dead;
} conn_t;

struct capture_server {
    int listen_fd;
    int wake[2];
    unsigned short port;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;

    /* configuration, under lock */
    capture_action_t action;
    int status;
    char *body;
    size_t body_len;
    char *raw;
    size_t raw_len;
    unsigned delay_ms;
    unsigned idle_close_ms;

    /* records and counters, under lock */
    record_t **reqs;
    size_t n_reqs, cap_reqs;
    unsigned n_conns;

    /* owned by the server thread */
    conn_t **conns;
    size_t n_open, cap_open;
};

/* ------------------------------------------------------------------------ */

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        return -1;
    }
    return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void record_free(record_t *r)
{
    size_t i;

    if (!r) {
        return;
    }
    for (i = 0; i < r->n_headers; i++) {
        free((char *)r->headers[i].line);
        free((char *)r->headers[i].name);
        free((char *)r->headers[i].value);
    }
    free(r->headers);
    free(r->method);
    free(r->target);
    free(r->version);
    free(r->body);
    free(r);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Parse one request from buf. 1: *out holds it and *used the bytes it took;
 * 0: incomplete; -1: malformed or too large (*out is NULL).
 */
static int parse_request(const char *buf, size_t len, record_t **out, size_t *used,
                         int *want_close, int *chunked)
{
    const char *end = NULL, *p, *eol, *sp1, *sp2;
    size_t head_len, cl = 0, cap = 0, i;
    record_t *r;

    *out = NULL;
    *want_close = 0;
    *chunked = 0;
    for (i = 0; i + 3 < len; i++) {
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
            end = buf + i;
            break;
        }
    }
    if (!end) {
        return len > MAX_HEAD ? -1 : 0;
    }
    head_len = (size_t)(end - buf);
    if (head_len > MAX_HEAD) {
        return -1;
    }

    r = calloc(1, sizeof(*r));
    if (!r) {
        return -1;
    }

    /* request line */
    eol = memchr(buf, '\r', head_len);
    if (!eol) {
        eol = end;
    }
    sp1 = memchr(buf, ' ', (size_t)(eol - buf));
    sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || sp1 == buf || sp2 == sp1 + 1 || sp2 + 1 == eol) {
        goto bad;
    }
    r->method = dup_n(buf, (size_t)(sp1 - buf));
    r->target = dup_n(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    r->version = dup_n(sp2 + 1, (size_t)(eol - sp2 - 1));
    if (!r->method || !r->target || !r->version) {
        goto bad;
    }

    /* header lines */
    for (p = eol; p < end;) {
        const char *line = p + 2, *colon, *v, *ve;
        capture_header_t *h;

        eol = line;
        while (eol < end && !(eol[0] == '\r' && eol[1] == '\n')) {
            eol++;
        }
        colon = memchr(line, ':', (size_t)(eol - line));
        if (!colon || colon == line) {
            goto bad; /* no name, or an obs-fold continuation: not sent by libcurl */
        }
        if (r->n_headers == cap) {
            capture_header_t *grown;
            cap = cap ? cap * 2 : 16;
            grown = realloc(r->headers, cap * sizeof(*grown));
            if (!grown) {
                goto bad;
            }
            r->headers = grown;
        }
        v = colon + 1;
        while (v < eol && is_blank(*v)) {
            v++;
        }
        ve = eol;
        while (ve > v && is_blank(ve[-1])) {
            ve--;
        }
        h = &r->headers[r->n_headers];
        h->line = dup_n(line, (size_t)(eol - line));
        h->name = dup_n(line, (size_t)(colon - line));
        h->value = dup_n(v, (size_t)(ve - v));
        r->n_headers++;
        if (!h->line || !h->name || !h->value) {
            goto bad;
        }
        if (!strcasecmp(h->name, "Content-Length")) {
            char *stop;
            unsigned long long n;

            errno = 0;
            n = strtoull(h->value, &stop, 10);
            if (errno || stop == h->value || *stop || n > MAX_BODY) {
                goto bad;
            }
            cl = (size_t)n;
        }
        else if (!strcasecmp(h->name, "Transfer-Encoding")) {
            *chunked = 1;
        }
        else if (!strcasecmp(h->name, "Connection") && !strcasecmp(h->value, "close")) {
            *want_close = 1;
        }
        p = eol;
    }

    if (*chunked) {
        cl = 0; /* not supported: answered 501 and closed */
    }
    if (len - (head_len + 4) < cl) {
        record_free(r);
        return 0;
    }
    r->body = dup_n(end + 4, cl);
    if (!r->body) {
        goto bad;
    }

    r->pub.method = r->method;
    r->pub.target = r->target;
    r->pub.version = r->version;
    r->pub.headers = r->headers;
    r->pub.n_headers = r->n_headers;
    r->pub.body = r->body;
    r->pub.body_len = cl;
    *out = r;
    *used = head_len + 4 + cl;
    return 1;

bad:
    record_free(r);
    return -1;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

/* Queue bytes as the connection's next output (it has none pending). */
static int queue_bytes(conn_t *c, const char *bytes, size_t len, uint64_t send_at, int close_after)
{
    c->out = dup_n(bytes, len);
    if (!c->out) {
        return -1;
    }
    c->out_len = len;
    c->out_off = 0;
    c->send_at = send_at;
    c->close_after = close_after;
    return 0;
}

static int queue_answer(conn_t *c, int status, const char *body, size_t body_len,
                        uint64_t send_at, int close_after)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: application/x-amz-json-1.0\r\n"
                     "Content-Length: %zu\r\n"
                     "%s"
                     "\r\n",
                     status, reason(status), body_len, close_after ? "Connection: close\r\n" : "");

    if (n < 0 || (size_t)n >= sizeof(head)) {
        return -1;
    }
    c->out = malloc((size_t)n + body_len + 1);
    if (!c->out) {
        return -1;
    }
    memcpy(c->out, head, (size_t)n);
    if (body_len) {
        memcpy(c->out + n, body, body_len);
    }
    c->out_len = (size_t)n + body_len;
    c->out_off = 0;
    c->send_at = send_at;
    c->close_after = close_after;
    return 0;
}

static int add_record(capture_server_t *srv, record_t *r)
{
    if (srv->n_reqs == srv->cap_reqs) {
        size_t cap = srv->cap_reqs ? srv->cap_reqs * 2 : 16;
        record_t **grown = realloc(srv->reqs, cap * sizeof(*grown));

        if (!grown) {
            return -1;
        }
        srv->reqs = grown;
        srv->cap_reqs = cap;
    }
    srv->reqs[srv->n_reqs++] = r;
    pthread_cond_broadcast(&srv->cond);
    return 0;
}

/* Parse and act on complete requests while the connection can take one. */
static void process(capture_server_t *srv, conn_t *c)
{
    while (!c->dead && !c->silent && c->out_len == 0) {
        record_t *r;
        size_t used = 0;
        int want_close, chunked, rc;
        capture_action_t action;
        uint64_t send_at;

        rc = parse_request(c->in, c->in_len, &r, &used, &want_close, &chunked);
        if (rc == 0) {
            return;
        }
        if (rc < 0) {
            c->in_len = 0;
            if (queue_answer(c, 400, "", 0, now_ms(), 1) != 0) {
                c->dead = 1;
            }
            return;
        }
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
        r->pub.connection = c->id;

        pthread_mutex_lock(&srv->lock);
        if (add_record(srv, r) != 0) {
            record_free(r);
            pthread_mutex_unlock(&srv->lock);
            c->dead = 1;
            return;
        }
        action = srv->action;
        send_at = now_ms() + srv->delay_ms;
        rc = 0;
        switch (action) {
        case CAPTURE_ANSWER:
            if (chunked) {
                rc = queue_answer(c, 501, "", 0, send_at, 1);
            }
            else {
                rc = queue_answer(c, srv->status, srv->body, srv->body_len, send_at, want_close);
            }
            break;
        case CAPTURE_CLOSE:
            c->dead = 1;
            break;
        case CAPTURE_GARBAGE:
            rc = queue_bytes(c, garbage_bytes, sizeof(garbage_bytes) - 1, send_at, 1);
            break;
        case CAPTURE_RAW:
            rc = queue_bytes(c, srv->raw ? srv->raw : "", srv->raw_len, send_at, 1);
            break;
        case CAPTURE_SILENT:
            c->silent = 1;
            break;
        case CAPTURE_RAW_KEEP:
            rc = queue_bytes(c, srv->raw ? srv->raw : "", srv->raw_len, send_at, 0);
            break;
        }
        pthread_mutex_unlock(&srv->lock);
        if (rc != 0) {
            c->dead = 1;
        }
    }
}

static void read_conn(capture_server_t *srv, conn_t *c)
{
    for (;;) {
        ssize_t n;

        if (c->in_cap - c->in_len < READ_CHUNK) {
            size_t cap = c->in_cap ? c->in_cap * 2 : 2 * READ_CHUNK;
            char *grown;

            if (cap > MAX_HEAD + MAX_BODY + 2 * READ_CHUNK) {
                c->dead = 1;
                return;
            }
            grown = realloc(c->in, cap);
            if (!grown) {
                c->dead = 1;
                return;
            }
            c->in = grown;
            c->in_cap = cap;
        }
        n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n > 0) {
            c->last_active = now_ms();
            if (c->silent) {
                continue; /* swallowed */
            }
            c->in_len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        c->dead = 1; /* EOF or error: the peer is gone */
        return;
    }
    process(srv, c);
}

static void flush_conn(capture_server_t *srv, conn_t *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        c->dead = 1;
        return;
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    c->last_active = now_ms();
    if (c->close_after) {
        c->dead = 1;
        return;
    }
    process(srv, c); /* pipelined requests already read */
}

static void conn_free(conn_t *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    free(c->in);
    free(c->out);
    free(c);
}

static void accept_all(capture_server_t *srv)
{
    for (;;) {
        int fd = accept(srv->listen_fd, NULL, NULL), one = 1;
        conn_t *c;

        if (fd < 0) {
            if (errno == EINTR) {
                continue;
            }
            return; /* EAGAIN, or a transient error: poll again */
        }
        if (set_nonblocking(fd) != 0) {
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (srv->n_open == srv->cap_open) {
            size_t cap = srv->cap_open ? srv->cap_open * 2 : 8;
            conn_t **grown = realloc(srv->conns, cap * sizeof(*grown));

            if (!grown) {
                close(fd);
                continue;
            }
            srv->conns = grown;
            srv->cap_open = cap;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->last_active = now_ms();
        pthread_mutex_lock(&srv->lock);
        c->id = ++srv->n_conns;
        pthread_mutex_unlock(&srv->lock);
        srv->conns[srv->n_open++] = c;
    }
}

static void *serve(void *arg)
{
    capture_server_t *srv = arg;
    struct pollfd *pfds = NULL;
    size_t pcap = 0;

    for (;;) {
        size_t i, n = 2;
        uint64_t now = now_ms();
        int timeout = -1, rc;
        unsigned idle_ms;

        pthread_mutex_lock(&srv->lock);
        idle_ms = srv->idle_close_ms;
        pthread_mutex_unlock(&srv->lock);

        if (pcap < srv->n_open + 2) {
            struct pollfd *grown = realloc(pfds, (srv->n_open + 2) * sizeof(*grown));
            if (!grown) {
                break;
            }
            pfds = grown;
            pcap = srv->n_open + 2;
        }
        pfds[0].fd = srv->wake[0];
        pfds[0].events = POLLIN;
        pfds[1].fd = srv->listen_fd;
        pfds[1].events = POLLIN;
        for (i = 0; i < srv->n_open; i++, n++) {
            conn_t *c = srv->conns[i];

            pfds[n].fd = c->fd;
            pfds[n].events = POLLIN;
            if (c->out_len > c->out_off) {
                if (c->send_at <= now) {
                    pfds[n].events |= POLLOUT;
                }
                else {
                    uint64_t wait = c->send_at - now;
                    if (timeout < 0 || wait < (uint64_t)timeout) {
                        timeout = wait > 60000 ? 60000 : (int)wait;
                    }
                }
            }
            else if (idle_ms && c->in_len == 0) {
                uint64_t at = c->last_active + idle_ms, wait = at > now ? at - now : 0;
                if (timeout < 0 || wait < (uint64_t)timeout) {
                    timeout = wait > 60000 ? 60000 : (int)wait;
                }
            }
        }
        for (i = 0; i < n; i++) {
            pfds[i].revents = 0;
        }

        rc = poll(pfds, n, timeout);
        if (rc < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (pfds[0].revents) {
            break; /* capture_server_stop() */
        }

        /* existing connections first: pfds[2..] match conns[0..] */
        for (i = 0; i + 2 < n; i++) {
            conn_t *c = srv->conns[i];
            short ev = pfds[i + 2].revents;

            if (ev & (POLLIN | POLLHUP | POLLERR)) {
                read_conn(srv, c);
            }
            if (!c->dead && c->out_len > c->out_off && c->send_at <= now_ms()) {
                flush_conn(srv, c);
            }
            if (!c->dead && idle_ms && c->out_len == c->out_off && c->in_len == 0
                && now_ms() >= c->last_active + idle_ms) {
                c->dead = 1; /* idle too long: closed without a word */
            }
        }
        if (pfds[1].revents & POLLIN) {
            accept_all(srv);
        }

        /* drop dead connections */
        for (i = 0; i < srv->n_open;) {
            if (srv->conns[i]->dead) {
                conn_free(srv->conns[i]);
                srv->conns[i] = srv->conns[--srv->n_open];
            }
            else {
                i++;
            }
        }
    }

    free(pfds);
    return NULL;
}

/* ------------------------------------------------------------------------ */

capture_server_t *capture_server_start(void)
{
    capture_server_t *srv = calloc(1, sizeof(*srv));
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);

    if (!srv) {
        return NULL;
    }
    srv->listen_fd = -1;
    srv->wake[0] = srv->wake[1] = -1;
    srv->status = 200;
    srv->body = dup_n("{}", 2);
    srv->body_len = 2;
    if (!srv->body) {
        free(srv);
        return NULL;
    }
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->cond, NULL);

    srv->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (srv->listen_fd < 0) {
        goto fail;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    if (bind(srv->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0
        || listen(srv->listen_fd, 64) != 0
        || getsockname(srv->listen_fd, (struct sockaddr *)&sa, &salen) != 0
        || set_nonblocking(srv->listen_fd) != 0) {
        goto fail;
    }
    srv->port = ntohs(sa.sin_port);
    if (pipe(srv->wake) != 0) {
        srv->wake[0] = srv->wake[1] = -1;
        goto fail;
    }
    set_nonblocking(srv->wake[0]);
    set_nonblocking(srv->wake[1]);
    if (pthread_create(&srv->thread, NULL, serve, srv) != 0) {
        goto fail;
    }
    return srv;

fail:
    if (srv->listen_fd >= 0) {
        close(srv->listen_fd);
    }
    if (srv->wake[0] >= 0) {
        close(srv->wake[0]);
        close(srv->wake[1]);
    }
    pthread_cond_destroy(&srv->cond);
    pthread_mutex_destroy(&srv->lock);
    free(srv->body);
    free(srv);
    return NULL;
}

void capture_server_stop(capture_server_t *srv)
{
    size_t i;
    ssize_t w;

    if (!srv) {
        return;
    }
    do {
        w = write(srv->wake[1], "x", 1);
    } while (w < 0 && errno == EINTR);
    pthread_join(srv->thread, NULL);

    for (i = 0; i < srv->n_open; i++) {
        conn_free(srv->conns[i]);
    }
    free(srv->conns);
    close(srv->listen_fd);
    close(srv->wake[0]);
    close(srv->wake[1]);
    capture_server_reset(srv);
    free(srv->reqs);
    free(srv->body);
    free(srv->raw);
    pthread_cond_destroy(&srv->cond);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}

unsigned short capture_server_port(const capture_server_t *srv)
{
    return srv->port;
}

void capture_server_set_action(capture_server_t *srv, capture_action_t action)
{
    pthread_mutex_lock(&srv->lock);
    srv->action = action;
    pthread_mutex_unlock(&srv->lock);
}

void capture_server_set_response(capture_server_t *srv, int status, const char *body,
                                 size_t body_len)
{
    char *copy = dup_n(body ? body : "", body ? body_len : 0);

    pthread_mutex_lock(&srv->lock);
    if (copy) {
        free(srv->body);
        srv->body = copy;
        srv->body_len = body ? body_len : 0;
    }
    srv->status = status;
    pthread_mutex_unlock(&srv->lock);
}

void capture_server_set_raw(capture_server_t *srv, const char *bytes, size_t len)
{
    char *copy = dup_n(bytes ? bytes : "", bytes ? len : 0);

    pthread_mutex_lock(&srv->lock);
    if (copy) {
        free(srv->raw);
        srv->raw = copy;
        srv->raw_len = bytes ? len : 0;
    }
    pthread_mutex_unlock(&srv->lock);
}

void capture_server_set_delay_ms(capture_server_t *srv, unsigned delay_ms)
{
    pthread_mutex_lock(&srv->lock);
    srv->delay_ms = delay_ms;
    pthread_mutex_unlock(&srv->lock);
}

void capture_server_set_idle_close_ms(capture_server_t *srv, unsigned idle_ms)
{
    pthread_mutex_lock(&srv->lock);
    srv->idle_close_ms = idle_ms;
    pthread_mutex_unlock(&srv->lock);
}

void capture_server_reset(capture_server_t *srv)
{
    size_t i;

    pthread_mutex_lock(&srv->lock);
    for (i = 0; i < srv->n_reqs; i++) {
        record_free(srv->reqs[i]);
    }
    srv->n_reqs = 0;
    srv->n_conns = 0;
    pthread_mutex_unlock(&srv->lock);
}

size_t capture_server_request_count(capture_server_t *srv)
{
    size_t n;

    pthread_mutex_lock(&srv->lock);
    n = srv->n_reqs;
    pthread_mutex_unlock(&srv->lock);
    return n;
}

const capture_request_t *capture_server_request(capture_server_t *srv, size_t i)
{
    const capture_request_t *r = NULL;

    pthread_mutex_lock(&srv->lock);
    if (i < srv->n_reqs) {
        r = &srv->reqs[i]->pub;
    }
    pthread_mutex_unlock(&srv->lock);
    return r;
}

unsigned capture_server_connection_count(capture_server_t *srv)
{
    unsigned n;

    pthread_mutex_lock(&srv->lock);
    n = srv->n_conns;
    pthread_mutex_unlock(&srv->lock);
    return n;
}

int capture_server_wait_requests(capture_server_t *srv, size_t n, unsigned timeout_ms)
{
    struct timespec deadline;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&srv->lock);
    while (srv->n_reqs < n && rc == 0) {
        rc = pthread_cond_timedwait(&srv->cond, &srv->lock, &deadline);
    }
    rc = srv->n_reqs >= n ? 0 : -1;
    pthread_mutex_unlock(&srv->lock);
    return rc;
}

size_t capture_request_header_count(const capture_request_t *req, const char *name)
{
    size_t i, n = 0;

    for (i = 0; i < req->n_headers; i++) {
        if (!strcasecmp(req->headers[i].name, name)) {
            n++;
        }
    }
    return n;
}

const char *capture_request_header(const capture_request_t *req, const char *name, size_t nth)
{
    size_t i;

    for (i = 0; i < req->n_headers; i++) {
        if (!strcasecmp(req->headers[i].name, name) && nth-- == 0) {
            return req->headers[i].value;
        }
    }
    return NULL;
}
