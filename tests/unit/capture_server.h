/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny HTTP/1.1 server on 127.0.0.1 (ephemeral port) for the HTTP client
 * tests. It runs in its own thread, keeps connections alive (several requests
 * per connection, pipelining tolerated), records every request it parses and
 * answers with a configurable canned response, or misbehaves on purpose.
 *
 * Only Content-Length framed request bodies are understood (all libcurl sends
 * for CURLOPT_POSTFIELDS); a request with Transfer-Encoding is recorded with an
 * empty body and answered 501 + close.
 *
 * Thread safety: the configuration setters and the accessors may be called
 * from any thread while the server runs. A recorded request is immutable once
 * visible and stays valid until capture_server_reset() or capture_server_stop().
 * A request is recorded before it is answered (or before the connection is
 * closed on it), so after the client call returns its request is visible.
 */
#ifndef CAPTURE_SERVER_H
#define CAPTURE_SERVER_H

#include <stddef.h>

typedef enum capture_action {
    CAPTURE_ANSWER = 0, /* status line + headers + body (default: 200, "{}") */
    CAPTURE_CLOSE,      /* close the connection without answering */
    CAPTURE_GARBAGE,    /* send bytes that are not HTTP, then close */
    CAPTURE_RAW,        /* send the bytes given to capture_server_set_raw(), then close */
    CAPTURE_SILENT,     /* never answer; the connection stays open until the peer leaves */
    CAPTURE_RAW_KEEP    /* send the capture_server_set_raw() bytes and keep the connection:
                         * whatever they say, the next request on it is read and answered */
} capture_action_t;

typedef struct capture_header {
    const char *line;  /* raw line as received, without CRLF */
    const char *name;  /* as received (case kept) */
    const char *value; /* leading and trailing blanks removed */
} capture_header_t;

typedef struct capture_request {
    const char *method;
    const char *target;  /* request-target as received, e.g. "/?a=b" */
    const char *version; /* "HTTP/1.1" */
    const capture_header_t *headers; /* in the order received */
    size_t n_headers;
    const char *body;    /* NUL-terminated (the NUL is not counted) */
    size_t body_len;
    unsigned connection; /* 1-based number of the accepted connection */
} capture_request_t;

typedef struct capture_server capture_server_t;

/* Listen on 127.0.0.1:0 and start the server thread. NULL on failure. */
capture_server_t *capture_server_start(void);

/* Stop the thread, close every socket, free everything. NULL is ignored. */
void capture_server_stop(capture_server_t *srv);

unsigned short capture_server_port(const capture_server_t *srv);

/* What to do with the requests parsed from now on. */
void capture_server_set_action(capture_server_t *srv, capture_action_t action);

/* The answer for CAPTURE_ANSWER: status and body (copied). */
void capture_server_set_response(capture_server_t *srv, int status, const char *body,
                                 size_t body_len);

/* The bytes sent for CAPTURE_RAW (copied). */
void capture_server_set_raw(capture_server_t *srv, const char *bytes, size_t len);

/* Wait this long after a request was read before sending the answer. */
void capture_server_set_delay_ms(capture_server_t *srv, unsigned delay_ms);

/*
 * Close a connection once it has sat this long with nothing to send and no
 * partial request (as servers drop idle kept-alive connections), without a
 * word to the client. 0 (the default): never. Applies from the server's next
 * event on: set it before the requests whose connections it should close.
 */
void capture_server_set_idle_close_ms(capture_server_t *srv, unsigned idle_ms);

/* Forget the recorded requests and zero the connection counter. */
void capture_server_reset(capture_server_t *srv);

size_t capture_server_request_count(capture_server_t *srv);

/* The i-th recorded request (0-based), NULL when there is none. */
const capture_request_t *capture_server_request(capture_server_t *srv, size_t i);

/* Connections accepted so far. */
unsigned capture_server_connection_count(capture_server_t *srv);

/* Block until at least n requests are recorded; 0 on success, -1 on timeout. */
int capture_server_wait_requests(capture_server_t *srv, size_t n, unsigned timeout_ms);

/* Headers of a recorded request, by case-insensitive name. */
size_t capture_request_header_count(const capture_request_t *req, const char *name);
/* Value of the nth (0-based) header with that name, NULL when absent. */
const char *capture_request_header(const capture_request_t *req, const char *name, size_t nth);

#endif
