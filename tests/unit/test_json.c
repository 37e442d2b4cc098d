/* SPDX-License-Identifier: Apache-2.0 */
/*
 * items_json.c: bounded parsing with numbers kept as text, compact dumping, and
 * pool ownership of jansson values. Ownership is proven two ways: by holding an extra reference and
 * watching the pool drop its own, and by counting jansson's live allocations
 * (json_set_alloc_funcs) across a pool's life, which also covers error paths
 * whose values the caller never sees.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <apr_allocator.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "items_json.h"
#include "items_status.h"
#include "unit.h"

/* --- jansson allocation counter -------------------------------------------- */


/* --- fixtures ---------------------------------------------------------------- */


/* Parse a C string literal, embedded NULs included. */
#define PARSE(v, e, p, lit) items_json_parse((v), (e), (p), (lit), sizeof(lit) - 1)

/* n opening brackets, optionally an inner value, n closing brackets. */
static const char *nested_arrays(apr_pool_t *p, int n, const char *inner)
{
    size_t ilen = strlen(inner);
    char *s = apr_palloc(p, (apr_size_t)n * 2 + ilen + 1), *o = s;
    int i;

    for (i = 0; i < n; i++) {
        *o++ = '[';
    }
    memcpy(o, inner, ilen);
    o += ilen;
    for (i = 0; i < n; i++) {
        *o++ = ']';
    }
    *o = '\0';
    return s;
}

/* n nested objects {"k":{"k":...inner...}}. */
static const char *nested_objects(apr_pool_t *p, int n, const char *inner)
{
    size_t ilen = strlen(inner);
    char *s = apr_palloc(p, (apr_size_t)n * 6 + ilen + 1), *o = s;
    int i;

    for (i = 0; i < n; i++) {
        memcpy(o, "{\"k\":", 5);
        o += 5;
    }
    memcpy(o, inner, ilen);
    o += ilen;
    for (i = 0; i < n; i++) {
        *o++ = '}';
    }
    *o = '\0';
    return s;
}

static apr_status_t parse_str(json_t **v, const char **err, apr_pool_t *p, const char *s)
{
    return items_json_parse(v, err, p, s, strlen(s));
}

/* --- parsing ------------------------------------------------------------------ */

static void test_parse_object(void **state)
{
    apr_pool_t *p = *state;
    json_t *v = (json_t *)1;
    const char *err = "stale";

    assert_int_equal(PARSE(&v, &err, p, "{\"a\":1,\"b\":[true,null,\"x\"]}"), APR_SUCCESS);
    assert_null(err);
    assert_non_null(v);
    assert_true(json_is_object(v));
    assert_int_equal(json_object_size(v), 2);
    assert_string_equal(items_json_number_text(json_object_get(v, "a")), "1");
    assert_int_equal(json_array_size(json_object_get(v, "b")), 3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(v, "b"), 2)), "x");
}

static void test_parse_any_top_level(void **state)
{
    apr_pool_t *p = *state;
    json_t *v;
    const char *err;

    assert_int_equal(PARSE(&v, &err, p, "42"), APR_SUCCESS);
    assert_non_null(items_json_number_text(v));
    assert_string_equal(items_json_number_text(v), "42");
    assert_int_equal(PARSE(&v, &err, p, "\"s\""), APR_SUCCESS);
    assert_string_equal(json_string_value(v), "s");
    assert_null(items_json_number_text(v));
    assert_int_equal(PARSE(&v, &err, p, "null"), APR_SUCCESS);
    assert_true(json_is_null(v));
    assert_int_equal(PARSE(&v, &err, p, "true"), APR_SUCCESS);
    assert_true(json_is_true(v));
    assert_int_equal(PARSE(&v, &err, p, " [ ] "), APR_SUCCESS);
    assert_true(json_is_array(v));
    assert_int_equal(PARSE(&v, &err, p, "-1.5e2"), APR_SUCCESS);
    assert_string_equal(items_json_number_text(v), "-1.5e2");
}

static void test_parse_numbers_keep_text(void **state)
{
    static const char *const numbers[] = {
        "0", "-0", "1", "-1", "1.50", "0.1", "1e400", "1E+2", "-2.5e-3", "0e0",
        "123456789012345678901234567890123456789012", "9.9999999999999999999999999999999999999E+125",
    };
    apr_pool_t *p = *state;
    json_t *v;
    const char *err, *text;
    apr_size_t len;
    size_t i;

    for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        const char *doc = apr_psprintf(p, "{\"n\": %s, \"l\": [ %s ,%s]}", numbers[i],
                                       numbers[i], numbers[i]);
        if (parse_str(&v, &err, p, doc) != APR_SUCCESS) {
            fail_msg("number %s refused: %s", numbers[i], err);
        }
        assert_string_equal(items_json_number_text(json_object_get(v, "n")), numbers[i]);
        assert_string_equal(items_json_number_text(json_array_get(json_object_get(v, "l"), 1)),
                            numbers[i]);
        /* Dumped verbatim: what came in goes out. */
        assert_int_equal(items_json_dump(&text, &len, p, v), APR_SUCCESS);
        assert_string_equal(text, apr_psprintf(p, "{\"n\":%s,\"l\":[%s,%s]}", numbers[i],
                                               numbers[i], numbers[i]));
    }
}

static void test_parse_strings_are_not_numbers(void **state)
{
    apr_pool_t *p = *state;
    json_t *v;
    const char *err, *text;
    apr_size_t len;

    /* Digits in keys and strings, after escaped quotes and backslashes, stay text. */
    assert_int_equal(PARSE(&v, &err, p, "{\"1\":\"2\",\"a\\\"3\":[\"-4\",\"x\\\\\",5]}"),
                     APR_SUCCESS);
    assert_string_equal(json_string_value(json_object_get(v, "1")), "2");
    assert_null(items_json_number_text(json_object_get(v, "1")));
    {
        json_t *l = json_object_get(v, "a\"3");
        assert_non_null(l);
        assert_string_equal(json_string_value(json_array_get(l, 0)), "-4");
        assert_null(items_json_number_text(json_array_get(l, 0)));
        assert_string_equal(json_string_value(json_array_get(l, 1)), "x\\");
        assert_string_equal(items_json_number_text(json_array_get(l, 2)), "5");
    }
    /* A string spelling the internal tag is just a string, both ways. */
    assert_int_equal(PARSE(&v, &err, p, "[\"\\\\u0000#1\"]"), APR_SUCCESS);
    assert_string_equal(json_string_value(json_array_get(v, 0)), "\\u0000#1");
    assert_null(items_json_number_text(json_array_get(v, 0)));
    assert_int_equal(items_json_dump(&text, &len, p, v), APR_SUCCESS);
    assert_string_equal(text, "[\"\\\\u0000#1\"]");
}

static void test_parse_malformed_numbers(void **state)
{
    static const char *const bad[] = {
        "01", "-01", "1.", ".5", "+1", "-", "--1", "1e", "1e+", "1E-", "1.e3", "1.5.5",
        "0x10", "1-1", "1e5e5", "[1 2]", "[01]", "[1,-]", "{\"a\":-}", "[true1]", "[1true]",
        "{1:2}", "[1]2", "\"a\"1", "[Infinity]", "[-Infinity]", "[NaN]", "1_000",
    };
    apr_pool_t *p = *state;
    json_t *v;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = (json_t *)1;
        if (parse_str(&v, &err, p, bad[i]) != ITEMS_EBADREQUEST) {
            fail_msg("accepted malformed number JSON: %s", bad[i]);
        }
        assert_null(v);
        assert_non_null(err);
    }
}

static void test_parse_many_numbers_stay_in_bounds(void **state)
{
    /*
     * Numbers grow while they are tagged; the buffer for that must hold them
     * all. Pool memory is invisible to ASan, so look for damage directly: a
     * canary block allocated first lies next to the block the parser takes.
     */
    static const char *const patterns[] = { "0,", "-1.5e+3,", "[7],", "0-", "e1", "1.5.", "1+" };
    apr_allocator_t *allocator;
    apr_pool_t *p;
    unsigned char *canary;
    const size_t canary_len = 512 * 1024, reps = 20000;
    size_t i, k, bad;
    char *body;
    json_t *v;
    const char *err;

    (void)state;
    for (k = 0; k < sizeof(patterns) / sizeof(patterns[0]); k++) {
        size_t plen = strlen(patterns[k]);
        assert_int_equal(apr_allocator_create(&allocator), APR_SUCCESS);
        assert_int_equal(apr_pool_create_ex(&p, NULL, NULL, allocator), APR_SUCCESS);
        apr_allocator_owner_set(allocator, p);
        canary = apr_palloc(p, canary_len);
        memset(canary, 0xA5, canary_len);
        body = malloc(reps * plen + 3);
        body[0] = '[';
        for (i = 0; i < reps; i++) {
            memcpy(body + 1 + i * plen, patterns[k], plen);
        }
        memcpy(body + 1 + reps * plen, "0]", 2);
        (void)items_json_parse(&v, &err, p, body, reps * plen + 3);
        free(body);
        for (i = 0, bad = 0; i < canary_len; i++) {
            bad += canary[i] != 0xA5;
        }
        apr_pool_destroy(p);
        if (bad) {
            fail_msg("pattern \"%s\": parsing wrote %zu bytes outside its buffer", patterns[k],
                     bad);
        }
    }
}

static void test_parse_not_nul_terminated(void **state)
{
    apr_pool_t *p = *state;
    json_t *v;
    const char *err;
    const char buf[] = "[1]garbage";

    /* Only len bytes count: what follows must not be read. */
    assert_int_equal(items_json_parse(&v, &err, p, buf, 3), APR_SUCCESS);
    assert_int_equal(json_array_size(v), 1);
    assert_int_equal(items_json_parse(&v, &err, p, buf, 2), ITEMS_EBADREQUEST);
    assert_int_equal(items_json_parse(&v, &err, p, buf, 4), ITEMS_EBADREQUEST);

    /* An exactly sized heap buffer: ASan catches any read past the end. */
    {
        char *exact = malloc(7);
        json_t *w;
        memcpy(exact, "{\"a\":1}", 7);
        assert_int_equal(items_json_parse(&w, &err, p, exact, 7), APR_SUCCESS);
        assert_string_equal(items_json_number_text(json_object_get(w, "a")), "1");
        free(exact);
    }
}

static void test_parse_empty(void **state)
{
    apr_pool_t *p = *state;
    json_t *v = (json_t *)1;
    const char *err = NULL;

    assert_int_equal(items_json_parse(&v, &err, p, "", 0), ITEMS_EBADREQUEST);
    assert_null(v);
    assert_non_null(err);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(items_json_parse(&v, &err, p, NULL, 0), ITEMS_EBADREQUEST);
    assert_int_equal(PARSE(&v, &err, p, "   \n\t"), ITEMS_EBADREQUEST);
    assert_null(v);
}

static void test_parse_malformed(void **state)
{
    static const char *const bad[] = {
        "{",         "}",          "[1,]",       "{\"a\":1,}", "{a:1}",   "{'a':1}",
        "[1 2]",     "tru",        "nul",        "01",         "1.",      ".5",
        "+1",        "\"abc",      "\"\\x\"",    "{}{}",       "[] x",    "NaN",
        "Infinity",  "[\"\t\"]",   "{\"a\" 1}",  "/* c */ 1",  "\"\\u12\"", "\"\\ud800\"",
    };
    apr_pool_t *p = *state;
    json_t *v;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = (json_t *)1;
        err = NULL;
        if (parse_str(&v, &err, p, bad[i]) != ITEMS_EBADREQUEST) {
            fail_msg("accepted malformed JSON: %s", bad[i]);
        }
        assert_null(v);
        assert_non_null(err);
    }
}

static void test_parse_error_message(void **state)
{
    apr_pool_t *p = *state;
    json_t *v;
    const char *err;

    assert_int_equal(PARSE(&v, &err, p, "{\n  \"a\": x\n}"), ITEMS_EBADREQUEST);
    assert_non_null(strstr(err, "malformed JSON"));
}

static void test_parse_error_message_hides_tags(void **state)
{
    /* Numbers are tagged inside the parser; a client must never see the tag. */
    static const char *const bad[] = {
        "[1 2]", "[1,]", "{\"a\":1 \"b\":2}", "[1}", "{\"a\":1,\"a\":2}", "[1:2]", "1 2",
    };
    apr_pool_t *p = *state;
    json_t *v;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse_str(&v, &err, p, bad[i]), ITEMS_EBADREQUEST);
        if (strstr(err, "\\u0000") || strstr(err, "#1") || memchr(err, '#', strlen(err))) {
            fail_msg("error for %s shows the internal number tag: %s", bad[i], err);
        }
    }
}

static void test_parse_error_message_is_utf8(void **state)
{
    /* The message goes to clients as a JSON string: it must be valid UTF-8 even
     * when the offending text is long, multi-byte, and cut short by jansson. */
    static const char *const shapes[][2] = {
        { "[\"", "" },           /* unterminated string */
        { "[\"x", "\x01\"]" },   /* control character after multi-byte text */
        { "{\"", "\" 1}" },      /* missing colon after a multi-byte key */
        { "[", "]" },             /* multi-byte text as a bare token */
        { "[1, x", "]" },         /* invalid token followed by multi-byte text */
    };
    apr_pool_t *p = *state;
    json_t *v, *s;
    const char *err, *cyr = "", *body;
    size_t i;
    int n;

    for (n = 0; n < 200; n++) {
        cyr = apr_pstrcat(p, cyr, "\xd0\xbf", NULL); /* U+043F */
    }
    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        for (n = 0; n < 4; n++) {
            body = apr_pstrcat(p, shapes[i][0], apr_pstrndup(p, "aaa", (apr_size_t)n), cyr,
                               shapes[i][1], NULL);
            assert_int_equal(parse_str(&v, &err, p, body), ITEMS_EBADREQUEST);
            s = json_string(err);
            if (!s) {
                fail_msg("error message is not valid UTF-8 (shape %zu, pad %d): %s", i, n, err);
            }
            json_decref(s);
        }
    }
}

static void test_parse_duplicate_keys(void **state)
{
    apr_pool_t *p = *state;
    json_t *v;
    const char *err;

    assert_int_equal(PARSE(&v, &err, p, "{\"a\":1,\"a\":1}"), ITEMS_EBADREQUEST);
    assert_non_null(err);
    assert_int_equal(PARSE(&v, &err, p, "[{\"x\":{\"b\":1,\"b\":2}}]"), ITEMS_EBADREQUEST);
    /* The same key in different objects is fine. */
    assert_int_equal(PARSE(&v, &err, p, "[{\"b\":1},{\"b\":2}]"), APR_SUCCESS);
}

static void test_parse_nul_bytes(void **state)
{
    apr_pool_t *p = *state;
    json_t *v;
    const char *err;

    assert_int_equal(PARSE(&v, &err, p, "\"a\\u0000b\""), ITEMS_EBADREQUEST);
    assert_int_equal(PARSE(&v, &err, p, "{\"a\\u0000\":1}"), ITEMS_EBADREQUEST);
    assert_int_equal(PARSE(&v, &err, p, "\"a\0b\""), ITEMS_EBADREQUEST);
    assert_int_equal(PARSE(&v, &err, p, "[1]\0"), ITEMS_EBADREQUEST);
    assert_int_equal(PARSE(&v, &err, p, "\0[1]"), ITEMS_EBADREQUEST);
    assert_int_equal(PARSE(&v, &err, p, "\0"), ITEMS_EBADREQUEST);
}

static void test_parse_invalid_utf8(void **state)
{
    static const char *const bad[] = {
        "\"\xff\"",             /* never valid */
        "\"\xc3\"",             /* truncated 2-byte sequence */
        "\"\xc0\xaf\"",         /* overlong '/' */
        "\"\xe0\x80\xaf\"",     /* overlong 3-byte */
        "\"\xed\xa0\x80\"",     /* UTF-16 surrogate as UTF-8 */
        "\"\xf4\x90\x80\x80\"", /* above U+10FFFF */
        "\"\x80\"",             /* lone continuation byte */
        "{\"\xfe\":1}",         /* in a key */
        "\xef\xbb\xbf[]",       /* a BOM is not JSON */
    };
    apr_pool_t *p = *state;
    json_t *v;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_str(&v, &err, p, bad[i]) != ITEMS_EBADREQUEST) {
            fail_msg("accepted invalid UTF-8 #%zu", i);
        }
    }
    /* Valid multi-byte text, raw and escaped, passes. */
    assert_int_equal(PARSE(&v, &err, p, "[\"\xd0\x96\", \"\xf0\x9f\x98\x80\", \"\\ud83d\\ude00\"]"),
                     APR_SUCCESS);
    assert_string_equal(json_string_value(json_array_get(v, 0)), "\xd0\x96");
    assert_string_equal(json_string_value(json_array_get(v, 1)), "\xf0\x9f\x98\x80");
    assert_string_equal(json_string_value(json_array_get(v, 2)), "\xf0\x9f\x98\x80");
}

static void test_parse_depth_limit(void **state)
{
    apr_pool_t *p = *state;
    json_t *v;
    const char *err;
    int i;

    /* The outermost value is level 1: 32 levels pass, 33 do not. */
    assert_int_equal(parse_str(&v, &err, p, nested_arrays(p, ITEMS_JSON_MAX_DEPTH, "")),
                     APR_SUCCESS);
    for (i = 1; i < ITEMS_JSON_MAX_DEPTH; i++) {
        v = json_array_get(v, 0);
    }
    assert_true(json_is_array(v));
    assert_int_equal(json_array_size(v), 0);
    assert_int_equal(parse_str(&v, &err, p, nested_arrays(p, ITEMS_JSON_MAX_DEPTH - 1, "1")),
                     APR_SUCCESS);

    assert_int_equal(parse_str(&v, &err, p, nested_arrays(p, ITEMS_JSON_MAX_DEPTH + 1, "")),
                     ITEMS_EBADREQUEST);
    assert_null(v);
    assert_non_null(strstr(err, "32"));
    assert_int_equal(parse_str(&v, &err, p, nested_arrays(p, ITEMS_JSON_MAX_DEPTH, "1")),
                     ITEMS_EBADREQUEST);

    assert_int_equal(parse_str(&v, &err, p, nested_objects(p, ITEMS_JSON_MAX_DEPTH, "{}")),
                     ITEMS_EBADREQUEST);
    assert_int_equal(parse_str(&v, &err, p, nested_objects(p, ITEMS_JSON_MAX_DEPTH - 1, "{}")),
                     APR_SUCCESS);
    assert_int_equal(parse_str(&v, &err, p, nested_objects(p, ITEMS_JSON_MAX_DEPTH - 1, "1")),
                     APR_SUCCESS);
    assert_int_equal(parse_str(&v, &err, p, nested_objects(p, ITEMS_JSON_MAX_DEPTH, "1")),
                     ITEMS_EBADREQUEST);
}

static void test_parse_very_deep(void **state)
{
    /* Far beyond any limit: rejected without exhausting the stack. */
    apr_pool_t *p = *state;
    json_t *v;
    const char *err;

    assert_int_equal(parse_str(&v, &err, p, nested_arrays(p, 100000, "")), ITEMS_EBADREQUEST);
    assert_int_equal(parse_str(&v, &err, p, nested_arrays(p, 100000, "") + 50000),
                     ITEMS_EBADREQUEST);
    assert_int_equal(parse_str(&v, &err, p, nested_objects(p, 3000, "1")), ITEMS_EBADREQUEST);
}

/* --- dumping ------------------------------------------------------------------ */

static void test_dump_compact(void **state)
{
    apr_pool_t *p = *state;
    json_t *v;
    const char *err, *text = NULL;
    apr_size_t len = 0;

    assert_int_equal(PARSE(&v, &err, p, "{ \"a\" : 1 ,\n \"b\" : [ true , null , 1.5 , \"x\" ] }"),
                     APR_SUCCESS);
    assert_int_equal(items_json_dump(&text, &len, p, v), APR_SUCCESS);
    assert_string_equal(text, "{\"a\":1,\"b\":[true,null,1.5,\"x\"]}");
    assert_int_equal(len, strlen(text));
}

static void test_dump_scalars(void **state)
{
    apr_pool_t *p = *state;
    const char *text;
    apr_size_t len;
    json_t *v;

    v = items_json_own(p, json_string("x"));
    assert_int_equal(items_json_dump(&text, &len, p, v), APR_SUCCESS);
    assert_string_equal(text, "\"x\"");
    assert_int_equal(len, 3);
    assert_int_equal(items_json_dump(&text, &len, p, json_null()), APR_SUCCESS);
    assert_string_equal(text, "null");
    v = items_json_own(p, json_integer(-7));
    assert_int_equal(items_json_dump(&text, &len, p, v), APR_SUCCESS);
    assert_string_equal(text, "-7");
    v = items_json_own(p, json_object());
    assert_int_equal(items_json_dump(&text, &len, p, v), APR_SUCCESS);
    assert_string_equal(text, "{}");
    assert_int_equal(len, 2);
}

static void test_dump_escapes(void **state)
{
    apr_pool_t *p = *state;
    const char *text;
    apr_size_t len;
    json_t *v;

    /* UTF-8 stays UTF-8; control characters, quotes and NUL are escaped. */
    v = items_json_own(p, json_stringn("\xd0\x96\"\\\n\0z", 7));
    assert_non_null(v);
    assert_int_equal(items_json_dump(&text, &len, p, v), APR_SUCCESS);
    assert_string_equal(text, "\"\xd0\x96\\\"\\\\\\n\\u0000z\"");
    assert_int_equal(len, strlen(text));
}

static void test_dump_round_trip_large(void **state)
{
    apr_pool_t *p = *state;
    json_t *v = items_json_own(p, json_array()), *back;
    const char *text, *err;
    apr_size_t len;
    int i;

    for (i = 0; i < 20000; i++) {
        json_array_append_new(v, json_integer(i));
    }
    assert_int_equal(items_json_dump(&text, &len, p, v), APR_SUCCESS);
    assert_int_equal(len, strlen(text));
    assert_true(len > 20000 * 2);
    assert_int_equal(items_json_parse(&back, &err, p, text, len), APR_SUCCESS);
    assert_int_equal(json_array_size(back), 20000);
    assert_string_equal(items_json_number_text(json_array_get(back, 19999)), "19999");
    {
        const char *again;
        apr_size_t again_len;
        assert_int_equal(items_json_dump(&again, &again_len, p, back), APR_SUCCESS);
        assert_int_equal(again_len, len);
        assert_string_equal(again, text);
    }
}

static void test_dump_number_texts(void **state)
{
    apr_pool_t *p = *state;
    json_t *v = items_json_own(p, json_object());
    const char *text;
    apr_size_t len;

    json_object_set_new(v, "a", items_json_number("1.50"));
    json_object_set_new(v, "b", json_pack("[oo]", items_json_number("-0"), json_string("x")));
    json_object_set_new(v, "c", json_integer(7));
    assert_int_equal(items_json_dump(&text, &len, p, v), APR_SUCCESS);
    assert_string_equal(text, "{\"a\":1.50,\"b\":[-0,\"x\"],\"c\":7}");
    assert_int_equal(len, strlen(text));
    /* Top level too. */
    v = items_json_own(p, items_json_number("12345678901234567890.5"));
    assert_int_equal(items_json_dump(&text, &len, p, v), APR_SUCCESS);
    assert_string_equal(text, "12345678901234567890.5");
    assert_int_equal(len, 22);
}

static void test_number_text(void **state)
{
    apr_pool_t *p = *state;
    json_t *v;

    v = items_json_own(p, items_json_number("3.25"));
    assert_non_null(v);
    assert_string_equal(items_json_number_text(v), "3.25");
    /* Long texts too (past any small internal buffer). */
    {
        char digits[301];
        memset(digits, '9', 300);
        digits[300] = '\0';
        v = items_json_own(p, items_json_number(digits));
        assert_string_equal(items_json_number_text(v), digits);
    }
    /* Nothing else is a number text. */
    assert_null(items_json_number_text(items_json_own(p, json_string("3.25"))));
    assert_null(items_json_number_text(items_json_own(p, json_string(""))));
    assert_null(items_json_number_text(items_json_own(p, json_integer(3))));
    assert_null(items_json_number_text(json_null()));
    assert_null(items_json_number_text(NULL));
}

static void test_dump_sorted(void **state)
{
    apr_pool_t *p = *state;
    json_t *a, *b;
    const char *err, *ta, *tb;
    apr_size_t la, lb;

    assert_int_equal(PARSE(&a, &err, p, "{\"b\":1,\"a\":{\"d\":2.0,\"c\":[3,{\"z\":0,\"y\":1}]}}"),
                     APR_SUCCESS);
    assert_int_equal(PARSE(&b, &err, p, "{\"a\":{\"c\":[3,{\"y\":1,\"z\":0}],\"d\":2.0},\"b\":1}"),
                     APR_SUCCESS);
    assert_int_equal(items_json_dump_sorted(&ta, &la, p, a), APR_SUCCESS);
    assert_int_equal(items_json_dump_sorted(&tb, &lb, p, b), APR_SUCCESS);
    assert_string_equal(ta, "{\"a\":{\"c\":[3,{\"y\":1,\"z\":0}],\"d\":2.0},\"b\":1}");
    assert_string_equal(ta, tb);
    assert_int_equal(la, lb);
    /* The unsorted dump keeps insertion order. */
    assert_int_equal(items_json_dump(&ta, &la, p, a), APR_SUCCESS);
    assert_string_equal(ta, "{\"b\":1,\"a\":{\"d\":2.0,\"c\":[3,{\"z\":0,\"y\":1}]}}");
}

/* --- parse_plain ------------------------------------------------------------------ */

static void test_parse_plain(void **state)
{
    apr_pool_t *p = *state;
    json_t *v;
    static const char doc[] = "{\"Count\":2,\"f\":1.5,\"s\":\"\u00e9\"}trailing";

    assert_int_equal(items_json_parse_plain(&v, p, doc, sizeof(doc) - 1 - 8), APR_SUCCESS);
    assert_true(json_is_integer(json_object_get(v, "Count")));
    assert_int_equal(json_integer_value(json_object_get(v, "Count")), 2);
    assert_true(json_is_real(json_object_get(v, "f")));
    assert_null(items_json_number_text(json_object_get(v, "Count")));
    assert_string_equal(json_string_value(json_object_get(v, "s")), "\xc3\xa9");

    v = (json_t *)1;
    assert_int_equal(items_json_parse_plain(&v, p, doc, sizeof(doc) - 1), ITEMS_EBADGATEWAY);
    assert_null(v);
    assert_int_equal(items_json_parse_plain(&v, p, "", 0), ITEMS_EBADGATEWAY);
    assert_int_equal(items_json_parse_plain(&v, p, "<html>", 6), ITEMS_EBADGATEWAY);
    assert_int_equal(items_json_parse_plain(&v, p, "[\"a\\u0000\"]", 11), ITEMS_EBADGATEWAY);
    assert_int_equal(items_json_parse_plain(&v, p, "[\"\xff\"]", 5), ITEMS_EBADGATEWAY);
}

static void test_parse_plain_owned_by_pool(void **state)
{
    apr_pool_t *p;
    json_t *v, *w;
    long before = live_allocs;

    (void)state;
    assert_int_equal(apr_pool_create(&p, NULL), APR_SUCCESS);
    assert_int_equal(items_json_parse_plain(&v, p, "{\"a\":[1,2]}", 11), APR_SUCCESS);
    assert_int_equal(v->refcount, 1);
    json_incref(v);
    assert_int_equal(items_json_parse_plain(&w, p, "[1,", 3), ITEMS_EBADGATEWAY);
    apr_pool_destroy(p);
    assert_int_equal(v->refcount, 1); /* ours only */
    json_decref(v);
    assert_int_equal(live_allocs, before);
}

/* Every control character, quote and backslash, in values and names, as jansson writes them. */
static void test_dump_escapes_as_jansson(void **state)
{
    apr_pool_t *p = *state;
    char raw[40];
    const char *text;
    apr_size_t len, n = 0;
    json_t *v;
    char *expected;
    int c;

    for (c = 0; c < 0x20; c++) {
        raw[n++] = (char)c;
    }
    memcpy(raw + n, "\"\\/\x7f\xc3\xa5", 7);
    n += 7;
    v = items_json_own(p, json_object());
    json_object_set_new(v, "k\x01\"\\", json_stringn(raw, n));
    json_object_set_new(v, "list", json_pack("[s,i,I,b,b,n]", "x", -1, (json_int_t)INT64_MIN, 1, 0));
    expected = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_int_equal(items_json_dump(&text, &len, p, v), APR_SUCCESS);
    assert_string_equal(text, expected);
    assert_int_equal(len, strlen(expected));
    free(expected);
}

/* Reals are left to jansson's own formatting. */
static void test_dump_reals(void **state)
{
    apr_pool_t *p = *state;
    const char *text;
    apr_size_t len;
    json_t *v = items_json_own(p, json_pack("{s:f,s:[f]}", "a", 0.5, "b", 1e300));
    char *expected = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    assert_int_equal(items_json_dump(&text, &len, p, v), APR_SUCCESS);
    assert_string_equal(text, expected);
    free(expected);
}

static void test_dump_null_value_fails(void **state)
{
    apr_pool_t *p = *state;
    const char *text = NULL;
    apr_size_t len = 0;

    assert_int_not_equal(items_json_dump(&text, &len, p, NULL), APR_SUCCESS);
}

/* --- pool ownership ------------------------------------------------------------ */

static void test_own_releases_on_destroy(void **state)
{
    apr_pool_t *p;
    json_t *v = json_object();

    (void)state;
    assert_int_equal(apr_pool_create(&p, NULL), APR_SUCCESS);
    assert_ptr_equal(items_json_own(p, v), v);
    json_incref(v);
    assert_int_equal(v->refcount, 2);
    apr_pool_destroy(p);
    assert_int_equal(v->refcount, 1);
    json_decref(v);
}

static void test_own_releases_on_clear(void **state)
{
    apr_pool_t *p;
    json_t *v = json_array();

    (void)state;
    assert_int_equal(apr_pool_create(&p, NULL), APR_SUCCESS);
    items_json_own(p, v);
    json_incref(v);
    apr_pool_clear(p);
    assert_int_equal(v->refcount, 1);
    /* The cleanup ran once: after the clear, the pool no longer owns it. */
    apr_pool_destroy(p);
    assert_int_equal(v->refcount, 1);
    json_decref(v);
}

static void test_own_subpool(void **state)
{
    apr_pool_t *parent, *child;
    json_t *v = json_string("s");

    (void)state;
    assert_int_equal(apr_pool_create(&parent, NULL), APR_SUCCESS);
    assert_int_equal(apr_pool_create(&child, parent), APR_SUCCESS);
    items_json_own(child, v);
    json_incref(v);
    apr_pool_destroy(parent); /* destroys child too */
    assert_int_equal(v->refcount, 1);
    json_decref(v);
}

static void test_own_null(void **state)
{
    apr_pool_t *p = *state;

    assert_null(items_json_own(p, NULL));
}

static void test_parse_value_owned_by_pool(void **state)
{
    apr_pool_t *p;
    json_t *v, *inner;
    const char *err;

    (void)state;
    assert_int_equal(apr_pool_create(&p, NULL), APR_SUCCESS);
    assert_int_equal(PARSE(&v, &err, p, "{\"a\":[1,2,3]}"), APR_SUCCESS);
    assert_int_equal(v->refcount, 1); /* the pool's reference only */
    json_incref(v);
    inner = json_object_get(v, "a");
    assert_int_equal(inner->refcount, 1);
    apr_pool_destroy(p);
    assert_int_equal(v->refcount, 1);
    assert_int_equal(json_array_size(inner), 3); /* still alive through our reference */
    json_decref(v);
}

static void test_no_leaks_success_path(void **state)
{
    long before = live_allocs;
    apr_pool_t *p;
    json_t *v;
    const char *err, *text;
    apr_size_t len;

    (void)state;
    assert_int_equal(apr_pool_create(&p, NULL), APR_SUCCESS);
    assert_int_equal(PARSE(&v, &err, p, "{\"a\":[1,2,{\"b\":\"c\"}],\"d\":\"e\"}"), APR_SUCCESS);
    assert_true(live_allocs > before);
    assert_int_equal(items_json_dump(&text, &len, p, v), APR_SUCCESS);
    apr_pool_destroy(p);
    assert_int_equal(live_allocs, before);
}

static void test_no_leaks_error_paths(void **state)
{
    long before = live_allocs;
    apr_pool_t *p;
    json_t *v;
    const char *err;

    (void)state;
    assert_int_equal(apr_pool_create(&p, NULL), APR_SUCCESS);
    /* Parsed completely, then rejected for depth: the pool still owns it. */
    assert_int_equal(parse_str(&v, &err, p, nested_arrays(p, 40, "\"x\"")), ITEMS_EBADREQUEST);
    assert_true(live_allocs > before);
    /* Failing inside jansson: jansson frees what it built. */
    assert_int_equal(PARSE(&v, &err, p, "[[1,2,{\"a\":\"b\"}], x"), ITEMS_EBADREQUEST);
    assert_int_equal(PARSE(&v, &err, p, "{\"a\":1,\"a\":2}"), ITEMS_EBADREQUEST);
    apr_pool_destroy(p);
    assert_int_equal(live_allocs, before);
}

/* items_json_is_number: exactly RFC 8259's number grammar, over a counted span. */
static void test_is_number(void **state)
{
    static const char *const good[] = { "0", "-0", "7", "12", "-12", "1.5", "-0.25", "1e9",
                                        "1E+2", "1e-2", "-1.5e10", "0.0e0",
                                        "123456789012345678901234567890" };
    static const char *const bad[] = { "", "-", "01", "-01", "1.", ".5", "1e", "1e+", "+1",
                                       "1.e2", "NaN", "Infinity", "0x1", " 1", "1 ", "1,0",
                                       "--1", "1e2.5", "1..2" };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!items_json_is_number(good[i], strlen(good[i]))) {
            fail_msg("\"%s\" is a JSON number", good[i]);
        }
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (items_json_is_number(bad[i], strlen(bad[i]))) {
            fail_msg("\"%s\" is not a JSON number", bad[i]);
        }
    }
    /* Only the span counts: what follows it is not looked at. */
    assert_true(items_json_is_number("12x", 2));
    assert_false(items_json_is_number("12x", 3));
    assert_true(items_json_is_number("1.5e3", 3));  /* "1.5" */
    assert_false(items_json_is_number("1.5e3", 2)); /* "1." */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_number),
        cmocka_unit_test_setup_teardown(test_parse_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_any_top_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_numbers_keep_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_strings_are_not_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_malformed_numbers, setup, teardown),
        cmocka_unit_test(test_parse_many_numbers_stay_in_bounds),
        cmocka_unit_test_setup_teardown(test_parse_not_nul_terminated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_error_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_error_message_hides_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_error_message_is_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_duplicate_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_nul_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_depth_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_very_deep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_compact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_scalars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_round_trip_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_number_texts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_number_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_plain, setup, teardown),
        cmocka_unit_test(test_parse_plain_owned_by_pool),
        cmocka_unit_test_setup_teardown(test_dump_escapes_as_jansson, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_reals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_null_value_fails, setup, teardown),
        cmocka_unit_test(test_own_releases_on_destroy),
        cmocka_unit_test(test_own_releases_on_clear),
        cmocka_unit_test(test_own_subpool),
        cmocka_unit_test_setup_teardown(test_own_null, setup, teardown),
        cmocka_unit_test(test_parse_value_owned_by_pool),
        cmocka_unit_test(test_no_leaks_success_path),
        cmocka_unit_test(test_no_leaks_error_paths),
    };
    int failed;

    /* Before any jansson allocation, so every value is counted. */
    json_set_alloc_funcs(count_malloc, count_free);
    apr_initialize();
    failed = cmocka_run_group_tests_name("items_json", tests, NULL, NULL);
    apr_terminate();
    return failed ? 1 : 0;
}
