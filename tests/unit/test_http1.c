/* SPDX-License-Identifier: Apache-2.0 */
/*
 * items_http1.c: where an HTTP/1.1 answer ends, what its body is and whether
 * its connection may carry the next request.
 *
 * Every input is parsed from a malloc'd copy of exactly its length plus the
 * one spare byte the parser may write (buf[len]), so sanitizer builds catch a
 * read or write past it. Incremental feeding is tested the way items_http.c
 * feeds the parser: every call gets everything read so far.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_date.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "items_http1.h"
#include "items_status.h"
#include "unit.h"

#define MAX_BODY ((apr_size_t)1024 * 1024)

/* A literal with its length, NULs included. */
#define LIT(s) (s), (sizeof(s) - 1)

/* --- helpers ------------------------------------------------------------------ */

static apr_status_t free_buf(void *buf)
{
    free(buf);
    return APR_SUCCESS;
}

/* A malloc'd copy of text with one spare byte, freed with the pool. */
static char *copy_of(apr_pool_t *p, const char *text, size_t len)
{
    char *buf = malloc(len + 1);

    assert_non_null(buf);
    memcpy(buf, text, len);
    buf[len] = '#'; /* the spare byte: must become the body's NUL or stay unread */
    apr_pool_cleanup_register(p, buf, free_buf, apr_pool_cleanup_null);
    return buf;
}

/* The input in words, for failure messages: CR, LF and NUL escaped, cut at 90. */
static const char *shown(apr_pool_t *p, const char *text, size_t len)
{
    char *out = apr_palloc(p, 4 * 90 + 8), *o = out;
    size_t i;

    for (i = 0; i < len && i < 90; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\r') {
            o += sprintf(o, "\\r");
        }
        else if (c == '\n') {
            o += sprintf(o, "\\n");
        }
        else if (c < 0x20 || c >= 0x7f) {
            o += sprintf(o, "\\x%02x", c);
        }
        else {
            *o++ = (char)c;
        }
    }
    strcpy(o, len > 90 ? "..." : "");
    return out;
}

/* Parse a fresh copy; *buf_out (optional) is that copy. ans and why are pre-filled with garbage. */
static apr_status_t parse(apr_pool_t *p, items_http1_answer_t *ans, const char **why,
                          char **buf_out, const char *text, size_t len, int eof,
                          apr_size_t max_body)
{
    char *buf = copy_of(p, text, len);

    memset(ans, 0x5a, sizeof(*ans));
    *why = "stale";
    if (buf_out) {
        *buf_out = buf;
    }
    return items_http1_parse(ans, why, buf, len, eof, max_body);
}

/* A complete answer: status, body and keep_alive as given; the body inside the buffer, NUL-terminated. */
static void expect_answer_at(apr_pool_t *p, int line, const char *text, size_t len, int eof,
                             int status, const char *body, size_t body_len, int keep_alive)
{
    items_http1_answer_t ans;
    const char *why;
    char *buf;
    apr_status_t rv = parse(p, &ans, &why, &buf, text, len, eof, MAX_BODY);

    if (rv != APR_SUCCESS) {
        fail_msg("line %d: status %d (%s) for \"%s\" (eof %d), expected success", line, rv,
                 why ? why : "no reason", shown(p, text, len), eof);
    }
    assert_null(why);
    if (ans.status != status || ans.keep_alive != keep_alive) {
        fail_msg("line %d: status %d, keep_alive %d for \"%s\" (eof %d), expected %d, %d", line,
                 ans.status, ans.keep_alive, shown(p, text, len), eof, status, keep_alive);
    }
    assert_non_null(ans.body);
    assert_true(ans.body >= buf && ans.body + ans.body_len <= buf + len);
    if (ans.body_len != body_len || memcmp(ans.body, body, body_len)) {
        fail_msg("line %d: body \"%s\" (%zu bytes), expected \"%s\" (%zu bytes)", line,
                 shown(p, ans.body, ans.body_len), (size_t)ans.body_len,
                 shown(p, body, body_len), body_len);
    }
    assert_int_equal(ans.body[ans.body_len], '\0');
}
#define EXPECT_ANSWER(p, text, eof, status, body, keep_alive) \
    expect_answer_at((p), __LINE__, LIT(text), (eof), (status), LIT(body), (keep_alive))

/* A failure: ITEMS_EBADGATEWAY with a reason in words. */
static void expect_bad_at(apr_pool_t *p, int line, const char *text, size_t len, int eof,
                          apr_size_t max_body)
{
    items_http1_answer_t ans;
    const char *why;
    apr_status_t rv = parse(p, &ans, &why, NULL, text, len, eof, max_body);

    if (rv != ITEMS_EBADGATEWAY) {
        fail_msg("line %d: status %d for \"%s\" (eof %d, max_body %zu), expected "
                 "ITEMS_EBADGATEWAY", line, rv, shown(p, text, len), eof, (size_t)max_body);
    }
    assert_non_null(why);
    assert_true(*why != '\0');
}
#define EXPECT_BAD(p, text, eof) expect_bad_at((p), __LINE__, LIT(text), (eof), MAX_BODY)
#define EXPECT_BAD_MAX(p, text, eof, max) expect_bad_at((p), __LINE__, LIT(text), (eof), (max))

static void expect_incomplete_at(apr_pool_t *p, int line, const char *text, size_t len,
                                 apr_size_t max_body)
{
    items_http1_answer_t ans;
    const char *why;
    apr_status_t rv = parse(p, &ans, &why, NULL, text, len, 0, max_body);

    if (rv != APR_INCOMPLETE) {
        fail_msg("line %d: status %d (%s) for \"%s\", expected APR_INCOMPLETE", line, rv,
                 why ? why : "no reason", shown(p, text, len));
    }
    assert_null(why);
}
#define EXPECT_INCOMPLETE(p, text) expect_incomplete_at((p), __LINE__, LIT(text), MAX_BODY)

/*
 * Feed a complete answer (not framed by the close) the way a reader does:
 * every proper prefix is APR_INCOMPLETE without eof and a failure with it;
 * the whole is then the same answer as parsed in one piece.
 */
static void expect_incremental_at(apr_pool_t *p, int line, const char *text, size_t len)
{
    items_http1_answer_t whole, ans;
    const char *why;
    char *wbuf, *buf;
    size_t n;
    apr_status_t rv;

    assert_int_equal(parse(p, &whole, &why, &wbuf, text, len, 0, MAX_BODY), APR_SUCCESS);
    for (n = 0; n < len; n++) {
        rv = parse(p, &ans, &why, NULL, text, n, 0, MAX_BODY);
        if (rv != APR_INCOMPLETE) {
            fail_msg("line %d: the first %zu of %zu bytes gave status %d (%s), expected "
                     "APR_INCOMPLETE; input \"%s\"", line, n, len, rv, why ? why : "no reason",
                     shown(p, text, len));
        }
        assert_null(why);
        rv = parse(p, &ans, &why, NULL, text, n, 1, MAX_BODY);
        if (rv != ITEMS_EBADGATEWAY) {
            fail_msg("line %d: the first %zu of %zu bytes, then eof, gave status %d, expected "
                     "ITEMS_EBADGATEWAY; input \"%s\"", line, n, len, rv, shown(p, text, len));
        }
        assert_non_null(why);
    }
    assert_int_equal(parse(p, &ans, &why, &buf, text, len, 0, MAX_BODY), APR_SUCCESS);
    assert_int_equal(ans.status, whole.status);
    assert_int_equal(ans.keep_alive, whole.keep_alive);
    assert_int_equal(ans.date, whole.date);
    assert_int_equal(ans.body_len, whole.body_len);
    assert_int_equal(ans.body - buf, whole.body - wbuf);
    assert_memory_equal(ans.body, whole.body, whole.body_len + 1);
}
#define EXPECT_INCREMENTAL(p, text) expect_incremental_at((p), __LINE__, LIT(text))

/* --- Content-Length ------------------------------------------------------------- */

/* A DynamoDB GetItem answer as it comes. */
static const char ddb_answer[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: Server\r\n"
    "Date: Tue, 01 Dec 2026 07:43:52 GMT\r\n"
    "Content-Type: application/x-amz-json-1.0\r\n"
    "Content-Length: 45\r\n"
    "Connection: keep-alive\r\n"
    "x-amzn-RequestId: 4KBNVRGD25RG4KOP88A8PJ1H5RVV4KQNSO5AEMVJF66Q9ASUAAJG\r\n"
    "x-amz-crc32: 2745614147\r\n"
    "\r\n"
    "{\"Item\":{\"id\":{\"S\":\"a1\"},\"name\":{\"S\":\"x\"}}}\r\n";

static void test_length_exact(void **state)
{
    apr_pool_t *p = *state;
    items_http1_answer_t ans;
    const char *why;
    char *buf;
    size_t len = sizeof(ddb_answer) - 1;

    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 0, 200, "{}", 1);
    EXPECT_ANSWER(p, "HTTP/1.1 400 Bad Request\r\nContent-Length: 13\r\n\r\n{\"__type\":1}\n",
                  0, 400, "{\"__type\":1}\n", 1);
    /* no reason phrase, with and without its space; the name in any case, OWS around the value */
    EXPECT_ANSWER(p, "HTTP/1.1 200\r\ncontent-LENGTH:2\r\n\r\n{}", 0, 200, "{}", 1);
    EXPECT_ANSWER(p, "HTTP/1.1 200 \r\nContent-Length: \t2 \t\r\n\r\n{}", 0, 200, "{}", 1);
    /* the same length twice is one length */
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 0,
                  200, "{}", 1);
    /* leading zeros are still a number */
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nContent-Length: 0002\r\n\r\n{}", 0, 200, "{}", 1);
    /* any status of three digits from 200 on */
    EXPECT_ANSWER(p, "HTTP/1.1 599 Odd\r\nContent-Length: 1\r\n\r\nx", 0, 599, "x", 1);
    EXPECT_ANSWER(p, "HTTP/1.1 999 Odd\r\nContent-Length: 1\r\n\r\nx", 0, 999, "x", 1);

    /* the whole DynamoDB answer: the body is the bytes after the empty line, in place */
    assert_int_equal(parse(p, &ans, &why, &buf, ddb_answer, len, 0, MAX_BODY), APR_SUCCESS);
    assert_null(why);
    assert_int_equal(ans.status, 200);
    assert_int_equal(ans.keep_alive, 1);
    assert_int_equal(ans.body_len, 45);
    assert_ptr_equal(ans.body, buf + len - 45);
    assert_string_equal(ans.body, "{\"Item\":{\"id\":{\"S\":\"a1\"},\"name\":{\"S\":\"x\"}}}\r\n");
    assert_int_not_equal(ans.date, 0);

    /* a limit equal to the length is not exceeded */
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", 0, 200,
                  "0123456789", 1);
    assert_int_equal(parse(p, &ans, &why, NULL, LIT("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
                                                    "0123456789"), 0, 10),
                     APR_SUCCESS);
    assert_int_equal(ans.body_len, 10);

    /* the peer closing right after the answer: complete, but the connection is done */
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 1, 200, "{}", 0);
}

static void test_length_body_with_nuls(void **state)
{
    static const char text[] = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\na\0b\0\0c\0";
    apr_pool_t *p = *state;
    items_http1_answer_t ans;
    const char *why;
    char *buf;

    assert_int_equal(parse(p, &ans, &why, &buf, LIT(text), 0, MAX_BODY), APR_SUCCESS);
    assert_int_equal(ans.body_len, 7);
    assert_memory_equal(ans.body, "a\0b\0\0c\0", 8); /* the spare byte became the NUL */
    assert_int_equal(buf[sizeof(text) - 1], '\0');
    EXPECT_INCREMENTAL(p, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\na\0b\0\0c\0");
}

static void test_length_empty(void **state)
{
    apr_pool_t *p = *state;
    items_http1_answer_t ans;
    const char *why;
    char *buf;

    assert_int_equal(parse(p, &ans, &why, &buf, LIT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
                           0, MAX_BODY),
                     APR_SUCCESS);
    assert_int_equal(ans.status, 200);
    assert_int_equal(ans.keep_alive, 1);
    assert_int_equal(ans.body_len, 0);
    assert_ptr_equal(ans.body, buf + 38);
    assert_string_equal(ans.body, "");
    /* a limit of 0 allows an empty body */
    assert_int_equal(parse(p, &ans, &why, NULL, LIT("HTTP/1.1 500 E\r\nContent-Length: 0\r\n\r\n"), 0,
                           0),
                     APR_SUCCESS);
    assert_int_equal(ans.status, 500);
    assert_int_equal(ans.body_len, 0);
}

/* --- chunked ------------------------------------------------------------------------ */

#define CHUNKED_HEAD "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

static void test_chunked_several(void **state)
{
    static const char text[] = CHUNKED_HEAD "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
                                            "0\r\n\r\n";
    apr_pool_t *p = *state;
    items_http1_answer_t ans;
    const char *why;
    char *buf;

    assert_int_equal(parse(p, &ans, &why, &buf, LIT(text), 0, MAX_BODY), APR_SUCCESS);
    assert_null(why);
    assert_int_equal(ans.status, 200);
    assert_int_equal(ans.keep_alive, 1);
    /* decoded in place: from the first byte after the head, NUL-terminated */
    assert_ptr_equal(ans.body, buf + sizeof(CHUNKED_HEAD) - 1);
    assert_int_equal(ans.body_len, 23);
    assert_memory_equal(ans.body, "Wikipedia in\r\n\r\nchunks.", 24);
    /* the head is untouched */
    assert_memory_equal(buf, CHUNKED_HEAD, sizeof(CHUNKED_HEAD) - 1);

    /* one chunk, an empty body, and a body with NULs */
    EXPECT_ANSWER(p, CHUNKED_HEAD "2\r\n{}\r\n0\r\n\r\n", 0, 200, "{}", 1);
    EXPECT_ANSWER(p, CHUNKED_HEAD "0\r\n\r\n", 0, 200, "", 1);
    EXPECT_ANSWER(p, CHUNKED_HEAD "3\r\n\0\r\n\r\n1\r\n\0\r\n0\r\n\r\n", 0, 200, "\0\r\n\0", 1);
    /* the coding's name in any case */
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\ntransfer-encoding:  Chunked \r\n\r\n1\r\nx\r\n0\r\n\r\n",
                  0, 200, "x", 1);
    /* many one-byte chunks */
    EXPECT_ANSWER(p, CHUNKED_HEAD "1\r\na\r\n1\r\nb\r\n1\r\nc\r\n1\r\nd\r\n1\r\ne\r\n0\r\n\r\n", 0,
                  200, "abcde", 1);
    /* eof right after the last chunk: complete, the connection done */
    EXPECT_ANSWER(p, CHUNKED_HEAD "2\r\n{}\r\n0\r\n\r\n", 1, 200, "{}", 0);
}

static void test_chunked_extensions(void **state)
{
    apr_pool_t *p = *state;

    EXPECT_ANSWER(p, CHUNKED_HEAD "5;name=value\r\nhello\r\n6 ; x=\"y;z\"\r\n world\r\n0;last\r\n\r\n",
                  0, 200, "hello world", 1);
    EXPECT_ANSWER(p, CHUNKED_HEAD "5\t;a\r\nhello\r\n0 \r\n\r\n", 0, 200, "hello", 1);
    EXPECT_ANSWER(p, CHUNKED_HEAD "5;\r\nhello\r\n0;\r\n\r\n", 0, 200, "hello", 1);
}

static void test_chunked_trailers(void **state)
{
    apr_pool_t *p = *state;
    items_http1_answer_t ans;
    const char *why;
    static const char text[] = CHUNKED_HEAD "3\r\nabc\r\n0\r\nX-Checksum: 12\r\nX-Other: b\r\n\r\n";

    EXPECT_ANSWER(p, CHUNKED_HEAD "3\r\nabc\r\n0\r\nX-Checksum: 12\r\nX-Other: b\r\n\r\n", 0, 200,
                  "abc", 1);
    EXPECT_ANSWER(p, CHUNKED_HEAD "0\r\nX-T: 1\r\n\r\n", 0, 200, "", 1);
    /* the answer ends at the trailer section's empty line: nothing is left over */
    assert_int_equal(parse(p, &ans, &why, NULL, LIT(text), 0, MAX_BODY), APR_SUCCESS);
    assert_int_equal(ans.keep_alive, 1);
    /* without that empty line it is not over */
    EXPECT_INCOMPLETE(p, CHUNKED_HEAD "3\r\nabc\r\n0\r\nX-Checksum: 12\r\n");
    EXPECT_BAD(p, CHUNKED_HEAD "3\r\nabc\r\n0\r\nX-Checksum: 12\r\n", 1);
}

static void test_chunked_hex(void **state)
{
    apr_pool_t *p = *state;
    char *text, *body;
    size_t head = sizeof(CHUNKED_HEAD) - 1;
    int i;

    EXPECT_ANSWER(p, CHUNKED_HEAD "a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n", 0, 200,
                  "0123456789abcdefghij", 1);
    EXPECT_ANSWER(p, CHUNKED_HEAD "00a\r\n0123456789\r\n000\r\n\r\n", 0, 200, "0123456789", 1);
    /* 15 hex digits is the most accepted */
    EXPECT_ANSWER(p, CHUNKED_HEAD "00000000000000a\r\n0123456789\r\n0\r\n\r\n", 0, 200, "0123456789",
                  1);

    /* 0x1f and 0x1F bytes, 0x2b (digits and both letter cases) */
    body = apr_palloc(p, 0x2b);
    for (i = 0; i < 0x2b; i++) {
        body[i] = (char)('A' + i % 26);
    }
    text = apr_psprintf(p, CHUNKED_HEAD "1f\r\n%.*s\r\n1F\r\n%.*s\r\n2b\r\n%.*s\r\n0\r\n\r\n", 0x1f,
                        body, 0x1f, body, 0x2b, body);
    {
        items_http1_answer_t ans;
        const char *why;
        char *buf;

        assert_int_equal(parse(p, &ans, &why, &buf, text, strlen(text), 0, MAX_BODY), APR_SUCCESS);
        assert_int_equal(ans.body_len, 0x1f + 0x1f + 0x2b);
        assert_ptr_equal(ans.body, buf + head);
        assert_memory_equal(ans.body, body, 0x1f);
        assert_memory_equal(ans.body + 0x1f, body, 0x1f);
        assert_memory_equal(ans.body + 0x3e, body, 0x2b);
        assert_int_equal(ans.body[ans.body_len], '\0');
    }
}

/* Content-Length and chunked together: chunked frames it, the sender is not trusted again. */
static void test_chunked_with_length(void **state)
{
    apr_pool_t *p = *state;

    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "2\r\n{}\r\n0\r\n\r\n",
                  0, 200, "{}", 0);
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n"
                     "2\r\n{}\r\n0\r\n\r\n",
                  0, 200, "{}", 0);
}

/* --- incremental feeding -------------------------------------------------------------- */

static void test_incremental(void **state)
{
    apr_pool_t *p = *state;

    EXPECT_INCREMENTAL(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_INCREMENTAL(p, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    EXPECT_INCREMENTAL(p, "HTTP/1.1 204 No Content\r\nDate: Tue, 01 Dec 2026 07:43:52 GMT\r\n\r\n");
    EXPECT_INCREMENTAL(p, CHUNKED_HEAD "4\r\nWiki\r\n5;x=y\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
                                       "0\r\nX-T: 1\r\n\r\n");
    EXPECT_INCREMENTAL(p, CHUNKED_HEAD "0\r\n\r\n");
    EXPECT_INCREMENTAL(p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_INCREMENTAL(p, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc");
    EXPECT_INCREMENTAL(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
    {
        size_t len = sizeof(ddb_answer) - 1;
        expect_incremental_at(p, __LINE__, ddb_answer, len);
    }
}

/* An answer framed by the close: incomplete until the close, whatever has come. */
static void test_incremental_to_close(void **state)
{
    static const char text[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello";
    apr_pool_t *p = *state;
    items_http1_answer_t ans;
    const char *why;
    size_t n, head = sizeof(text) - 1 - 5;

    for (n = 0; n <= sizeof(text) - 1; n++) {
        assert_int_equal(parse(p, &ans, &why, NULL, text, n, 0, MAX_BODY), APR_INCOMPLETE);
        assert_null(why);
        if (n < head) {
            assert_int_equal(parse(p, &ans, &why, NULL, text, n, 1, MAX_BODY), ITEMS_EBADGATEWAY);
            assert_non_null(why);
        }
        else {
            assert_int_equal(parse(p, &ans, &why, NULL, text, n, 1, MAX_BODY), APR_SUCCESS);
            assert_int_equal(ans.body_len, n - head);
            assert_memory_equal(ans.body, "hello", n - head);
            assert_int_equal(ans.keep_alive, 0);
        }
    }
}

/* --- interim answers and statuses without a body ----------------------------------------- */

static void test_interim_skipped(void **state)
{
    static const char text[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    apr_pool_t *p = *state;
    items_http1_answer_t ans;
    const char *why;
    char *buf;

    assert_int_equal(parse(p, &ans, &why, &buf, LIT(text), 0, MAX_BODY), APR_SUCCESS);
    assert_int_equal(ans.status, 200);
    assert_int_equal(ans.keep_alive, 1);
    assert_ptr_equal(ans.body, buf + sizeof(text) - 3);
    assert_string_equal(ans.body, "{}");

    /* several, with headers (a 1xx has no body, whatever it says) */
    EXPECT_ANSWER(p, "HTTP/1.1 100 Continue\r\nX-A: 1\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
                     "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\nContent-Length: 5\r\n\r\n"
                     "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnot",
                  0, 404, "not", 1);
    /* then a chunked answer */
    EXPECT_ANSWER(p, "HTTP/1.1 100 Continue\r\n\r\n" CHUNKED_HEAD "2\r\n{}\r\n0\r\n\r\n", 0, 200, "{}",
                  1);
    /* only the 1xx so far: more to come; then the close: broken off */
    EXPECT_INCOMPLETE(p, "HTTP/1.1 100 Continue\r\n\r\n");
    EXPECT_INCOMPLETE(p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2");
    EXPECT_BAD(p, "HTTP/1.1 100 Continue\r\n\r\n", 1);
    EXPECT_BAD(p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 1);
    /* what follows a 1xx must be an answer too */
    EXPECT_BAD(p, "HTTP/1.1 100 Continue\r\n\r\n{}", 0);
}

static void test_switching_protocols_rejected(void **state)
{
    apr_pool_t *p = *state;

    EXPECT_BAD(p, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n", 0);
    EXPECT_BAD(p, "HTTP/1.1 101 Switching Protocols\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
               0);
    EXPECT_BAD(p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n", 0);
    EXPECT_BAD(p, "HTTP/1.1 101 Switching Protocols\r\n\r\n", 1);
}

static void test_no_body_statuses(void **state)
{
    apr_pool_t *p = *state;

    EXPECT_ANSWER(p, "HTTP/1.1 204 No Content\r\n\r\n", 0, 204, "", 1);
    /* a Content-Length or chunked coding on 204 / 304 frames nothing */
    EXPECT_ANSWER(p, "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 0, 204, "", 1);
    EXPECT_ANSWER(p, "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 0, 304, "", 1);
    EXPECT_ANSWER(p, "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 304, "", 1);
    EXPECT_ANSWER(p, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", 1, 304, "", 0);
    /* bytes after one are not its body but a connection out of step */
    EXPECT_ANSWER(p, "HTTP/1.1 204 No Content\r\n\r\nxyz", 0, 204, "", 0);
    /* a 205 is not exempt: without framing it runs to the close */
    EXPECT_INCOMPLETE(p, "HTTP/1.1 205 Reset Content\r\n\r\n");
}

/* --- connection reuse ------------------------------------------------------------------------- */

static void test_http10(void **state)
{
    apr_pool_t *p = *state;

    EXPECT_ANSWER(p, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", 0, 200, "{}", 0);
    EXPECT_ANSWER(p, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}", 0,
                  200, "{}", 1);
    EXPECT_ANSWER(p, "HTTP/1.0 200 OK\r\nconnection: Keep-Alive\r\nContent-Length: 2\r\n\r\n{}", 0,
                  200, "{}", 1);
    EXPECT_ANSWER(p, "HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 2\r\n\r\n{}",
                  0, 200, "{}", 0);
    EXPECT_ANSWER(p, "HTTP/1.0 204 No Content\r\n\r\n", 0, 204, "", 0);
    /* keep-alive asked for, but no length: the close frames it anyway */
    EXPECT_INCOMPLETE(p, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n{}");
    EXPECT_ANSWER(p, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n{}", 1, 200, "{}", 0);
}

static void test_connection_close(void **state)
{
    apr_pool_t *p = *state;

    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", 0, 200,
                  "{}", 0);
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 2\r\n\r\n{}", 0, 200,
                  "{}", 0);
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 2\r\n\r\n{}",
                  0, 200, "{}", 0);
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nConnection: te,close\r\nContent-Length: 2\r\n\r\n{}", 0, 200,
                  "{}", 0);
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nConnection: x ,\t close \t, \r\nContent-Length: 2\r\n\r\n{}",
                  0, 200, "{}", 0);
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\n"
                     "Content-Length: 2\r\n\r\n{}",
                  0, 200, "{}", 0);
    /* other tokens, and words that merely contain "close", keep it */
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}", 0,
                  200, "{}", 1);
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nConnection: closed, x-close, close-it\r\n"
                     "Content-Length: 2\r\n\r\n{}",
                  0, 200, "{}", 1);
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nConnection:\r\nContent-Length: 2\r\n\r\n{}", 0, 200, "{}", 1);
    /* a header that is not Connection says nothing about it */
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nX-Connection: close\r\nContent-Length: 2\r\n\r\n{}", 0, 200,
                  "{}", 1);
}

/* No Content-Length, not chunked: the body is everything up to the close. */
static void test_body_to_close(void **state)
{
    apr_pool_t *p = *state;

    EXPECT_INCOMPLETE(p, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
    EXPECT_INCOMPLETE(p, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc");
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc", 1, 200, "abc", 0);
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\n\r\n", 1, 200, "", 0);
    EXPECT_ANSWER(p, "HTTP/1.1 500 Oops\r\n\r\na\0b", 1, 500, "a\0b", 0);
    EXPECT_ANSWER(p, "HTTP/1.0 200 OK\r\n\r\n{}", 1, 200, "{}", 0);
    /* bytes that look like another answer are body here */
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 1, 200,
                  "HTTP/1.1 200 OK\r\n\r\n", 0);
}

static void test_extra_bytes(void **state)
{
    apr_pool_t *p = *state;

    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}\r\n", 0, 200, "{}", 0);
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n"
                     "Content-Length: 2\r\n\r\n{}",
                  0, 200, "{}", 0);
    EXPECT_ANSWER(p, CHUNKED_HEAD "2\r\n{}\r\n0\r\n\r\nX", 0, 200, "{}", 0);
    EXPECT_ANSWER(p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\0", 0,
                  200, "", 0);
}

/* --- Date ------------------------------------------------------------------------------------------- */

static apr_time_t date_of(apr_pool_t *p, const char *header_line)
{
    items_http1_answer_t ans;
    const char *why;
    const char *text = apr_pstrcat(p, "HTTP/1.1 200 OK\r\n", header_line, "\r\nContent-Length: 0\r\n\r\n",
                                   NULL);

    assert_int_equal(parse(p, &ans, &why, NULL, text, strlen(text), 0, MAX_BODY), APR_SUCCESS);
    return ans.date;
}

static void test_date(void **state)
{
    apr_pool_t *p = *state;
    apr_time_exp_t tm;
    apr_time_t expected;
    items_http1_answer_t ans;
    const char *why;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = 2026 - 1900;
    tm.tm_mon = 11;
    tm.tm_mday = 1;
    tm.tm_hour = 7;
    tm.tm_min = 43;
    tm.tm_sec = 52;
    assert_int_equal(apr_time_exp_gmt_get(&expected, &tm), APR_SUCCESS);

    assert_int_equal(date_of(p, "Date: Tue, 01 Dec 2026 07:43:52 GMT"), expected);
    assert_int_equal(date_of(p, "Date: Tue, 01 Dec 2026 07:43:52 GMT"),
                     apr_date_parse_rfc("Tue, 01 Dec 2026 07:43:52 GMT"));
    assert_int_equal(date_of(p, "date:\tTue, 01 Dec 2026 07:43:52 GMT  "), expected);
    /* the obsolete forms apr_date_parse_rfc knows */
    assert_int_equal(date_of(p, "Date: Tuesday, 01-Dec-26 07:43:52 GMT"),
                     apr_date_parse_rfc("Tuesday, 01-Dec-26 07:43:52 GMT"));
    assert_int_equal(date_of(p, "Date: Tue Dec  1 07:43:52 2026"),
                     apr_date_parse_rfc("Tue Dec  1 07:43:52 2026"));
    assert_int_equal(date_of(p, "Date: Tue Dec  1 07:43:52 2026"), expected);

    /* malformed, empty, absurdly long, absent: 0 */
    assert_int_equal(date_of(p, "Date: yesterday"), 0);
    assert_int_equal(date_of(p, "Date: Tue, 01 Dec 2026 25:61:52 GMT"), 0);
    assert_int_equal(date_of(p, "Date:"), 0);
    assert_int_equal(date_of(p, apr_pstrcat(p, "Date: Tue, 01 Dec 2026 07:43:52 GMT",
                                            "                                                 x",
                                            NULL)),
                     0);
    assert_int_equal(date_of(p, "X-Date: Tue, 01 Dec 2026 07:43:52 GMT"), 0);

    /* the final answer's Date, not an interim one's */
    assert_int_equal(parse(p, &ans, &why, NULL,
                           LIT("HTTP/1.1 100 Continue\r\nDate: Mon, 30 Nov 2026 00:00:00 GMT\r\n\r\n"
                               "HTTP/1.1 200 OK\r\nDate: Tue, 01 Dec 2026 07:43:52 GMT\r\n"
                               "Content-Length: 0\r\n\r\n"),
                           0, MAX_BODY),
                     APR_SUCCESS);
    assert_int_equal(ans.date, expected);
}

/* --- errors ----------------------------------------------------------------------------------------- */

static void test_not_http(void **state)
{
    apr_pool_t *p = *state;

    EXPECT_BAD(p, "SSH-2.0-OpenSSH_9.2p1 this is not HTTP\r\n\r\n", 0);
    EXPECT_BAD(p, "<html><body>502</body></html>", 0);
    EXPECT_BAD(p, "http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
    EXPECT_BAD(p, " HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
    EXPECT_BAD(p, "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
    EXPECT_BAD(p, "\0", 0);
    /* told as soon as the first bytes differ, without waiting for more */
    EXPECT_BAD(p, "X", 0);
    EXPECT_BAD(p, "HTTX", 0);
    EXPECT_BAD(p, "HTTP-", 0);
    /* a prefix of "HTTP/" may still become one */
    EXPECT_INCOMPLETE(p, "H");
    EXPECT_INCOMPLETE(p, "HTTP");
    EXPECT_INCOMPLETE(p, "HTTP/1.1 200 OK");
    EXPECT_BAD(p, "HTTP", 1);
}

static void test_bad_status_line(void **state)
{
    static const char *const lines[] = {
        "HTTP/1.1 20 OK",  "HTTP/2 200",       "HTTP/2 200 OK",   "HTTP/2.0 200 OK",
        "HTTP/1.1200 OK",  "HTTP/1.1  200 OK", "HTTP/1.1 200OK",  "HTTP/1.1 2000 OK",
        "HTTP/1.1 099 Low", "HTTP/1.1 000 Zero", "HTTP/1.1 abc OK", "HTTP/1.x 200 OK",
        "HTTP/1.10 200 OK", "HTTP/1.1",        "HTTP/1.1 ",       "HTTP/1.1 20",
        "HTTP/1.1 -200 OK", "HTTP/1.1\t200 OK", "HTTP/11 200 OK",  "HTTP/0.9 200 OK",
        "HTTP/1.1 2 0 0",
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        const char *text = apr_pstrcat(p, lines[i], "\r\nContent-Length: 0\r\n\r\n", NULL);
        expect_bad_at(p, __LINE__, text, strlen(text), 0, MAX_BODY);
    }
}

static void test_bad_header_lines(void **state)
{
    apr_pool_t *p = *state;

    /* no colon; no name */
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nContent-Length 2\r\n\r\n{}", 0);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\n: value\r\nContent-Length: 2\r\n\r\n{}", 0);
    /* a name with a space, before the colon or inside */
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\n{}", 0);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nX Bad: 1\r\nContent-Length: 2\r\n\r\n{}", 0);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nX-Bad\t: 1\r\nContent-Length: 2\r\n\r\n{}", 0);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nX(a): 1\r\nContent-Length: 2\r\n\r\n{}", 0);
    /* a folded header (obs-fold), with a space or a tab; a first line folded */
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\n{}", 0);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nX-A: a\r\n\tb\r\nContent-Length: 2\r\n\r\n{}", 0);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\n X-A: a\r\nContent-Length: 2\r\n\r\n{}", 0);
    /* a NUL in a value or a name */
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 2\r\n\r\n{}", 0);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nX-A: \0\r\nContent-Length: 2\r\n\r\n{}", 0);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nX\0A: a\r\nContent-Length: 2\r\n\r\n{}", 0);
    /* also in an interim answer */
    EXPECT_BAD(p, "HTTP/1.1 100 Continue\r\nBad Name: 1\r\n\r\nHTTP/1.1 200 OK\r\n"
                  "Content-Length: 2\r\n\r\n{}",
               0);
    /* the error is told without waiting for the rest */
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nContent-Length 2\r\n", 0);
}

static void test_bad_content_length(void **state)
{
    static const char *const values[] = {
        "abc", "-1", "+2", "2 2", "0x10", "", "1,1", "2;", "2.0", "\t", "1e3",
        "99999999999999999999999",            /* over any size */
        "18446744073709551616",               /* SIZE_MAX + 1 */
        "184467440737095516150",
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        const char *text = apr_pstrcat(p, "HTTP/1.1 200 OK\r\nContent-Length: ", values[i],
                                       "\r\n\r\n{}", NULL);
        expect_bad_at(p, __LINE__, text, strlen(text), 0, MAX_BODY);
        expect_bad_at(p, __LINE__, text, strlen(text), 0, APR_SIZE_MAX);
    }
    /* conflicting lengths, in either order */
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x", 0);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 2\r\n\r\n{}x", 0);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 02x\r\n\r\n{}", 0);
    /* malformed on a status without a body still is */
    EXPECT_BAD(p, "HTTP/1.1 204 No Content\r\nContent-Length: x\r\n\r\n", 0);
}

static void test_bad_transfer_encoding(void **state)
{
    apr_pool_t *p = *state;

    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 0);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 0);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 2\r\n\r\n{}", 0);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\nContent-Length: 2\r\n\r\n{}", 0);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
               0);
}

static void test_bad_chunks(void **state)
{
    apr_pool_t *p = *state;

    /* malformed chunk sizes */
    EXPECT_BAD(p, CHUNKED_HEAD "xyz\r\nabc\r\n0\r\n\r\n", 0);
    EXPECT_BAD(p, CHUNKED_HEAD "\r\n0\r\n\r\n", 0);
    EXPECT_BAD(p, CHUNKED_HEAD " 5\r\nhello\r\n0\r\n\r\n", 0);
    EXPECT_BAD(p, CHUNKED_HEAD "5x\r\nhello\r\n0\r\n\r\n", 0);
    EXPECT_BAD(p, CHUNKED_HEAD "-5\r\nhello\r\n0\r\n\r\n", 0);
    EXPECT_BAD(p, CHUNKED_HEAD "0x5\r\nhello\r\n0\r\n\r\n", 0);
    EXPECT_BAD(p, CHUNKED_HEAD "5\r\nhello\r\nz\r\n\r\n", 0);
    EXPECT_BAD(p, CHUNKED_HEAD ";x\r\nhello\r\n0\r\n\r\n", 0);
    /* a chunk not followed by CRLF: longer than it said, or shorter */
    EXPECT_BAD(p, CHUNKED_HEAD "5\r\nhelloX\r\n0\r\n\r\n", 0);
    EXPECT_BAD(p, CHUNKED_HEAD "5\r\nhell\r\n0\r\n\r\n", 0);
    EXPECT_BAD(p, CHUNKED_HEAD "5\r\nhello\n0\r\n\r\n", 0);
    EXPECT_BAD(p, CHUNKED_HEAD "5\r\nhello\r\r\n0\r\n\r\n", 0);
    EXPECT_BAD(p, CHUNKED_HEAD "5\r\nhelloXY0\r\n\r\n", 0); /* two bytes where the CRLF belongs */
    EXPECT_BAD(p, CHUNKED_HEAD "3\r\nabc\r\n5\r\nhelloXY3\r\nabc\r\n0\r\n\r\n", 0);
    /* over 15 hex digits, even when the value is small */
    EXPECT_BAD(p, CHUNKED_HEAD "10000000000000000\r\n", 0);
    EXPECT_BAD(p, CHUNKED_HEAD "0000000000000001\r\nx\r\n0\r\n\r\n", 0);
    EXPECT_BAD_MAX(p, CHUNKED_HEAD "ffffffffffffffffffff\r\n", 0, APR_SIZE_MAX);
    /* a chunk size line that never ends */
    {
        char *text = apr_pstrcat(p, CHUNKED_HEAD, "5;", NULL);
        size_t head = strlen(text), len = head + 2000;
        char *big = apr_palloc(p, len);

        memcpy(big, text, head);
        memset(big + head, 'e', len - head);
        expect_bad_at(p, __LINE__, big, len, 0, MAX_BODY);
    }
}

static void test_body_over_max(void **state)
{
    apr_pool_t *p = *state;

    /* Content-Length: told from the head alone, before the body comes */
    EXPECT_BAD_MAX(p, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n0123456789a", 0, 10);
    EXPECT_BAD_MAX(p, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", 0, 10);
    EXPECT_BAD_MAX(p, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", 0, 0);
    EXPECT_BAD_MAX(p, "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551610\r\n\r\n", 0,
                   APR_SIZE_MAX - 6);
    /* chunked: the sum of the sizes, told as soon as a size takes it over */
    EXPECT_BAD_MAX(p, CHUNKED_HEAD "5\r\n01234\r\n6\r\n56789a\r\n0\r\n\r\n", 0, 10);
    EXPECT_BAD_MAX(p, CHUNKED_HEAD "5\r\n01234\r\n6\r\n", 0, 10);
    EXPECT_BAD_MAX(p, CHUNKED_HEAD "fffffffffffffff\r\n", 0, MAX_BODY);
    EXPECT_BAD_MAX(p, CHUNKED_HEAD "1\r\nx\r\n0\r\n\r\n", 0, 0);
    {
        items_http1_answer_t ans;
        const char *why;

        assert_int_equal(parse(p, &ans, &why, NULL,
                               LIT(CHUNKED_HEAD "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n"), 0, 10),
                         APR_SUCCESS);
        assert_int_equal(ans.body_len, 10);
        assert_int_equal(parse(p, &ans, &why, NULL,
                               LIT("HTTP/1.1 200 OK\r\n\r\n0123456789"), 1, 10),
                         APR_SUCCESS);
        assert_int_equal(ans.body_len, 10);
    }
    /* to the close: told as soon as the bytes are there, close or not */
    EXPECT_BAD_MAX(p, "HTTP/1.1 200 OK\r\n\r\n0123456789a", 0, 10);
    EXPECT_BAD_MAX(p, "HTTP/1.1 200 OK\r\n\r\n0123456789a", 1, 10);
    EXPECT_BAD_MAX(p, "HTTP/1.0 200 OK\r\n\r\nx", 1, 0);
}

/* A head of n bytes: the status line, one X-Pad header sized to fit, Content-Length: 0. */
static char *head_of(apr_pool_t *p, size_t n)
{
    static const char start[] = "HTTP/1.1 200 OK\r\nX-Pad: ", end[] = "\r\nContent-Length: 0\r\n\r\n";
    size_t fixed = sizeof(start) - 1 + sizeof(end) - 1;
    char *text = apr_palloc(p, n + 1);

    assert_true(n > fixed);
    memcpy(text, start, sizeof(start) - 1);
    memset(text + sizeof(start) - 1, 'p', n - fixed);
    memcpy(text + n - (sizeof(end) - 1), end, sizeof(end));
    return text;
}

static void test_head_over_max(void **state)
{
    apr_pool_t *p = *state;
    items_http1_answer_t ans;
    const char *why;
    char *text;

    /* exactly ITEMS_HTTP1_MAX_HEAD bytes is fine, in one piece and bit by bit */
    text = head_of(p, ITEMS_HTTP1_MAX_HEAD);
    assert_int_equal(parse(p, &ans, &why, NULL, text, ITEMS_HTTP1_MAX_HEAD, 0, MAX_BODY),
                     APR_SUCCESS);
    assert_int_equal(ans.body_len, 0);
    assert_int_equal(ans.keep_alive, 1);
    expect_incomplete_at(p, __LINE__, text, ITEMS_HTTP1_MAX_HEAD - 1, MAX_BODY);

    /* one more byte is too many: complete or not, with eof or not */
    text = head_of(p, ITEMS_HTTP1_MAX_HEAD + 1);
    expect_bad_at(p, __LINE__, text, ITEMS_HTTP1_MAX_HEAD + 1, 0, MAX_BODY);
    expect_bad_at(p, __LINE__, text, ITEMS_HTTP1_MAX_HEAD + 1, 1, MAX_BODY);
    text = head_of(p, ITEMS_HTTP1_MAX_HEAD + 10); /* no end yet, and already too long */
    expect_bad_at(p, __LINE__, text, ITEMS_HTTP1_MAX_HEAD + 1, 0, MAX_BODY);

    /* an interim answer's head counts on its own */
    text = apr_pstrcat(p, "HTTP/1.1 100 Continue\r\n",
                       head_of(p, ITEMS_HTTP1_MAX_HEAD) + strlen("HTTP/1.1 200 OK\r\n"),
                       "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", NULL);
    expect_bad_at(p, __LINE__, text, strlen(text), 0, MAX_BODY);
}

static void test_eof_early(void **state)
{
    apr_pool_t *p = *state;
    items_http1_answer_t ans;
    const char *why;

    /* nothing at all: incomplete, then a failure at the close */
    assert_int_equal(parse(p, &ans, &why, NULL, "", 0, 0, MAX_BODY), APR_INCOMPLETE);
    assert_null(why);
    EXPECT_BAD(p, "", 1);
    /* in the status line, in the headers, just before the empty line */
    EXPECT_BAD(p, "HTTP/1.1 200", 1);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nContent-Len", 1);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", 1);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r", 1);
    /* in a Content-Length body */
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", 1);
    EXPECT_BAD(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{", 1);
    /* in a chunked body: size line, data, CRLF, last chunk, trailers */
    EXPECT_BAD(p, CHUNKED_HEAD, 1);
    EXPECT_BAD(p, CHUNKED_HEAD "5", 1);
    EXPECT_BAD(p, CHUNKED_HEAD "5\r\nhel", 1);
    EXPECT_BAD(p, CHUNKED_HEAD "5\r\nhello", 1);
    EXPECT_BAD(p, CHUNKED_HEAD "5\r\nhello\r\n", 1);
    EXPECT_BAD(p, CHUNKED_HEAD "5\r\nhello\r\n0\r\n", 1);
    EXPECT_BAD(p, CHUNKED_HEAD "5\r\nhello\r\n0\r\n\r", 1);
}

/* --- found while writing these tests, fixed ------------------------------------------------ */

/*
 * RFC 9112 9.6: a "close" connection option means the connection closes after
 * this answer, whatever else the field lists: a later "keep-alive" token (same
 * header or another Connection header) does not undo it.
 */
static void test_close_wins_over_keep_alive(void **state)
{
    apr_pool_t *p = *state;

    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nConnection: close, keep-alive\r\nContent-Length: 2\r\n\r\n{}",
                  0, 200, "{}", 0);
    EXPECT_ANSWER(p, "HTTP/1.1 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\n"
                     "Content-Length: 2\r\n\r\n{}",
                  0, 200, "{}", 0);
    EXPECT_ANSWER(p, "HTTP/1.0 200 OK\r\nConnection: close, keep-alive\r\nContent-Length: 2\r\n\r\n{}",
                  0, 200, "{}", 0);
}

/* Whole and as its first `part` bytes: both fail. NULL when so, else what happened. */
static const char *split_problem(apr_pool_t *p, const char *label, const char *text, size_t len,
                                 size_t part)
{
    items_http1_answer_t ans;
    const char *why;
    apr_status_t whole = parse(p, &ans, &why, NULL, text, len, 0, MAX_BODY), prefix;

    if (whole != ITEMS_EBADGATEWAY) {
        return apr_psprintf(p, "%s: whole answer: status %d, expected ITEMS_EBADGATEWAY\n", label,
                            whole);
    }
    prefix = parse(p, &ans, &why, NULL, text, part, 0, MAX_BODY);
    if (prefix != ITEMS_EBADGATEWAY) {
        return apr_psprintf(p, "%s: fails whole, but its first %" APR_SIZE_T_FMT " bytes gave"
                               " status %d instead of ITEMS_EBADGATEWAY\n",
                            label, (apr_size_t)part, prefix);
    }
    return NULL;
}

/*
 * The outcome must not depend on how recv() split the bytes. These limits once
 * applied only while a line was incomplete: a chunk-size line over 1024 bytes
 * (a long chunk extension), a trailer section over ITEMS_HTTP1_MAX_HEAD, and
 * heads (1xx included) totalling over 2 * ITEMS_HTTP1_MAX_HEAD. Now such
 * answers fail whole and in part alike.
 */
static void test_limits_do_not_depend_on_split(void **state)
{
    apr_pool_t *p = *state;
    const char *problems = "", *problem;
    size_t head = sizeof(CHUNKED_HEAD) - 1, len, i;
    char *text;

    /* a 2000-byte chunk extension */
    text = apr_palloc(p, head + 2100);
    memcpy(text, CHUNKED_HEAD "2;x=", head + 4);
    memset(text + head + 4, 'e', 2000);
    memcpy(text + head + 2004, "\r\nhi\r\n0\r\n\r\n", 11);
    if ((problem = split_problem(p, "2000-byte chunk extension", text, head + 2015, head + 1500))) {
        problems = apr_pstrcat(p, problems, problem, NULL);
    }

    /* a 70000-byte trailer line */
    text = apr_palloc(p, head + 70100);
    memcpy(text, CHUNKED_HEAD "0\r\nX-T: ", head + 8);
    memset(text + head + 8, 't', 70000);
    memcpy(text + head + 70008, "\r\n\r\n", 4);
    if ((problem = split_problem(p, "70000-byte trailer line", text, head + 70012, head + 70008))) {
        problems = apr_pstrcat(p, problems, problem, NULL);
    }

    /* three 50000-byte 103 heads, then the answer */
    text = apr_palloc(p, 3 * 50100 + 100);
    len = 0;
    for (i = 0; i < 3; i++) {
        len += (size_t)sprintf(text + len, "HTTP/1.1 103 Early Hints\r\nLink: ");
        memset(text + len, 'l', 50000);
        len += 50000;
        len += (size_t)sprintf(text + len, "\r\n\r\n");
    }
    len += (size_t)sprintf(text + len, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    if ((problem = split_problem(p, "three 50000-byte 1xx heads", text, len, len - 20))) {
        problems = apr_pstrcat(p, problems, problem, NULL);
    }

    if (*problems) {
        fail_msg("the outcome depends on how the answer was split:\n%s", problems);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_length_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_length_body_with_nuls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_length_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_several, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_extensions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_trailers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_hex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_with_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incremental, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incremental_to_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interim_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_switching_protocols_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_body_statuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http10, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_to_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extra_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_date, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_status_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_header_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_content_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_transfer_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_over_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_over_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eof_early, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_wins_over_keep_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_do_not_depend_on_split, setup, teardown),
    };
    int failed;

    apr_initialize();
    failed = cmocka_run_group_tests_name("items_http1", tests, NULL, NULL);
    apr_terminate();
    return failed ? 1 : 0;
}
