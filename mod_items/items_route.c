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

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (char)(c | 0x20);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Percent-decode (and '+' as space) n bytes of s; NULL on a broken escape or a NUL byte. */
static const char *form_decode(apr_pool_t *p, const char *s, apr_size_t n)
{
    char *out = apr_palloc(p, n + 1), *o = out;
    apr_size_t i;
    int hi, lo;

    for (i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n) {
                return NULL;
            }
            hi = hex_value(s[i + 1]);
            lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return NULL;
            }
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        }
        else {
            *o++ = s[i] == '+' ? ' ' : s[i];
        }
    }
    *o = '\0';
    return out;
}

apr_status_t items_route_list_limit(int *limit, const char **error, apr_pool_t *p,
                                    const char *args, int dflt, int max)
{
    const char *cur = args, *amp, *eq, *key, *val;
    apr_size_t len, i;
    int seen = 0;
    long n;

    *limit = dflt;
    *error = NULL;
    while (cur && *cur) {
        amp = strchr(cur, '&');
        len = amp ? (apr_size_t)(amp - cur) : strlen(cur);
        eq = memchr(cur, '=', len);
        key = form_decode(p, cur, eq ? (apr_size_t)(eq - cur) : len);
        val = eq ? form_decode(p, eq + 1, len - (apr_size_t)(eq + 1 - cur)) : "";
        if (!key || !val) {
            *error = "the query string has a malformed %-escape";
            return ITEMS_EBADREQUEST;
        }
        if (!strcmp(key, "limit")) {
            if (seen++) {
                *error = "'limit' is given more than once";
                return ITEMS_EBADREQUEST;
            }
            n = 0;
            for (i = 0; val[i]; i++) {
                if (val[i] < '0' || val[i] > '9' || n > max) {
                    break;
                }
                n = n * 10 + (val[i] - '0');
            }
            if (i == 0 || val[i] || n < 1 || n > max) {
                *error = apr_psprintf(p, "'limit' must be a whole number from 1 to %d", max);
                return ITEMS_EBADREQUEST;
            }
            *limit = (int)n;
        }
        else if (*key) {
            *error = "unknown query parameter: only 'limit' is accepted";
            return ITEMS_EBADREQUEST;
        }
        cur = amp ? amp + 1 : NULL;
    }
    return APR_SUCCESS;
}
