/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request routing that needs no httpd: what a path below the mount point names,
 * and what the list query asks for.
 */
#ifndef ITEMS_ROUTE_H
#define ITEMS_ROUTE_H

#include <apr_pools.h>

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
 * The list query ("limit=N"): *limit is dflt when absent. ITEMS_EBADREQUEST
 * with *error for anything else: unknown or repeated parameters, a limit that
 * is not a whole number from 1 to max.
 */
apr_status_t items_route_list_limit(int *limit, const char **error, apr_pool_t *p,
                                    const char *args, int dflt, int max);

#endif
