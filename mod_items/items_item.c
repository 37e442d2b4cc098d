/* SPDX-License-Identifier: Apache-2.0 */
#include "items_item.h"
#include "items_json.h"
#include "items_status.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

/* --- numbers -------------------------------------------------------------------- */

apr_status_t items_item_check_number(const char **error, apr_pool_t *p, const char *text)
{
    const char *s = text, *first = NULL, *last = NULL;
    long exp10 = 0, point = -1, pos = 0, e = 0;
    int esign = 1, digits;

    if (*s == '-') {
        s++;
    }
    /* Walk the mantissa: find the first and last non-zero digits and the point. */
    for (; *s && *s != 'e' && *s != 'E'; s++) {
        if (*s == '.') {
            point = pos;
            continue;
        }
        if (*s != '0') {
            if (!first) {
                first = s;
                exp10 = pos; /* digits before the first significant one */
            }
            last = s;
        }
        pos++;
    }
    if (point < 0) {
        point = pos;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') {
            esign = (*s == '-') ? -1 : 1;
            s++;
        }
        for (; *s; s++) {
            if (e < 100000) {
                e = e * 10 + (*s - '0');
            }
        }
    }
    if (!first) {
        return APR_SUCCESS; /* zero */
    }
    digits = 0;
    for (s = first; s <= last; s++) {
        digits += (*s != '.');
    }
    if (digits > ITEMS_NUMBER_MAX_DIGITS) {
        *error = apr_psprintf(p, "the number %.60s%s has more than %d significant digits, "
                                 "more than DynamoDB stores",
                              text, strlen(text) > 60 ? "..." : "", ITEMS_NUMBER_MAX_DIGITS);
        return ITEMS_EINVALID;
    }
    /* value = 0.d1d2... x 10^magnitude */
    {
        long magnitude = point - exp10 + esign * e;
        if (magnitude > 126 || magnitude < -129) {
            *error = apr_psprintf(p, "the number %.60s%s is outside DynamoDB's range "
                                     "(1E-130 to 9.99E+125 in magnitude)",
                                  text, strlen(text) > 60 ? "..." : "");
            return ITEMS_EINVALID;
        }
    }
    return APR_SUCCESS;
}

/* --- size and validation ----------------------------------------------------------- */

static apr_size_t value_size(const json_t *v)
{
    const char *key, *num;
    json_t *m;
    apr_size_t size, i;

    if ((num = items_json_number_text(v)) != NULL) {
        return strlen(num) / 2 + 2;
    }
    switch (json_typeof(v)) {
    case JSON_STRING:
        return json_string_length(v);
    case JSON_OBJECT:
        size = 3;
        json_object_foreach((json_t *)v, key, m) {
            size += strlen(key) + value_size(m) + 1;
        }
        return size;
    case JSON_ARRAY:
        size = 3;
        json_array_foreach(v, i, m) {
            size += value_size(m) + 1;
        }
        return size;
    case JSON_INTEGER:
    case JSON_REAL:
        return 21;
    default:
        return 1;
    }
}

apr_size_t items_item_size(const json_t *item)
{
    const char *key;
    json_t *v;
    apr_size_t size = 0;

    json_object_foreach((json_t *)item, key, v) {
        size += strlen(key) + value_size(v);
    }
    return size;
}

static apr_status_t check_numbers(const char **error, apr_pool_t *p, const json_t *v)
{
    const char *key, *num;
    json_t *m;
    size_t i;
    apr_status_t rv;

    if ((num = items_json_number_text(v)) != NULL) {
        return items_item_check_number(error, p, num);
    }
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, m) {
            if ((rv = check_numbers(error, p, m)) != APR_SUCCESS) {
                return rv;
            }
        }
    }
    else if (json_is_array(v)) {
        json_array_foreach(v, i, m) {
            if ((rv = check_numbers(error, p, m)) != APR_SUCCESS) {
                return rv;
            }
        }
    }
    return APR_SUCCESS;
}

/* name: non-empty string; description: string or null (on a patch, null removes it). */
static apr_status_t check_known(const char **error, apr_pool_t *p, const char *key,
                                const json_t *v)
{
    if (!strcmp(key, "name")) {
        if (!json_is_string(v) || items_json_number_text(v)) {
            *error = "'name' must be a string";
            return ITEMS_EINVALID;
        }
        if (json_string_length(v) == 0) {
            *error = "'name' must not be empty";
            return ITEMS_EINVALID;
        }
        if (json_string_length(v) > ITEMS_NAME_MAX_BYTES) {
            *error = apr_psprintf(p, "'name' is longer than %d bytes", ITEMS_NAME_MAX_BYTES);
            return ITEMS_EINVALID;
        }
    }
    else if (!strcmp(key, "description")) {
        if (!json_is_null(v) && (!json_is_string(v) || items_json_number_text(v))) {
            *error = "'description' must be a string or null";
            return ITEMS_EINVALID;
        }
    }
    return APR_SUCCESS;
}

/* The top-level checks shared by bodies and patches; "id" is handled by the caller. */
static apr_status_t check_members(const char **error, apr_pool_t *p, json_t *doc)
{
    const char *key;
    json_t *v;
    apr_status_t rv;

    json_object_foreach(doc, key, v) {
        if (!*key) {
            *error = "attribute names must not be empty";
            return ITEMS_EINVALID;
        }
        if (key[0] == '_') {
            *error = apr_psprintf(p, "'%s': names starting with '_' are reserved", key);
            return ITEMS_EINVALID;
        }
        if ((rv = check_known(error, p, key, v)) != APR_SUCCESS
            || (rv = check_numbers(error, p, v)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t take_id(const char **error, apr_pool_t *p, json_t *doc, const char *path_id)
{
    json_t *id = json_object_get(doc, "id");

    if (!id) {
        return APR_SUCCESS;
    }
    if (!path_id) {
        *error = "'id' is assigned by the server; leave it out (or PUT to /{id})";
        return ITEMS_EINVALID;
    }
    if (!json_is_string(id) || strcmp(json_string_value(id), path_id)) {
        *error = apr_psprintf(p, "'id' in the body must equal the id in the path");
        return ITEMS_EINVALID;
    }
    json_object_del(doc, "id");
    return APR_SUCCESS;
}

static apr_status_t parse_object(json_t **doc, const char **error, apr_pool_t *p,
                                 const char *body, apr_size_t len, const char *what)
{
    apr_status_t rv = items_json_parse(doc, error, p, body, len);

    if (rv == APR_SUCCESS && !json_is_object(*doc)) {
        *error = apr_psprintf(p, "the %s must be a JSON object", what);
        return ITEMS_EINVALID;
    }
    return rv;
}

apr_status_t items_item_from_body(json_t **item, const char **error, apr_pool_t *p,
                                  const char *body, apr_size_t len, const char *path_id)
{
    json_t *doc;
    apr_status_t rv;

    *item = NULL;
    if ((rv = parse_object(&doc, error, p, body, len, "item")) != APR_SUCCESS
        || (rv = take_id(error, p, doc, path_id)) != APR_SUCCESS) {
        return rv;
    }
    if (!json_object_get(doc, "name")) {
        *error = "'name' is required";
        return ITEMS_EINVALID;
    }
    if ((rv = check_members(error, p, doc)) != APR_SUCCESS) {
        return rv;
    }
    if (items_item_size(doc) + 2 + 36 > ITEMS_ITEM_MAX_BYTES) {
        *error = apr_psprintf(p, "the item is larger than DynamoDB's limit of 400 KB (%d bytes)",
                              ITEMS_ITEM_MAX_BYTES);
        return ITEMS_ETOOLARGE;
    }
    *item = doc;
    return APR_SUCCESS;
}

apr_status_t items_item_patch_from_body(json_t **patch, const char **error, apr_pool_t *p,
                                        const char *body, apr_size_t len, const char *path_id)
{
    json_t *doc, *name;
    apr_status_t rv;

    *patch = NULL;
    if ((rv = parse_object(&doc, error, p, body, len, "merge patch")) != APR_SUCCESS
        || (rv = take_id(error, p, doc, path_id)) != APR_SUCCESS) {
        return rv;
    }
    name = json_object_get(doc, "name");
    if (name && json_is_null(name)) {
        *error = "'name' cannot be removed";
        return ITEMS_EINVALID;
    }
    if ((rv = check_members(error, p, doc)) != APR_SUCCESS) {
        return rv;
    }
    if (items_item_size(doc) > ITEMS_ITEM_MAX_BYTES) {
        *error = apr_psprintf(p, "the patch is larger than DynamoDB's item limit of %d bytes",
                              ITEMS_ITEM_MAX_BYTES);
        return ITEMS_ETOOLARGE;
    }
    *patch = doc;
    return APR_SUCCESS;
}

static json_t *merge(const json_t *target, const json_t *patch)
{
    const char *key;
    json_t *result, *v, *merged;

    if (!json_is_object(patch)) {
        return json_deep_copy(patch);
    }
    result = json_is_object(target) ? json_deep_copy(target) : json_object();
    json_object_foreach((json_t *)patch, key, v) {
        if (json_is_null(v)) {
            json_object_del(result, key);
            continue;
        }
        merged = merge(json_object_get(result, key), v);
        json_object_set_new(result, key, merged);
    }
    return result;
}

json_t *items_item_merge(apr_pool_t *p, const json_t *target, const json_t *patch)
{
    return items_json_own(p, merge(target, patch));
}

/* --- ids ------------------------------------------------------------------------------ */

static const char *format_uuid(apr_pool_t *p, unsigned char b[16], int version)
{
    static const char hex[] = "0123456789abcdef";
    char *s, *o;
    int i;

    b[6] = (unsigned char)((b[6] & 0x0f) | (version << 4));
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 9562 variant */
    s = o = apr_palloc(p, 37);
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *o++ = '-';
        }
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 0x0f];
    }
    *o = '\0';
    return s;
}

/*
 * Ids and version tokens come from OpenSSL's DRBG (apr_generate_random_bytes made a
 * getrandom() system call for each). Each RAND_bytes() call still costs a getpid()
 * system call, its fork check, as much as the rest of a create's own work on a VM:
 * so each thread draws RANDOM_BATCH bytes at a time and hands them out once each,
 * wiping them as they go. A fork empties the batch of the thread that forked, the
 * only thread of the child, so a child never repeats its parent's bytes. (glibc
 * drops the hook when the module is unloaded.)
 */
#define RANDOM_BATCH 512

static __thread unsigned char random_batch[RANDOM_BATCH];
static __thread apr_size_t random_left;
static pthread_once_t random_hook_once = PTHREAD_ONCE_INIT;

static void random_forget_batch(void)
{
    OPENSSL_cleanse(random_batch, sizeof(random_batch));
    random_left = 0;
}

static void random_hook_fork(void)
{
    pthread_atfork(NULL, NULL, random_forget_batch);
}

static apr_status_t random_bytes(unsigned char *b, apr_size_t n)
{
    unsigned char *from;

    if (pthread_once(&random_hook_once, random_hook_fork) != 0 || n > RANDOM_BATCH) {
        return APR_EGENERAL;
    }
    if (random_left < n) {
        if (RAND_bytes(random_batch, sizeof(random_batch)) != 1) {
            random_left = 0;
            return APR_EGENERAL;
        }
        random_left = sizeof(random_batch);
    }
    from = random_batch + sizeof(random_batch) - random_left;
    memcpy(b, from, n);
    OPENSSL_cleanse(from, n);
    random_left -= n;
    return APR_SUCCESS;
}

apr_status_t items_item_new_id(const char **id, apr_pool_t *p)
{
    unsigned char b[16];
    apr_status_t rv = random_bytes(b, sizeof(b));

    if (rv != APR_SUCCESS) {
        return rv;
    }
    *id = format_uuid(p, b, 4);
    return APR_SUCCESS;
}

const char *items_item_id_for_key(apr_pool_t *p, const char *key)
{
    /* A fixed prefix keeps these ids apart from any other use of the hash. */
    const char *input = apr_pstrcat(p, "mod_items idempotency key\n", key, NULL);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (!EVP_Digest(input, strlen(input), digest, &n, EVP_sha256(), NULL)) {
        return NULL;
    }
    return format_uuid(p, digest, 8);
}

static const char *hex_of(apr_pool_t *p, const unsigned char *b, apr_size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *s = apr_palloc(p, n * 2 + 1);
    apr_size_t i;

    for (i = 0; i < n; i++) {
        s[2 * i] = hex[b[i] >> 4];
        s[2 * i + 1] = hex[b[i] & 0x0f];
    }
    s[2 * n] = '\0';
    return s;
}

const char *items_item_hash(apr_pool_t *p, const json_t *attrs)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    const char *text;
    apr_size_t len;

    if (items_json_dump_sorted(&text, &len, p, attrs) != APR_SUCCESS
        || !EVP_Digest(text, len, digest, &n, EVP_sha256(), NULL)) {
        return NULL;
    }
    return hex_of(p, digest, n);
}

apr_status_t items_item_new_version(const char **version, apr_pool_t *p)
{
    unsigned char b[8];
    apr_status_t rv = random_bytes(b, sizeof(b));

    if (rv == APR_SUCCESS) {
        *version = hex_of(p, b, sizeof(b));
    }
    return rv;
}

int items_item_id_is_valid(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++) {
        char c = s[n];
        if (n >= ITEMS_ID_MAX_LEN
            || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                 || c == '-' || c == '_' || c == '.' || c == '~')) {
            return 0;
        }
    }
    return n > 0;
}

int items_item_key_is_valid(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++) {
        if (n >= 255 || (unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e) {
            return 0;
        }
    }
    return n > 0;
}
