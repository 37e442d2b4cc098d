/* SPDX-License-Identifier: Apache-2.0 */
#include "items_route.h"
#include "items_item.h"
#include "items_status.h"

#include <apr_strings.h>

apr_status_t items_route_parse(items_route_t *route, const char **error, apr_pool_t *p,
                               const char *rel_path)
{
    const char *id;

    route->kind = ITEMS_ROUTE_NONE;
    route->id = NULL;
    *error = NULL;
    if (!rel_path || !*rel_path || !strcmp(rel_path, "/")) {
        route->kind = ITEMS_ROUTE_COLLECTION;
        return APR_SUCCESS;
    }
    if (rel_path[0] != '/' || strchr(rel_path + 1, '/')) {
        return APR_SUCCESS; /* not /{id}: nothing here */
    }
    id = rel_path + 1;
    if (!items_item_id_is_valid(id)) {
        *error = apr_psprintf(p, "invalid item id: an id is 1 to %d characters of "
                                 "A-Z a-z 0-9 - _ . ~",
                              ITEMS_ID_MAX_LEN);
        return ITEMS_EBADREQUEST;
    }
    route->kind = ITEMS_ROUTE_ITEM;
    route->id = id;
    return APR_SUCCESS;
}

apr_status_t items_route_list_limit(int *limit, const char **error, apr_pool_t *p,
                                    const char *args, int dflt, int max)
{
    const char *cur = args, *amp, *eq, *val;
    apr_size_t keylen, vallen, i;
    int seen = 0;
    long n;

    *limit = dflt;
    *error = NULL;
    while (cur && *cur) {
        amp = strchr(cur, '&');
        eq = memchr(cur, '=', amp ? (apr_size_t)(amp - cur) : strlen(cur));
        keylen = eq ? (apr_size_t)(eq - cur) : (amp ? (apr_size_t)(amp - cur) : strlen(cur));
        if (keylen == 5 && !strncmp(cur, "limit", 5)) {
            if (seen++) {
                *error = "'limit' is given more than once";
                return ITEMS_EBADREQUEST;
            }
            val = eq ? eq + 1 : "";
            vallen = amp ? (apr_size_t)(amp - val) : strlen(val);
            n = 0;
            for (i = 0; i < vallen; i++) {
                if (val[i] < '0' || val[i] > '9' || n > max) {
                    break;
                }
                n = n * 10 + (val[i] - '0');
            }
            if (vallen == 0 || i < vallen || n < 1 || n > max) {
                *error = apr_psprintf(p, "'limit' must be a whole number from 1 to %d", max);
                return ITEMS_EBADREQUEST;
            }
            *limit = (int)n;
        }
        else if (keylen > 0) {
            *error = "unknown query parameter: only 'limit' is accepted";
            return ITEMS_EBADREQUEST;
        }
        cur = amp ? amp + 1 : NULL;
    }
    return APR_SUCCESS;
}
