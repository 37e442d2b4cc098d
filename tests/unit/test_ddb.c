/* SPDX-License-Identifier: Apache-2.0 */
/*
 * items_ddb.c, the pure parts: AttributeValue (un)marshalling, stored items,
 * UpdateItem requests for merge patches, and the mapping of DynamoDB's answers
 * (HTTP status + __type) to apr_status_t.
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
#include <apr_tables.h>

#include "items_ddb.h"
#include "items_json.h"
#include "items_status.h"
#include "unit.h"

/* --- jansson allocation counter (leak checks on error paths) ------------------ */


/* --- helpers -------------------------------------------------------------------- */


/* A pool-owned JSON value from text; the test fails on bad test data. */
static json_t *J(apr_pool_t *p, const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    if (!v) {
        fail_msg("bad test JSON %s: %s", text, jerr.text);
    }
    return items_json_own(p, v);
}

/* A pool-owned value parsed as client bodies are: numbers as number texts. */
static json_t *P(apr_pool_t *p, const char *text)
{
    json_t *v;
    const char *err;

    if (items_json_parse(&v, &err, p, text, strlen(text)) != APR_SUCCESS) {
        fail_msg("bad test JSON %s: %s", text, err);
    }
    return v;
}


/* JSON equality where numbers compare by value (1 == 1.0). */
static int same_value(const json_t *a, const json_t *b)
{
    const char *key;
    json_t *m;
    size_t i;

    const char *na = items_json_number_text(a), *nb = items_json_number_text(b);

    if (na && nb) {
        return !strcmp(na, nb);
    }
    if ((na || json_is_number(a)) && (nb || json_is_number(b))) {
        return (na ? strtod(na, NULL) : json_number_value(a))
               == (nb ? strtod(nb, NULL) : json_number_value(b));
    }
    if (json_typeof(a) != json_typeof(b)) {
        return 0;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b)) {
            return 0;
        }
        json_object_foreach((json_t *)a, key, m) {
            json_t *other = json_object_get(b, key);
            if (!other || !same_value(m, other)) {
                return 0;
            }
        }
        return 1;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b)) {
            return 0;
        }
        json_array_foreach(a, i, m) {
            if (!same_value(m, json_array_get(b, i))) {
                return 0;
            }
        }
        return 1;
    }
    return json_equal(a, b);
}

static void assert_json_eq(apr_pool_t *p, const json_t *got, const char *want_text)
{
    json_t *want = J(p, want_text);

    if (!got || !json_equal(got, want)) {
        fail_msg("got %s, want %s", dump(p, got), want_text);
    }
}

static void assert_marshals_to(apr_pool_t *p, const char *in, const char *want)
{
    json_t *av = (json_t *)1;
    const char *direct, *tree_text;
    apr_size_t direct_len, tree_len;

    if (items_ddb_marshal(&av, p, J(p, in)) != APR_SUCCESS) {
        fail_msg("marshal %s failed", in);
    }
    assert_json_eq(p, av, want);
    /* written straight as text: the tree's serialization, byte for byte */
    assert_int_equal(items_ddb_marshal_text(&direct, &direct_len, p, J(p, in)), APR_SUCCESS);
    assert_int_equal(items_json_dump(&tree_text, &tree_len, p, av), APR_SUCCESS);
    assert_string_equal(direct, tree_text);
    assert_int_equal(direct_len, tree_len);
}

static void assert_unmarshals_to(apr_pool_t *p, const char *av, const char *want)
{
    json_t *v = (json_t *)1;
    apr_status_t rv = items_ddb_unmarshal(&v, p, J(p, av));

    if (rv != APR_SUCCESS) {
        fail_msg("unmarshal %s failed (%d)", av, (int)(rv - ITEMS_STATUS_BASE));
    }
    /* want is written as a client would: its numbers are number texts too. */
    if (!v || !json_equal(v, P(p, want))) {
        fail_msg("unmarshal %s gave %s, want %s", av, dump(p, v), want);
    }
}

static void assert_unmarshal_rejects(apr_pool_t *p, const char *av)
{
    json_t *v = (json_t *)1;
    apr_status_t rv = items_ddb_unmarshal(&v, p, J(p, av));

    if (rv != ITEMS_EBADGATEWAY) {
        fail_msg("unmarshal %s: status %d (%s), want ITEMS_EBADGATEWAY", av, (int)rv,
                 rv == APR_SUCCESS ? dump(p, v) : "error");
    }
}

/* marshal then unmarshal v: the value comes back (numbers by value). */
static void assert_round_trip(apr_pool_t *p, const json_t *v)
{
    json_t *av, *back;

    if (items_ddb_marshal(&av, p, v) != APR_SUCCESS) {
        fail_msg("marshal %s failed", dump(p, v));
    }
    if (items_ddb_unmarshal(&back, p, av) != APR_SUCCESS) {
        fail_msg("unmarshal of %s (from %s) failed", dump(p, av), dump(p, v));
    }
    if (!same_value(v, back)) {
        fail_msg("round trip of %s gave %s", dump(p, v), dump(p, back));
    }
}

/* n arrays (or objects with key "k") around inner; a new reference. */
static json_t *nest(int n, int objects, json_t *inner)
{
    json_t *v = inner, *outer;
    int i;

    for (i = 0; i < n; i++) {
        outer = objects ? json_object() : json_array();
        if (objects) {
            json_object_set_new(outer, "k", v);
        }
        else {
            json_array_append_new(outer, v);
        }
        v = outer;
    }
    return v;
}

/* An AttributeValue of n nested {"L":[...]} (or {"M":{"k":...}}) around inner. */
static json_t *nest_av(int n, int maps, json_t *inner)
{
    json_t *v = inner;
    int i;

    for (i = 0; i < n; i++) {
        v = maps ? json_pack("{s{so}}", "M", "k", v) : json_pack("{s[o]}", "L", v);
    }
    return v;
}

/* --- marshal ---------------------------------------------------------------------- */

static void test_marshal_scalars(void **state)
{
    apr_pool_t *p = *state;

    assert_marshals_to(p, "\"x\"", "{\"S\":\"x\"}");
    assert_marshals_to(p, "\"\"", "{\"S\":\"\"}");
    assert_marshals_to(p, "\"\\u041f \\ud83d\\ude00\"", "{\"S\":\"\\u041f \\ud83d\\ude00\"}");
    assert_marshals_to(p, "42", "{\"N\":\"42\"}");
    assert_marshals_to(p, "0", "{\"N\":\"0\"}");
    assert_marshals_to(p, "-7", "{\"N\":\"-7\"}");
    assert_marshals_to(p, "9223372036854775807", "{\"N\":\"9223372036854775807\"}");
    assert_marshals_to(p, "-9223372036854775808", "{\"N\":\"-9223372036854775808\"}");
    assert_marshals_to(p, "1.5", "{\"N\":\"1.5\"}");
    assert_marshals_to(p, "-0.25", "{\"N\":\"-0.25\"}");
    assert_marshals_to(p, "true", "{\"BOOL\":true}");
    assert_marshals_to(p, "false", "{\"BOOL\":false}");
    assert_marshals_to(p, "null", "{\"NULL\":true}");
}

static void test_marshal_number_texts(void **state)
{
    /* Numbers from clients keep their text all the way to DynamoDB. */
    apr_pool_t *p = *state;
    json_t *av;

    assert_int_equal(items_ddb_marshal(&av, p, P(p, "{\"a\":12.50,\"b\":[1e2,-0],\"c\":"
                                                    "123456789012345678901234567890}")),
                     APR_SUCCESS);
    assert_json_eq(p, av,
                   "{\"M\":{\"a\":{\"N\":\"12.50\"},\"b\":{\"L\":[{\"N\":\"1e2\"},{\"N\":\"-0\"}]},"
                   "\"c\":{\"N\":\"123456789012345678901234567890\"}}}");
}

static void test_marshal_real_precision(void **state)
{
    /* A double's N text must read back as the very same double. */
    static const double reals[] = { 0.1, 1.0 / 3.0, 2.5e-8, 6.02214076e23, -1e-100, 123456.789 };
    apr_pool_t *p = *state;
    json_t *av;
    size_t i;

    for (i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        json_t *v = items_json_own(p, json_real(reals[i]));
        const char *n;
        assert_int_equal(items_ddb_marshal(&av, p, v), APR_SUCCESS);
        n = json_string_value(json_object_get(av, "N"));
        assert_non_null(n);
        if (strtod(n, NULL) != reals[i]) {
            fail_msg("%.17g marshalled as %s", reals[i], n);
        }
    }
}

static void test_marshal_containers(void **state)
{
    apr_pool_t *p = *state;

    assert_marshals_to(p, "{}", "{\"M\":{}}");
    assert_marshals_to(p, "[]", "{\"L\":[]}");
    assert_marshals_to(p, "{\"a\":1,\"b\":[true,\"x\",null],\"c\":{}}",
                       "{\"M\":{\"a\":{\"N\":\"1\"},"
                       "\"b\":{\"L\":[{\"BOOL\":true},{\"S\":\"x\"},{\"NULL\":true}]},"
                       "\"c\":{\"M\":{}}}}");
    assert_marshals_to(p, "[[[\"deep\"]],{\"k\":[1]}]",
                       "{\"L\":[{\"L\":[{\"L\":[{\"S\":\"deep\"}]}]},"
                       "{\"M\":{\"k\":{\"L\":[{\"N\":\"1\"}]}}}]}");
}

static void test_marshal_item(void **state)
{
    /* What PutItem sends for an item. */
    apr_pool_t *p = *state;

    assert_marshals_to(p, "{\"id\":\"7f1c\",\"name\":\"pen\",\"description\":null}",
                       "{\"M\":{\"id\":{\"S\":\"7f1c\"},\"name\":{\"S\":\"pen\"},"
                       "\"description\":{\"NULL\":true}}}");
}

static void test_marshal_keeps_input(void **state)
{
    apr_pool_t *p = *state;
    json_t *in = J(p, "{\"a\":[1,{\"b\":\"c\"}]}"), *copy = items_json_own(p, json_deep_copy(in));
    json_t *av;

    assert_int_equal(items_ddb_marshal(&av, p, in), APR_SUCCESS);
    assert_true(json_equal(in, copy));
}

/* The tree marshaller and the text writer agree on the limit. */
static apr_status_t marshal_both(json_t **av, apr_pool_t *p, const json_t *v)
{
    const char *text;
    apr_size_t len;
    apr_status_t rv = items_ddb_marshal(av, p, v);

    assert_int_equal(items_ddb_marshal_text(&text, &len, p, v), rv);
    return rv;
}

static void test_marshal_depth_limit(void **state)
{
    apr_pool_t *p = *state;
    json_t *av, *v;
    int objects;

    for (objects = 0; objects < 2; objects++) {
        /* 31 containers and a scalar: 32 levels. */
        v = items_json_own(p, nest(31, objects, json_integer(1)));
        assert_int_equal(marshal_both(&av, p, v), APR_SUCCESS);
        assert_round_trip(p, v);
        /* 32 containers, the innermost empty: still 32 levels. */
        v = items_json_own(p, nest(31, objects, objects ? json_object() : json_array()));
        assert_int_equal(marshal_both(&av, p, v), APR_SUCCESS);
        /* 33 levels. */
        v = items_json_own(p, nest(32, objects, json_integer(1)));
        av = (json_t *)1;
        assert_int_equal(marshal_both(&av, p, v), ITEMS_EINVALID);
        v = items_json_own(p, nest(32, objects, objects ? json_object() : json_array()));
        assert_int_equal(marshal_both(&av, p, v), ITEMS_EINVALID);
        /* Far deeper: refused without deep recursion. */
        v = items_json_own(p, nest(5000, objects, json_string("x")));
        assert_int_equal(marshal_both(&av, p, v), ITEMS_EINVALID);
    }
    /* The limit counts levels, not containers of one kind. */
    v = J(p, "[{\"a\":[{\"b\":[{\"c\":[{\"d\":[{\"e\":[{\"f\":[{\"g\":[{\"h\":[{\"i\":[{\"j\":"
             "[{\"k\":[{\"l\":[{\"m\":[{\"n\":[{\"o\":[{\"p\":1}]}]}]}]}]}]}]}]}]}]}]}]}]}]}]}]");
    assert_int_equal(marshal_both(&av, p, v), ITEMS_EINVALID);
}

/* --- unmarshal -------------------------------------------------------------------- */

static void test_unmarshal_scalars(void **state)
{
    apr_pool_t *p = *state;
    json_t *v;

    assert_unmarshals_to(p, "{\"S\":\"x\"}", "\"x\"");
    assert_unmarshals_to(p, "{\"S\":\"\"}", "\"\"");
    assert_unmarshals_to(p, "{\"S\":\"\\u00e9\\ud83d\\ude00\"}", "\"\\u00e9\\ud83d\\ude00\"");
    assert_unmarshals_to(p, "{\"B\":\"AAEC\"}", "\"AAEC\"");
    assert_unmarshals_to(p, "{\"BOOL\":true}", "true");
    assert_unmarshals_to(p, "{\"BOOL\":false}", "false");
    assert_unmarshals_to(p, "{\"NULL\":true}", "null");

    /* Numbers keep DynamoDB's text exactly. */
    {
        static const char *const numbers[] = {
            "42", "-17", "-0", "0", "2.5", "1E+3", "-1.5e-7", "999999999999999999",
            "12345678901234567890123", "-9223372036854775809",
            "9.9999999999999999999999999999999999999E+125", "1E-130", "0.000001",
        };
        size_t i;
        for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
            const char *text;
            apr_size_t len;
            json_t *av = items_json_own(p, json_pack("{ss}", "N", numbers[i]));
            if (items_ddb_unmarshal(&v, p, av) != APR_SUCCESS) {
                fail_msg("N %s refused", numbers[i]);
            }
            assert_non_null(items_json_number_text(v));
            assert_string_equal(items_json_number_text(v), numbers[i]);
            assert_int_equal(items_json_dump(&text, &len, p, v), APR_SUCCESS);
            assert_string_equal(text, numbers[i]);
        }
    }
}

static void test_unmarshal_containers(void **state)
{
    apr_pool_t *p = *state;

    assert_unmarshals_to(p, "{\"M\":{}}", "{}");
    assert_unmarshals_to(p, "{\"L\":[]}", "[]");
    assert_unmarshals_to(p,
                         "{\"M\":{\"id\":{\"S\":\"1\"},\"n\":{\"N\":\"3\"},"
                         "\"l\":{\"L\":[{\"BOOL\":false},{\"NULL\":true},"
                         "{\"M\":{\"x\":{\"L\":[{\"S\":\"y\"}]}}}]}}}",
                         "{\"id\":\"1\",\"n\":3,\"l\":[false,null,{\"x\":[\"y\"]}]}");
}

static void test_unmarshal_sets(void **state)
{
    apr_pool_t *p = *state;

    assert_unmarshals_to(p, "{\"SS\":[\"a\",\"b\",\"\\u00e9\"]}", "[\"a\",\"b\",\"\\u00e9\"]");
    assert_unmarshals_to(p, "{\"BS\":[\"AAE=\",\"/w==\"]}", "[\"AAE=\",\"/w==\"]");
    assert_unmarshals_to(p, "{\"NS\":[\"1\",\"-2\",\"2.50\",\"1e2\"]}", "[1,-2,2.50,1e2]");
    assert_unmarshals_to(p, "{\"SS\":[]}", "[]");
    /* Sets inside a map. */
    assert_unmarshals_to(p, "{\"M\":{\"tags\":{\"SS\":[\"x\"]},\"n\":{\"NS\":[\"7\"]}}}",
                         "{\"tags\":[\"x\"],\"n\":[7]}");
}

static void test_round_trips(void **state)
{
    static const char *const values[] = {
        "\"plain\"",
        "\"\\u041f\\u0440\\u0438\\u0432\\u0435\\u0442 \\ud83d\\ude00\"",
        "\"\"",
        "0",
        "-1",
        "9223372036854775807",
        "0.1",
        "1.50",
        "-2.5e-300",
        "1.7976931348623157e308",
        "123456789012345678901234567890",
        "true",
        "false",
        "null",
        "[]",
        "{}",
        "[1,\"a\",null,true,[],{}]",
        "{\"id\":\"x\",\"name\":\"\\u00e9\",\"description\":null}",
        "{\"a\":{\"b\":{\"c\":[{\"d\":[1.25,-3]}]}},\"\":\"empty key\"}",
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        json_t *v = P(p, values[i]), *av, *back;
        /* As clients send them: exact, numbers by text. */
        assert_int_equal(items_ddb_marshal(&av, p, v), APR_SUCCESS);
        assert_int_equal(items_ddb_unmarshal(&back, p, av), APR_SUCCESS);
        if (!json_equal(v, back)) {
            fail_msg("round trip of %s gave %s", values[i], dump(p, back));
        }
        /* As jansson builds them: numbers by value (where jansson can hold them). */
        {
            json_t *plain = json_loads(values[i], JSON_DECODE_ANY, NULL);
            if (plain) {
                assert_round_trip(p, items_json_own(p, plain));
            }
        }
    }

}

static void test_unmarshal_depth_limit(void **state)
{
    apr_pool_t *p = *state;
    json_t *v, *av;
    int maps;

    for (maps = 0; maps < 2; maps++) {
        /* 31 containers and a scalar: 32 AttributeValue levels. */
        av = items_json_own(p, nest_av(31, maps, json_pack("{ss}", "S", "x")));
        assert_int_equal(items_ddb_unmarshal(&v, p, av), APR_SUCCESS);
        assert_true(same_value(v, items_json_own(p, nest(31, maps, json_string("x")))));
        /* 33 levels. */
        av = items_json_own(p, nest_av(32, maps, json_pack("{ss}", "S", "x")));
        v = (json_t *)1;
        assert_int_equal(items_ddb_unmarshal(&v, p, av), ITEMS_EBADGATEWAY);
        av = items_json_own(p, nest_av(3000, maps, json_pack("{sb}", "NULL", 1)));
        assert_int_equal(items_ddb_unmarshal(&v, p, av), ITEMS_EBADGATEWAY);
    }
}

static void test_unmarshal_malformed(void **state)
{
    static const char *const bad[] = {
        /* not an AttributeValue at all */
        "\"x\"", "[]", "null", "1", "true",
        /* not exactly one type */
        "{}", "{\"S\":\"a\",\"N\":\"1\"}", "{\"S\":\"a\",\"x\":1}",
        /* unknown type, or wrong case */
        "{\"X\":\"a\"}", "{\"s\":\"a\"}", "{\"Bool\":true}", "{\"null\":true}", "{\"\":\"a\"}",
        /* wrong payload type */
        "{\"S\":1}", "{\"S\":null}", "{\"S\":[\"a\"]}", "{\"N\":1}", "{\"N\":null}",
        "{\"B\":true}", "{\"B\":[]}", "{\"BOOL\":\"true\"}", "{\"BOOL\":1}", "{\"BOOL\":null}",
        "{\"M\":[]}", "{\"M\":\"x\"}", "{\"M\":null}", "{\"L\":{}}", "{\"L\":\"x\"}",
        "{\"SS\":\"a\"}", "{\"SS\":[1]}", "{\"SS\":[\"a\",null]}", "{\"SS\":{}}",
        "{\"NS\":\"1\"}", "{\"NS\":[1]}", "{\"NS\":[\"1\",\"x\"]}", "{\"BS\":[null]}",
        "{\"BS\":\"AAE=\"}",
        /* bad numbers */
        "{\"N\":\"\"}", "{\"N\":\"-\"}", "{\"N\":\"abc\"}",
        "{\"N\":\"--1\"}", "{\"N\":\"1 \"}", "{\"N\":\"1,5\"}", "{\"N\":\"-x\"}",
        "{\"N\":\".5\"}", "{\"N\":\"nan\"}", "{\"N\":\"inf\"}", "{\"N\":\"Infinity\"}",
        "{\"N\":\"0x10\"}", "{\"N\":\" 1\"}", "{\"N\":\"+1\"}",
        "{\"N\":\"1_000\"}",
        /* malformed members deep inside */
        "{\"L\":[1]}", "{\"L\":[{\"S\":\"a\"},{\"S\":1}]}", "{\"M\":{\"a\":\"plain\"}}",
        "{\"M\":{\"a\":{\"Q\":1}}}", "{\"M\":{\"a\":{\"L\":[{\"M\":{\"b\":{}}}]}}}",
        "{\"L\":[{\"NS\":[\"x\"]}]}",
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_unmarshal_rejects(p, bad[i]);
    }
}

static void test_unmarshal_number_not_json(void **state)
{
    /*
     * An N is kept as text and later written verbatim into responses: text that
     * is not a JSON number would make those responses invalid JSON, so it is a
     * malformed answer.
     */
    static const char *const bad[] = {
        "1e", "1e+", "1E-", "1.", "1.e5", "1.2.3", "1-1", "1+1", "1e5e5", "1e1.5", "01", "-01",
        "1..2", "2-", "0-0",
    };
    apr_pool_t *p = *state;
    json_t *v, *back;
    const char *text, *err;
    apr_size_t len;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *av = items_json_own(p, json_pack("{ss}", "N", bad[i]));
        apr_status_t rv = items_ddb_unmarshal(&v, p, av);
        if (rv == APR_SUCCESS) {
            assert_int_equal(items_json_dump(&text, &len, p, v), APR_SUCCESS);
            fail_msg("N \"%s\" accepted; it dumps as %s, which %s JSON", bad[i], text,
                     items_json_parse(&back, &err, p, text, len) == APR_SUCCESS ? "is"
                                                                                 : "is not");
        }
        assert_int_equal(rv, ITEMS_EBADGATEWAY);
        av = items_json_own(p, json_pack("{s[ss]}", "NS", "1", bad[i]));
        assert_int_equal(items_ddb_unmarshal(&v, p, av), ITEMS_EBADGATEWAY);
    }
}

static void test_unmarshal_nul_in_strings(void **state)
{
    /* A NUL would pass for the number tag: such strings cannot be served. */
    apr_pool_t *p = *state;
    json_t *v, *nul = items_json_own(p, json_stringn("a\0b", 3));
    json_t *tag = items_json_own(p, json_stringn("\0#1", 3));

    assert_int_equal(items_ddb_unmarshal(&v, p, items_json_own(p, json_pack("{sO}", "S", nul))),
                     ITEMS_EBADGATEWAY);
    assert_int_equal(items_ddb_unmarshal(&v, p, items_json_own(p, json_pack("{sO}", "S", tag))),
                     ITEMS_EBADGATEWAY);
    assert_int_equal(items_ddb_unmarshal(&v, p, items_json_own(p, json_pack("{sO}", "B", tag))),
                     ITEMS_EBADGATEWAY);
    assert_int_equal(items_ddb_unmarshal(&v, p, items_json_own(p, json_pack("{s[O]}", "SS", tag))),
                     ITEMS_EBADGATEWAY);
    assert_int_equal(items_ddb_unmarshal(&v, p, items_json_own(p, json_pack("{s[O]}", "BS", nul))),
                     ITEMS_EBADGATEWAY);
    assert_int_equal(
        items_ddb_unmarshal(&v, p, items_json_own(p, json_pack("{s{s{sO}}}", "M", "k", "S", tag))),
        ITEMS_EBADGATEWAY);
}

static void test_unmarshal_null_must_be_boolean(void **state)
{
    /* DynamoDB's NULL is {"NULL": true}; anything but a boolean is malformed. */
    static const char *const bad[] = {
        "{\"NULL\":\"x\"}", "{\"NULL\":1}", "{\"NULL\":null}", "{\"NULL\":{}}", "{\"NULL\":[]}",
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_unmarshal_rejects(p, bad[i]);
    }
}

static void test_unmarshal_pool_owns_result(void **state)
{
    apr_pool_t *p, *avp;
    json_t *v, *av;

    (void)state;
    assert_int_equal(apr_pool_create(&avp, NULL), APR_SUCCESS);
    assert_int_equal(apr_pool_create(&p, NULL), APR_SUCCESS);
    av = J(avp, "{\"M\":{\"a\":{\"L\":[{\"N\":\"1\"},{\"S\":\"s\"}]}}}");
    assert_int_equal(items_ddb_unmarshal(&v, p, av), APR_SUCCESS);
    json_incref(v);
    /* The result does not depend on the input's pool... */
    apr_pool_destroy(avp);
    assert_string_equal(items_json_number_text(json_array_get(json_object_get(v, "a"), 0)), "1");
    assert_string_equal(json_string_value(json_array_get(json_object_get(v, "a"), 1)), "s");
    /* ...and its own pool lets go of it. */
    apr_pool_destroy(p);
    assert_int_equal(v->refcount, 1);
    json_decref(v);
}

static void test_no_leaks(void **state)
{
    long before = live_allocs;
    apr_pool_t *p;
    json_t *v, *av;

    (void)state;
    assert_int_equal(apr_pool_create(&p, NULL), APR_SUCCESS);
    /* Successes. */
    assert_int_equal(items_ddb_marshal(&av, p, J(p, "{\"a\":[1,2.5,\"x\",null,{\"b\":true}]}")),
                     APR_SUCCESS);
    assert_int_equal(items_ddb_unmarshal(&v, p, av), APR_SUCCESS);
    assert_int_equal(
        items_ddb_unmarshal(&v, p, J(p, "{\"L\":[{\"SS\":[\"a\"]},{\"NS\":[\"1\",\"2.5\"]}]}")),
        APR_SUCCESS);
    /* Failures half-way through building a result. */
    assert_int_equal(items_ddb_marshal(&av, p, items_json_own(p, nest(40, 0, json_true()))),
                     ITEMS_EINVALID);
    assert_int_equal(
        items_ddb_unmarshal(&v, p, J(p, "{\"L\":[{\"S\":\"a\"},{\"N\":\"2.5\"},{\"S\":1}]}")),
        ITEMS_EBADGATEWAY);
    assert_int_equal(items_ddb_unmarshal(&v, p, J(p, "{\"NS\":[\"1\",\"2\",\"x\"]}")),
                     ITEMS_EBADGATEWAY);
    assert_int_equal(items_ddb_unmarshal(&v, p, J(p, "{\"M\":{\"a\":{\"N\":\"1\"},\"b\":{}}}")),
                     ITEMS_EBADGATEWAY);
    assert_true(live_allocs > before);
    apr_pool_destroy(p);
    assert_int_equal(live_allocs, before);
}

/* --- stored items ------------------------------------------------------------------- */

static void test_unmarshal_item(void **state)
{
    apr_pool_t *p = *state;
    items_ddb_meta_t meta = { "stale", "stale" };
    json_t *item;
    const char *text;
    apr_size_t len;

    assert_int_equal(
        items_ddb_unmarshal_item(&item, &meta, p,
                                 J(p, "{\"name\":{\"S\":\"pen\"},\"_version\":{\"S\":\"v1\"},"
                                      "\"n\":{\"N\":\"1.50\"},\"id\":{\"S\":\"abc\"},"
                                      "\"_request\":{\"S\":\"h\"},\"_future\":{\"N\":\"1\"},"
                                      "\"m\":{\"M\":{\"_keep\":{\"BOOL\":true}}}}")),
        APR_SUCCESS);
    /* "id" first; the module's own attributes out of the item and into meta. */
    assert_int_equal(items_json_dump(&text, &len, p, item), APR_SUCCESS);
    assert_string_equal(text, "{\"id\":\"abc\",\"name\":\"pen\",\"n\":1.50,\"m\":{\"_keep\":true}}");
    assert_string_equal(meta.version, "v1");
    assert_string_equal(meta.request, "h");

    /* Written by others: no meta, no id is fine too. */
    assert_int_equal(items_ddb_unmarshal_item(&item, &meta, p, J(p, "{\"name\":{\"S\":\"x\"}}")),
                     APR_SUCCESS);
    assert_null(meta.version);
    assert_null(meta.request);
    assert_json_eq(p, item, "{\"name\":\"x\"}");
    /* Bookkeeping of the wrong type is ignored, never shown. */
    assert_int_equal(items_ddb_unmarshal_item(&item, &meta, p,
                                              J(p, "{\"_version\":{\"N\":\"1\"},\"a\":{\"S\":\"b\"}}")),
                     APR_SUCCESS);
    assert_null(meta.version);
    assert_json_eq(p, item, "{\"a\":\"b\"}");
    assert_int_equal(items_ddb_unmarshal_item(&item, &meta, p, J(p, "{}")), APR_SUCCESS);
    assert_int_equal(json_object_size(item), 0);
}

static void test_unmarshal_item_malformed(void **state)
{
    static const char *const bad[] = {
        "[]", "null", "\"x\"", "{\"id\":{\"S\":1}}", "{\"id\":\"abc\"}", "{\"a\":{\"Q\":1}}",
        "{\"name\":{\"S\":\"x\"},\"b\":{}}", "{\"a\":{\"L\":[{\"N\":\"x\"}]}}",
    };
    apr_pool_t *p = *state;
    items_ddb_meta_t meta;
    json_t *item;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        meta.version = meta.request = "stale";
        item = (json_t *)1;
        if (items_ddb_unmarshal_item(&item, &meta, p, J(p, bad[i])) != ITEMS_EBADGATEWAY) {
            fail_msg("item %s accepted", bad[i]);
        }
        assert_null(item);
    }
    assert_int_equal(items_ddb_unmarshal_item(&item, &meta, p, NULL), ITEMS_EBADGATEWAY);
}

/* --- UpdateItem requests ------------------------------------------------------------- */

/* expr with every #name and :value placeholder replaced by its name / compact value. */
static const char *expand(apr_pool_t *p, const json_t *request, const char *member)
{
    const char *expr = json_string_value(json_object_get(request, member)), *s;
    json_t *names = json_object_get(request, "ExpressionAttributeNames");
    json_t *values = json_object_get(request, "ExpressionAttributeValues");
    const char *out = "";

    if (!expr) {
        return NULL;
    }
    for (s = expr; *s;) {
        if (*s == '#' || *s == ':') {
            const char *e = s + 1, *token, *sub = NULL;
            while ((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') || (*e >= '0' && *e <= '9')
                   || *e == '_') {
                e++;
            }
            token = apr_pstrmemdup(p, s, (apr_size_t)(e - s));
            if (*s == '#' && json_is_string(json_object_get(names, token))) {
                sub = json_string_value(json_object_get(names, token));
            }
            else if (*s == ':' && json_object_get(values, token)) {
                sub = dump(p, json_object_get(values, token));
            }
            if (!sub) {
                fail_msg("%s: placeholder %s has no definition", member, token);
            }
            out = apr_pstrcat(p, out, sub, NULL);
            s = e;
        }
        else {
            out = apr_pstrcat(p, out, apr_pstrmemdup(p, s, 1), NULL);
            s++;
        }
    }
    return out;
}

static apr_array_header_t *versions(apr_pool_t *p, const char *v)
{
    apr_array_header_t *a = apr_array_make(p, 1, sizeof(const char *));

    if (v) {
        APR_ARRAY_PUSH(a, const char *) = v;
    }
    return a;
}

static void test_update_request_basic(void **state)
{
    apr_pool_t *p = *state;
    items_ddb_cond_t cond = { 0, 0, NULL, 0 };
    json_t *req;

    cond.versions = versions(p, "v1");
    assert_int_equal(items_ddb_update_request(&req, p, "items", "abc",
                                              P(p, "{\"name\":\"pen\",\"description\":null,"
                                                   "\"price\":1.50}"),
                                              "v2", &cond),
                     APR_SUCCESS);
    assert_string_equal(json_string_value(json_object_get(req, "TableName")), "items");
    assert_json_eq(p, json_object_get(req, "Key"), "{\"id\":{\"S\":\"abc\"}}");
    assert_string_equal(json_string_value(json_object_get(req, "ReturnValues")), "ALL_NEW");
    assert_string_equal(expand(p, req, "UpdateExpression"),
                        "SET _version = {\"S\":\"v2\"}, name = {\"S\":\"pen\"}, "
                        "price = {\"N\":\"1.50\"} REMOVE description");
    assert_string_equal(expand(p, req, "ConditionExpression"),
                        "attribute_exists(id) AND _version IN ({\"S\":\"v1\"})");
}

static void test_update_request_conditions(void **state)
{
    apr_pool_t *p = *state;
    items_ddb_cond_t cond = { 0, 0, NULL, 0 };
    json_t *req;
    apr_array_header_t *two = versions(p, "a");

    /* No precondition: the item must still exist. */
    assert_int_equal(items_ddb_update_request(&req, p, "t", "i", P(p, "{}"), "v", &cond),
                     APR_SUCCESS);
    assert_string_equal(expand(p, req, "ConditionExpression"), "attribute_exists(id)");
    assert_string_equal(expand(p, req, "UpdateExpression"), "SET _version = {\"S\":\"v\"}");
    /* An update never creates, whatever the caller asked. */
    cond.must_not_exist = 1;
    assert_int_equal(items_ddb_update_request(&req, p, "t", "i", P(p, "{}"), "v", &cond),
                     APR_SUCCESS);
    assert_string_equal(expand(p, req, "ConditionExpression"), "attribute_exists(id)");
    cond.must_not_exist = 0;
    cond.unversioned = 1;
    assert_int_equal(items_ddb_update_request(&req, p, "t", "i", P(p, "{}"), "v", &cond),
                     APR_SUCCESS);
    assert_string_equal(expand(p, req, "ConditionExpression"),
                        "attribute_exists(id) AND attribute_not_exists(_version)");
    cond.unversioned = 0;
    APR_ARRAY_PUSH(two, const char *) = "b";
    cond.versions = two;
    assert_int_equal(items_ddb_update_request(&req, p, "t", "i", P(p, "{}"), "v", &cond),
                     APR_SUCCESS);
    assert_string_equal(expand(p, req, "ConditionExpression"),
                        "attribute_exists(id) AND _version IN ({\"S\":\"a\"}, {\"S\":\"b\"})");
}

static void test_update_request_nested(void **state)
{
    apr_pool_t *p = *state;
    items_ddb_cond_t cond = { 0, 0, NULL, 0 };
    json_t *req;

    /* Nested objects merge through document paths, on a map that must be one. */
    assert_int_equal(items_ddb_update_request(&req, p, "t", "i",
                                              P(p, "{\"dims\":{\"w\":2,\"old\":null,"
                                                   "\"in\":{\"x\":true}},\"e\":{}}"),
                                              "v", &cond),
                     APR_SUCCESS);
    assert_string_equal(expand(p, req, "UpdateExpression"),
                        "SET _version = {\"S\":\"v\"}, dims.w = {\"N\":\"2\"}, "
                        "dims.in.x = {\"BOOL\":true}, e = {\"M\":{}} REMOVE dims.old");
    assert_string_equal(expand(p, req, "ConditionExpression"),
                        "attribute_exists(id) AND attribute_type(dims, {\"S\":\"M\"}) AND "
                        "attribute_type(dims.in, {\"S\":\"M\"})");
}

static void test_update_request_names_are_placeholders(void **state)
{
    /* Attribute names never appear raw: dots, spaces, reserved words, '#' and ':'. */
    apr_pool_t *p = *state;
    items_ddb_cond_t cond = { 0, 0, NULL, 0 };
    json_t *req;
    const char *raw;

    assert_int_equal(items_ddb_update_request(&req, p, "t", "i",
                                              P(p, "{\"a.b\":1,\"with space\":2,\"SET\":3,"
                                                   "\"#x\":4,\":y\":5,\"\xd0\x96\":6}"),
                                              "v", &cond),
                     APR_SUCCESS);
    raw = json_string_value(json_object_get(req, "UpdateExpression"));
    assert_null(strstr(raw, "a.b"));
    assert_null(strstr(raw, "with space"));
    assert_int_equal(strncmp(raw, "SET ", 4), 0);
    assert_null(strstr(raw + 4, "SET")); /* the attribute named SET is a placeholder */
    assert_null(strstr(raw, "\xd0\x96"));
    assert_string_equal(expand(p, req, "UpdateExpression"),
                        "SET _version = {\"S\":\"v\"}, a.b = {\"N\":\"1\"}, "
                        "with space = {\"N\":\"2\"}, SET = {\"N\":\"3\"}, #x = {\"N\":\"4\"}, "
                        ":y = {\"N\":\"5\"}, \xd0\x96 = {\"N\":\"6\"}");
}

static void test_update_request_too_large(void **state)
{
    apr_pool_t *p = *state;
    items_ddb_cond_t cond = { 0, 0, NULL, 0 };
    json_t *req = (json_t *)1, *patch = items_json_own(p, json_object());
    int i;

    /* More clauses than fit DynamoDB's 4 KB expressions: the caller merges itself. */
    for (i = 0; i < 1000; i++) {
        json_object_set_new(patch, apr_psprintf(p, "attr%d", i), items_json_number("1"));
    }
    assert_int_equal(items_ddb_update_request(&req, p, "t", "i", patch, "v", &cond),
                     ITEMS_ETOOLARGE);
    assert_null(req);
    /* Nesting deeper than DynamoDB's 32 levels (built directly: the parser stops at 32). */
    patch = items_json_own(p, nest(40, 1, items_json_number("1")));
    assert_int_equal(items_ddb_update_request(&req, p, "t", "i", patch, "v", &cond),
                     ITEMS_ETOOLARGE);
    /* A few clauses are fine. */
    patch = P(p, "{\"a\":1,\"b\":2}");
    assert_int_equal(items_ddb_update_request(&req, p, "t", "i", patch, "v", &cond), APR_SUCCESS);
}

/* --- status_for ---------------------------------------------------------------------- */

static const struct {
    const char *type;
    apr_status_t status;
} mapped[] = {
    { "ConditionalCheckFailedException", ITEMS_ECONFLICT },
    { "TransactionConflictException", ITEMS_ECONFLICT },
    { "ProvisionedThroughputExceededException", ITEMS_EUNAVAILABLE },
    { "ThrottlingException", ITEMS_EUNAVAILABLE },
    { "RequestLimitExceeded", ITEMS_EUNAVAILABLE },
    { "LimitExceededException", ITEMS_EUNAVAILABLE },
    { "ServiceUnavailable", ITEMS_EUNAVAILABLE },
    { "ResourceNotFoundException", ITEMS_EBACKENDCONFIG },
    { "AccessDeniedException", ITEMS_EBACKENDCONFIG },
    { "UnrecognizedClientException", ITEMS_EBACKENDCONFIG },
    { "InvalidSignatureException", ITEMS_EBACKENDCONFIG },
    { "MissingAuthenticationTokenException", ITEMS_EBACKENDCONFIG },
    { "IncompleteSignatureException", ITEMS_EBACKENDCONFIG },
    { "ExpiredTokenException", ITEMS_EBACKENDCONFIG },
    { "InvalidClientTokenId", ITEMS_EBACKENDCONFIG },
};

static apr_status_t status_for(const char **type, const char **msg, apr_pool_t *p, long http,
                               const char *body)
{
    *type = "stale";
    *msg = "stale";
    return items_ddb_status_for(type, msg, p, http, body, body ? strlen(body) : 0);
}

static void test_status_200(void **state)
{
    static const char *const bodies[] = {
        "{}", "{\"Item\":{\"id\":{\"S\":\"1\"}}}", "", "garbage",
        "{\"__type\":\"ThrottlingException\",\"message\":\"x\"}",
    };
    apr_pool_t *p = *state;
    const char *type, *msg;
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        assert_int_equal(status_for(&type, &msg, p, 200, bodies[i]), APR_SUCCESS);
        assert_null(type);
        assert_null(msg);
    }
    assert_int_equal(status_for(&type, &msg, p, 200, NULL), APR_SUCCESS);
}

static void test_status_every_type(void **state)
{
    static const char *const prefixes[] = {
        "", "com.amazonaws.dynamodb.v20120810#", "com.amazon.coral.service#",
        "com.amazon.coral.availability#",
    };
    apr_pool_t *p = *state;
    const char *type, *msg, *body;
    size_t i, k;

    for (i = 0; i < sizeof(mapped) / sizeof(mapped[0]); i++) {
        for (k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
            body = apr_psprintf(p, "{\"__type\":\"%s%s\",\"message\":\"why %zu\"}", prefixes[k],
                                mapped[i].type, i);
            if (status_for(&type, &msg, p, 400, body) != mapped[i].status) {
                fail_msg("%s%s: wrong status", prefixes[k], mapped[i].type);
            }
            assert_non_null(type);
            assert_string_equal(type, mapped[i].type);
            assert_non_null(msg);
            assert_string_equal(msg, apr_psprintf(p, "why %zu", i));
        }
        /* The type decides, whatever the HTTP status said. */
        body = apr_psprintf(p, "{\"__type\":\"%s\"}", mapped[i].type);
        assert_int_equal(status_for(&type, &msg, p, 500, body), mapped[i].status);
        assert_null(msg);
    }
}

static void test_status_message_spelling(void **state)
{
    apr_pool_t *p = *state;
    const char *type, *msg;

    /* DynamoDB says "message"; some errors (and some front ends) say "Message". */
    assert_int_equal(status_for(&type, &msg, p, 400,
                                "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                                "ResourceNotFoundException\",\"message\":\"lower\"}"),
                     ITEMS_EBACKENDCONFIG);
    assert_string_equal(msg, "lower");
    assert_int_equal(status_for(&type, &msg, p, 400,
                                "{\"__type\":\"com.amazon.coral.service#"
                                "UnrecognizedClientException\",\"Message\":\"upper\"}"),
                     ITEMS_EBACKENDCONFIG);
    assert_string_equal(type, "UnrecognizedClientException");
    assert_string_equal(msg, "upper");
    assert_int_equal(status_for(&type, &msg, p, 400,
                                "{\"Message\":\"upper\",\"__type\":\"ThrottlingException\","
                                "\"message\":\"lower\"}"),
                     ITEMS_EUNAVAILABLE);
    assert_string_equal(msg, "lower");
    /* A message that is not a string is no message. */
    assert_int_equal(status_for(&type, &msg, p, 400,
                                "{\"__type\":\"ThrottlingException\",\"message\":42}"),
                     ITEMS_EUNAVAILABLE);
    assert_null(msg);
    /* A message without a type. */
    assert_int_equal(status_for(&type, &msg, p, 500, "{\"message\":\"boom\"}"),
                     ITEMS_EBADGATEWAY);
    assert_null(type);
    assert_string_equal(msg, "boom");
}

static void test_status_unmapped_types(void **state)
{
    static const char *const types[] = {
        "ValidationException", "com.amazon.coral.validate#ValidationException",
        "SerializationException", "InternalServerError", "InternalFailure",
        "ItemCollectionSizeLimitExceededException", "throttlingexception",
        "ThrottlingException ", "x#", "#", "",
    };
    apr_pool_t *p = *state;
    const char *type, *msg;
    size_t i;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        const char *body = apr_psprintf(p, "{\"__type\":\"%s\"}", types[i]);
        if (status_for(&type, &msg, p, 400, body) != ITEMS_EBADGATEWAY) {
            fail_msg("__type \"%s\" at 400: want ITEMS_EBADGATEWAY", types[i]);
        }
        assert_non_null(type);
        assert_null(strchr(type, '#'));
        /* Unmapped types fall back to the HTTP status. */
        assert_int_equal(status_for(&type, &msg, p, 503, body), ITEMS_EUNAVAILABLE);
        assert_int_equal(status_for(&type, &msg, p, 403, body), ITEMS_EBACKENDCONFIG);
    }
    assert_int_equal(status_for(&type, &msg, p, 400,
                                "{\"__type\":\"com.amazon.coral.validate#ValidationException\"}"),
                     ITEMS_EBADGATEWAY);
    assert_string_equal(type, "ValidationException");
}

static void test_status_item_too_large(void **state)
{
    apr_pool_t *p = *state;
    const char *type, *msg;

    /* DynamoDB refuses an item over 400 KB with a plain ValidationException. */
    assert_int_equal(status_for(&type, &msg, p, 400,
                                "{\"__type\":\"com.amazon.coral.validate#ValidationException\","
                                "\"message\":\"Item size has exceeded the maximum allowed size\"}"),
                     ITEMS_ETOOLARGE);
    assert_string_equal(type, "ValidationException");
    /* UpdateItem says it in other words (so does dynalite). */
    assert_int_equal(status_for(&type, &msg, p, 400,
                                "{\"__type\":\"ValidationException\",\"Message\":\"Item size "
                                "to update has exceeded the maximum allowed size\"}"),
                     ITEMS_ETOOLARGE);
    /* Other validation errors are ours: a bad gateway. */
    assert_int_equal(status_for(&type, &msg, p, 400,
                                "{\"__type\":\"ValidationException\",\"message\":\"One or more "
                                "parameter values were invalid\"}"),
                     ITEMS_EBADGATEWAY);
    assert_int_equal(status_for(&type, &msg, p, 400,
                                "{\"__type\":\"ThrottlingException\",\"message\":\"size has exceeded\"}"),
                     ITEMS_EUNAVAILABLE);
}

static void test_status_without_body(void **state)
{
    static const struct {
        long http;
        apr_status_t want;
    } cases[] = {
        { 500, ITEMS_EBADGATEWAY },   { 502, ITEMS_EBADGATEWAY },    { 504, ITEMS_EBADGATEWAY },
        { 503, ITEMS_EUNAVAILABLE },  { 429, ITEMS_EUNAVAILABLE },   { 401, ITEMS_EBACKENDCONFIG },
        { 403, ITEMS_EBACKENDCONFIG }, { 400, ITEMS_EBADGATEWAY },   { 404, ITEMS_EBADGATEWAY },
        { 413, ITEMS_EBADGATEWAY },   { 301, ITEMS_EBADGATEWAY },    { 204, ITEMS_EBADGATEWAY },
        { 201, ITEMS_EBADGATEWAY },   { 0, ITEMS_EBADGATEWAY },      { -1, ITEMS_EBADGATEWAY },
    };
    apr_pool_t *p = *state;
    const char *type, *msg;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (status_for(&type, &msg, p, cases[i].http, NULL) != cases[i].want
            || status_for(&type, &msg, p, cases[i].http, "") != cases[i].want) {
            fail_msg("HTTP %ld without body: wrong status", cases[i].http);
        }
        assert_null(type);
        assert_null(msg);
    }
}

static void test_status_garbage_body(void **state)
{
    static const char *const bodies[] = {
        "<html><body>502 Bad Gateway</body></html>",
        "{\"__type\":",
        "[\"ThrottlingException\"]",
        "\"ThrottlingException\"",
        "{\"__type\":42,\"message\":\"m\"}",
        "{\"__type\":null}",
        "{\"__type\":\"Throttling\\u0000Exception\"}",
        "{\"__type\":\"\xff\"}",
        "null",
    };
    apr_pool_t *p = *state;
    const char *type, *msg;
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        if (status_for(&type, &msg, p, 400, bodies[i]) != ITEMS_EBADGATEWAY) {
            fail_msg("400 with body %s: want ITEMS_EBADGATEWAY", bodies[i]);
        }
        assert_null(type);
        assert_int_equal(status_for(&type, &msg, p, 503, bodies[i]), ITEMS_EUNAVAILABLE);
        assert_int_equal(status_for(&type, &msg, p, 500, bodies[i]), ITEMS_EBADGATEWAY);
    }
    /* A raw NUL. */
    {
        static const char nul[] = "{\"__type\":\"Throttling\0Exception\"}";
        assert_int_equal(items_ddb_status_for(&type, &msg, p, 400, nul, sizeof(nul) - 1),
                         ITEMS_EBADGATEWAY);
    }
    assert_null(type);
}

static void test_status_body_not_nul_terminated(void **state)
{
    apr_pool_t *p = *state;
    const char *type, *msg;
    static const char buf[] = "{\"__type\":\"ThrottlingException\"}trailing garbage";
    char *exact;
    size_t len = strlen("{\"__type\":\"ThrottlingException\"}");

    assert_int_equal(items_ddb_status_for(&type, &msg, p, 400, buf, len), ITEMS_EUNAVAILABLE);
    assert_string_equal(type, "ThrottlingException");
    /* An exactly sized heap copy: ASan sees any read beyond it. */
    exact = malloc(len);
    memcpy(exact, buf, len);
    assert_int_equal(items_ddb_status_for(&type, &msg, p, 400, exact, len), ITEMS_EUNAVAILABLE);
    free(exact);
    /* Short of the closing brace it is garbage. */
    assert_int_equal(items_ddb_status_for(&type, &msg, p, 400, buf, len - 1), ITEMS_EBADGATEWAY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_marshal_scalars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_marshal_number_texts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_marshal_real_precision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_marshal_containers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_marshal_item, setup, teardown),
        cmocka_unit_test_setup_teardown(test_marshal_keeps_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_marshal_depth_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmarshal_scalars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmarshal_containers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmarshal_sets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmarshal_depth_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmarshal_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmarshal_number_not_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmarshal_nul_in_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmarshal_null_must_be_boolean, setup, teardown),
        cmocka_unit_test(test_unmarshal_pool_owns_result),
        cmocka_unit_test(test_no_leaks),
        cmocka_unit_test_setup_teardown(test_unmarshal_item, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmarshal_item_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_request_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_request_conditions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_request_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_request_names_are_placeholders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_request_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_200, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_every_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_message_spelling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_unmapped_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_item_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_without_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_garbage_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_body_not_nul_terminated, setup, teardown),
    };
    int failed;

    /* Before any jansson allocation, so every value is counted. */
    json_set_alloc_funcs(count_malloc, count_free);
    apr_initialize();
    failed = cmocka_run_group_tests_name("items_ddb", tests, NULL, NULL);
    apr_terminate();
    return failed ? 1 : 0;
}
