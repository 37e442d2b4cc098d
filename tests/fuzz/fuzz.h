/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the fuzz targets and the replay driver. A target is one
 * LLVMFuzzerTestOneInput(): built with clang -fsanitize=fuzzer it is a libFuzzer
 * binary (`make fuzz`); linked with replay_main.c it replays its corpus in
 * `make check`.
 */
#ifndef ITEMS_FUZZ_H
#define ITEMS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <apr_allocator.h>
#include <apr_general.h>
#include <apr_pools.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property that must hold for every input: a violation is a crash. */
#define FUZZ_CHECK(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/*
 * A fresh pool for one input, under a root made on first use. The allocator
 * keeps no free blocks, so memory of a destroyed pool goes back to malloc and
 * ASan can see a use after the pool is gone.
 */
static inline apr_pool_t *fuzz_pool(void)
{
    /* Both static, so LeakSanitizer sees them referenced until exit. */
    static apr_allocator_t *allocator;
    static apr_pool_t *root;
    apr_pool_t *p;

    if (!root) {
        if (apr_initialize() != APR_SUCCESS || apr_allocator_create(&allocator) != APR_SUCCESS
            || apr_pool_create_ex(&root, NULL, NULL, allocator) != APR_SUCCESS) {
            abort();
        }
        apr_allocator_owner_set(allocator, root);
        apr_allocator_max_free_set(allocator, 1);
    }
    if (apr_pool_create(&p, root) != APR_SUCCESS) {
        abort();
    }
    return p;
}

#endif
