/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request routing on arbitrary strings: items_route_parse(),
 * items_route_list_query() and items_route_parse_etags(). The input is
 * "path", a separator (NUL or newline), "query", a separator, "header".
 */
#include "fuzz.h"

#include <limits.h>
#include <string.h>

#include <apr_strings.h>

#include "items_item.h"
#include "items_route.h"
#include "items_status.h"

static int id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
           || c == '_' || c == '.' || c == '~';
}

/* items_item_id_is_valid, restated. */
static int id_ok(const char *s)
{
    size_t n = strlen(s), i;

    if (n < 1 || n > ITEMS_ID_MAX_LEN) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!id_char(s[i])) {
            return 0;
        }
    }
    return 1;
}

static void check_route(apr_pool_t *p, const char *path)
{
    items_route_t route;
    const char *error = "unset";
    apr_status_t rv = items_route_parse(&route, &error, p, path);
    int one_segment = path[0] == '/' && !strchr(path + 1, '/');

    FUZZ_CHECK(items_item_id_is_valid(path) == id_ok(path));
    if (rv == ITEMS_EBADREQUEST) {
        FUZZ_CHECK(error != NULL);
        FUZZ_CHECK(route.kind == ITEMS_ROUTE_NONE && route.id == NULL);
        FUZZ_CHECK(one_segment && path[1] != '\0' && !id_ok(path + 1));
        return;
    }
    FUZZ_CHECK(rv == APR_SUCCESS);
    FUZZ_CHECK(error == NULL);
    switch (route.kind) {
    case ITEMS_ROUTE_COLLECTION:
        FUZZ_CHECK(route.id == NULL);
        FUZZ_CHECK(!strcmp(path, "") || !strcmp(path, "/"));
        break;
    case ITEMS_ROUTE_ITEM:
        FUZZ_CHECK(one_segment);
        FUZZ_CHECK(route.id != NULL && !strcmp(route.id, path + 1));
        FUZZ_CHECK(id_ok(route.id));
        break;
    case ITEMS_ROUTE_NONE:
        FUZZ_CHECK(route.id == NULL);
        FUZZ_CHECK(path[0] != '\0' && strcmp(path, "/") != 0 && !one_segment);
        break;
    default:
        FUZZ_CHECK(!"unknown route kind");
    }
}

static void check_query(apr_pool_t *p, const char *args, int dflt, int max)
{
    int limit = -1;
    const char *error = "unset", *cursor = "unset";
    apr_status_t rv = items_route_list_query(&limit, &cursor, &error, p, args, dflt, max);

    if (rv == APR_SUCCESS) {
        FUZZ_CHECK(error == NULL);
        FUZZ_CHECK(limit == dflt || (limit >= 1 && limit <= max));
        FUZZ_CHECK(cursor == NULL || *cursor != '\0');
        /* Without '=' or '%' no parameter could have carried a value. */
        if (!strchr(args, '=') && !strchr(args, '%')) {
            FUZZ_CHECK(limit == dflt && cursor == NULL);
        }
    }
    else {
        FUZZ_CHECK(rv == ITEMS_EBADREQUEST);
        FUZZ_CHECK(error != NULL && *error != '\0');
    }
}

static void check_tags(const apr_array_header_t *tags)
{
    int i;
    const char *t, *c;

    for (i = 0; i < tags->nelts; i++) {
        t = APR_ARRAY_IDX(tags, i, const char *);
        FUZZ_CHECK(t != NULL);
        for (c = t; *c; c++) {
            FUZZ_CHECK(*c != '"' && (unsigned char)*c >= 0x21 && *c != 0x7f);
        }
    }
}

static void check_etags(apr_pool_t *p, const char *header)
{
    items_route_etags_t tags;
    const char *error = "unset";
    apr_status_t rv = items_route_parse_etags(&tags, &error, p, header);

    if (rv != APR_SUCCESS) {
        FUZZ_CHECK(rv == ITEMS_EBADREQUEST && error != NULL);
        return;
    }
    FUZZ_CHECK(error == NULL);
    if (tags.any) {
        FUZZ_CHECK(tags.all->nelts == 0 && tags.strong->nelts == 0);
        FUZZ_CHECK(strchr(header, '*') != NULL);
        return;
    }
    FUZZ_CHECK(tags.all->nelts >= 1 && tags.all->nelts <= 64);
    FUZZ_CHECK(tags.strong->nelts <= tags.all->nelts);
    FUZZ_CHECK(strchr(header, '"') != NULL);
    check_tags(tags.all);
    check_tags(tags.strong);
}

/* The next part of the input: up to the next NUL or newline, or the end. */
static const char *next_part(apr_pool_t *p, const uint8_t **data, size_t *size)
{
    size_t i;
    const char *part;

    for (i = 0; i < *size && (*data)[i] != '\0' && (*data)[i] != '\n'; i++) {
    }
    part = apr_pstrmemdup(p, (const char *)*data, i);
    if (i < *size) {
        i++; /* the separator */
    }
    *data += i;
    *size -= i;
    return part;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *path, *args, *header;
    int limit;
    const char *cursor, *error;

    path = next_part(p, &data, &size);
    args = next_part(p, &data, &size);
    header = next_part(p, &data, &size);

    check_route(p, path);
    check_query(p, args, 20, 100);
    check_query(p, args, 1, INT_MAX);
    FUZZ_CHECK(items_route_list_query(&limit, &cursor, &error, p, NULL, 20, 100) == APR_SUCCESS);
    FUZZ_CHECK(limit == 20 && cursor == NULL);
    check_etags(p, header);

    apr_pool_destroy(p);
    return 0;
}
