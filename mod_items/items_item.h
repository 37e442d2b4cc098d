/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The item model: what a client may send, what an id looks like, and how ids
 * are made. An item is a JSON object {"id", "name", "description"}.
 */
#ifndef ITEMS_ITEM_H
#define ITEMS_ITEM_H

#include <apr_pools.h>
#include <jansson.h>

#define ITEMS_ID_MAX_LEN 128
#define ITEMS_NAME_MAX_BYTES 1024

/*
 * Parse and validate a create request body. On success *item is a new object
 * holding only the accepted members (no id yet). On failure *error explains
 * the problem to the client: ITEMS_EBADREQUEST for bytes that are not JSON,
 * ITEMS_EINVALID for JSON that is not a valid item.
 */
apr_status_t items_item_from_body(json_t **item, const char **error, apr_pool_t *p,
                                  const char *body, apr_size_t len);

/* A new random id: a UUID v4 from the system CSPRNG, lower-case hex. */
apr_status_t items_item_new_id(const char **id, apr_pool_t *p);

/* Whether s can be an item id: 1..ITEMS_ID_MAX_LEN of A-Z a-z 0-9 - _ . ~ */
int items_item_id_is_valid(const char *s);

#endif
