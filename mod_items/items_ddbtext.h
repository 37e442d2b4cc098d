/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client's JSON for the items of a GetItem or Scan answer, written
 * straight from DynamoDB's JSON text in one pass. It produces, byte for byte,
 * what parsing the answer with jansson, unmarshalling each item
 * (items_ddb_unmarshal_item) and serializing it (items_json_dump) produce,
 * without building either tree: on a list those trees were most of the
 * module's instructions per request. It takes only the common shape and
 * declines (APR_ENOTIMPL) anything else: escapes it does not reproduce
 * exactly, duplicate names, large or exotic numbers, deep nesting. The caller
 * then takes the jansson path, which also decides what is malformed.
 * tests/fuzz/fuzz_ddbtext.c compares the two paths.
 */
#ifndef ITEMS_DDBTEXT_H
#define ITEMS_DDBTEXT_H

#include <apr_errno.h>
#include <apr_pools.h>

#define ITEMS_DDBTEXT_MAX_DEPTH 32 /* as items_ddb.c's AttributeValue nesting bound */

typedef struct items_ddbtext_item {
    const char *text;    /* the item as the client sees it, "id" first, NUL-terminated */
    apr_size_t len;
    const char *id;      /* its id when written as a string without escapes, else NULL */
    const char *version; /* "_version" and "_request" (S), else NULL */
    const char *request;
} items_ddbtext_item_t;

typedef struct items_ddbtext_answer {
    items_ddbtext_item_t *items; /* GetItem: 0 or 1 ("Item" absent: not found) */
    int n_items;
    int has_more;                /* Scan: the answer has a LastEvaluatedKey */
} items_ddbtext_answer_t;

/*
 * body is a DynamoDB answer (HTTP 200) to GetItem (scan = 0: its "Item") or
 * Scan (scan = 1: its "Items" and whether "LastEvaluatedKey" is there).
 * APR_SUCCESS, or APR_ENOTIMPL when the answer is not one this path takes.
 */
apr_status_t items_ddbtext_items(items_ddbtext_answer_t *answer, apr_pool_t *p, const char *body,
                                 apr_size_t len, int scan);

#endif
