/* SPDX-License-Identifier: Apache-2.0 */
/*
 * items_ddbtext.c against the jansson path. The first input byte picks the
 * answer's kind (0: GetItem, 1: Scan, 2: both, modulo 3), the rest is the
 * body of a DynamoDB answer. Whatever items_ddbtext_items() takes must be,
 * byte for byte, what items_ddb.c makes of the same body through jansson:
 * the items' texts, their ids, versions and request hashes, whether a Scan
 * has more (ddbtext_diff.h). What it declines (APR_ENOTIMPL) is not checked:
 * the module then takes the jansson path.
 */
#include "fuzz.h"

#include "ddbtext_diff.h"
#include "items_ddbtext.h"

static void run(const char *body, apr_size_t len, int scan)
{
    apr_pool_t *p = fuzz_pool();
    items_ddbtext_answer_t fast;
    const char *diff;
    apr_status_t rv;

    rv = items_ddbtext_items(&fast, p, body, len, scan);
    FUZZ_CHECK(rv == APR_SUCCESS || rv == APR_ENOTIMPL);
    if (rv == APR_SUCCESS) {
        FUZZ_CHECK(scan || fast.n_items <= 1);
        if ((diff = ddbtext_diff(p, body, len, scan, &fast)) != NULL) {
            fprintf(stderr, "fuzz_ddbtext: %s answer, fast path and jansson differ: %s\n",
                    scan ? "Scan" : "GetItem", diff);
            abort();
        }
    }
    apr_pool_destroy(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int mode;

    if (size == 0) {
        return 0;
    }
    mode = data[0] % 3;
    if (mode != 1) {
        run((const char *)data + 1, size - 1, 0);
    }
    if (mode != 0) {
        run((const char *)data + 1, size - 1, 1);
    }
    return 0;
}
