/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.1 answer framing on arbitrary bytes: items_http1_parse(). The input
 * is the bytes read from a connection. It is parsed whole, with and without
 * eof, under several body limits, and then as a reader sees it arrive: up to
 * 64 of its prefixes. Each call gets a malloc'd copy of exactly len + 1 bytes
 * (the parser may write buf[len]), so ASan sees any access past it.
 *
 * Properties checked (all follow from items_http1.h):
 *  - each result alone: APR_SUCCESS gives a final status 200..999, a body
 *    inside the buffer, NUL-terminated, within max_body, a head left as it
 *    came, no keep-alive after eof and why == NULL; APR_INCOMPLETE only
 *    without eof, why == NULL; anything else is ITEMS_EBADGATEWAY with a why;
 *  - eof only ends things: a success without eof is the same answer with eof
 *    (but not kept alive), a failure without eof stays one;
 *  - a larger max_body never turns a success into something else, nor a
 *    failure into anything but a failure when lowered again;
 *  - the bytes already read decide: when a prefix is a complete answer, the
 *    whole input is the same answer (with bytes left over, so not kept
 *    alive), and when a prefix fails without eof, so does the whole.
 */
#include "fuzz.h"

#include <string.h>

#include <apr_errno.h>

#include "items_http1.h"
#include "items_status.h"

#define MAX_PREFIXES 64
#define PREFIX_MAX_BODY ((apr_size_t)1 << 20)

/* In increasing order. */
static const apr_size_t max_bodies[] = { 0, 16, 4096, PREFIX_MAX_BODY, APR_SIZE_MAX };
#define N_MAX (sizeof(max_bodies) / sizeof(max_bodies[0]))

typedef struct result {
    apr_status_t rv;
    int status, keep_alive;
    apr_time_t date;
    size_t body_off, body_len;
    char *body; /* malloc'd copy of the body and its NUL, on success */
} result_t;

/* Parse a fresh copy of data[0..len) and check what holds for any single call. */
static void run(result_t *r, const uint8_t *data, size_t len, int eof, apr_size_t max_body)
{
    char *buf = malloc(len + 1);
    items_http1_answer_t ans;
    const char *why = "unset";

    FUZZ_CHECK(buf != NULL);
    if (len) {
        memcpy(buf, data, len);
    }
    memset(&ans, 0xa5, sizeof(ans));
    memset(r, 0, sizeof(*r));
    r->rv = items_http1_parse(&ans, &why, buf, len, eof, max_body);

    if (r->rv == APR_SUCCESS) {
        FUZZ_CHECK(why == NULL);
        FUZZ_CHECK(ans.status >= 200 && ans.status <= 999);
        FUZZ_CHECK(ans.keep_alive == 0 || ans.keep_alive == 1);
        FUZZ_CHECK(!eof || !ans.keep_alive);
        FUZZ_CHECK(ans.body != NULL && ans.body >= buf && ans.body <= buf + len);
        r->body_off = (size_t)(ans.body - buf);
        /* at least "HTTP/1.x NNN\r\n\r\n" came first, untouched */
        FUZZ_CHECK(r->body_off >= 16);
        FUZZ_CHECK(!memcmp(buf, data, r->body_off));
        FUZZ_CHECK(!memcmp(buf, "HTTP/1.", 7));
        FUZZ_CHECK(ans.body_len <= len - r->body_off);
        FUZZ_CHECK(ans.body_len <= max_body);
        FUZZ_CHECK(ans.body[ans.body_len] == '\0');
        r->status = ans.status;
        r->keep_alive = ans.keep_alive;
        r->date = ans.date;
        r->body_len = ans.body_len;
        r->body = malloc(ans.body_len + 1);
        FUZZ_CHECK(r->body != NULL);
        memcpy(r->body, ans.body, ans.body_len + 1);
    }
    else if (r->rv == APR_INCOMPLETE) {
        FUZZ_CHECK(why == NULL);
        FUZZ_CHECK(!eof);
    }
    else {
        FUZZ_CHECK(r->rv == ITEMS_EBADGATEWAY);
        FUZZ_CHECK(why != NULL && *why != '\0');
    }
    free(buf);
}

static void release(result_t *r)
{
    free(r->body);
    r->body = NULL;
}

/* The same answer, keep-alive aside. */
static int same_answer(const result_t *a, const result_t *b)
{
    return a->rv == APR_SUCCESS && b->rv == APR_SUCCESS && a->status == b->status
           && a->date == b->date && a->body_off == b->body_off && a->body_len == b->body_len
           && !memcmp(a->body, b->body, a->body_len + 1);
}

/* The same bytes without eof (open) and with it (closed). */
static void check_eof(const result_t *open, const result_t *closed)
{
    if (open->rv == APR_SUCCESS) {
        FUZZ_CHECK(same_answer(open, closed));
        FUZZ_CHECK(!closed->keep_alive);
    }
    else if (open->rv != APR_INCOMPLETE) {
        FUZZ_CHECK(closed->rv == open->rv);
    }
}

/* The same bytes under a smaller (lo) and a larger (hi) max_body. */
static void check_max(const result_t *lo, const result_t *hi)
{
    if (lo->rv == APR_SUCCESS) {
        FUZZ_CHECK(same_answer(lo, hi));
        FUZZ_CHECK(lo->keep_alive == hi->keep_alive);
    }
    if (hi->rv != APR_SUCCESS && hi->rv != APR_INCOMPLETE) {
        FUZZ_CHECK(lo->rv == hi->rv);
    }
}

/* Which prefix lengths to try: all when few, else spread out plus the last ones. */
static size_t prefix_lengths(size_t *out, size_t size)
{
    size_t n = 0, i;

    if (size <= MAX_PREFIXES) {
        for (i = 0; i < size; i++) {
            out[n++] = i;
        }
        return n;
    }
    for (i = 0; i < MAX_PREFIXES - 8; i++) {
        out[n++] = i * size / (MAX_PREFIXES - 8);
    }
    for (i = 8; i > 0; i--) {
        out[n++] = size - i;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    result_t open[N_MAX], closed[N_MAX], whole, part_open, part_closed;
    size_t lengths[MAX_PREFIXES], n, i;

    /* the whole input, every limit, with and without eof */
    for (i = 0; i < N_MAX; i++) {
        run(&open[i], data, size, 0, max_bodies[i]);
        run(&closed[i], data, size, 1, max_bodies[i]);
        check_eof(&open[i], &closed[i]);
        if (i > 0) {
            check_max(&open[i - 1], &open[i]);
            check_max(&closed[i - 1], &closed[i]);
        }
    }
    for (i = 0; i < N_MAX; i++) {
        release(&open[i]);
        release(&closed[i]);
    }

    /* as it arrives */
    run(&whole, data, size, 0, PREFIX_MAX_BODY);
    n = prefix_lengths(lengths, size);
    for (i = 0; i < n; i++) {
        run(&part_open, data, lengths[i], 0, PREFIX_MAX_BODY);
        run(&part_closed, data, lengths[i], 1, PREFIX_MAX_BODY);
        check_eof(&part_open, &part_closed);
        if (part_open.rv == APR_SUCCESS) {
            /* complete already: the rest is left over */
            FUZZ_CHECK(same_answer(&part_open, &whole));
            FUZZ_CHECK(!whole.keep_alive);
        }
        else if (part_open.rv != APR_INCOMPLETE) {
            FUZZ_CHECK(whole.rv == part_open.rv);
        }
        release(&part_open);
        release(&part_closed);
    }
    release(&whole);
    return 0;
}
