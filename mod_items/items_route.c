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

apr_status_t items_route_list_query(int *limit, const char **cursor, const char **error,
                                    apr_pool_t *p, const char *args, int dflt, int max)
{
    const char *cur = args, *amp, *eq, *key, *val;
    apr_size_t len, i;
    int seen_limit = 0;
    long n;

    *limit = dflt;
    *cursor = NULL;
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
            if (seen_limit++) {
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
        else if (!strcmp(key, "cursor")) {
            if (*cursor) {
                *error = "'cursor' is given more than once";
                return ITEMS_EBADREQUEST;
            }
            if (!*val) {
                *error = "'cursor' is empty";
                return ITEMS_EBADREQUEST;
            }
            *cursor = val;
        }
        else if (*key || eq) {
            *error = "unknown query parameter: only 'limit' and 'cursor' are accepted";
            return ITEMS_EBADREQUEST;
        }
        cur = amp ? amp + 1 : NULL;
    }
    return APR_SUCCESS;
}

apr_status_t items_route_parse_etags(items_route_etags_t *tags, const char **error,
                                     apr_pool_t *p, const char *header)
{
    const char *s = header, *start;
    int weak;

    tags->any = 0;
    tags->strong = apr_array_make(p, 2, sizeof(const char *));
    tags->all = apr_array_make(p, 2, sizeof(const char *));
    *error = NULL;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (*s == '*') {
        for (s++; *s == ' ' || *s == '\t'; s++) {
        }
        if (*s) {
            *error = "'*' must stand alone in a precondition header";
            return ITEMS_EBADREQUEST;
        }
        tags->any = 1;
        return APR_SUCCESS;
    }
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == ',') {
            s++;
        }
        if (!*s) {
            break;
        }
        weak = (s[0] == 'W' && s[1] == '/');
        if (weak) {
            s += 2;
        }
        if (*s != '"') {
            *error = "an entity tag must be a quoted string, e.g. \"abc\"";
            return ITEMS_EBADREQUEST;
        }
        start = ++s;
        while (*s && *s != '"') {
            if ((unsigned char)*s < 0x21 || *s == 0x7f) {
                *error = "an entity tag holds a character it may not";
                return ITEMS_EBADREQUEST;
            }
            s++;
        }
        if (*s != '"') {
            *error = "an entity tag is not closed";
            return ITEMS_EBADREQUEST;
        }
        APR_ARRAY_PUSH(tags->all, const char *) = apr_pstrmemdup(p, start, (apr_size_t)(s - start));
        if (!weak) {
            APR_ARRAY_PUSH(tags->strong, const char *) = APR_ARRAY_IDX(tags->all, tags->all->nelts - 1,
                                                                        const char *);
        }
        s++;
        while (*s == ' ' || *s == '\t') {
            s++;
        }
        if (*s && *s != ',') {
            *error = "entity tags must be separated by commas";
            return ITEMS_EBADREQUEST;
        }
        if (tags->all->nelts > 64) {
            *error = "too many entity tags";
            return ITEMS_EBADREQUEST;
        }
    }
    if (tags->all->nelts == 0) {
        *error = "a precondition header is empty";
        return ITEMS_EBADREQUEST;
    }
    return APR_SUCCESS;
}
