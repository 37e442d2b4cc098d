/* SPDX-License-Identifier: Apache-2.0 */
#include "items_item.h"
#include "items_json.h"
#include "items_status.h"

#include <apr_general.h>
#include <apr_strings.h>

static apr_status_t check_string(const char **error, apr_pool_t *p, json_t *doc,
                                 const char *member, int required)
{
    json_t *v = json_object_get(doc, member);

    if (!v) {
        if (required) {
            *error = apr_psprintf(p, "'%s' is required", member);
            return ITEMS_EINVALID;
        }
        return APR_SUCCESS;
    }
    if (!required && json_is_null(v)) {
        return APR_SUCCESS;
    }
    if (!json_is_string(v)) {
        *error = apr_psprintf(p, "'%s' must be a string%s", member, required ? "" : " or null");
        return ITEMS_EINVALID;
    }
    if (required && json_string_length(v) == 0) {
        *error = apr_psprintf(p, "'%s' must not be empty", member);
        return ITEMS_EINVALID;
    }
    return APR_SUCCESS;
}

apr_status_t items_item_from_body(json_t **item, const char **error, apr_pool_t *p,
                                  const char *body, apr_size_t len)
{
    json_t *doc, *out, *v;
    const char *key;
    apr_status_t rv;

    *item = NULL;
    rv = items_json_parse(&doc, error, p, body, len);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!json_is_object(doc)) {
        *error = "the item must be a JSON object";
        return ITEMS_EINVALID;
    }
    json_object_foreach(doc, key, v) {
        if (strcmp(key, "name") && strcmp(key, "description")) {
            *error = apr_psprintf(p, "unknown attribute '%s': an item has 'name' and "
                                     "optionally 'description'; 'id' is assigned by the server",
                                  key);
            return ITEMS_EINVALID;
        }
    }
    if ((rv = check_string(error, p, doc, "name", 1)) != APR_SUCCESS
        || (rv = check_string(error, p, doc, "description", 0)) != APR_SUCCESS) {
        return rv;
    }
    if (json_string_length(json_object_get(doc, "name")) > ITEMS_NAME_MAX_BYTES) {
        *error = apr_psprintf(p, "'name' is longer than %d bytes", ITEMS_NAME_MAX_BYTES);
        return ITEMS_EINVALID;
    }
    out = items_json_own(p, json_object());
    json_object_set(out, "name", json_object_get(doc, "name"));
    if ((v = json_object_get(doc, "description")) != NULL) {
        json_object_set(out, "description", v);
    }
    *item = out;
    return APR_SUCCESS;
}

apr_status_t items_item_new_id(const char **id, apr_pool_t *p)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    char *s, *o;
    apr_status_t rv;
    int i;

    rv = apr_generate_random_bytes(b, sizeof(b));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    s = o = apr_palloc(p, 37);
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *o++ = '-';
        }
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 0x0f];
    }
    *o = '\0';
    *id = s;
    return APR_SUCCESS;
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
