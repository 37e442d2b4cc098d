/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one jansson user. Values handed out here are owned by a pool: a cleanup
 * drops the reference, so error paths need no manual json_decref().
 */
#ifndef ITEMS_JSON_H
#define ITEMS_JSON_H

#include <apr_pools.h>
#include <jansson.h>

/* Deepest nesting accepted in any JSON document we parse. */
#define ITEMS_JSON_MAX_DEPTH 32

/* Take ownership of a new reference: it is released when p is cleared. */
json_t *items_json_own(apr_pool_t *p, json_t *value);

/*
 * Parse len bytes of buf (which need not be NUL-terminated) as one JSON value.
 * Rejects duplicate object keys, NUL bytes, invalid UTF-8 and nesting deeper than
 * ITEMS_JSON_MAX_DEPTH. On failure *error says why, in words fit for a client.
 */
apr_status_t items_json_parse(json_t **value, const char **error, apr_pool_t *p,
                              const char *buf, apr_size_t len);

/* Serialize value compactly into pool memory. */
apr_status_t items_json_dump(const char **text, apr_size_t *len, apr_pool_t *p,
                             const json_t *value);

#endif
