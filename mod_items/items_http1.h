/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.1 framing of the answer to one request (RFC 9112), for items_http.c:
 * libcurl connects (DNS, proxy, TLS) and moves the bytes; this decides where
 * an answer ends and whether its connection can carry the next request.
 * Pure: no I/O, no allocation; fuzzed (tests/fuzz/fuzz_http_answer.c).
 */
#ifndef ITEMS_HTTP1_H
#define ITEMS_HTTP1_H

#include <apr_errno.h>
#include <apr_time.h>

/* Each head (status line and headers), and the trailer section; all heads
 * of one answer (1xx included) together get twice that. */
#define ITEMS_HTTP1_MAX_HEAD (64 * 1024)

typedef struct items_http1_answer {
    int status;          /* the final (non-1xx) status */
    int keep_alive;      /* the connection may carry another request */
    apr_time_t date;     /* the Date header, 0 when absent or malformed */
    char *body;          /* inside buf, NUL-terminated (chunks decoded in place) */
    apr_size_t body_len;
} items_http1_answer_t;

/*
 * Parse the answer in buf[0..len), the bytes read from the connection so far;
 * buf[len] must be writable. eof: the peer closed (nothing more will come).
 * APR_SUCCESS: the answer is complete and *ans is filled (a chunked body is
 * decoded in place, so buf is then changed). APR_INCOMPLETE: read more and call
 * again with everything read. ITEMS_EBADGATEWAY, with *why in words: not an
 * HTTP/1.x answer, malformed framing, a head over ITEMS_HTTP1_MAX_HEAD, a body
 * over max_body, or the connection closed before the answer's end.
 */
apr_status_t items_http1_parse(items_http1_answer_t *ans, const char **why, char *buf,
                               apr_size_t len, int eof, apr_size_t max_body);

#endif
