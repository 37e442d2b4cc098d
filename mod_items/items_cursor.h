/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pagination cursors: opaque, tamper-evident tokens naming where the next page
 * of a list starts. A cursor is base64url(HMAC-SHA256(key, table NUL id)[0..16] || id):
 * a forged or corrupted one fails its MAC, and one from another table does too.
 */
#ifndef ITEMS_CURSOR_H
#define ITEMS_CURSOR_H

#include <apr_pools.h>

#define ITEMS_CURSOR_KEY_LEN 32

/* The cursor for a page that starts after last_id in table. */
const char *items_cursor_encode(apr_pool_t *p, const unsigned char *key, const char *table,
                                const char *last_id);

/* The id a cursor names; ITEMS_EBADREQUEST when it is malformed, forged or for another table. */
apr_status_t items_cursor_decode(const char **last_id, apr_pool_t *p, const unsigned char *key,
                                 const char *table, const char *cursor);

#endif
