/* SPDX-License-Identifier: Apache-2.0 */
/*
 * items_item.c: validating bodies that create, replace and patch items; merge
 * patches; DynamoDB's number and size limits; hashes, versions, ids and keys.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "items_item.h"
#include "items_json.h"
#include "items_status.h"
#include "unit.h"


/* Parse s (strlen bytes) as a POST body; the outputs are reset to sentinels first. */
static apr_status_t from_str(json_t **item, const char **err, apr_pool_t *p, const char *s)
{
    *item = (json_t *)1;
    *err = "stale";
    return items_item_from_body(item, err, p, s, strlen(s), NULL);
}

/* The same as a PUT to /path_id. */
static apr_status_t put_str(json_t **item, const char **err, apr_pool_t *p, const char *s,
                            const char *path_id)
{
    *item = (json_t *)1;
    *err = "stale";
    return items_item_from_body(item, err, p, s, strlen(s), path_id);
}

static apr_status_t patch_str(json_t **patch, const char **err, apr_pool_t *p, const char *s,
                              const char *path_id)
{
    *patch = (json_t *)1;
    *err = "stale";
    return items_item_patch_from_body(patch, err, p, s, strlen(s), path_id);
}

/* Assert a POST body is refused with want, a NULL item and an error message. */
#define assert_rejected(p, want, body, len)                                                    \
    do {                                                                                       \
        json_t *item_ = (json_t *)1;                                                          \
        const char *err_ = NULL;                                                              \
        apr_status_t rv_ = items_item_from_body(&item_, &err_, (p), (body), (len), NULL);     \
        if (rv_ != (want)) {                                                                  \
            fail_msg("%s:%d: status %d, want %d (error: %s)", __FILE__, __LINE__,              \
                     (int)(rv_ - ITEMS_STATUS_BASE), (int)((want) - ITEMS_STATUS_BASE),       \
                     err_ ? err_ : "none");                                                   \
        }                                                                                     \
        assert_null(item_);                                                                   \
        assert_non_null(err_);                                                                \
        assert_true(strlen(err_) > 0);                                                        \
    } while (0)

#define assert_rejected_str(p, want, s) assert_rejected((p), (want), (s), strlen(s))
#define assert_rejected_lit(p, want, lit) assert_rejected((p), (want), (lit), sizeof(lit) - 1)

/* A pool-owned JSON value from text (numbers as number texts, as bodies have them). */
static json_t *J(apr_pool_t *p, const char *text)
{
    json_t *v;
    const char *err;

    if (items_json_parse(&v, &err, p, text, strlen(text)) != APR_SUCCESS) {
        fail_msg("bad test JSON %s: %s", text, err);
    }
    return v;
}


static void assert_json_eq(apr_pool_t *p, const json_t *got, const char *want)
{
    if (!got || !json_equal(got, J(p, want))) {
        fail_msg("got %s, want %s", dump(p, got), want);
    }
}

/* --- valid items ------------------------------------------------------------- */

static void test_valid_name_only(void **state)
{
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;

    assert_int_equal(from_str(&item, &err, p, "{\"name\":\"pen\"}"), APR_SUCCESS);
    assert_null(err);
    assert_true(json_is_object(item));
    assert_int_equal(json_object_size(item), 1);
    assert_string_equal(json_string_value(json_object_get(item, "name")), "pen");
    assert_null(json_object_get(item, "id"));
}

static void test_valid_with_description(void **state)
{
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;

    assert_int_equal(from_str(&item, &err, p,
                              " {\n\t\"description\" : \"blue ink\" , \"name\":\"pen\" } \r\n"),
                     APR_SUCCESS);
    assert_int_equal(json_object_size(item), 2);
    assert_string_equal(json_string_value(json_object_get(item, "name")), "pen");
    assert_string_equal(json_string_value(json_object_get(item, "description")), "blue ink");
}

static void test_valid_description_null_or_empty(void **state)
{
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;

    assert_int_equal(from_str(&item, &err, p, "{\"name\":\"pen\",\"description\":null}"),
                     APR_SUCCESS);
    assert_int_equal(json_object_size(item), 2);
    assert_true(json_is_null(json_object_get(item, "description")));
    /* Only the name must be non-empty. */
    assert_int_equal(from_str(&item, &err, p, "{\"name\":\"pen\",\"description\":\"\"}"),
                     APR_SUCCESS);
    assert_string_equal(json_string_value(json_object_get(item, "description")), "");
}

static void test_valid_utf8(void **state)
{
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;

    /* Raw Cyrillic and a raw 4-byte emoji. */
    assert_int_equal(from_str(&item, &err, p,
                              "{\"name\":\"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\","
                              "\"description\":\"\xf0\x9f\x98\x80 ok\"}"),
                     APR_SUCCESS);
    assert_string_equal(json_string_value(json_object_get(item, "name")),
                        "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"); /* Privet */
    assert_string_equal(json_string_value(json_object_get(item, "description")),
                        "\xf0\x9f\x98\x80 ok");

    /* The same characters escaped: \u041f and a surrogate pair decode to UTF-8. */
    assert_int_equal(from_str(&item, &err, p, "{\"name\":\"\\u041f\\ud83d\\ude00\"}"),
                     APR_SUCCESS);
    assert_string_equal(json_string_value(json_object_get(item, "name")),
                        "\xd0\x9f\xf0\x9f\x98\x80");
    assert_int_equal(json_string_length(json_object_get(item, "name")), 6);
    /* Non-ASCII attribute names are attribute names like any other. */
    assert_int_equal(from_str(&item, &err, p, "{\"name\":\"x\",\"\xd0\xb8\xd0\xbc\xd1\x8f\":1}"),
                     APR_SUCCESS);
    assert_non_null(json_object_get(item, "\xd0\xb8\xd0\xbc\xd1\x8f"));
}

static void test_valid_escapes(void **state)
{
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;

    assert_int_equal(from_str(&item, &err, p, "{\"name\":\"a\\\"b\\\\c\\/d\\n\\u00e9\"}"),
                     APR_SUCCESS);
    assert_string_equal(json_string_value(json_object_get(item, "name")),
                        "a\"b\\c/d\n\xc3\xa9");
}

static void test_other_attributes_kept(void **state)
{
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;

    assert_int_equal(from_str(&item, &err, p,
                              "{\"name\":\"pen\",\"price\":12.50,\"tags\":[\"a\",2,false],"
                              "\"dims\":{\"w\":1,\"h\":2e3,\"_inner\":null},\"ok\":true,"
                              "\"gone\":null,\"Name\":\"other\",\"big\":123456789012345678901234567890}"),
                     APR_SUCCESS);
    assert_int_equal(json_object_size(item), 8);
    /* Numbers keep their exact text. */
    assert_string_equal(items_json_number_text(json_object_get(item, "price")), "12.50");
    assert_string_equal(
        items_json_number_text(json_object_get(json_object_get(item, "dims"), "h")), "2e3");
    assert_string_equal(items_json_number_text(json_object_get(item, "big")),
                        "123456789012345678901234567890");
    assert_true(json_is_false(json_array_get(json_object_get(item, "tags"), 2)));
    assert_true(json_is_null(json_object_get(item, "gone")));
    /* '_' is reserved only at the top level. */
    assert_non_null(json_object_get(json_object_get(item, "dims"), "_inner"));
    assert_string_equal(json_string_value(json_object_get(item, "Name")), "other");
}

static void test_name_length_bytes(void **state)
{
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;
    char *name = apr_palloc(p, ITEMS_NAME_MAX_BYTES + 2);
    const char *cyr = "", *esc = "";
    int i;

    memset(name, 'n', ITEMS_NAME_MAX_BYTES);
    name[ITEMS_NAME_MAX_BYTES] = '\0';
    assert_int_equal(from_str(&item, &err, p, apr_pstrcat(p, "{\"name\":\"", name, "\"}", NULL)),
                     APR_SUCCESS);
    assert_int_equal(json_string_length(json_object_get(item, "name")), ITEMS_NAME_MAX_BYTES);

    name[ITEMS_NAME_MAX_BYTES] = 'n';
    name[ITEMS_NAME_MAX_BYTES + 1] = '\0';
    assert_rejected_str(p, ITEMS_EINVALID, apr_pstrcat(p, "{\"name\":\"", name, "\"}", NULL));

    /* The cap counts UTF-8 bytes: 512 two-byte letters fit, 513 do not. */
    for (i = 0; i < ITEMS_NAME_MAX_BYTES / 2; i++) {
        cyr = apr_pstrcat(p, cyr, "\xd0\xb6", NULL);
    }
    assert_int_equal(from_str(&item, &err, p, apr_pstrcat(p, "{\"name\":\"", cyr, "\"}", NULL)),
                     APR_SUCCESS);
    assert_rejected_str(p, ITEMS_EINVALID,
                        apr_pstrcat(p, "{\"name\":\"", cyr, "\xd0\xb6\"}", NULL));
    /* Escapes count as what they decode to: 1024 x "\u0041" is 1024 bytes. */
    for (i = 0; i < ITEMS_NAME_MAX_BYTES; i++) {
        esc = apr_pstrcat(p, esc, "\\u0041", NULL);
    }
    assert_int_equal(from_str(&item, &err, p, apr_pstrcat(p, "{\"name\":\"", esc, "\"}", NULL)),
                     APR_SUCCESS);
}

static void test_item_size_limit(void **state)
{
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;
    const apr_size_t under = ITEMS_ITEM_MAX_BYTES - 100, over = ITEMS_ITEM_MAX_BYTES;
    char *d = apr_palloc(p, over + 1);

    memset(d, 'd', over);
    d[over] = '\0';
    assert_int_equal(from_str(&item, &err, p,
                              apr_pstrcat(p, "{\"name\":\"x\",\"description\":\"", d, "\"}", NULL)),
                     ITEMS_ETOOLARGE);
    assert_null(item);
    assert_non_null(strstr(err, "400"));
    d[under] = '\0';
    assert_int_equal(from_str(&item, &err, p,
                              apr_pstrcat(p, "{\"name\":\"x\",\"description\":\"", d, "\"}", NULL)),
                     APR_SUCCESS);
    /* Attribute names count too. */
    d[under] = 'd';
    d[over - 10] = '\0';
    assert_int_equal(from_str(&item, &err, p, apr_pstrcat(p, "{\"name\":\"x\",\"", d, "\":1}", NULL)),
                     ITEMS_ETOOLARGE);
}

/* --- ids in bodies ---------------------------------------------------------------- */

static void test_post_refuses_id(void **state)
{
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;

    assert_int_equal(from_str(&item, &err, p, "{\"name\":\"x\",\"id\":\"abc\"}"), ITEMS_EINVALID);
    assert_null(item);
    assert_non_null(strstr(err, "'id'"));
    assert_int_equal(from_str(&item, &err, p, "{\"id\":null,\"name\":\"x\"}"), ITEMS_EINVALID);
}

static void test_put_id(void **state)
{
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;

    /* The same id as the path: accepted and taken out. */
    assert_int_equal(put_str(&item, &err, p, "{\"id\":\"abc\",\"name\":\"x\"}", "abc"),
                     APR_SUCCESS);
    assert_null(json_object_get(item, "id"));
    assert_int_equal(json_object_size(item), 1);
    /* No id: the path's. */
    assert_int_equal(put_str(&item, &err, p, "{\"name\":\"x\"}", "abc"), APR_SUCCESS);
    /* Anything else is refused. */
    assert_int_equal(put_str(&item, &err, p, "{\"id\":\"abd\",\"name\":\"x\"}", "abc"),
                     ITEMS_EINVALID);
    assert_null(item);
    assert_non_null(strstr(err, "'id'"));
    assert_int_equal(put_str(&item, &err, p, "{\"id\":\"ABC\",\"name\":\"x\"}", "abc"),
                     ITEMS_EINVALID);
    assert_int_equal(put_str(&item, &err, p, "{\"id\":\"abc \",\"name\":\"x\"}", "abc"),
                     ITEMS_EINVALID);
    assert_int_equal(put_str(&item, &err, p, "{\"id\":7,\"name\":\"x\"}", "7"), ITEMS_EINVALID);
    assert_int_equal(put_str(&item, &err, p, "{\"id\":null,\"name\":\"x\"}", "abc"),
                     ITEMS_EINVALID);
    assert_int_equal(put_str(&item, &err, p, "{\"id\":[\"abc\"],\"name\":\"x\"}", "abc"),
                     ITEMS_EINVALID);
    /* The id alone is no item. */
    assert_int_equal(put_str(&item, &err, p, "{\"id\":\"abc\"}", "abc"), ITEMS_EINVALID);
    assert_non_null(strstr(err, "'name'"));
}

/* --- invalid items (well-formed JSON) ----------------------------------------- */

static void test_missing_name(void **state)
{
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;

    assert_int_equal(from_str(&item, &err, p, "{}"), ITEMS_EINVALID);
    assert_null(item);
    assert_non_null(strstr(err, "'name'"));
    assert_int_equal(from_str(&item, &err, p, "{\"description\":\"d\"}"), ITEMS_EINVALID);
    assert_non_null(strstr(err, "'name'"));
    assert_int_equal(from_str(&item, &err, p, "{\"Name\":\"d\"}"), ITEMS_EINVALID);
}

static void test_empty_name(void **state)
{
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;

    assert_int_equal(from_str(&item, &err, p, "{\"name\":\"\"}"), ITEMS_EINVALID);
    assert_null(item);
    assert_non_null(strstr(err, "'name'"));
    assert_non_null(strstr(err, "empty"));
}

static void test_name_not_a_string(void **state)
{
    static const char *const bodies[] = {
        "{\"name\":1}",     "{\"name\":1.5}",  "{\"name\":-0}",         "{\"name\":null}",
        "{\"name\":true}",  "{\"name\":false}", "{\"name\":[]}",         "{\"name\":[\"x\"]}",
        "{\"name\":{}}",    "{\"name\":{\"name\":\"x\"}}",
    };
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        assert_rejected_str(p, ITEMS_EINVALID, bodies[i]);
        assert_int_equal(from_str(&item, &err, p, bodies[i]), ITEMS_EINVALID);
        assert_non_null(strstr(err, "'name' must be a string"));
    }
}

static void test_description_not_a_string(void **state)
{
    static const char *const bodies[] = {
        "{\"name\":\"x\",\"description\":0}",     "{\"name\":\"x\",\"description\":-2.5e3}",
        "{\"name\":\"x\",\"description\":true}",  "{\"name\":\"x\",\"description\":false}",
        "{\"name\":\"x\",\"description\":[]}",    "{\"name\":\"x\",\"description\":{}}",
        "{\"name\":\"x\",\"description\":[null]}",
    };
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        assert_int_equal(from_str(&item, &err, p, bodies[i]), ITEMS_EINVALID);
        assert_null(item);
        assert_non_null(strstr(err, "'description' must be a string or null"));
    }
}

static void test_reserved_and_empty_names(void **state)
{
    static const char *const reserved[] = {
        "{\"name\":\"x\",\"_version\":\"v\"}", "{\"name\":\"x\",\"_request\":\"r\"}",
        "{\"_\":1,\"name\":\"x\"}",            "{\"name\":\"x\",\"_anything\":null}",
    };
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        assert_int_equal(from_str(&item, &err, p, reserved[i]), ITEMS_EINVALID);
        assert_null(item);
        assert_non_null(strstr(err, "reserved"));
    }
    assert_int_equal(from_str(&item, &err, p, "{\"\":\"x\",\"name\":\"x\"}"), ITEMS_EINVALID);
    assert_non_null(strstr(err, "empty"));
}

static void test_not_an_object(void **state)
{
    static const char *const bodies[] = {
        "[]", "[{\"name\":\"x\"}]", "\"name\"", "1", "-0.5", "null", "true", "false",
    };
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        assert_rejected_str(p, ITEMS_EINVALID, bodies[i]);
        assert_int_equal(from_str(&item, &err, p, bodies[i]), ITEMS_EINVALID);
        assert_non_null(strstr(err, "object"));
    }
}

static void test_numbers_dynamodb_cannot_hold(void **state)
{
    static const char *const bad[] = {
        "1e126", "-1E+126", "10e125", "1e-131", "0.1e-130",
        "1e99999999999999999999", "1e-99999999999999999999",
    };
    static const char *const good[] = {
        "9.9999999999999999999999999999999999999E+125", "1e125", "-1e-130", "1E-130",
        "12345678901234567890123456789012345678", "0", "-0", "0e999999", "1000000000000000000000000000000000000000000",
        "0.00000000000000000000000000000000000000000000000001",
    };
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (from_str(&item, &err, p, apr_psprintf(p, "{\"name\":\"x\",\"n\":%s}", bad[i]))
            != ITEMS_EINVALID) {
            fail_msg("number %s accepted", bad[i]);
        }
        assert_null(item);
        /* Deep inside too. */
        if (from_str(&item, &err, p, apr_psprintf(p, "{\"name\":\"x\",\"a\":[{\"b\":[%s]}]}", bad[i]))
            != ITEMS_EINVALID) {
            fail_msg("nested number %s accepted", bad[i]);
        }
    }
    /* 39 significant digits. */
    assert_int_equal(from_str(&item, &err, p,
                              "{\"name\":\"x\",\"n\":123456789012345678901234567890123456789}"),
                     ITEMS_EINVALID);
    assert_non_null(strstr(err, "38"));
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (from_str(&item, &err, p, apr_psprintf(p, "{\"name\":\"x\",\"n\":%s}", good[i]))
            != APR_SUCCESS) {
            fail_msg("number %s refused: %s", good[i], err);
        }
        assert_string_equal(items_json_number_text(json_object_get(item, "n")), good[i]);
    }
}

static void test_check_number(void **state)
{
    static const struct {
        const char *text;
        int ok;
    } cases[] = {
        { "0", 1 },          { "-0", 1 },         { "0.0", 1 },       { "0e-9999", 1 },
        { "1", 1 },          { "-1", 1 },         { "1.5", 1 },       { "123.456e10", 1 },
        { "1e125", 1 },      { "9.99e125", 1 },   { "1e126", 0 },     { "99.9e124", 1 },
        { "100e124", 0 },    { "1e-130", 1 },     { "1e-131", 0 },    { "0.001e-127", 1 },
        { "0.0001e-127", 0 }, { "-9.99e125", 1 },  { "-1e126", 0 },    { "-1e-131", 0 },
        { "12345678901234567890123456789012345678", 1 },
        { "123456789012345678901234567890123456789", 0 },
        { "1.2345678901234567890123456789012345678", 1 },
        { "1.23456789012345678901234567890123456789", 0 },
        { "0.000012345678901234567890123456789012345678", 1 },
        { "10000000000000000000000000000000000000000000000000", 1 },
        { "1000000000000000000000000000000000000000000000000.1", 0 },
    };
    apr_pool_t *p = *state;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        apr_status_t rv;
        err = NULL;
        rv = items_item_check_number(&err, p, cases[i].text);
        if (cases[i].ok ? rv != APR_SUCCESS : rv != ITEMS_EINVALID) {
            fail_msg("%s: status %d, want %s", cases[i].text, (int)rv,
                     cases[i].ok ? "success" : "ITEMS_EINVALID");
        }
        if (!cases[i].ok) {
            assert_non_null(err);
        }
    }
    /* A long number is shortened in the message. */
    {
        char digits[201];
        memset(digits, '7', 200);
        digits[200] = '\0';
        assert_int_equal(items_item_check_number(&err, p, digits), ITEMS_EINVALID);
        assert_true(strlen(err) < 200);
    }
}

/* --- bytes that are not JSON ---------------------------------------------------- */

static void test_malformed(void **state)
{
    static const char *const bodies[] = {
        "{",
        "{\"name\"}",
        "{\"name\":}",
        "{name:\"x\"}",
        "{'name':'x'}",
        "{\"name\":\"x\",}",
        "{\"name\":\"x\"} x",
        "{\"name\":\"x\"}{\"name\":\"y\"}",
        "{\"name\":\"x\"\"description\":\"y\"}",
        "{\"name\":\"x\\q\"}",
        "{\"name\":\"\\ud83d\"}",          /* lone surrogate escape */
        "{\"name\":\"a\tb\"}",             /* raw control character */
        "{\"name\":\"x\",\"description\":nul}",
        "{\"name\":\"x\",\"n\":01}",
        "{\"name\":\"x\",\"n\":1.}",
        "{\"name\":\"x\",\"n\":-}",
        "{\"name\":\"x\",\"n\":+1}",
        "{\"name\":\"x\",\"n\":1e}",
        "{\"name\":\"x\",\"n\":NaN}",
        "{\"name\":\"x\",\"n\":[1 2]}",
        "{\"name\":\"x\",\"n\":true1}",
        "{\"name\":\"x\",1:2}",
        "<item name=\"x\"/>",
        "name=x",
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        assert_rejected_str(p, ITEMS_EBADREQUEST, bodies[i]);
    }
}

static void test_truncated(void **state)
{
    /* Every proper prefix of a valid body is not JSON. */
    static const char full[] = "{\"name\":\"\xd0\x96 pen\",\"description\":\"\\u00e9 "
                               "\xf0\x9f\x98\x80\",\"n\":[-12.5e+3,{\"t\":true}]}";
    apr_pool_t *p = *state;
    json_t *item;
    const char *err;
    size_t len;

    assert_int_equal(items_item_from_body(&item, &err, p, full, sizeof(full) - 1, NULL),
                     APR_SUCCESS);
    for (len = 1; len < sizeof(full) - 1; len++) {
        /* An exactly sized copy, so ASan sees any read past len. */
        char *copy = malloc(len);
        apr_status_t rv;
        memcpy(copy, full, len);
        item = (json_t *)1;
        err = NULL;
        rv = items_item_from_body(&item, &err, p, copy, len, NULL);
        free(copy);
        if (rv != ITEMS_EBADREQUEST) {
            fail_msg("prefix of %zu bytes not rejected as malformed (%d)", len, (int)rv);
        }
        assert_null(item);
        assert_non_null(err);
    }
}

static void test_invalid_utf8(void **state)
{
    static const char *const bodies[] = {
        "{\"name\":\"\xff\"}",
        "{\"name\":\"a\xc3\"}",            /* truncated sequence */
        "{\"name\":\"\xc0\xae\"}",         /* overlong */
        "{\"name\":\"\xed\xb0\x80\"}",     /* encoded surrogate */
        "{\"name\":\"\xf5\x80\x80\x80\"}", /* beyond U+10FFFF */
        "{\"name\":\"x\",\"description\":\"\xbf\"}",
        "{\"na\xe9me\":\"x\"}",            /* Latin-1 in a key */
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        assert_rejected_str(p, ITEMS_EBADREQUEST, bodies[i]);
    }
}

static void test_nul_bytes(void **state)
{
    apr_pool_t *p = *state;

    /* Raw NULs: inside a string, between tokens, trailing, leading. */
    assert_rejected_lit(p, ITEMS_EBADREQUEST, "{\"name\":\"a\0b\"}");
    assert_rejected_lit(p, ITEMS_EBADREQUEST, "{\"name\":\0\"ab\"}");
    assert_rejected_lit(p, ITEMS_EBADREQUEST, "{\"name\":\"ab\"}\0");
    assert_rejected_lit(p, ITEMS_EBADREQUEST, "\0{\"name\":\"ab\"}");
    assert_rejected_lit(p, ITEMS_EBADREQUEST, "\0");
    /* Escaped NULs in values and keys: a C string could not hold them. */
    assert_rejected_str(p, ITEMS_EBADREQUEST, "{\"name\":\"a\\u0000b\"}");
    assert_rejected_str(p, ITEMS_EBADREQUEST, "{\"name\":\"\\u0000\"}");
    assert_rejected_str(p, ITEMS_EBADREQUEST, "{\"name\":\"x\",\"description\":\"\\u0000\"}");
    assert_rejected_str(p, ITEMS_EBADREQUEST, "{\"name\\u0000\":\"x\"}");
    assert_rejected_str(p, ITEMS_EBADREQUEST, "{\"name\":\"x\",\"a\":[\"\\u0000#1\"]}");
    /* An escaped backslash before "u0000" is no NUL. */
    {
        json_t *item;
        const char *err;
        assert_int_equal(from_str(&item, &err, p, "{\"name\":\"\\\\u0000\"}"), APR_SUCCESS);
        assert_string_equal(json_string_value(json_object_get(item, "name")), "\\u0000");
    }
}

static void test_duplicate_keys(void **state)
{
    apr_pool_t *p = *state;

    assert_rejected_str(p, ITEMS_EBADREQUEST, "{\"name\":\"a\",\"name\":\"b\"}");
    assert_rejected_str(p, ITEMS_EBADREQUEST, "{\"name\":\"a\",\"name\":\"a\"}");
    assert_rejected_str(p, ITEMS_EBADREQUEST,
                        "{\"name\":\"a\",\"description\":null,\"description\":\"d\"}");
    /* An escape spelling the same key is still the same key. */
    assert_rejected_str(p, ITEMS_EBADREQUEST, "{\"name\":\"a\",\"n\\u0061me\":\"b\"}");
    /* Nested objects too. */
    assert_rejected_str(p, ITEMS_EBADREQUEST, "{\"name\":\"a\",\"m\":{\"k\":1,\"k\":2}}");
}

static void test_empty_body(void **state)
{
    apr_pool_t *p = *state;

    assert_rejected(p, ITEMS_EBADREQUEST, "", 0);
    assert_rejected(p, ITEMS_EBADREQUEST, NULL, 0);
    assert_rejected_str(p, ITEMS_EBADREQUEST, " ");
    assert_rejected_str(p, ITEMS_EBADREQUEST, "\r\n\r\n");
}

static const char *nest(apr_pool_t *p, int depth, const char *open, const char *inner,
                        const char *close)
{
    apr_size_t olen = strlen(open), ilen = strlen(inner), clen = strlen(close);
    char *s = apr_palloc(p, (olen + clen) * (apr_size_t)depth + ilen + 1), *o = s;
    int i;

    for (i = 0; i < depth; i++, o += olen) {
        memcpy(o, open, olen);
    }
    memcpy(o, inner, ilen);
    o += ilen;
    for (i = 0; i < depth; i++, o += clen) {
        memcpy(o, close, clen);
    }
    *o = '\0';
    return s;
}

static void test_deep_nesting(void **state)
{
    apr_pool_t *p = *state;
    json_t *item;
    const char *err, *body;

    /* Within the depth limit, nested attributes are fine... */
    body = apr_pstrcat(p, "{\"name\":\"x\",\"deep\":", nest(p, 30, "[", "1", "]"), "}", NULL);
    assert_int_equal(from_str(&item, &err, p, body), APR_SUCCESS);
    /* ...but a nested description is not a string. */
    body = apr_pstrcat(p, "{\"name\":\"x\",\"description\":", nest(p, 10, "[", "", "]"), "}",
                       NULL);
    assert_rejected_str(p, ITEMS_EINVALID, body);

    /* Beyond it, the body is refused before any member is looked at. */
    body = apr_pstrcat(p, "{\"name\":\"x\",\"deep\":", nest(p, ITEMS_JSON_MAX_DEPTH, "[", "", "]"),
                       "}", NULL);
    assert_rejected_str(p, ITEMS_EBADREQUEST, body);
    body = apr_pstrcat(p, "{\"name\":\"x\",\"description\":",
                       nest(p, 100, "{\"a\":", "1", "}"), "}", NULL);
    assert_rejected_str(p, ITEMS_EBADREQUEST, body);

    /* Far beyond: no stack exhaustion, just a bad request. */
    assert_rejected_str(p, ITEMS_EBADREQUEST, nest(p, 200000, "[", "", "]"));
    assert_rejected_str(p, ITEMS_EBADREQUEST, nest(p, 200000, "{\"name\":", "\"x\"", "}"));
    assert_rejected_str(p, ITEMS_EBADREQUEST, nest(p, 200000, "[", "", ""));
}

static void test_pool_owns_item(void **state)
{
    apr_pool_t *p;
    json_t *item, *name;
    const char *err;

    (void)state;
    assert_int_equal(apr_pool_create(&p, NULL), APR_SUCCESS);
    assert_int_equal(from_str(&item, &err, p, "{\"name\":\"x\",\"description\":\"d\"}"),
                     APR_SUCCESS);
    json_incref(item);
    name = json_object_get(item, "name");
    json_incref(name);
    apr_pool_destroy(p);
    /* The pool's references are gone; ours remain and are the last ones. */
    assert_int_equal(item->refcount, 1);
    json_decref(item);
    assert_int_equal(name->refcount, 1);
    assert_string_equal(json_string_value(name), "x");
    json_decref(name);
}

/* --- merge patches -------------------------------------------------------------- */

static void test_patch_valid(void **state)
{
    apr_pool_t *p = *state;
    json_t *patch;
    const char *err;

    assert_int_equal(patch_str(&patch, &err, p, "{\"description\":\"d\"}", "abc"), APR_SUCCESS);
    assert_null(err);
    assert_json_eq(p, patch, "{\"description\":\"d\"}");
    assert_int_equal(patch_str(&patch, &err, p, "{}", "abc"), APR_SUCCESS);
    assert_int_equal(json_object_size(patch), 0);
    /* null removes: allowed for anything but the name. */
    assert_int_equal(patch_str(&patch, &err, p,
                               "{\"description\":null,\"x\":null,\"m\":{\"k\":null},\"name\":\"n\"}",
                               "abc"),
                     APR_SUCCESS);
    assert_int_equal(json_object_size(patch), 4);
    /* The path's id may be repeated; it is dropped. */
    assert_int_equal(patch_str(&patch, &err, p, "{\"id\":\"abc\",\"price\":1.50}", "abc"),
                     APR_SUCCESS);
    assert_null(json_object_get(patch, "id"));
    assert_string_equal(items_json_number_text(json_object_get(patch, "price")), "1.50");
}

static void test_patch_invalid(void **state)
{
    static const struct {
        const char *body;
        apr_status_t want;
        const char *says;
    } cases[] = {
        { "{\"name\":null}", ITEMS_EINVALID, "'name'" },
        { "{\"name\":\"\"}", ITEMS_EINVALID, "'name'" },
        { "{\"name\":5}", ITEMS_EINVALID, "'name'" },
        { "{\"description\":5}", ITEMS_EINVALID, "'description'" },
        { "{\"description\":{\"a\":1}}", ITEMS_EINVALID, "'description'" },
        { "{\"id\":\"other\"}", ITEMS_EINVALID, "'id'" },
        { "{\"id\":null}", ITEMS_EINVALID, "'id'" },
        { "{\"_version\":\"v\"}", ITEMS_EINVALID, "reserved" },
        { "{\"_x\":null}", ITEMS_EINVALID, "reserved" },
        { "{\"\":1}", ITEMS_EINVALID, "empty" },
        { "{\"n\":1e200}", ITEMS_EINVALID, "range" },
        { "[]", ITEMS_EINVALID, "object" },
        { "null", ITEMS_EINVALID, "object" },
        { "\"x\"", ITEMS_EINVALID, "object" },
        { "{", ITEMS_EBADREQUEST, NULL },
        { "{\"a\":1,\"a\":2}", ITEMS_EBADREQUEST, NULL },
        { "{\"a\":\"\\u0000\"}", ITEMS_EBADREQUEST, NULL },
        { "", ITEMS_EBADREQUEST, NULL },
    };
    apr_pool_t *p = *state;
    json_t *patch;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        apr_status_t rv = patch_str(&patch, &err, p, cases[i].body, "abc");
        if (rv != cases[i].want) {
            fail_msg("patch %s: status %d, want %d", cases[i].body, (int)(rv - ITEMS_STATUS_BASE),
                     (int)(cases[i].want - ITEMS_STATUS_BASE));
        }
        assert_null(patch);
        assert_non_null(err);
        if (cases[i].says && !strstr(err, cases[i].says)) {
            fail_msg("patch %s: error \"%s\" lacks \"%s\"", cases[i].body, err, cases[i].says);
        }
    }
}

static void test_patch_size_limit(void **state)
{
    apr_pool_t *p = *state;
    json_t *patch;
    const char *err;
    char *d = apr_palloc(p, ITEMS_ITEM_MAX_BYTES + 1);

    memset(d, 'd', ITEMS_ITEM_MAX_BYTES);
    d[ITEMS_ITEM_MAX_BYTES] = '\0';
    assert_int_equal(patch_str(&patch, &err, p, apr_pstrcat(p, "{\"x\":\"", d, "\"}", NULL), "a"),
                     ITEMS_ETOOLARGE);
    assert_null(patch);
}

static void test_merge_rfc7396(void **state)
{
    /* The examples of RFC 7396, appendix A: target, patch, result. */
    static const char *const cases[][3] = {
        { "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
        { "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
        { "{\"a\":\"b\"}", "{\"a\":null}", "{}" },
        { "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}" },
        { "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
        { "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
        { "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}" },
        { "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}" },
        { "[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]" },
        { "{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]" },
        { "{\"a\":\"foo\"}", "null", "null" },
        { "{\"a\":\"foo\"}", "\"bar\"", "\"bar\"" },
        { "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}" },
        { "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}" },
        { "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}" },
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *target = J(p, cases[i][0]), *patch = J(p, cases[i][1]);
        json_t *target_copy = items_json_own(p, json_deep_copy(target));
        json_t *patch_copy = items_json_own(p, json_deep_copy(patch));
        json_t *result = items_item_merge(p, target, patch);

        if (!result || !json_equal(result, J(p, cases[i][2]))) {
            fail_msg("merge %s + %s gave %s, want %s", cases[i][0], cases[i][1], dump(p, result),
                     cases[i][2]);
        }
        /* Neither input changes. */
        assert_true(json_equal(target, target_copy));
        assert_true(json_equal(patch, patch_copy));
    }
}

static void test_merge_owned_and_independent(void **state)
{
    apr_pool_t *p, *q;
    json_t *target, *patch, *result;

    (void)state;
    assert_int_equal(apr_pool_create(&p, NULL), APR_SUCCESS);
    assert_int_equal(apr_pool_create(&q, NULL), APR_SUCCESS);
    target = J(q, "{\"a\":{\"b\":[1,2]},\"keep\":\"k\"}");
    patch = J(q, "{\"a\":{\"c\":3}}");
    result = items_item_merge(p, target, patch);
    assert_non_null(result);
    json_incref(result);
    /* The result shares nothing the inputs' pool could take away... */
    apr_pool_destroy(q);
    assert_json_eq(p, result, "{\"a\":{\"b\":[1,2],\"c\":3},\"keep\":\"k\"}");
    /* ...and its own pool lets go of it. */
    apr_pool_destroy(p);
    assert_int_equal(result->refcount, 1);
    json_decref(result);
}

/* --- size, hash, versions ------------------------------------------------------------ */

static void test_item_size(void **state)
{
    apr_pool_t *p = *state;
    json_t *a, *b;

    /* DynamoDB counts the UTF-8 bytes of attribute names and string values. */
    assert_int_equal(items_item_size(J(p, "{}")), 0);
    assert_int_equal(items_item_size(J(p, "{\"name\":\"ab\"}")), 6);
    assert_int_equal(items_item_size(J(p, "{\"name\":\"\xd0\x96\"}")), 6);
    assert_int_equal(items_item_size(J(p, "{\"name\":\"ab\",\"d\":\"xyz\"}")), 10);
    /* Every attribute adds; bigger values weigh more. */
    a = J(p, "{\"name\":\"ab\",\"n\":1}");
    b = J(p, "{\"name\":\"ab\",\"n\":123456789012345678901234567890}");
    assert_true(items_item_size(a) > 6);
    assert_true(items_item_size(b) > items_item_size(a));
    assert_true(items_item_size(J(p, "{\"m\":{\"k\":\"vvvv\"}}"))
                > items_item_size(J(p, "{\"m\":{\"k\":\"v\"}}")));
    assert_true(items_item_size(J(p, "{\"l\":[true,null,\"x\"]}"))
                > items_item_size(J(p, "{\"l\":[true]}")));
}

static void test_item_hash(void **state)
{
    apr_pool_t *p = *state;
    const char *h1, *h2, *h3;
    size_t i;

    h1 = items_item_hash(p, J(p, "{\"name\":\"x\",\"m\":{\"a\":1,\"b\":[true,null]}}"));
    h2 = items_item_hash(p, J(p, "{\"m\":{\"b\":[true,null],\"a\":1},\"name\":\"x\"}"));
    assert_non_null(h1);
    assert_int_equal(strlen(h1), 64);
    for (i = 0; i < 64; i++) {
        assert_non_null(strchr("0123456789abcdef", h1[i]));
    }
    /* Same content in another order: same hash. */
    assert_string_equal(h1, h2);
    /* Any change of content: another hash. */
    h3 = items_item_hash(p, J(p, "{\"name\":\"x\",\"m\":{\"a\":1,\"b\":[null,true]}}"));
    assert_string_not_equal(h1, h3);
    assert_string_not_equal(items_item_hash(p, J(p, "{\"n\":1}")),
                            items_item_hash(p, J(p, "{\"n\":\"1\"}")));
    assert_string_not_equal(items_item_hash(p, J(p, "{\"n\":1}")),
                            items_item_hash(p, J(p, "{\"n\":1.0}")));
    assert_string_not_equal(items_item_hash(p, J(p, "{\"a\":\"b\"}")),
                            items_item_hash(p, J(p, "{\"b\":\"a\"}")));
}

static void test_new_version(void **state)
{
    apr_pool_t *p = *state;
    apr_hash_t *seen = apr_hash_make(p);
    const char *v;
    int i, k;

    for (i = 0; i < 500; i++) {
        assert_int_equal(items_item_new_version(&v, p), APR_SUCCESS);
        assert_int_equal(strlen(v), 16);
        for (k = 0; k < 16; k++) {
            assert_non_null(strchr("0123456789abcdef", v[k]));
        }
        if (apr_hash_get(seen, v, APR_HASH_KEY_STRING)) {
            fail_msg("version %s made twice", v);
        }
        apr_hash_set(seen, v, APR_HASH_KEY_STRING, v);
    }
}

/* --- ids ---------------------------------------------------------------------------- */

static int is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void assert_uuid(const char *id, char version)
{
    int i;

    assert_non_null(id);
    assert_int_equal(strlen(id), 36);
    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            assert_int_equal(id[i], '-');
        }
        else if (!is_lower_hex(id[i])) {
            fail_msg("id %s: character %d is not lower-case hex", id, i);
        }
    }
    assert_int_equal(id[14], version);
    if (!strchr("89ab", id[19])) {  /* RFC 4122 variant 10xx */
        fail_msg("id %s: variant nibble %c", id, id[19]);
    }
}

static void test_new_id_format(void **state)
{
    apr_pool_t *p = *state;
    const char *id = NULL;

    assert_int_equal(items_item_new_id(&id, p), APR_SUCCESS);
    assert_uuid(id, '4');
    assert_true(items_item_id_is_valid(id));
}

static void test_new_id_unique_and_random(void **state)
{
    apr_pool_t *p = *state;
    apr_hash_t *seen = apr_hash_make(p);
    const char *id;
    /* Which hex digits each position has shown, over all ids. */
    unsigned int digits[36] = { 0 };
    int variants = 0, i, k;

    for (i = 0; i < 1000; i++) {
        assert_int_equal(items_item_new_id(&id, p), APR_SUCCESS);
        assert_uuid(id, '4');
        if (apr_hash_get(seen, id, APR_HASH_KEY_STRING)) {
            fail_msg("id %s generated twice", id);
        }
        apr_hash_set(seen, id, APR_HASH_KEY_STRING, id);
        for (k = 0; k < 36; k++) {
            if (is_lower_hex(id[k])) {
                digits[k] |= 1u << (id[k] <= '9' ? id[k] - '0' : id[k] - 'a' + 10);
            }
        }
    }
    assert_int_equal(apr_hash_count(seen), 1000);
    /* 122 random bits: every free position takes all 16 values in 1000 draws
     * (the chance of missing one is about 16 * (15/16)^1000, i.e. nil). */
    for (k = 0; k < 36; k++) {
        if (k == 8 || k == 13 || k == 18 || k == 23) {
            continue;
        }
        if (k == 14) {
            assert_int_equal(digits[k], 1u << 4);
            continue;
        }
        if (k == 19) {
            variants = (int)digits[k];
            assert_int_equal(variants, 0xf00); /* exactly 8, 9, a, b */
            continue;
        }
        if (digits[k] != 0xffff) {
            fail_msg("position %d showed only digit set 0x%x", k, digits[k]);
        }
    }
}

/*
 * Ids are drawn from a per-thread batch of random bytes: a child forked by a thread
 * that holds a batch must not hand out the bytes its parent hands out next.
 */
static void test_new_id_differs_after_fork(void **state)
{
    apr_pool_t *p = *state;
    const char *first, *parent_next;
    char child_next[37] = { 0 };
    int fds[2], status;
    pid_t pid;

    assert_int_equal(items_item_new_id(&first, p), APR_SUCCESS); /* the batch is filled */
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const char *id = NULL;

        close(fds[0]);
        if (items_item_new_id(&id, p) != APR_SUCCESS
            || write(fds[1], id, 36) != 36) {
            _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], child_next, 36), 36);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(items_item_new_id(&parent_next, p), APR_SUCCESS);
    assert_uuid(child_next, '4');
    assert_string_not_equal(child_next, parent_next);
    assert_string_not_equal(child_next, first);
}

/* Threads draw from batches of their own: no id is made twice across threads. */
#define ID_THREADS 4
#define IDS_PER_THREAD 300

typedef struct {
    char ids[IDS_PER_THREAD][37];
    int failed;
} id_thread_t;

static void *draw_ids(void *arg)
{
    id_thread_t *t = arg;
    apr_pool_t *p;
    int i;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        t->failed = 1;
        return NULL;
    }
    for (i = 0; i < IDS_PER_THREAD; i++) {
        const char *id;

        if (items_item_new_id(&id, p) != APR_SUCCESS) {
            t->failed = 1;
            break;
        }
        memcpy(t->ids[i], id, 37);
    }
    apr_pool_destroy(p);
    return NULL;
}

static void test_new_id_unique_across_threads(void **state)
{
    apr_pool_t *p = *state;
    apr_hash_t *seen = apr_hash_make(p);
    id_thread_t *t = apr_pcalloc(p, sizeof(*t) * ID_THREADS);
    pthread_t th[ID_THREADS];
    int i, k;

    for (i = 0; i < ID_THREADS; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, draw_ids, &t[i]), 0);
    }
    for (i = 0; i < ID_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_false(t[i].failed);
        for (k = 0; k < IDS_PER_THREAD; k++) {
            assert_uuid(t[i].ids[k], '4');
            if (apr_hash_get(seen, t[i].ids[k], APR_HASH_KEY_STRING)) {
                fail_msg("id %s made twice", t[i].ids[k]);
            }
            apr_hash_set(seen, t[i].ids[k], APR_HASH_KEY_STRING, t[i].ids[k]);
        }
    }
}

/* --- id syntax ---------------------------------------------------------------------- */

static const char allowed[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";

static void test_id_valid_simple(void **state)
{
    (void)state;
    assert_true(items_item_id_is_valid("a"));
    assert_true(items_item_id_is_valid("0"));
    assert_true(items_item_id_is_valid("~"));
    assert_true(items_item_id_is_valid("123e4567-e89b-42d3-a456-426614174000"));
    assert_true(items_item_id_is_valid(allowed));
    assert_false(items_item_id_is_valid(""));
}

static void test_id_length_boundaries(void **state)
{
    char buf[ITEMS_ID_MAX_LEN + 3];

    (void)state;
    memset(buf, 'x', sizeof(buf));
    buf[ITEMS_ID_MAX_LEN - 1] = '\0';
    assert_true(items_item_id_is_valid(buf)); /* 127 */
    buf[ITEMS_ID_MAX_LEN - 1] = 'x';
    buf[ITEMS_ID_MAX_LEN] = '\0';
    assert_int_equal(ITEMS_ID_MAX_LEN, 128);
    assert_true(items_item_id_is_valid(buf)); /* 128 */
    buf[ITEMS_ID_MAX_LEN] = 'x';
    buf[ITEMS_ID_MAX_LEN + 1] = '\0';
    assert_false(items_item_id_is_valid(buf)); /* 129 */
    buf[ITEMS_ID_MAX_LEN + 1] = 'x';
    buf[ITEMS_ID_MAX_LEN + 2] = '\0';
    assert_false(items_item_id_is_valid(buf)); /* 130 */
    {
        char big[5000];
        memset(big, '7', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_false(items_item_id_is_valid(big));
    }
}

static void test_id_every_byte(void **state)
{
    char one[2], mid[4], last[3];
    int c;

    (void)state;
    for (c = 1; c < 256; c++) {
        int want = strchr(allowed, c) != NULL;
        one[0] = (char)c;
        one[1] = '\0';
        mid[0] = 'a';
        mid[1] = (char)c;
        mid[2] = 'b';
        mid[3] = '\0';
        last[0] = 'a';
        last[1] = (char)c;
        last[2] = '\0';
        if (items_item_id_is_valid(one) != want || items_item_id_is_valid(mid) != want
            || items_item_id_is_valid(last) != want) {
            fail_msg("byte 0x%02x: want %s", c, want ? "valid" : "invalid");
        }
    }
}

static void test_id_forbidden_classes(void **state)
{
    static const char *const bad[] = {
        "a/b", "a b", "a%20b", "a+b", "a?b", "a#b", "a&b", "a=b", "a:b", "a@b", "a!b",
        "a$b", "a'b", "a(b)", "a*b", "a,b", "a;b", "a\"b", "a<b>", "a\\b", "a^b", "a`b",
        "a{b}", "a|b", "a[b]", "\t", "a\nb", "\x7f", "\xd0\x96", "\xf0\x9f\x98\x80",
        "caf\xc3\xa9",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (items_item_id_is_valid(bad[i])) {
            fail_msg("accepted id \"%s\"", bad[i]);
        }
    }
}

static void test_id_for_key(void **state)
{
    apr_pool_t *p = *state;
    const char *a, *b, *c;

    a = items_item_id_for_key(p, "order-42");
    b = items_item_id_for_key(p, "order-42");
    c = items_item_id_for_key(p, "order-43");
    assert_non_null(a);
    /* A name-based UUID (version 8): the same key, the same id; another key, another. */
    assert_uuid(a, '8');
    assert_uuid(c, '8');
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_true(items_item_id_is_valid(a));
    assert_string_not_equal(items_item_id_for_key(p, "a"), items_item_id_for_key(p, "A"));
    assert_string_not_equal(items_item_id_for_key(p, "k"), items_item_id_for_key(p, "k "));
}

static void test_key_is_valid(void **state)
{
    char buf[258];
    int c;

    (void)state;
    assert_true(items_item_key_is_valid("k"));
    assert_true(items_item_key_is_valid("order 42 / \"x\" ~"));
    assert_false(items_item_key_is_valid(""));
    memset(buf, 'k', sizeof(buf));
    buf[255] = '\0';
    assert_true(items_item_key_is_valid(buf));
    buf[255] = 'k';
    buf[256] = '\0';
    assert_false(items_item_key_is_valid(buf));
    /* Printable ASCII only. */
    for (c = 1; c < 256; c++) {
        char one[2] = { (char)c, '\0' };
        if (items_item_key_is_valid(one) != (c >= 0x20 && c <= 0x7e)) {
            fail_msg("key byte 0x%02x misjudged", c);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_name_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_valid_with_description, setup, teardown),
        cmocka_unit_test_setup_teardown(test_valid_description_null_or_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_valid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_valid_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_attributes_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_length_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_item_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_refuses_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_not_a_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_description_not_a_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserved_and_empty_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_an_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers_dynamodb_cannot_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_nesting, setup, teardown),
        cmocka_unit_test(test_pool_owns_item),
        cmocka_unit_test_setup_teardown(test_patch_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patch_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patch_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_rfc7396, setup, teardown),
        cmocka_unit_test(test_merge_owned_and_independent),
        cmocka_unit_test_setup_teardown(test_item_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_item_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_id_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_id_unique_and_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_id_differs_after_fork, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_id_unique_across_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_id_for_key, setup, teardown),
        cmocka_unit_test(test_id_valid_simple),
        cmocka_unit_test(test_id_length_boundaries),
        cmocka_unit_test(test_id_every_byte),
        cmocka_unit_test(test_id_forbidden_classes),
        cmocka_unit_test(test_key_is_valid),
    };
    int failed;

    apr_initialize();
    failed = cmocka_run_group_tests_name("items_item", tests, NULL, NULL);
    apr_terminate();
    return failed ? 1 : 0;
}
