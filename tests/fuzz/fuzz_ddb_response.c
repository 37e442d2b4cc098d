/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A DynamoDB answer from an arbitrary input: the first byte picks the HTTP
 * status, the rest is the body. The body goes through what items_ddb does with
 * an answer: classify it (items_ddb_status_for), parse it
 * (items_json_parse_plain), and unmarshal what could be items (GetItem's
 * "Item", UpdateItem's "Attributes", Scan's "Items" and "LastEvaluatedKey")
 * and the whole document as one AttributeValue. What is accepted must be
 * served as valid JSON.
 */
#include "fuzz.h"

#include <string.h>

#include "items_ddb.h"
#include "items_json.h"
#include "items_status.h"

static const long statuses[] = { 200, 400, 403, 404, 429, 500, 502, 503, 504, 401, 413, 0 };

/* What is served from DynamoDB's data is JSON that reads back as the same value. */
static void check_served(apr_pool_t *p, const json_t *value)
{
    const char *text, *error;
    apr_size_t len;
    json_t *again;

    FUZZ_CHECK(items_json_dump(&text, &len, p, value) == APR_SUCCESS);
    FUZZ_CHECK(strlen(text) == len);
    FUZZ_CHECK(items_json_parse(&again, &error, p, text, len) == APR_SUCCESS);
    FUZZ_CHECK(json_equal(value, again));
}

/* Unmarshal av; what is accepted is served intact and marshals back to itself. */
static void check_av(apr_pool_t *p, const json_t *av)
{
    json_t *value = (json_t *)1, *av2, *value2;
    apr_status_t rv = items_ddb_unmarshal(&value, p, av);

    if (rv != APR_SUCCESS) {
        FUZZ_CHECK(rv == ITEMS_EBADGATEWAY);
        FUZZ_CHECK(value == NULL);
        return;
    }
    FUZZ_CHECK(value != NULL);
    check_served(p, value);
    FUZZ_CHECK(items_ddb_marshal(&av2, p, value) == APR_SUCCESS);
    FUZZ_CHECK(items_ddb_unmarshal(&value2, p, av2) == APR_SUCCESS);
    FUZZ_CHECK(json_equal(value, value2));
}

/* A stored item's attributes, as GetItem, Scan and UpdateItem answer them. */
static void check_item(apr_pool_t *p, const json_t *attrs)
{
    items_ddb_meta_t meta;
    json_t *item = (json_t *)1;
    const char *key;
    json_t *v;
    apr_status_t rv;

    if (!attrs) {
        return;
    }
    rv = items_ddb_unmarshal_item(&item, &meta, p, attrs);
    if (rv != APR_SUCCESS) {
        FUZZ_CHECK(rv == ITEMS_EBADGATEWAY && item == NULL);
        return;
    }
    FUZZ_CHECK(json_is_object(item));
    json_object_foreach(item, key, v) {
        FUZZ_CHECK(key[0] != '_'); /* bookkeeping never reaches clients */
    }
    if (json_object_get(item, "id")) {
        json_object_foreach(item, key, v) {
            FUZZ_CHECK(!strcmp(key, "id")); /* "id" comes first */
            break;
        }
    }
    /* Member by member: the item itself may be one level deeper than we parse. */
    json_object_foreach(item, key, v) {
        check_served(p, v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *body, *type = "unset", *message = "unset";
    apr_size_t len;
    apr_status_t rv;
    json_t *doc, *items, *m;
    long status;
    size_t i;

    if (size == 0) {
        return 0;
    }
    p = fuzz_pool();
    status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
    body = (const char *)data + 1;
    len = size - 1;

    rv = items_ddb_status_for(&type, &message, p, status, body, len);
    if (status == 200) {
        FUZZ_CHECK(rv == APR_SUCCESS && type == NULL && message == NULL);
    }
    else {
        FUZZ_CHECK(rv == ITEMS_ECONFLICT || rv == ITEMS_EUNAVAILABLE || rv == ITEMS_EBACKENDCONFIG
                   || rv == ITEMS_EBADGATEWAY || rv == ITEMS_ETOOLARGE);
        FUZZ_CHECK(type == NULL || strchr(type, '#') == NULL);
        if (status == 503 || status == 429) {
            FUZZ_CHECK(rv != ITEMS_EBADGATEWAY);
        }
    }

    /* As items_ddb reads a 200 answer: a trusted peer's JSON. */
    if (items_json_parse_plain(&doc, p, body, len) == APR_SUCCESS) {
        FUZZ_CHECK(doc != NULL);
        check_av(p, doc);
        if (json_is_object(doc)) {
            check_item(p, json_object_get(doc, "Item"));
            check_item(p, json_object_get(doc, "Attributes"));
            check_item(p, json_object_get(doc, "LastEvaluatedKey"));
            items = json_object_get(doc, "Items");
            json_array_foreach(items, i, m) {
                check_item(p, m);
            }
        }
    }
    else {
        FUZZ_CHECK(doc == NULL);
    }

    apr_pool_destroy(p);
    return 0;
}
