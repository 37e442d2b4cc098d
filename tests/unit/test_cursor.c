/* SPDX-License-Identifier: Apache-2.0 */
/*
 * items_cursor.c: pagination cursors are base64url(HMAC-SHA256(key, table NUL
 * id)[0..16] || id). The expected cursor below was computed independently
 * (Python's hmac module), so the MAC is the standard one, whatever computes it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "items_cursor.h"
#include "items_status.h"
#include "unit.h"

static void test_key(unsigned char key[ITEMS_CURSOR_KEY_LEN])
{
    int i;

    for (i = 0; i < ITEMS_CURSOR_KEY_LEN; i++) {
        key[i] = (unsigned char)(i * 7 + 1);
    }
}

/*
 * key = bytes((i * 7 + 1) & 0xff for i in range(32))
 * mac = hmac.new(key, b"items\0bench-0010", hashlib.sha256).digest()[:16]
 * base64.urlsafe_b64encode(mac + b"bench-0010").rstrip(b"=")
 */
static void test_known_cursor(void **state)
{
    apr_pool_t *p = *state;
    unsigned char key[ITEMS_CURSOR_KEY_LEN];
    const char *id;

    test_key(key);
    assert_string_equal(items_cursor_encode(p, key, "items", "bench-0010"),
                        "KuIObck8EjAx3rtoHQ6-DmJlbmNoLTAwMTA");
    assert_int_equal(items_cursor_decode(&id, p, key, "items", "KuIObck8EjAx3rtoHQ6-DmJlbmNoLTAwMTA"),
                     APR_SUCCESS);
    assert_string_equal(id, "bench-0010");
}

static void test_round_trip(void **state)
{
    static const char *const ids[] = { "a", "ab", "abc", "bench-0001", "é-ünïcode",
                                       "id with spaces and / slashes" };
    apr_pool_t *p = *state;
    unsigned char key[ITEMS_CURSOR_KEY_LEN];
    const char *cursor, *id;
    size_t i;

    test_key(key);
    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        cursor = items_cursor_encode(p, key, "items", ids[i]);
        assert_non_null(cursor);
        assert_int_equal(strspn(cursor, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789-_"),
                         strlen(cursor));
        assert_int_equal(items_cursor_decode(&id, p, key, "items", cursor), APR_SUCCESS);
        assert_string_equal(id, ids[i]);
    }
}

static void test_forged_or_foreign(void **state)
{
    apr_pool_t *p = *state;
    unsigned char key[ITEMS_CURSOR_KEY_LEN], other[ITEMS_CURSOR_KEY_LEN];
    const char *cursor, *id = "stale";
    char *tampered;

    test_key(key);
    memcpy(other, key, sizeof(other));
    other[0] ^= 1;
    cursor = items_cursor_encode(p, key, "items", "bench-0010");

    /* another table, another key */
    assert_int_equal(items_cursor_decode(&id, p, key, "other", cursor), ITEMS_EBADREQUEST);
    assert_null(id);
    assert_int_equal(items_cursor_decode(&id, p, other, "items", cursor), ITEMS_EBADREQUEST);

    /* one character changed, in the MAC and in the id */
    tampered = apr_pstrdup(p, cursor);
    tampered[3] = tampered[3] == 'A' ? 'B' : 'A';
    assert_int_equal(items_cursor_decode(&id, p, key, "items", tampered), ITEMS_EBADREQUEST);
    tampered = apr_pstrdup(p, cursor);
    tampered[strlen(tampered) - 2] = tampered[strlen(tampered) - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(items_cursor_decode(&id, p, key, "items", tampered), ITEMS_EBADREQUEST);

    /* not base64url, too short, truncated */
    assert_int_equal(items_cursor_decode(&id, p, key, "items", "abc"), ITEMS_EBADREQUEST);
    assert_int_equal(items_cursor_decode(&id, p, key, "items", "KuIObck8EjAx3rtoHQ6+DmJlbmNoLTAwMTA"),
                     ITEMS_EBADREQUEST);
    assert_int_equal(items_cursor_decode(&id, p, key, "items", apr_pstrndup(p, cursor, 22)),
                     ITEMS_EBADREQUEST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_known_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_or_foreign, setup, teardown),
    };
    int failed;

    apr_initialize();
    failed = cmocka_run_group_tests_name("items_cursor", tests, NULL, NULL);
    apr_terminate();
    return failed ? 1 : 0;
}
