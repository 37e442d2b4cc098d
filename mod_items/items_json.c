/* SPDX-License-Identifier: Apache-2.0 */
#include "items_json.h"
#include "items_status.h"

#include <apr_strings.h>

static apr_status_t json_release(void *value)
{
    json_decref(value);
    return APR_SUCCESS;
}

json_t *items_json_own(apr_pool_t *p, json_t *value)
{
    if (value) {
        apr_pool_cleanup_register(p, value, json_release, apr_pool_cleanup_null);
    }
    return value;
}

static int depth_exceeds(const json_t *value, int depth)
{
    const char *key;
    json_t *member;
    size_t i;

    if (depth > ITEMS_JSON_MAX_DEPTH) {
        return 1;
    }
    if (json_is_object(value)) {
        json_object_foreach((json_t *)value, key, member) {
            if (depth_exceeds(member, depth + 1)) {
                return 1;
            }
        }
    }
    else if (json_is_array(value)) {
        json_array_foreach(value, i, member) {
            if (depth_exceeds(member, depth + 1)) {
                return 1;
            }
        }
    }
    return 0;
}

apr_status_t items_json_parse(json_t **value, const char **error, apr_pool_t *p,
                              const char *buf, apr_size_t len)
{
    json_error_t jerr;
    json_t *parsed;

    *value = NULL;
    *error = NULL;
    if (len == 0) {
        *error = "the request body is empty";
        return ITEMS_EBADREQUEST;
    }
    /* jansson's own depth limit is far above DynamoDB's; check ours after. */
    parsed = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!parsed) {
        *error = apr_psprintf(p, "malformed JSON at line %d, column %d: %s", jerr.line,
                              jerr.column, jerr.text);
        return ITEMS_EBADREQUEST;
    }
    items_json_own(p, parsed);
    if (depth_exceeds(parsed, 1)) {
        *error = apr_psprintf(p, "JSON nested deeper than %d levels", ITEMS_JSON_MAX_DEPTH);
        return ITEMS_EBADREQUEST;
    }
    *value = parsed;
    return APR_SUCCESS;
}

apr_status_t items_json_dump(const char **text, apr_size_t *len, apr_pool_t *p,
                             const json_t *value)
{
    const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
    size_t need = json_dumpb(value, NULL, 0, flags);
    char *buf;

    if (need == 0) {
        return APR_EGENERAL;
    }
    buf = apr_palloc(p, need + 1);
    json_dumpb(value, buf, need, flags);
    buf[need] = '\0';
    *text = buf;
    *len = need;
    return APR_SUCCESS;
}
