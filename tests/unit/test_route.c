/* SPDX-License-Identifier: Apache-2.0 */
/*
 * items_route.c: what a path below the mount point names, the list query, and
 * entity-tag lists from precondition headers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "items_item.h"
#include "items_route.h"
#include "items_status.h"
#include "unit.h"

#define DFLT 20
#define MAX 100


/* Parse with the route and error pre-filled with garbage, to see both reset. */
static apr_status_t route(items_route_t *r, const char **err, apr_pool_t *p, const char *path)
{
    r->kind = (items_route_kind_e)77;
    r->id = "stale";
    *err = "stale";
    return items_route_parse(r, err, p, path);
}

/* --- items_route_parse ----------------------------------------------------------- */

static void test_route_collection(void **state)
{
    static const char *const paths[] = { "", "/" };
    apr_pool_t *p = *state;
    items_route_t r;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        assert_int_equal(route(&r, &err, p, paths[i]), APR_SUCCESS);
        assert_int_equal(r.kind, ITEMS_ROUTE_COLLECTION);
        assert_null(r.id);
        assert_null(err);
    }
    assert_int_equal(route(&r, &err, p, NULL), APR_SUCCESS);
    assert_int_equal(r.kind, ITEMS_ROUTE_COLLECTION);
    assert_null(r.id);
}

static void test_route_item(void **state)
{
    static const char *const ids[] = {
        "id", "a", "123e4567-e89b-42d3-a456-426614174000", "A.b_c-d~e", "~", "-", "_",
    };
    apr_pool_t *p = *state;
    items_route_t r;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        const char *path = apr_pstrcat(p, "/", ids[i], NULL);
        assert_int_equal(route(&r, &err, p, path), APR_SUCCESS);
        assert_int_equal(r.kind, ITEMS_ROUTE_ITEM);
        assert_non_null(r.id);
        assert_string_equal(r.id, ids[i]);
        assert_null(err);
    }
}

static void test_route_item_max_length(void **state)
{
    apr_pool_t *p = *state;
    items_route_t r;
    const char *err;
    char path[ITEMS_ID_MAX_LEN + 3];

    path[0] = '/';
    memset(path + 1, 'z', ITEMS_ID_MAX_LEN);
    path[ITEMS_ID_MAX_LEN + 1] = '\0';
    assert_int_equal(route(&r, &err, p, path), APR_SUCCESS);
    assert_int_equal(r.kind, ITEMS_ROUTE_ITEM);
    assert_int_equal(strlen(r.id), ITEMS_ID_MAX_LEN);

    path[ITEMS_ID_MAX_LEN + 1] = 'z';
    path[ITEMS_ID_MAX_LEN + 2] = '\0';
    assert_int_equal(route(&r, &err, p, path), ITEMS_EBADREQUEST);
    assert_int_equal(r.kind, ITEMS_ROUTE_NONE);
    assert_null(r.id);
    assert_non_null(err);
    assert_non_null(strstr(err, "128"));
}

static void test_route_not_ours(void **state)
{
    /* Anything that is not "", "/" or "/{id}" is no resource of ours: a 404,
     * not a 400, and no error text. */
    static const char *const paths[] = {
        "/a/b", "//", "///", "/a/", "//a", "/a//", "a", "ab/cd", "a/", "x/", " /",
        "/a/b/c", "/%/x", "/ /",
    };
    apr_pool_t *p = *state;
    items_route_t r;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (route(&r, &err, p, paths[i]) != APR_SUCCESS || r.kind != ITEMS_ROUTE_NONE) {
            fail_msg("path \"%s\": want ITEMS_ROUTE_NONE", paths[i]);
        }
        assert_null(r.id);
        assert_null(err);
    }
}

static void test_route_bad_ids(void **state)
{
    static const char *const paths[] = {
        "/a b", "/a%2Fb", "/%", "/a+b", "/a?b", "/a#b", "/a:b", "/a@b", "/a\\b", "/\t",
        "/a\nb", "/\xd0\x96", "/caf\xc3\xa9", "/\xff", "/a*", "/'",
    };
    apr_pool_t *p = *state;
    items_route_t r;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (route(&r, &err, p, paths[i]) != ITEMS_EBADREQUEST) {
            fail_msg("path \"%s\": want ITEMS_EBADREQUEST", paths[i]);
        }
        assert_int_equal(r.kind, ITEMS_ROUTE_NONE);
        assert_null(r.id);
        assert_non_null(err);
        assert_non_null(strstr(err, "invalid item id"));
    }
}

/* --- items_route_list_query: limit ---------------------------------------------- */

/* The limit for args, or fail the test with rv and error when it is refused. */
static int limit_ok(apr_pool_t *p, const char *args)
{
    int limit = -12345;
    const char *err = "stale", *cursor = "stale";
    apr_status_t rv = items_route_list_query(&limit, &cursor, &err, p, args, DFLT, MAX);

    if (rv != APR_SUCCESS) {
        fail_msg("args \"%s\" refused: %s", args ? args : "(null)", err ? err : "no error");
    }
    assert_null(err);
    assert_null(cursor);
    return limit;
}

/* Assert args are refused with ITEMS_EBADREQUEST and an error that holds want. */
static void limit_bad(apr_pool_t *p, const char *args, const char *want)
{
    int limit = -12345;
    const char *err = NULL, *cursor;
    apr_status_t rv = items_route_list_query(&limit, &cursor, &err, p, args, DFLT, MAX);

    if (rv != ITEMS_EBADREQUEST) {
        fail_msg("args \"%s\" accepted (limit %d), want ITEMS_EBADREQUEST", args, limit);
    }
    assert_non_null(err);
    if (want && !strstr(err, want)) {
        fail_msg("args \"%s\": error \"%s\" lacks \"%s\"", args, err, want);
    }
}

static void test_limit_absent(void **state)
{
    apr_pool_t *p = *state;

    assert_int_equal(limit_ok(p, NULL), DFLT);
    assert_int_equal(limit_ok(p, ""), DFLT);
}

static void test_limit_default_passed_through(void **state)
{
    apr_pool_t *p = *state;
    int limit = 0;
    const char *err, *cursor;

    assert_int_equal(items_route_list_query(&limit, &cursor, &err, p, NULL, 7, 50), APR_SUCCESS);
    assert_int_equal(limit, 7);
    assert_int_equal(items_route_list_query(&limit, &cursor, &err, p, "&", 3, 50), APR_SUCCESS);
    assert_int_equal(limit, 3);
}

static void test_limit_valid(void **state)
{
    apr_pool_t *p = *state;

    assert_int_equal(limit_ok(p, "limit=1"), 1);
    assert_int_equal(limit_ok(p, "limit=2"), 2);
    assert_int_equal(limit_ok(p, "limit=20"), 20);
    assert_int_equal(limit_ok(p, "limit=99"), 99);
    assert_int_equal(limit_ok(p, "limit=100"), MAX);
    assert_int_equal(limit_ok(p, "limit=007"), 7);
}

static void test_limit_out_of_range(void **state)
{
    static const char *const args[] = {
        "limit=101",      "limit=0",          "limit=00",         "limit=1000",
        "limit=-1",       "limit=-0",         "limit=2147483647", "limit=2147483648",
        "limit=4294967297", /* 2^32 + 1: wraps to 1 in 32 bits */
        "limit=18446744073709551617", /* 2^64 + 1 */
        "limit=99999999999999999999",
        "limit=100000000000000000000000000000000000000000000000000000000000000000000001",
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
        limit_bad(p, args[i], "from 1 to 100");
    }
}

static void test_limit_at_int_max(void **state)
{
    apr_pool_t *p = *state;
    int limit = 0;
    const char *err, *c;

    assert_int_equal(items_route_list_query(&limit, &c, &err, p, "limit=2147483647", 1, INT_MAX),
                     APR_SUCCESS);
    assert_int_equal(limit, INT_MAX);
    assert_int_equal(items_route_list_query(&limit, &c, &err, p, "limit=2147483648", 1, INT_MAX),
                     ITEMS_EBADREQUEST);
    assert_int_equal(items_route_list_query(&limit, &c, &err, p, "limit=21474836470", 1, INT_MAX),
                     ITEMS_EBADREQUEST);
    assert_int_equal(
        items_route_list_query(&limit, &c, &err, p, "limit=99999999999999999999", 1, INT_MAX),
        ITEMS_EBADREQUEST);
}

static void test_limit_not_a_number(void **state)
{
    static const char *const args[] = {
        "limit=abc", "limit=1a",  "limit=a1",  "limit=1.0", "limit=1e1", "limit=+1",
        "limit= 1",  "limit=1 ",  "limit=0x10", "limit=%2B1", "limit=1+",  "limit==1",
        "limit=1=1", "limit=\xd0\x96", "limit=\t1", "limit=%20%31", "limit=1%2E0",
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
        limit_bad(p, args[i], "whole number");
    }
}

static void test_limit_empty_value(void **state)
{
    apr_pool_t *p = *state;

    limit_bad(p, "limit=", "whole number");
    limit_bad(p, "limit=&", "whole number");
    limit_bad(p, "limit", "whole number");   /* no '=' at all */
    limit_bad(p, "limit&", "whole number");  /* no '=', then another parameter */
    limit_bad(p, "limit&&", "whole number");
    limit_bad(p, "&limit", "whole number");
}

static void test_limit_repeated(void **state)
{
    apr_pool_t *p = *state;

    limit_bad(p, "limit=5&limit=5", "more than once");
    limit_bad(p, "limit=5&limit=6", "more than once");
    limit_bad(p, "limit=5&limit", "more than once");
    limit_bad(p, "limit&limit=5", NULL);
    limit_bad(p, "limit=5&&limit=5", "more than once");
}

static void test_limit_unknown_params(void **state)
{
    static const char *const args[] = {
        "foo=1",        "foo",        "limit=5&foo=1", "foo=1&limit=5", "LIMIT=5",
        "Limit=5",      "limits=5",   "lim=5",         "limit_=5",      "xlimit=5",
        "limit%3D5",    "limit+=5",   "limit=5&x",     "cursors=abc",   "limit=5;foo=1",
        "Cursor=abc",   "page=2",
        "%6Cimit%3D5",  "limit%26limit=5",
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
        limit_bad(p, args[i], NULL);
    }
    limit_bad(p, "foo=1", "unknown query parameter");
}

static void test_limit_percent_decoded(void **state)
{
    /* The query arrives raw (r->args): names and values are form-decoded. */
    apr_pool_t *p = *state;

    assert_int_equal(limit_ok(p, "limit=%31"), 1);
    assert_int_equal(limit_ok(p, "limit=%31%30%30"), 100);
    assert_int_equal(limit_ok(p, "lim%69t=5"), 5);
    assert_int_equal(limit_ok(p, "%6C%69%6D%69%74=7"), 7);
    assert_int_equal(limit_ok(p, "%6c%69%6d%69%74=8"), 8);
    limit_bad(p, "limit=%31%30%31", "from 1 to 100");
    limit_bad(p, "limit=5&lim%69t=5", "more than once");
}

static void test_limit_malformed_escapes(void **state)
{
    static const char *const args[] = {
        "%",         "limit=%",    "limit=%3",    "limit=1%",   "limit=%zz",  "limit=%3g",
        "limit=1%00", "limit=%00", "lim%00it=1", "foo=%",      "limit=5&%",  "%%31",
        "limit=%\xd0\x96",
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
        limit_bad(p, args[i], "%-escape");
    }
}

static void test_limit_empty_name_with_value(void **state)
{
    /* A parameter with an empty name but a value is an unknown parameter too;
     * only bare '&' separators are skipped. */
    apr_pool_t *p = *state;

    limit_bad(p, "=5", "unknown query parameter");
    limit_bad(p, "=", "unknown query parameter");
    limit_bad(p, "limit=5&=1", "unknown query parameter");
}

/* --- items_route_list_query: cursor ------------------------------------------------ */

/* The cursor for args, which must be accepted. */
static const char *cursor_ok(apr_pool_t *p, const char *args, int *limit)
{
    const char *err = "stale", *cursor = "stale";
    apr_status_t rv = items_route_list_query(limit, &cursor, &err, p, args, DFLT, MAX);

    if (rv != APR_SUCCESS) {
        fail_msg("args \"%s\" refused: %s", args, err ? err : "no error");
    }
    return cursor;
}

static void test_cursor(void **state)
{
    apr_pool_t *p = *state;
    int limit;

    assert_string_equal(cursor_ok(p, "cursor=abc", &limit), "abc");
    assert_int_equal(limit, DFLT);
    assert_string_equal(cursor_ok(p, "limit=5&cursor=AbC-_09", &limit), "AbC-_09");
    assert_int_equal(limit, 5);
    assert_string_equal(cursor_ok(p, "cursor=xyz&limit=7", &limit), "xyz");
    assert_int_equal(limit, 7);
    /* Form-decoded, as a client's library encodes it. */
    assert_string_equal(cursor_ok(p, "cursor=a%2Bb%3D%3D", &limit), "a+b==");
    assert_string_equal(cursor_ok(p, "cursor=a+b", &limit), "a b");
    assert_string_equal(cursor_ok(p, "cursor=x=y", &limit), "x=y");
    assert_null(cursor_ok(p, "limit=3", &limit));
    assert_null(cursor_ok(p, "", &limit));
}

static void test_cursor_bad(void **state)
{
    apr_pool_t *p = *state;

    limit_bad(p, "cursor=", "'cursor' is empty");
    limit_bad(p, "cursor", "'cursor' is empty");
    limit_bad(p, "cursor=&limit=5", "'cursor' is empty");
    limit_bad(p, "cursor=a&cursor=b", "more than once");
    limit_bad(p, "cursor=a&cursor=a", "more than once");
    limit_bad(p, "cursor=%", "%-escape");
    limit_bad(p, "cursor=a%00b", "%-escape");
}

/* --- items_route_parse_etags ------------------------------------------------------------ */

static items_route_etags_t etags_ok(apr_pool_t *p, const char *header)
{
    items_route_etags_t tags;
    const char *err = "stale";

    if (items_route_parse_etags(&tags, &err, p, header) != APR_SUCCESS) {
        fail_msg("header [%s] refused: %s", header, err ? err : "no error");
    }
    assert_null(err);
    return tags;
}

static void assert_tags(const apr_array_header_t *got, const char *const *want, int n)
{
    int i;

    assert_non_null(got);
    assert_int_equal(got->nelts, n);
    for (i = 0; i < n; i++) {
        assert_string_equal(APR_ARRAY_IDX(got, i, const char *), want[i]);
    }
}

static void test_etags_any(void **state)
{
    apr_pool_t *p = *state;
    items_route_etags_t t;

    t = etags_ok(p, "*");
    assert_true(t.any);
    assert_int_equal(t.all->nelts, 0);
    t = etags_ok(p, " \t* \t");
    assert_true(t.any);
}

static void test_etags_lists(void **state)
{
    apr_pool_t *p = *state;
    items_route_etags_t t;

    {
        static const char *const all[] = { "abc" };
        t = etags_ok(p, "\"abc\"");
        assert_false(t.any);
        assert_tags(t.all, all, 1);
        assert_tags(t.strong, all, 1);
    }
    {
        static const char *const all[] = { "abc" };
        t = etags_ok(p, "W/\"abc\"");
        assert_tags(t.all, all, 1);
        assert_tags(t.strong, NULL, 0);
    }
    {
        static const char *const all[] = { "a", "b", "c" }, *const strong[] = { "a", "c" };
        t = etags_ok(p, "\"a\", W/\"b\" ,\"c\"");
        assert_tags(t.all, all, 3);
        assert_tags(t.strong, strong, 2);
    }
    {
        /* Empty list elements are allowed (RFC 9110 5.6.1), and so is an empty tag. */
        static const char *const all[] = { "x", "" };
        t = etags_ok(p, " , ,\"x\",,\t\"\" ,");
        assert_tags(t.all, all, 2);
        assert_tags(t.strong, all, 2);
    }
    {
        /* Every etagc: '!', 0x23-0x7e, obs-text. */
        static const char *const all[] = { "!#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~\x80\xff" };
        t = etags_ok(p, "\"!#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~\x80\xff\"");
        assert_tags(t.all, all, 1);
    }
}

static void test_etags_limit(void **state)
{
    apr_pool_t *p = *state;
    const char *h64 = "", *err;
    items_route_etags_t t;
    int i;

    for (i = 0; i < 64; i++) {
        h64 = apr_psprintf(p, "%s%s\"t%d\"", h64, i ? ", " : "", i);
    }
    t = etags_ok(p, h64);
    assert_int_equal(t.all->nelts, 64);
    assert_int_equal(items_route_parse_etags(&t, &err, p, apr_pstrcat(p, h64, ", \"t64\"", NULL)),
                     ITEMS_EBADREQUEST);
    assert_non_null(strstr(err, "too many"));
}

static void test_etags_malformed(void **state)
{
    static const char *const bad[] = {
        "",           "   ",         ",",          "* ,\"a\"",  "\"a\", *",  "**",
        "abc",        "\"abc",       "\"a\" \"b\"", "\"a\"b",    "W/abc",     "W/",
        "w/\"a\"",    "W /\"a\"",    "\"a b\"",     "\"a\tb\"",   "\"a\x7f\"",   "\"a\x01\"",
        "\"a\";\"b\"", "'a'",
    };
    apr_pool_t *p = *state;
    items_route_etags_t t;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        if (items_route_parse_etags(&t, &err, p, bad[i]) != ITEMS_EBADREQUEST) {
            fail_msg("header [%s] accepted", bad[i]);
        }
        assert_non_null(err);
    }
}

static void test_limit_stray_ampersands(void **state)
{
    apr_pool_t *p = *state;

    assert_int_equal(limit_ok(p, "&"), DFLT);
    assert_int_equal(limit_ok(p, "&&&"), DFLT);
    assert_int_equal(limit_ok(p, "&limit=5"), 5);
    assert_int_equal(limit_ok(p, "limit=5&"), 5);
    assert_int_equal(limit_ok(p, "&&limit=6&&"), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_route_collection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_item, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_item_max_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_not_ours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_bad_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_default_passed_through, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_at_int_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_not_a_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_empty_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_repeated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_unknown_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_percent_decoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_malformed_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_empty_name_with_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_stray_ampersands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_etags_any, setup, teardown),
        cmocka_unit_test_setup_teardown(test_etags_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_etags_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_etags_malformed, setup, teardown),
    };
    int failed;

    apr_initialize();
    failed = cmocka_run_group_tests_name("items_route", tests, NULL, NULL);
    apr_terminate();
    return failed ? 1 : 0;
}
