/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the cmocka unit tests (include after <cmocka.h>): a fresh pool per
 * test as the cmocka state, a counting allocator for jansson (leak checks on
 * error paths), and JSON in words for failure messages.
 */
#ifndef ITEMS_UNIT_H
#define ITEMS_UNIT_H

#include <stdlib.h>

#include <apr_pools.h>
#include <jansson.h>

#include "items_json.h"

static inline int setup(void **state)
{
    apr_pool_t *p;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return -1;
    }
    *state = p;
    return 0;
}

static inline int teardown(void **state)
{
    apr_pool_destroy(*state);
    return 0;
}

/* jansson values alive, when json_set_alloc_funcs(count_malloc, count_free) is in force. */
static long live_allocs __attribute__((unused));

static inline void *count_malloc(size_t n)
{
    void *ptr = malloc(n);

    if (ptr) {
        live_allocs++;
    }
    return ptr;
}

static inline void count_free(void *ptr)
{
    if (ptr) {
        live_allocs--;
        free(ptr);
    }
}

static inline const char *dump(apr_pool_t *p, const json_t *v)
{
    const char *text;
    apr_size_t len;

    if (!v) {
        return "(null)";
    }
    return items_json_dump(&text, &len, p, v) == APR_SUCCESS ? text : "(undumpable)";
}

#endif
