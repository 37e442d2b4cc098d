/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request routing that needs no httpd: what a path below the mount point names,
 * and what the list query asks for.
 */
#ifndef ITEMS_ROUTE_H
#define ITEMS_ROUTE_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef enum {
    ITEMS_ROUTE_NONE = 0,   /* not a resource of ours: 404 */
    ITEMS_ROUTE_COLLECTION, /* "" or "/" */
    ITEMS_ROUTE_ITEM        /* "/{id}" */
} items_route_kind_e;

typedef struct items_route {
    items_route_kind_e kind;
    const char *id; /* ITEMS_ROUTE_ITEM only */
} items_route_t;

/*
 * Classify the (decoded) path below the mount point. ITEMS_EBADREQUEST with
 * *error when the path names an item whose id is not a valid id.
 */
apr_status_t items_route_parse(items_route_t *route, const char **error, apr_pool_t *p,
                               const char *rel_path);

/*
 * The list query ("limit=N&cursor=C", form-encoded): *limit is dflt when
 * absent, *cursor NULL. ITEMS_EBADREQUEST with *error for anything else:
 * unknown or repeated parameters, broken escapes, a limit that is not a whole
 * number from 1 to max, an empty cursor.
 */
apr_status_t items_route_list_query(int *limit, const char **cursor, const char **error,
                                    apr_pool_t *p, const char *args, int dflt, int max);

/* Entity tags from an If-Match / If-None-Match header. */
typedef struct items_route_etags {
    int any;                        /* "*" */
    apr_array_header_t *strong;     /* const char *: opaque values of strong tags */
    apr_array_header_t *all;        /* const char *: of every tag, weak ones too */
} items_route_etags_t;

/* Parse a list of entity tags (RFC 9110 8.8.3) or "*"; ITEMS_EBADREQUEST when malformed. */
apr_status_t items_route_parse_etags(items_route_etags_t *tags, const char **error,
                                     apr_pool_t *p, const char *header);

#endif
