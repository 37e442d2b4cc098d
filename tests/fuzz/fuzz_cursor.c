/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cursor decoding on arbitrary strings: items_cursor_decode() must refuse all
 * but what items_cursor_encode() made, and a decoded cursor must encode back to
 * exactly itself. The input also serves as an id to round-trip.
 */
#include "fuzz.h"

#include <string.h>

#include <apr_strings.h>

#include "items_cursor.h"
#include "items_status.h"

static const unsigned char key[ITEMS_CURSOR_KEY_LEN] = "fuzzing key, 32 bytes long.....";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *text = apr_pstrmemdup(p, (const char *)data, size);
    const char *id = NULL, *again, *cursor;
    apr_status_t rv;

    rv = items_cursor_decode(&id, p, key, "items", text);
    FUZZ_CHECK(rv == APR_SUCCESS || rv == ITEMS_EBADREQUEST);
    if (rv == APR_SUCCESS) {
        /* Only a cursor we made decodes: it must be canonical. */
        again = items_cursor_encode(p, key, "items", id);
        FUZZ_CHECK(again && strcmp(again, text) == 0);
        FUZZ_CHECK(items_cursor_decode(&id, p, key, "other-table", text) == ITEMS_EBADREQUEST);
    }
    /* Whatever id we are given (without NUL) comes back from its cursor. */
    if (size > 0 && strlen(text) == size) {
        cursor = items_cursor_encode(p, key, "items", text);
        if (cursor) {
            FUZZ_CHECK(items_cursor_decode(&id, p, key, "items", cursor) == APR_SUCCESS);
            FUZZ_CHECK(strcmp(id, text) == 0);
        }
    }
    apr_pool_destroy(p);
    return 0;
}
