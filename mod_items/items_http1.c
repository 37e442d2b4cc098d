/* SPDX-License-Identifier: Apache-2.0 */
#include "items_http1.h"
#include "items_status.h"

#include <apr_date.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include <string.h>

/* How the body of an answer is delimited. */
typedef enum { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_TO_CLOSE } framing_t;

typedef struct head {
    int status;
    int keep_alive;
    int close;      /* a "close" option: final, whatever else is listed (RFC 9112 9.6) */
    apr_time_t date;
    framing_t framing;
    apr_size_t content_length;
    apr_size_t end; /* offset of the body: just after the empty line */
} head_t;

#define FAIL(text) (*why = (text), ITEMS_EBADGATEWAY)
#define MAX_CHUNK_LINE 1024

/* The end of the line starting at s (its CR), or NULL when no CRLF ends it before end. */
static const char *line_end(const char *s, const char *end)
{
    const char *cr = s;

    while ((cr = memchr(cr, '\r', (apr_size_t)(end - cr))) != NULL) {
        if (cr + 1 >= end) {
            return NULL;
        }
        if (cr[1] == '\n') {
            return cr;
        }
        cr++;
    }
    return NULL;
}

static int is_token_char(char c)
{
    return apr_isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Case-insensitive equality of [s, s+n) and a lower-case literal. */
static int name_is(const char *s, apr_size_t n, const char *lower)
{
    return strlen(lower) == n && !strncasecmp(s, lower, n);
}

/* Trim optional white space (SP, HTAB) around [*v, *v + *n). */
static void trim(const char **v, apr_size_t *n)
{
    while (*n && (**v == ' ' || **v == '\t')) {
        (*v)++;
        (*n)--;
    }
    while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t')) {
        (*n)--;
    }
}

/* Comma-separated tokens of a Connection header. */
static void connection_tokens(head_t *h, const char *v, apr_size_t n)
{
    while (n) {
        apr_size_t k = 0;
        const char *t;
        apr_size_t tn;

        while (k < n && v[k] != ',') {
            k++;
        }
        t = v;
        tn = k;
        trim(&t, &tn);
        if (name_is(t, tn, "close")) {
            h->close = 1;
        }
        else if (name_is(t, tn, "keep-alive")) {
            h->keep_alive = 1;
        }
        v += k < n ? k + 1 : k;
        n -= k < n ? k + 1 : k;
    }
}

static apr_status_t header_field(head_t *h, const char **why, int *chunked, int *has_length,
                                 const char *s, const char *eol)
{
    const char *colon = memchr(s, ':', (apr_size_t)(eol - s)), *c, *v;
    apr_size_t vn;

    if (!colon || colon == s) {
        return FAIL("a header line of the answer is malformed");
    }
    for (c = s; c < colon; c++) {
        if (!is_token_char(*c)) {
            return FAIL("a header name of the answer is malformed");
        }
    }
    v = colon + 1;
    vn = (apr_size_t)(eol - v);
    trim(&v, &vn);
    if (memchr(v, '\0', vn)) {
        return FAIL("a header value of the answer holds a NUL");
    }
    if (name_is(s, (apr_size_t)(colon - s), "content-length")) {
        apr_size_t value = 0, i;
        if (!vn) {
            return FAIL("the answer's Content-Length is malformed");
        }
        for (i = 0; i < vn; i++) {
            if (!apr_isdigit(v[i]) || value > (APR_SIZE_MAX - 9) / 10) {
                return FAIL("the answer's Content-Length is malformed");
            }
            value = value * 10 + (apr_size_t)(v[i] - '0');
        }
        if (*has_length && value != h->content_length) {
            return FAIL("the answer has conflicting Content-Length headers");
        }
        *has_length = 1;
        h->content_length = value;
    }
    else if (name_is(s, (apr_size_t)(colon - s), "transfer-encoding")) {
        if (!name_is(v, vn, "chunked")) {
            return FAIL("the answer uses a transfer coding other than chunked");
        }
        *chunked = 1;
    }
    else if (name_is(s, (apr_size_t)(colon - s), "connection")) {
        connection_tokens(h, v, vn);
    }
    else if (name_is(s, (apr_size_t)(colon - s), "date") && vn < 64) {
        char text[64];
        memcpy(text, v, vn);
        text[vn] = '\0';
        h->date = apr_date_parse_rfc(text);
    }
    return APR_SUCCESS;
}

/*
 * One status line and its header fields, from buf + start. APR_INCOMPLETE until
 * the empty line that ends them has arrived.
 */
static apr_status_t parse_head(head_t *h, const char **why, const char *buf, apr_size_t len,
                               apr_size_t start)
{
    const char *s = buf + start, *end = buf + len, *eol;
    int chunked = 0, has_length = 0;
    apr_status_t rv;

    memset(h, 0, sizeof(*h));
    if ((apr_size_t)(end - s) < 5) {
        return memcmp(s, "HTTP/", (apr_size_t)(end - s)) ? FAIL("the answer is not HTTP")
                                                         : APR_INCOMPLETE;
    }
    if (memcmp(s, "HTTP/", 5)) {
        return FAIL("the answer is not HTTP");
    }
    if (!(eol = line_end(s, end))) {
        return APR_INCOMPLETE;
    }
    /* HTTP/1.x SP 3DIGIT [SP reason] */
    if (eol - s < 12 || memcmp(s, "HTTP/1.", 7) || !apr_isdigit(s[7]) || s[8] != ' '
        || !apr_isdigit(s[9]) || !apr_isdigit(s[10]) || !apr_isdigit(s[11])
        || (eol - s > 12 && s[12] != ' ')) {
        return FAIL("the answer's status line is malformed");
    }
    h->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (h->status < 100) {
        return FAIL("the answer's status line is malformed");
    }
    h->keep_alive = s[7] != '0'; /* HTTP/1.1 keeps the connection unless told otherwise */
    for (s = eol + 2;; s = eol + 2) {
        if (!(eol = line_end(s, end))) {
            return APR_INCOMPLETE;
        }
        if (eol == s) {
            break;
        }
        if (*s == ' ' || *s == '\t') {
            return FAIL("the answer folds a header line");
        }
        if ((rv = header_field(h, why, &chunked, &has_length, s, eol)) != APR_SUCCESS) {
            return rv;
        }
    }
    h->end = (apr_size_t)(eol + 2 - buf);
    h->keep_alive &= !h->close;
    if (h->status < 200 || h->status == 204 || h->status == 304) {
        h->framing = BODY_NONE;
    }
    else if (chunked) {
        h->framing = BODY_CHUNKED;
        /* Both framings: a sender we should not trust with the next request. */
        h->keep_alive &= !has_length;
    }
    else if (has_length) {
        h->framing = BODY_LENGTH;
    }
    else {
        h->framing = BODY_TO_CLOSE;
        h->keep_alive = 0;
    }
    return APR_SUCCESS;
}

/*
 * Walk the chunks from buf + pos; when the last chunk and the trailer section
 * are in, decode the data in place to buf + pos and set *body_len.
 */
static apr_status_t parse_chunked(apr_size_t *body_len, apr_size_t *answer_end, const char **why,
                                  char *buf, apr_size_t len, apr_size_t pos, apr_size_t max_body)
{
    const char *end = buf + len, *s = buf + pos, *eol, *trailers;
    apr_size_t total = 0, out = pos;
    int pass;

    for (pass = 0; pass < 2; pass++) {
        s = buf + pos;
        for (;;) {
            apr_size_t size = 0;
            int digits = 0;

            /* a chunk-size line (extensions included) is short, wherever recv() split it */
            if (!(eol = line_end(s, end))) {
                return (apr_size_t)(end - s) > MAX_CHUNK_LINE
                           ? FAIL("a chunk header of the answer is too long")
                           : APR_INCOMPLETE;
            }
            if ((apr_size_t)(eol - s) > MAX_CHUNK_LINE) {
                return FAIL("a chunk header of the answer is too long");
            }
            while (s < eol && apr_isxdigit(*s)) {
                if (++digits > 15) {
                    return FAIL("a chunk size of the answer is too large");
                }
                size = size * 16 + (apr_size_t)(apr_isdigit(*s) ? *s - '0' : (*s | 0x20) - 'a' + 10);
                s++;
            }
            /* optional white space and chunk extensions, which we ignore */
            if (!digits || (s < eol && *s != ';' && *s != ' ' && *s != '\t')) {
                return FAIL("a chunk header of the answer is malformed");
            }
            s = eol + 2;
            if (size == 0) {
                break;
            }
            if (pass == 0) {
                if (size > max_body - total) {
                    return FAIL("the answer is larger than allowed");
                }
                total += size;
            }
            if ((apr_size_t)(end - s) < size + 2) {
                return APR_INCOMPLETE;
            }
            if (s[size] != '\r' || s[size + 1] != '\n') {
                return FAIL("a chunk of the answer does not end where its size says");
            }
            if (pass == 1) {
                memmove(buf + out, s, size);
                out += size;
            }
            s += size + 2;
        }
        /* the trailer section: header lines up to an empty one, ITEMS_HTTP1_MAX_HEAD in all */
        trailers = s;
        for (;;) {
            int empty;

            if (!(eol = line_end(s, end))) {
                return (apr_size_t)(end - trailers) > ITEMS_HTTP1_MAX_HEAD
                           ? FAIL("the answer's trailer section is too large")
                           : APR_INCOMPLETE;
            }
            empty = eol == s;
            s = eol + 2;
            if ((apr_size_t)(s - trailers) > ITEMS_HTTP1_MAX_HEAD) {
                return FAIL("the answer's trailer section is too large");
            }
            if (empty) {
                break;
            }
        }
        *answer_end = (apr_size_t)(s - buf);
    }
    *body_len = total;
    return APR_SUCCESS;
}

apr_status_t items_http1_parse(items_http1_answer_t *ans, const char **why, char *buf,
                               apr_size_t len, int eof, apr_size_t max_body)
{
    apr_size_t start = 0, body_len = 0, answer_end;
    head_t h;
    apr_status_t rv;

    memset(ans, 0, sizeof(*ans));
    *why = NULL;
    /* interim 1xx answers come before the final one: skip them */
    for (;;) {
        rv = parse_head(&h, why, buf, len, start);
        if (rv == APR_INCOMPLETE) {
            if (len - start > ITEMS_HTTP1_MAX_HEAD || len > ITEMS_HTTP1_MAX_HEAD * 2) {
                return FAIL("the answer's header section is too large");
            }
            return eof ? FAIL(len ? "the connection closed in the answer's header section"
                                  : "the connection closed without an answer")
                       : APR_INCOMPLETE;
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (h.end - start > ITEMS_HTTP1_MAX_HEAD || h.end > ITEMS_HTTP1_MAX_HEAD * 2) {
            return FAIL("the answer's header section is too large");
        }
        if (h.status == 101) {
            return FAIL("the answer switches protocols, which was not asked for");
        }
        if (h.status >= 200) {
            break;
        }
        start = h.end;
    }

    switch (h.framing) {
    case BODY_NONE:
        answer_end = h.end;
        break;
    case BODY_LENGTH:
        if (h.content_length > max_body) {
            return FAIL("the answer is larger than allowed");
        }
        if (len - h.end < h.content_length) {
            return eof ? FAIL("the connection closed before the answer's end") : APR_INCOMPLETE;
        }
        body_len = h.content_length;
        answer_end = h.end + body_len;
        break;
    case BODY_CHUNKED:
        rv = parse_chunked(&body_len, &answer_end, why, buf, len, h.end, max_body);
        if (rv == APR_INCOMPLETE && eof) {
            return FAIL("the connection closed before the answer's end");
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        break;
    default: /* BODY_TO_CLOSE */
        if (len - h.end > max_body) {
            return FAIL("the answer is larger than allowed");
        }
        if (!eof) {
            return APR_INCOMPLETE;
        }
        body_len = len - h.end;
        answer_end = len;
        break;
    }

    ans->status = h.status;
    /* bytes past the answer were never asked for: the connection is out of step */
    ans->keep_alive = h.keep_alive && !eof && answer_end == len;
    ans->date = h.date;
    ans->body = buf + h.end;
    ans->body_len = body_len;
    ans->body[body_len] = '\0';
    return APR_SUCCESS;
}
