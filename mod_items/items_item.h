/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The item model. An item is a JSON object: "id" (owned by the server on
 * create), "name" (required non-empty string), "description" (optional string
 * or null) and any other attributes, stored without loss. Top-level names that
 * start with '_' are reserved for the module's own bookkeeping.
 */
#ifndef ITEMS_ITEM_H
#define ITEMS_ITEM_H

#include <apr_pools.h>
#include <jansson.h>

#define ITEMS_ID_MAX_LEN 128
#define ITEMS_NAME_MAX_BYTES 1024
/* DynamoDB's item size limit, names and values included. */
#define ITEMS_ITEM_MAX_BYTES (400 * 1024)
/* DynamoDB numbers: 38 significant digits, magnitude from 1E-130 to below 1E+126. */
#define ITEMS_NUMBER_MAX_DIGITS 38

/*
 * Parse and validate a body that creates or replaces an item. path_id is NULL
 * for POST (a body "id" is refused: the server assigns it) or the id from the
 * path for PUT (a body "id" must equal it). On success *item holds the
 * attributes, without "id". ITEMS_EBADREQUEST for bytes that are not JSON,
 * ITEMS_EINVALID for JSON that is not a valid item, ITEMS_ETOOLARGE for an
 * item over DynamoDB's 400 KB; *error explains, for the client.
 */
apr_status_t items_item_from_body(json_t **item, const char **error, apr_pool_t *p,
                                  const char *body, apr_size_t len, const char *path_id);

/*
 * Parse and validate a JSON merge patch (RFC 7396) for the item path_id:
 * an object; "name" may change but not be removed or emptied; "id" may only
 * repeat path_id (it is then dropped); reserved names are refused.
 */
apr_status_t items_item_patch_from_body(json_t **patch, const char **error, apr_pool_t *p,
                                        const char *body, apr_size_t len, const char *path_id);

/* target with patch applied (RFC 7396), as a new value; neither input changes. */
json_t *items_item_merge(apr_pool_t *p, const json_t *target, const json_t *patch);

/* Whether a JSON number's text fits DynamoDB's N type; ITEMS_EINVALID with *error if not. */
apr_status_t items_item_check_number(const char **error, apr_pool_t *p, const char *text);

/* The size DynamoDB counts for an item's attributes (names and values). */
apr_size_t items_item_size(const json_t *item);

/* A hash of an item's attributes in canonical form (hex SHA-256): same content, same hash. */
const char *items_item_hash(apr_pool_t *p, const json_t *attrs);

/* A new random version token (16 hex digits) for an item's ETag. */
apr_status_t items_item_new_version(const char **version, apr_pool_t *p);

/* A new random id: a UUID v4 from the system CSPRNG, lower-case hex. */
apr_status_t items_item_new_id(const char **id, apr_pool_t *p);

/* The id an Idempotency-Key stands for: a name-based UUID (version 8) of the key. */
const char *items_item_id_for_key(apr_pool_t *p, const char *key);

/* Whether s can be an item id: 1..ITEMS_ID_MAX_LEN of A-Z a-z 0-9 - _ . ~ */
int items_item_id_is_valid(const char *s);

/* Whether s can be an Idempotency-Key: 1..255 printable ASCII characters. */
int items_item_key_is_valid(const char *s);

#endif
