/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The differential check of items_ddbtext.c, shared by tests/fuzz/fuzz_ddbtext.c
 * (which aborts on a difference) and tests/unit/test_ddbtext.c (which fails the
 * test). Given an answer that items_ddbtext_items() took, it reads the same
 * body the way items_ddb.c's jansson path does (items_json_parse_plain, a JSON
 * object, "Item" or each element of "Items" through items_ddb_unmarshal_item,
 * items_json_dump) and reports the first way the two disagree.
 */
#ifndef ITEMS_DDBTEXT_DIFF_H
#define ITEMS_DDBTEXT_DIFF_H

#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>

#include "items_ddb.h"
#include "items_ddbtext.h"
#include "items_json.h"

/* Two optional C strings, equal (both NULL, or the same text). */
static inline int ddbtext_same_cstr(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static inline const char *ddbtext_or_null(apr_pool_t *p, const char *s)
{
    return s ? apr_psprintf(p, "\"%s\"", s) : "NULL";
}

/*
 * NULL when fast (an APR_SUCCESS of items_ddbtext_items(fast, p, body, len,
 * scan)) is what the jansson path makes of body, else what differs, in words.
 */
static inline const char *ddbtext_diff(apr_pool_t *p, const char *body, apr_size_t len, int scan,
                                       const items_ddbtext_answer_t *fast)
{
    json_t *doc, *items = NULL, *attrs, *item, *id, *again;
    items_ddb_meta_t meta;
    const char *text, *error;
    apr_size_t text_len, n, i;
    int has_more = 0;

    if (items_json_parse_plain(&doc, p, body, len) != APR_SUCCESS) {
        return "jansson cannot parse an answer the fast path took";
    }
    if (!json_is_object(doc)) {
        return "the fast path took an answer that is not a JSON object";
    }
    if (scan) {
        items = json_object_get(doc, "Items");
        if (!json_is_array(items)) {
            return "the fast path took a Scan answer whose \"Items\" is not an array";
        }
        n = json_array_size(items);
        has_more = json_object_get(doc, "LastEvaluatedKey") != NULL;
    }
    else {
        n = json_object_get(doc, "Item") != NULL;
    }
    if (fast->n_items < 0 || (apr_size_t)fast->n_items != n) {
        return apr_psprintf(p, "n_items: fast %d, jansson %lu", fast->n_items, (unsigned long)n);
    }
    if (n && !fast->items) {
        return "items is NULL";
    }
    if (fast->has_more != has_more) {
        return apr_psprintf(p, "has_more: fast %d, jansson %d", fast->has_more, has_more);
    }
    for (i = 0; i < n; i++) {
        const items_ddbtext_item_t *it = &fast->items[i];

        attrs = scan ? json_array_get(items, i) : json_object_get(doc, "Item");
        if (items_ddb_unmarshal_item(&item, &meta, p, attrs) != APR_SUCCESS) {
            return apr_psprintf(p, "item %lu: items_ddb_unmarshal_item refuses what the fast "
                                   "path took (fast: %.*s)",
                                (unsigned long)i, it->text ? (int)it->len : 6,
                                it->text ? it->text : "(null)");
        }
        if (items_json_dump(&text, &text_len, p, item) != APR_SUCCESS) {
            return apr_psprintf(p, "item %lu: items_json_dump fails", (unsigned long)i);
        }
        if (!it->text) {
            return apr_psprintf(p, "item %lu: text is NULL", (unsigned long)i);
        }
        if (it->len != text_len || memcmp(it->text, text, text_len) != 0) {
            return apr_psprintf(p, "item %lu text:\n  fast    (%lu) %.*s\n  jansson (%lu) %s",
                                (unsigned long)i, (unsigned long)it->len, (int)it->len,
                                it->text, (unsigned long)text_len, text);
        }
        if (it->text[it->len] != '\0' || strlen(it->text) != it->len) {
            return apr_psprintf(p, "item %lu: text is not NUL-terminated at its length",
                                (unsigned long)i);
        }
        if (!ddbtext_same_cstr(it->version, meta.version)) {
            return apr_psprintf(p, "item %lu version: fast %s, jansson %s", (unsigned long)i,
                                ddbtext_or_null(p, it->version), ddbtext_or_null(p, meta.version));
        }
        if (!ddbtext_same_cstr(it->request, meta.request)) {
            return apr_psprintf(p, "item %lu request: fast %s, jansson %s", (unsigned long)i,
                                ddbtext_or_null(p, it->request), ddbtext_or_null(p, meta.request));
        }
        /* The id: the item's when that is a string; NULL is always allowed (callers decline). */
        id = json_object_get(item, "id");
        if (it->id
            && (!json_is_string(id) || json_string_length(id) != strlen(it->id)
                || memcmp(json_string_value(id), it->id, strlen(it->id)) != 0)) {
            return apr_psprintf(p, "item %lu id: fast \"%s\", jansson %s", (unsigned long)i,
                                it->id, json_is_string(id) ? apr_psprintf(p, "\"%s\"",
                                json_string_value(id)) : "not a string");
        }
        /* The text is JSON that reads back as the item (numbers as their texts). */
        if (items_json_parse(&again, &error, p, it->text, it->len) != APR_SUCCESS) {
            /* An item may be one level deeper than items_json_parse takes. */
            if (!error || strncmp(error, "JSON nested deeper than", 23) != 0) {
                return apr_psprintf(p, "item %lu: the text is not JSON (%s): %s",
                                    (unsigned long)i, error ? error : "?", it->text);
            }
        }
        else if (!json_equal(again, item)) {
            return apr_psprintf(p, "item %lu: the text reads back as another value: %s",
                                (unsigned long)i, it->text);
        }
    }
    return NULL;
}

#endif
