/* SPDX-License-Identifier: Apache-2.0 */
/*
 * items_ddbtext.c: DynamoDB's GetItem and Scan answers written straight as the
 * client's JSON. Each accepted answer is checked twice: against the text
 * written out here, and against what the jansson path (items_json_parse_plain,
 * items_ddb_unmarshal_item, items_json_dump) makes of the same body
 * (tests/fuzz/ddbtext_diff.h, as the fuzz target does). What the fast path
 * must decline is listed case by case.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "items_ddbtext.h"
#include "unit.h"
#include "../fuzz/ddbtext_diff.h"

#define GET 0
#define SCAN 1

/* --- helpers -------------------------------------------------------------------- */

/*
 * The fast path on len bytes of body, from an exactly sized heap copy (ASan sees
 * any read past the end); the answer must be taken and agree with jansson.
 */
static items_ddbtext_answer_t take_n(apr_pool_t *p, const char *body, apr_size_t len, int scan)
{
    items_ddbtext_answer_t a;
    const char *diff;
    char *copy = malloc(len ? len : 1);
    apr_status_t rv;

    assert_non_null(copy);
    memcpy(copy, body, len);
    rv = items_ddbtext_items(&a, p, copy, len, scan);
    if (rv != APR_SUCCESS) {
        free(copy);
        fail_msg("%s answer declined (%d): %.*s", scan ? "Scan" : "GetItem", rv, (int)len, body);
    }
    diff = ddbtext_diff(p, copy, len, scan, &a);
    free(copy); /* the answer lives in the pool, not in the body */
    if (diff) {
        fail_msg("%s answer %.*s: %s", scan ? "Scan" : "GetItem", (int)len, body, diff);
    }
    return a;
}

static items_ddbtext_answer_t take(apr_pool_t *p, const char *body, int scan)
{
    return take_n(p, body, strlen(body), scan);
}

/* The one item of a GetItem answer. */
static items_ddbtext_item_t get_item(apr_pool_t *p, const char *body)
{
    items_ddbtext_answer_t a = take(p, body, GET);

    assert_int_equal(a.n_items, 1);
    assert_int_equal(a.has_more, 0);
    assert_int_equal(strlen(a.items[0].text), a.items[0].len);
    return a.items[0];
}

/* The client's text of one attribute value av, as the member "v" of an item. */
static void expect_av(apr_pool_t *p, const char *av, const char *expected)
{
    const char *body = apr_psprintf(p, "{\"Item\":{\"id\":{\"S\":\"x\"},\"v\":%s}}", av);
    const char *want = apr_psprintf(p, "{\"id\":\"x\",\"v\":%s}", expected);

    assert_string_equal(get_item(p, body).text, want);
}

/* The fast path must leave len bytes of body to the jansson path. */
static void declined_n(apr_pool_t *p, const char *body, apr_size_t len, int scan)
{
    items_ddbtext_answer_t a;
    char *copy = malloc(len ? len : 1);
    apr_status_t rv;

    assert_non_null(copy);
    memcpy(copy, body, len);
    rv = items_ddbtext_items(&a, p, copy, len, scan);
    free(copy);
    if (rv != APR_ENOTIMPL) {
        fail_msg("%s answer not declined (%d): %.*s", scan ? "Scan" : "GetItem", rv, (int)len,
                 body);
    }
}

static void declined(apr_pool_t *p, const char *body, int scan)
{
    declined_n(p, body, strlen(body), scan);
}

/* An item holding attribute "v" = av, declined as GetItem's Item and as Scan's only item. */
static void declined_value(apr_pool_t *p, const char *av)
{
    declined(p, apr_psprintf(p, "{\"Item\":{\"id\":{\"S\":\"x\"},\"v\":%s}}", av), GET);
    declined(p, apr_psprintf(p, "{\"Items\":[{\"id\":{\"S\":\"x\"},\"v\":%s}]}", av), SCAN);
}

/* n L levels around {"N":"0"}: the number sits at AttributeValue depth n + 1. */
static const char *nested_lists(apr_pool_t *p, int n)
{
    const char *s = "{\"N\":\"0\"}";
    int i;

    for (i = 0; i < n; i++) {
        s = apr_pstrcat(p, "{\"L\":[", s, "]}", NULL);
    }
    return s;
}

/* --- what is taken ------------------------------------------------------------ */

static void test_scalars(void **state)
{
    apr_pool_t *p = *state;

    expect_av(p, "{\"S\":\"text\"}", "\"text\"");
    expect_av(p, "{\"S\":\"\"}", "\"\"");
    expect_av(p, "{\"N\":\"42\"}", "42");
    expect_av(p, "{\"N\":\"-0.5e+10\"}", "-0.5e+10"); /* the text as stored, not a double */
    expect_av(p, "{\"N\":\"1E-7\"}", "1E-7");
    expect_av(p, "{\"N\":\"0.10\"}", "0.10");
    expect_av(p, "{\"N\":\"123456789012345678901234567890\"}",
                 "123456789012345678901234567890");
    expect_av(p, "{\"B\":\"aGVsbG8=\"}", "\"aGVsbG8=\"");
    expect_av(p, "{\"BOOL\":true}", "true");
    expect_av(p, "{\"BOOL\":false}", "false");
    expect_av(p, "{\"NULL\":true}", "null");
}

static void test_containers(void **state)
{
    apr_pool_t *p = *state;

    expect_av(p, "{\"M\":{\"k\":{\"S\":\"v\"},\"n\":{\"N\":\"1\"}}}", "{\"k\":\"v\",\"n\":1}");
    expect_av(p, "{\"M\":{\"a\":{\"M\":{\"b\":{\"L\":[{\"NULL\":true}]}}}}}",
                 "{\"a\":{\"b\":[null]}}");
    expect_av(p, "{\"L\":[{\"S\":\"a\"},{\"N\":\"2\"},{\"L\":[{\"BOOL\":false}]}]}",
                 "[\"a\",2,[false]]");
    expect_av(p, "{\"L\":[{\"M\":{\"k\":{\"B\":\"AQ==\"}}}]}", "[{\"k\":\"AQ==\"}]");
    expect_av(p, "{\"M\":{}}", "{}");
    expect_av(p, "{\"L\":[]}", "[]");
    /* A nested map keeps its members' order and its "_" members: only items hide them. */
    expect_av(p, "{\"M\":{\"z\":{\"N\":\"1\"},\"_v\":{\"S\":\"s\"},\"id\":{\"S\":\"i\"}}}",
                 "{\"z\":1,\"_v\":\"s\",\"id\":\"i\"}");
}

static void test_sets(void **state)
{
    apr_pool_t *p = *state;

    expect_av(p, "{\"SS\":[\"x\",\"y\"]}", "[\"x\",\"y\"]");
    expect_av(p, "{\"NS\":[\"1\",\"2.5\",\"-3e2\"]}", "[1,2.5,-3e2]");
    expect_av(p, "{\"BS\":[\"AQ==\",\"Ag==\"]}", "[\"AQ==\",\"Ag==\"]");
    expect_av(p, "{\"SS\":[]}", "[]");
    expect_av(p, "{\"NS\":[]}", "[]");
}

static void test_all_types_in_one_item(void **state)
{
    apr_pool_t *p = *state;
    items_ddbtext_item_t it = get_item(
        p, "{\"Item\":{\"s\":{\"S\":\"t\"},\"n\":{\"N\":\"-0.5e+10\"},\"b\":{\"B\":\"AA==\"},"
           "\"t\":{\"BOOL\":true},\"z\":{\"NULL\":true},\"m\":{\"M\":{\"k\":{\"S\":\"v\"}}},"
           "\"l\":{\"L\":[{\"N\":\"1\"}]},\"ss\":{\"SS\":[\"a\"]},\"ns\":{\"NS\":[\"7\"]},"
           "\"bs\":{\"BS\":[\"AQ==\"]},\"id\":{\"S\":\"all\"}}}");

    assert_string_equal(it.text, "{\"id\":\"all\",\"s\":\"t\",\"n\":-0.5e+10,\"b\":\"AA==\","
                                 "\"t\":true,\"z\":null,\"m\":{\"k\":\"v\"},\"l\":[1],"
                                 "\"ss\":[\"a\"],\"ns\":[7],\"bs\":[\"AQ==\"]}");
    assert_string_equal(it.id, "all");
    assert_null(it.version);
    assert_null(it.request);
}

static void test_id_first(void **state)
{
    apr_pool_t *p = *state;
    items_ddbtext_item_t it;

    it = get_item(p, "{\"Item\":{\"a\":{\"N\":\"1\"},\"b\":{\"S\":\"two\"},\"id\":{\"S\":\"late\"}}}");
    assert_string_equal(it.text, "{\"id\":\"late\",\"a\":1,\"b\":\"two\"}");
    assert_string_equal(it.id, "late");

    it = get_item(p, "{\"Item\":{\"id\":{\"S\":\"early\"},\"a\":{\"N\":\"1\"}}}");
    assert_string_equal(it.text, "{\"id\":\"early\",\"a\":1}");
    assert_string_equal(it.id, "early");

    /* Not a string: written as it is, no id for the caller. */
    it = get_item(p, "{\"Item\":{\"v\":{\"BOOL\":true},\"id\":{\"N\":\"12345\"}}}");
    assert_string_equal(it.text, "{\"id\":12345,\"v\":true}");
    assert_null(it.id);

    it = get_item(p, "{\"Item\":{\"a\":{\"S\":\"b\"}}}");
    assert_string_equal(it.text, "{\"a\":\"b\"}");
    assert_null(it.id);

    it = get_item(p, "{\"Item\":{\"id\":{\"S\":\"\xc3\xa9t\xc3\xa9\"}}}");
    assert_string_equal(it.text, "{\"id\":\"\xc3\xa9t\xc3\xa9\"}");
    assert_string_equal(it.id, "\xc3\xa9t\xc3\xa9");
}

static void test_hidden_and_meta(void **state)
{
    apr_pool_t *p = *state;
    items_ddbtext_item_t it;

    it = get_item(p, "{\"Item\":{\"id\":{\"S\":\"k\"},\"_version\":{\"S\":\"v-123\"},"
                     "\"_request\":{\"S\":\"0123abcd\"},\"name\":{\"S\":\"x\"}}}");
    assert_string_equal(it.text, "{\"id\":\"k\",\"name\":\"x\"}");
    assert_string_equal(it.version, "v-123");
    assert_string_equal(it.request, "0123abcd");

    /* Other "_" attributes are hidden whatever they hold; meta may come first. */
    it = get_item(p, "{\"Item\":{\"_version\":{\"S\":\"v1\"},\"_ttl\":{\"N\":\"17\"},"
                     "\"_x\":{\"weird\":[1,{\"a\":null}]},\"_\":{\"S\":\"u\"},"
                     "\"id\":{\"S\":\"k\"},\"a\":{\"N\":\"1\"}}}");
    assert_string_equal(it.text, "{\"id\":\"k\",\"a\":1}");
    assert_string_equal(it.version, "v1");
    assert_null(it.request);

    /* Nothing but bookkeeping: an empty object. */
    it = get_item(p, "{\"Item\":{\"_version\":{\"S\":\"only\"}}}");
    assert_string_equal(it.text, "{}");
    assert_int_equal(it.len, 2);
    assert_null(it.id);
    assert_string_equal(it.version, "only");
}

static void test_empty_item(void **state)
{
    apr_pool_t *p = *state;
    items_ddbtext_item_t it = get_item(p, "{\"Item\":{}}");

    assert_string_equal(it.text, "{}");
    assert_null(it.id);
    assert_null(it.version);
    assert_null(it.request);
}

static void test_scan(void **state)
{
    apr_pool_t *p = *state;
    items_ddbtext_answer_t a;

    a = take(p, "{\"Items\":[{\"id\":{\"S\":\"a\"},\"n\":{\"N\":\"1\"},\"_version\":{\"S\":\"v-a\"}},"
                "{\"n\":{\"N\":\"2\"},\"id\":{\"S\":\"b\"},\"_request\":{\"S\":\"r-b\"}},"
                "{\"id\":{\"N\":\"3\"}},{}],\"Count\":4,\"ScannedCount\":4}",
             SCAN);
    assert_int_equal(a.n_items, 4);
    assert_int_equal(a.has_more, 0);
    assert_string_equal(a.items[0].text, "{\"id\":\"a\",\"n\":1}");
    assert_string_equal(a.items[0].id, "a");
    assert_string_equal(a.items[0].version, "v-a");
    assert_null(a.items[0].request);
    assert_string_equal(a.items[1].text, "{\"id\":\"b\",\"n\":2}");
    assert_string_equal(a.items[1].id, "b");
    assert_null(a.items[1].version);
    assert_string_equal(a.items[1].request, "r-b");
    assert_string_equal(a.items[2].text, "{\"id\":3}");
    assert_null(a.items[2].id);
    assert_string_equal(a.items[3].text, "{}");

    a = take(p, "{\"Count\":2,\"Items\":[{\"id\":{\"S\":\"a\"}},{\"id\":{\"S\":\"b\"}}],"
                "\"LastEvaluatedKey\":{\"id\":{\"S\":\"b\"}},\"ScannedCount\":2,"
                "\"ConsumedCapacity\":{\"TableName\":\"t\",\"CapacityUnits\":0.5}}",
             SCAN);
    assert_int_equal(a.n_items, 2);
    assert_int_equal(a.has_more, 1);
    assert_string_equal(a.items[1].id, "b");

    a = take(p, "{\"Count\":0,\"Items\":[],\"ScannedCount\":0}", SCAN);
    assert_int_equal(a.n_items, 0);
    assert_int_equal(a.has_more, 0);

    /* Present is present, whatever it holds. */
    a = take(p, "{\"Items\":[],\"LastEvaluatedKey\":{}}", SCAN);
    assert_int_equal(a.n_items, 0);
    assert_int_equal(a.has_more, 1);

    /* A GetItem's "Item" means nothing to a Scan. */
    a = take(p, "{\"Item\":{\"id\":{\"S\":\"g\"}},\"Items\":[{\"id\":{\"S\":\"s\"}}]}", SCAN);
    assert_int_equal(a.n_items, 1);
    assert_string_equal(a.items[0].text, "{\"id\":\"s\"}");
}

static void test_scan_many(void **state)
{
    apr_pool_t *p = *state;
    const char *body = "{\"Items\":[";
    items_ddbtext_answer_t a;
    int i;

    /* More items than one growth of the array. */
    for (i = 0; i < 40; i++) {
        body = apr_psprintf(p, "%s%s{\"n\":{\"N\":\"%d\"},\"id\":{\"S\":\"k%d\"}}", body,
                            i ? "," : "", i, i);
    }
    body = apr_pstrcat(p, body, "],\"LastEvaluatedKey\":{\"id\":{\"S\":\"k39\"}}}", NULL);
    a = take(p, body, SCAN);
    assert_int_equal(a.n_items, 40);
    assert_int_equal(a.has_more, 1);
    for (i = 0; i < 40; i++) {
        assert_string_equal(a.items[i].text, apr_psprintf(p, "{\"id\":\"k%d\",\"n\":%d}", i, i));
        assert_string_equal(a.items[i].id, apr_psprintf(p, "k%d", i));
    }
}

static void test_getitem_absent(void **state)
{
    apr_pool_t *p = *state;
    items_ddbtext_answer_t a;

    a = take(p, "{}", GET);
    assert_int_equal(a.n_items, 0);
    a = take(p, " {\"ConsumedCapacity\":{\"TableName\":\"t\",\"CapacityUnits\":0.5}} ", GET);
    assert_int_equal(a.n_items, 0);
    /* A Scan's members mean nothing to a GetItem. */
    a = take(p, "{\"Items\":[{\"id\":{\"S\":\"s\"}}],\"LastEvaluatedKey\":{}}", GET);
    assert_int_equal(a.n_items, 0);
    assert_int_equal(a.has_more, 0);
}

static void test_escapes(void **state)
{
    apr_pool_t *p = *state;

    /* \/ becomes /, as jansson writes it; the others stay as they came. */
    expect_av(p, "{\"S\":\"a\\/b\\/\"}", "\"a/b/\"");
    expect_av(p, "{\"S\":\"say \\\"hi\\\"\"}", "\"say \\\"hi\\\"\"");
    expect_av(p, "{\"S\":\"back\\\\slash\\\\\"}", "\"back\\\\slash\\\\\"");
    expect_av(p, "{\"S\":\"\\n\\t\\r\\b\\f\"}", "\"\\n\\t\\r\\b\\f\"");
    expect_av(p, "{\"S\":\"\\\\/\"}", "\"\\\\/\""); /* an escaped backslash, then / */
    expect_av(p, "{\"B\":\"\\/+\"}", "\"/+\"");
    expect_av(p, "{\"SS\":[\"\\/x\",\"y\\\"z\",\"\\\\\"]}", "[\"/x\",\"y\\\"z\",\"\\\\\"]");
    expect_av(p, "{\"M\":{\"k\":{\"S\":\"\\/\"}}}", "{\"k\":\"/\"}");
    /* An id is handed to the caller when its written form has no escape left. */
    {
        items_ddbtext_item_t it = get_item(p, "{\"Item\":{\"id\":{\"S\":\"a\\/b\"}}}");
        assert_string_equal(it.text, "{\"id\":\"a/b\"}");
        assert_string_equal(it.id, "a/b");
        it = get_item(p, "{\"Item\":{\"id\":{\"S\":\"a\\\"b\"}}}");
        assert_string_equal(it.text, "{\"id\":\"a\\\"b\"}");
        assert_null(it.id);
    }
}

static void test_non_ascii(void **state)
{
    apr_pool_t *p = *state;
    items_ddbtext_item_t it;

    expect_av(p, "{\"S\":\"\xc3\xa9t\xc3\xa9\"}", "\"\xc3\xa9t\xc3\xa9\"");
    expect_av(p, "{\"S\":\"\xe6\x97\xa5\xe6\x9c\xac\"}", "\"\xe6\x97\xa5\xe6\x9c\xac\"");
    expect_av(p, "{\"S\":\"\xf0\x9f\x98\x80\"}", "\"\xf0\x9f\x98\x80\"");
    expect_av(p, "{\"S\":\"\xe2\x80\xa8\xe2\x80\xa9\"}", "\"\xe2\x80\xa8\xe2\x80\xa9\"");
    expect_av(p, "{\"S\":\"\xf4\x8f\xbf\xbf\x7f\"}", "\"\xf4\x8f\xbf\xbf\x7f\"");
    it = get_item(p, "{\"Item\":{\"k\xc3\xbcy\":{\"SS\":[\"\xce\xb1\"]}}}");
    assert_string_equal(it.text, "{\"k\xc3\xbcy\":[\"\xce\xb1\"]}");
}

static void test_whitespace(void **state)
{
    apr_pool_t *p = *state;
    items_ddbtext_answer_t a;
    items_ddbtext_item_t it;

    it = get_item(p, " \r\n\t{ \"Item\" : {\n  \"l\" : { \"L\" : [ { \"N\" : \"1\" } , { \"NULL\" : "
                     "true } ] } ,\n  \"id\" : { \"S\" : \"w\" } ,\n  \"ns\" : { \"NS\" : [ \"1\" , "
                     "\"2\" ] } , \"m\" : { \"M\" : { } } , \"_version\" : { \"S\" : \"v\" } \n }\n}\n ");
    assert_string_equal(it.text, "{\"id\":\"w\",\"l\":[1,null],\"ns\":[1,2],\"m\":{}}");
    assert_string_equal(it.id, "w");
    assert_string_equal(it.version, "v");

    a = take(p, "{ \"Items\" : [ { } , { \"id\" : { \"S\" : \"x\" } } ] , \"Count\" : 2 }", SCAN);
    assert_int_equal(a.n_items, 2);
    assert_string_equal(a.items[0].text, "{}");
    assert_string_equal(a.items[1].text, "{\"id\":\"x\"}");
}

static void test_depth(void **state)
{
    apr_pool_t *p = *state;
    const char *deepest = nested_lists(p, ITEMS_DDBTEXT_MAX_DEPTH - 1);
    const char *expected = "0";
    int i;

    for (i = 0; i < ITEMS_DDBTEXT_MAX_DEPTH - 1; i++) {
        expected = apr_pstrcat(p, "[", expected, "]", NULL);
    }
    /* The number sits at the deepest level the jansson path takes. */
    expect_av(p, deepest, expected);
    declined_value(p, nested_lists(p, ITEMS_DDBTEXT_MAX_DEPTH));
}

static void test_small_numbers_outside_items(void **state)
{
    apr_pool_t *p = *state;

    take(p, "{\"Items\":[],\"Count\":123456789012345,\"ScannedCount\":-0}", SCAN);
    take(p, "{\"Items\":[],\"Count\":0.5,\"X\":[1,-2,3.25,true,false,null,\"s\",{}]}", SCAN);
}

/* --- what is declined ------------------------------------------------------------ */

static void test_decline_unicode_escapes(void **state)
{
    apr_pool_t *p = *state;

    declined_value(p, "{\"S\":\"caf\\u00e9\"}");
    declined_value(p, "{\"S\":\"\\ud83d\\ude00\"}");
    declined_value(p, "{\"S\":\"\\u0000\"}");
    declined_value(p, "{\"SS\":[\"\\u0041\"]}");
    declined(p, "{\"Item\":{\"\\u0069d\":{\"S\":\"x\"}}}", GET);             /* in a name */
    declined(p, "{\"Item\":{\"id\":{\"\\u0053\":\"x\"}}}", GET);             /* in a type */
    declined(p, "{\"Items\":[],\"X\":{\"TableName\":\"\\u0074\"}}", SCAN); /* anywhere */
    declined(p, "{\"Items\":[],\"LastEvaluatedKey\":{\"id\":{\"S\":\"\\u0041\"}}}", SCAN);
    declined(p, "{\"Item\":{\"id\":{\"S\":\"x\"},\"_version\":{\"S\":\"\\u0041\"}}}", GET);
}

static void test_decline_other_escapes(void **state)
{
    apr_pool_t *p = *state;

    declined_value(p, "{\"S\":\"\\x\"}"); /* not JSON */
    declined_value(p, "{\"S\":\"\\\"}");  /* unterminated */
    declined_value(p, "{\"N\":\"\\/1\"}"); /* a number's text has no escapes */
    declined_value(p, "{\"NS\":[\"1\\/\"]}");
    declined(p, "{\"Item\":{\"a\\/b\":{\"S\":\"x\"}}}", GET); /* names only as they are */
    /* Meta kept only in its plain form: the jansson path reads it. */
    declined(p, "{\"Item\":{\"_version\":{\"S\":\"a\\/b\"}}}", GET);
    declined(p, "{\"Item\":{\"_request\":{\"S\":\"\\n\"}}}", GET);
}

static void test_decline_duplicate_names(void **state)
{
    apr_pool_t *p = *state;

    declined(p, "{\"Item\":{\"id\":{\"S\":\"d\"},\"a\":{\"S\":\"1\"},\"a\":{\"S\":\"2\"}}}", GET);
    declined(p, "{\"Item\":{\"id\":{\"S\":\"d\"},\"id\":{\"S\":\"e\"}}}", GET);
    declined(p, "{\"Item\":{\"_version\":{\"S\":\"1\"},\"_version\":{\"S\":\"2\"}}}", GET);
    declined(p, "{\"Items\":[{\"a\":{\"N\":\"1\"},\"a\":{\"N\":\"1\"}}]}", SCAN);
    declined_value(p, "{\"M\":{\"k\":{\"S\":\"1\"},\"k\":{\"S\":\"2\"}}}");
    declined(p, "{\"Items\":[{\"id\":{\"S\":\"a\"}}],\"Items\":[{\"id\":{\"S\":\"b\"}}]}", SCAN);
    declined(p, "{\"Items\":[],\"Items\":[]}", SCAN);
    declined(p, "{\"Item\":{\"id\":{\"S\":\"a\"}},\"Item\":{\"id\":{\"S\":\"b\"}}}", GET);
    declined(p, "{\"Items\":[],\"LastEvaluatedKey\":{},\"LastEvaluatedKey\":{}}", SCAN);
    /* Where nothing is read from them, repeated names change nothing. */
    take(p, "{\"Items\":[],\"X\":{\"k\":1,\"k\":2},\"X\":[]}", SCAN);
    take(p, "{\"Items\":[],\"LastEvaluatedKey\":{\"id\":{\"S\":\"a\"},\"id\":{\"S\":\"b\"}}}", SCAN);
}

static void test_decline_invalid_utf8(void **state)
{
    apr_pool_t *p = *state;

    declined_value(p, "{\"S\":\"\xc0\xaf\"}");         /* overlong / */
    declined_value(p, "{\"S\":\"\xe0\x80\xaf\"}");     /* overlong, 3 bytes */
    declined_value(p, "{\"S\":\"\x80\"}");             /* a lone continuation */
    declined_value(p, "{\"S\":\"\xc3\"}");             /* truncated */
    declined_value(p, "{\"S\":\"\xe6\x97\"}");
    declined_value(p, "{\"S\":\"\xed\xa0\x80\"}");     /* a surrogate */
    declined_value(p, "{\"S\":\"\xf4\x90\x80\x80\"}"); /* over U+10FFFF */
    declined_value(p, "{\"S\":\"\xf8\x88\x80\x80\x80\"}");
    declined_value(p, "{\"S\":\"\xff\"}");
    declined(p, "{\"Item\":{\"\xc3\x28\":{\"S\":\"x\"}}}", GET);
    declined(p, "{\"Items\":[],\"X\":\"\xe2\x82\"}", SCAN);
    /* The body ends inside a sequence. */
    {
        static const char cut[] = "{\"Item\":{\"a\":{\"S\":\"\xf0\x9f\x98";
        declined_n(p, cut, sizeof(cut) - 1, GET);
    }
}

static void test_decline_control_characters(void **state)
{
    apr_pool_t *p = *state;
    static const char nul[] = "{\"Item\":{\"a\":{\"S\":\"x\0y\"}}}";

    declined_value(p, "{\"S\":\"line\nbreak\"}");
    declined_value(p, "{\"S\":\"\x01\"}");
    declined_value(p, "{\"S\":\"tab\there\"}");
    declined_value(p, "{\"SS\":[\"\x1f\"]}");
    declined(p, "{\"Item\":{\"a\x7f\x0b\":{\"S\":\"x\"}}}", GET);
    declined_n(p, nul, sizeof(nul) - 1, GET);
    /* A NUL after the document is trailing garbage. */
    declined_n(p, "{\"Item\":{}}\0", 12, GET);
}

static void test_decline_bad_attribute_values(void **state)
{
    apr_pool_t *p = *state;

    declined_value(p, "{\"NULL\":false}");
    declined_value(p, "{\"NULL\":null}");
    declined_value(p, "{\"BOOL\":\"true\"}");
    declined_value(p, "{\"BOOL\":1}");
    declined_value(p, "{\"BOOL\":null}");
    declined_value(p, "{\"S\":1}");
    declined_value(p, "{\"N\":1}");
    declined_value(p, "{\"M\":[]}");
    declined_value(p, "{\"L\":{}}");
    declined_value(p, "{\"SS\":[1]}");
    declined_value(p, "{\"SS\":\"x\"}");
    declined_value(p, "{\"NS\":[\"x\"]}");
    declined_value(p, "{\"X\":\"1\"}");            /* unknown type */
    declined_value(p, "{\"s\":\"1\"}");
    declined_value(p, "{\"S\":\"a\",\"N\":\"1\"}"); /* two types */
    declined_value(p, "{\"S\":\"a\",\"S\":\"b\"}");
    declined_value(p, "{}");
    declined_value(p, "\"bare\"");
    declined_value(p, "null");
    declined_value(p, "[]");
    declined_value(p, "{\"M\":{\"k\":{\"NULL\":false}}}"); /* nested */
    declined_value(p, "{\"L\":[{\"X\":1}]}");
    /* Numbers that are not JSON numbers. */
    declined_value(p, "{\"N\":\"\"}");
    declined_value(p, "{\"N\":\"01\"}");
    declined_value(p, "{\"N\":\"1.\"}");
    declined_value(p, "{\"N\":\".5\"}");
    declined_value(p, "{\"N\":\"+1\"}");
    declined_value(p, "{\"N\":\" 1\"}");
    declined_value(p, "{\"N\":\"0x10\"}");
    declined_value(p, "{\"N\":\"NaN\"}");
    declined_value(p, "{\"N\":\"1e\"}");
    /* Meta in another form than a plain S. */
    declined(p, "{\"Item\":{\"_version\":{\"N\":\"1\"}}}", GET);
    declined(p, "{\"Item\":{\"_request\":{\"S\":\"a\",\"N\":\"1\"}}}", GET);
}

static void test_decline_depth(void **state)
{
    apr_pool_t *p = *state;
    const char *deep = "{}";
    int i;

    declined_value(p, nested_lists(p, ITEMS_DDBTEXT_MAX_DEPTH));
    declined_value(p, nested_lists(p, 200));
    /* Nesting outside the items is bounded too. */
    for (i = 0; i < 100; i++) {
        deep = apr_pstrcat(p, "[", deep, "]", NULL);
    }
    declined(p, apr_pstrcat(p, "{\"Items\":[],\"X\":", deep, "}", NULL), SCAN);
}

static void test_decline_big_numbers(void **state)
{
    apr_pool_t *p = *state;

    declined(p, "{\"Items\":[],\"Count\":1e400}", SCAN);
    declined(p, "{\"Items\":[],\"Count\":1e2}", SCAN);
    declined(p, "{\"Items\":[],\"Count\":12345678901234567890}", SCAN);
    declined(p, "{\"Items\":[],\"Count\":1234567890123456}", SCAN);
    declined(p, "{\"Items\":[],\"Count\":-123456789012345}", SCAN);
    declined(p, "{\"Item\":{},\"Count\":0.12345678901234567890}", GET);
    /* Malformed ones as well. */
    declined(p, "{\"Items\":[],\"Count\":01}", SCAN);
    declined(p, "{\"Items\":[],\"Count\":-}", SCAN);
    declined(p, "{\"Items\":[],\"Count\":1.}", SCAN);
    declined(p, "{\"Items\":[],\"Count\":+1}", SCAN);
    declined(p, "{\"Items\":[],\"Count\":1x}", SCAN);
}

static void test_decline_trailing_garbage(void **state)
{
    apr_pool_t *p = *state;

    declined(p, "{\"Item\":{\"id\":{\"S\":\"t\"}}} x", GET);
    declined(p, "{\"Item\":{}}{}", GET);
    declined(p, "{\"Items\":[]},", SCAN);
    declined(p, "{\"Items\":[]}]", SCAN);
    declined(p, "{\"Item\":{\"id\":{\"S\":\"t\"}} x}", GET);
    declined(p, "{\"Item\":{\"id\":{\"S\":\"t\"} x}}", GET);
    declined(p, "{\"Item\":{\"id\":{\"S\":\"t\" x}}}", GET);
    declined(p, "{\"Item\":{\"id\":{\"NULL\":truex}}}", GET);
    declined(p, "{\"Items\":[],\"X\":truefalse}", SCAN);
}

static void test_decline_truncated(void **state)
{
    apr_pool_t *p = *state;
    static const char body[] = "{\"Items\":[{\"id\":{\"S\":\"a\"},\"l\":{\"L\":[{\"N\":\"1\"}]}}],"
                               "\"LastEvaluatedKey\":{\"id\":{\"S\":\"a\"}}}";
    apr_size_t len;

    take_n(p, body, sizeof(body) - 1, SCAN);
    for (len = 0; len < sizeof(body) - 1; len++) {
        declined_n(p, body, len, SCAN);
    }
}

static void test_decline_not_an_object(void **state)
{
    apr_pool_t *p = *state;

    declined(p, "", GET);
    declined(p, "   ", GET);
    declined(p, "[]", GET);
    declined(p, "[{\"Item\":{}}]", GET);
    declined(p, "\"Item\"", GET);
    declined(p, "1", GET);
    declined(p, "null", SCAN);
    declined(p, "\xef\xbb\xbf{\"Item\":{}}", GET); /* a byte order mark */
    declined(p, "{\"Item\":[]}", GET);
    declined(p, "{\"Item\":null}", GET);
    declined(p, "{\"Item\":\"x\"}", GET);
    declined(p, "{\"Items\":[[]]}", SCAN);
    declined(p, "{\"Items\":[null]}", SCAN);
    declined(p, "{Item:{}}", GET);
    declined(p, "{\"Item\":{},}", GET);
    declined(p, "{\"Items\":[{},]}", SCAN);
}

static void test_decline_items_not_an_array(void **state)
{
    apr_pool_t *p = *state;

    declined(p, "{\"Items\":{}}", SCAN);
    declined(p, "{\"Items\":null}", SCAN);
    declined(p, "{\"Items\":{\"id\":{\"S\":\"a\"}}}", SCAN);
    declined(p, "{\"Items\":\"[]\"}", SCAN);
    /* A Scan answer without Items is malformed: the jansson path says so. */
    declined(p, "{}", SCAN);
    declined(p, "{\"Item\":{},\"Count\":0}", SCAN);
}

/* --- the differential check itself ------------------------------------------------- */

static const char *diff_of(apr_pool_t *p, const char *body, int scan,
                           const items_ddbtext_answer_t *a)
{
    return ddbtext_diff(p, body, strlen(body), scan, a);
}

/* ddbtext_diff() sees each way an answer can be wrong. */
static void test_diff_sees_differences(void **state)
{
    apr_pool_t *p = *state;
    static const char body[] = "{\"Items\":[{\"n\":{\"N\":\"1\"},\"id\":{\"S\":\"a\"},"
                               "\"_version\":{\"S\":\"v\"},\"_request\":{\"S\":\"r\"}}],"
                               "\"LastEvaluatedKey\":{\"id\":{\"S\":\"a\"}}}";
    apr_size_t len = sizeof(body) - 1;
    items_ddbtext_answer_t a = take_n(p, body, len, SCAN), bad;
    items_ddbtext_item_t item;

    assert_null(ddbtext_diff(p, body, len, SCAN, &a));
    /* As a GetItem answer it has no item. */
    assert_non_null(ddbtext_diff(p, body, len, GET, &a));

    bad = a;
    bad.has_more = 0;
    assert_non_null(ddbtext_diff(p, body, len, SCAN, &bad));
    bad = a;
    bad.n_items = 0;
    assert_non_null(ddbtext_diff(p, body, len, SCAN, &bad));

    bad = a;
    bad.items = &item;
#define WITH(field, value)                                                                   \
    (item = a.items[0], item.field = (value), ddbtext_diff(p, body, len, SCAN, &bad))
    assert_null(WITH(id, NULL)); /* allowed: the caller declines */
    assert_non_null(WITH(id, "b"));
    assert_non_null(WITH(version, NULL));
    assert_non_null(WITH(version, "w"));
    assert_non_null(WITH(request, NULL));
    assert_non_null(WITH(request, "s"));
    assert_non_null(WITH(text, "{\"n\":1,\"id\":\"a\"}"));
    assert_non_null(WITH(text, "{\"id\":\"a\",\"n\":1.0}"));
    assert_non_null(WITH(len, a.items[0].len - 1));
    /* The same bytes, but not terminated at the length. */
    assert_non_null(WITH(text, "{\"id\":\"a\",\"n\":1}x"));
#undef WITH

    /* Bodies that jansson does not take, or not as the fast path did. */
    assert_non_null(diff_of(p, "{", GET, &a));
    assert_non_null(diff_of(p, "[]", GET, &a));
    assert_non_null(diff_of(p, "{\"Items\":{}}", SCAN, &a));
    assert_non_null(diff_of(p, "{\"Items\":[{\"a\":{\"X\":1}}]}", SCAN, &a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scalars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_types_in_one_item, setup, teardown),
        cmocka_unit_test_setup_teardown(test_id_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hidden_and_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_item, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_getitem_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_ascii, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whitespace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_numbers_outside_items, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decline_unicode_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decline_other_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decline_duplicate_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decline_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decline_control_characters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decline_bad_attribute_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decline_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decline_big_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decline_trailing_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decline_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decline_not_an_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decline_items_not_an_array, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_sees_differences, setup, teardown),
    };
    int failed;

    apr_initialize();
    failed = cmocka_run_group_tests_name("items_ddbtext", tests, NULL, NULL);
    apr_terminate();
    return failed ? 1 : 0;
}
