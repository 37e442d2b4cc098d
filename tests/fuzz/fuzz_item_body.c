/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Client bodies on arbitrary bytes: items_item_from_body() as POST and as PUT,
 * items_item_patch_from_body(), then the rest of the road for what is
 * accepted: dump and re-read, marshal for DynamoDB and read back, merge, and
 * build the UpdateItem request.
 */
#include "fuzz.h"

#include <string.h>

#include "items_ddb.h"
#include "items_item.h"
#include "items_json.h"
#include "items_status.h"

#define PATH_ID "abc"

static void check_error(apr_status_t rv, const json_t *value, const char *error)
{
    json_t *s;

    FUZZ_CHECK(rv == ITEMS_EBADREQUEST || rv == ITEMS_EINVALID || rv == ITEMS_ETOOLARGE);
    FUZZ_CHECK(value == NULL);
    FUZZ_CHECK(error != NULL && *error != '\0');
    /* The message reaches the client inside a JSON string. */
    s = json_string(error);
    FUZZ_CHECK(s != NULL);
    json_decref(s);
}

/* What every accepted body and patch satisfies at the top level. */
static void check_members(const json_t *doc, int patch)
{
    const char *key;
    json_t *v;

    FUZZ_CHECK(json_is_object(doc));
    FUZZ_CHECK(json_object_get(doc, "id") == NULL);
    json_object_foreach((json_t *)doc, key, v) {
        FUZZ_CHECK(key[0] != '\0' && key[0] != '_');
        if (!strcmp(key, "name")) {
            FUZZ_CHECK(json_is_string(v) && !items_json_number_text(v));
            FUZZ_CHECK(json_string_length(v) >= 1
                       && json_string_length(v) <= ITEMS_NAME_MAX_BYTES);
        }
        else if (!strcmp(key, "description")) {
            FUZZ_CHECK(json_is_null(v) || (json_is_string(v) && !items_json_number_text(v)));
        }
    }
    if (!patch) {
        FUZZ_CHECK(json_object_get(doc, "name") != NULL);
    }
}

/*
 * What jansson's serializer writes for v, number texts unquoted: the reference
 * for items_json_dump's own writer. A number text is a string "\0#<text>",
 * which jansson writes as "\u0000#<text>" (a text never holds a quote).
 */
static char *jansson_dump(const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), *r, *w;

    FUZZ_CHECK(text != NULL);
    for (r = w = text; *r;) {
        if (!strncmp(r, "\"\\u0000#", 8)) {
            for (r += 8; *r && *r != '"'; r++) {
                *w++ = *r;
            }
            r += *r == '"';
        }
        else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return text;
}

/* The compact form of v is jansson's, and is read back as the same value. */
static void check_dump(apr_pool_t *p, const json_t *v)
{
    const char *text, *error;
    apr_size_t len;
    json_t *again;
    char *reference = jansson_dump(v);

    FUZZ_CHECK(items_json_dump(&text, &len, p, v) == APR_SUCCESS);
    FUZZ_CHECK(strlen(text) == len);
    FUZZ_CHECK(!strcmp(text, reference));
    free(reference);
    FUZZ_CHECK(items_json_parse(&again, &error, p, text, len) == APR_SUCCESS);
    FUZZ_CHECK(json_equal(v, again));
}

static void check_item(apr_pool_t *p, json_t *item, const char *body, apr_size_t len)
{
    json_t *av, *back, *again;
    const char *error, *text;
    apr_size_t tlen;

    check_members(item, 0);
    FUZZ_CHECK(items_item_size(item) <= ITEMS_ITEM_MAX_BYTES);
    check_dump(p, item);
    /* As a PUT the same body is the same item. */
    FUZZ_CHECK(items_item_from_body(&again, &error, p, body, len, PATH_ID) == APR_SUCCESS);
    FUZZ_CHECK(json_equal(item, again));
    /* DynamoDB's form reads back to the same item, numbers by their text. */
    FUZZ_CHECK(items_ddb_marshal(&av, p, item) == APR_SUCCESS);
    FUZZ_CHECK(json_is_object(json_object_get(av, "M")));
    /* ...and written straight as text it is that tree's serialization, byte for byte. */
    {
        const char *tree_text, *direct;
        apr_size_t tree_len, direct_len;
        FUZZ_CHECK(items_json_dump(&tree_text, &tree_len, p, av) == APR_SUCCESS);
        FUZZ_CHECK(items_ddb_marshal_text(&direct, &direct_len, p, item) == APR_SUCCESS);
        FUZZ_CHECK(direct_len == tree_len && !memcmp(direct, tree_text, tree_len));
    }
    FUZZ_CHECK(items_ddb_unmarshal(&back, p, av) == APR_SUCCESS);
    FUZZ_CHECK(json_equal(item, back));
    /* Its hash depends on content only. */
    FUZZ_CHECK(items_json_dump_sorted(&text, &tlen, p, item) == APR_SUCCESS);
    FUZZ_CHECK(items_item_hash(p, item) != NULL);
    FUZZ_CHECK(!strcmp(items_item_hash(p, item), items_item_hash(p, back)));
}

static void check_patch(apr_pool_t *p, json_t *patch)
{
    static const char target_text[] = "{\"name\":\"x\",\"description\":\"d\",\"m\":{\"k\":1}}";
    items_ddb_cond_t cond;
    json_t *target, *merged, *request, *again;
    const char *error, *text;
    apr_size_t len;
    apr_status_t rv;

    check_members(patch, 1);
    check_dump(p, patch);
    FUZZ_CHECK(items_json_parse(&target, &error, p, target_text, sizeof(target_text) - 1)
               == APR_SUCCESS);
    merged = items_item_merge(p, target, patch);
    FUZZ_CHECK(json_is_object(merged));
    /* A valid patch on a valid item leaves a valid item (or one too large). */
    FUZZ_CHECK(items_json_dump(&text, &len, p, merged) == APR_SUCCESS);
    rv = items_item_from_body(&again, &error, p, text, len, NULL);
    FUZZ_CHECK(rv == APR_SUCCESS || rv == ITEMS_ETOOLARGE);
    if (rv == APR_SUCCESS) {
        FUZZ_CHECK(json_equal(again, merged));
    }
    /* Merging the same patch again changes nothing (RFC 7396 is idempotent). */
    FUZZ_CHECK(json_equal(items_item_merge(p, merged, patch), merged));
    memset(&cond, 0, sizeof(cond));
    rv = items_ddb_update_request(&request, p, "items", PATH_ID, patch, "0123456789abcdef", &cond);
    FUZZ_CHECK(rv == APR_SUCCESS || rv == ITEMS_ETOOLARGE);
    if (rv == APR_SUCCESS) {
        FUZZ_CHECK(json_is_string(json_object_get(request, "UpdateExpression")));
        FUZZ_CHECK(json_is_string(json_object_get(request, "ConditionExpression")));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *body = (const char *)data, *error = NULL;
    json_t *item = NULL, *patch = NULL;
    apr_status_t rv;

    rv = items_item_from_body(&item, &error, p, body, size, NULL);
    if (rv == APR_SUCCESS) {
        FUZZ_CHECK(error == NULL);
        check_item(p, item, body, size);
    }
    else {
        check_error(rv, item, error);
    }

    error = NULL;
    rv = items_item_patch_from_body(&patch, &error, p, body, size, PATH_ID);
    if (rv == APR_SUCCESS) {
        FUZZ_CHECK(error == NULL);
        check_patch(p, patch);
    }
    else {
        check_error(rv, patch, error);
    }

    apr_pool_destroy(p);
    return 0;
}
