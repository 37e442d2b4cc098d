/* SPDX-License-Identifier: Apache-2.0 */
#include "items_ddb.h"
#include "items_http.h"
#include "items_json.h"
#include "items_status.h"

#include <apr_strings.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define DDB_MAX_DEPTH 32
#define DDB_MAX_RESPONSE (16 * 1024 * 1024)
#define DDB_MAX_SCAN_PAGES 64 /* a backend that never ends a scan must not hold us */

/* --- AttributeValue marshalling ------------------------------------------ */

static apr_status_t marshal(json_t **av, apr_pool_t *p, const json_t *v, int depth)
{
    json_t *inner = NULL, *member, *out;
    const char *key;
    char num[32];
    size_t i;
    apr_status_t rv;

    if (depth > DDB_MAX_DEPTH) {
        return ITEMS_EINVALID;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        inner = items_json_own(p, json_object());
        json_object_foreach((json_t *)v, key, member) {
            if ((rv = marshal(&out, p, member, depth + 1)) != APR_SUCCESS) {
                return rv;
            }
            json_object_set(inner, key, out);
        }
        *av = items_json_own(p, json_pack("{sO}", "M", inner));
        break;
    case JSON_ARRAY:
        inner = items_json_own(p, json_array());
        json_array_foreach(v, i, member) {
            if ((rv = marshal(&out, p, member, depth + 1)) != APR_SUCCESS) {
                return rv;
            }
            json_array_append(inner, out);
        }
        *av = items_json_own(p, json_pack("{sO}", "L", inner));
        break;
    case JSON_STRING:
        *av = items_json_own(p, json_pack("{sO}", "S", v));
        break;
    case JSON_INTEGER:
        /* The C library's printf: APR's formatter knows neither "%lld" nor exact "%.17g". */
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *av = items_json_own(p, json_pack("{ss}", "N", num));
        break;
    case JSON_REAL:
        snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        *av = items_json_own(p, json_pack("{ss}", "N", num));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        *av = items_json_own(p, json_pack("{sb}", "BOOL", json_is_true(v)));
        break;
    case JSON_NULL:
    default:
        *av = items_json_own(p, json_pack("{sb}", "NULL", 1));
        break;
    }
    return *av ? APR_SUCCESS : APR_ENOMEM;
}

apr_status_t items_ddb_marshal(json_t **av, apr_pool_t *p, const json_t *value)
{
    *av = NULL;
    return marshal(av, p, value, 1);
}

/* DynamoDB numbers as JSON numbers: integers exactly when they fit, else doubles. */
static json_t *number_from_text(const char *s)
{
    const char *d = (*s == '-') ? s + 1 : s;
    char *end;

    if (*d && strspn(d, "0123456789") == strlen(d) && strlen(d) < 19) {
        return json_integer((json_int_t)strtoll(s, &end, 10));
    }
    errno = 0;
    {
        double x = strtod(s, &end);
        if (end == s || *end || errno == ERANGE) {
            return NULL;
        }
        return json_real(x);
    }
}

static apr_status_t unmarshal(json_t **value, apr_pool_t *p, const json_t *av, int depth);

static apr_status_t unmarshal_set(json_t **value, apr_pool_t *p, const json_t *set, int numbers)
{
    json_t *arr = items_json_own(p, json_array()), *m, *v;
    size_t i;

    if (!json_is_array(set)) {
        return ITEMS_EBADGATEWAY;
    }
    json_array_foreach(set, i, m) {
        if (!json_is_string(m)) {
            return ITEMS_EBADGATEWAY;
        }
        v = numbers ? number_from_text(json_string_value(m)) : json_incref(m);
        if (!v) {
            return ITEMS_EBADGATEWAY;
        }
        json_array_append_new(arr, v);
    }
    *value = arr;
    return APR_SUCCESS;
}

static apr_status_t unmarshal(json_t **value, apr_pool_t *p, const json_t *av, int depth)
{
    const char *type = NULL;
    json_t *v = NULL, *member, *out, *container;
    const char *key;
    size_t i;
    apr_status_t rv;

    if (depth > DDB_MAX_DEPTH || !json_is_object(av) || json_object_size(av) != 1) {
        return ITEMS_EBADGATEWAY;
    }
    json_object_foreach((json_t *)av, type, v) {
        break;
    }
    if (!strcmp(type, "S") || !strcmp(type, "B")) {
        if (!json_is_string(v)) {
            return ITEMS_EBADGATEWAY;
        }
        *value = v;
    }
    else if (!strcmp(type, "N")) {
        if (!json_is_string(v) || !(out = number_from_text(json_string_value(v)))) {
            return ITEMS_EBADGATEWAY;
        }
        *value = items_json_own(p, out);
    }
    else if (!strcmp(type, "BOOL")) {
        if (!json_is_boolean(v)) {
            return ITEMS_EBADGATEWAY;
        }
        *value = v;
    }
    else if (!strcmp(type, "NULL")) {
        *value = json_null();
    }
    else if (!strcmp(type, "M")) {
        if (!json_is_object(v)) {
            return ITEMS_EBADGATEWAY;
        }
        container = items_json_own(p, json_object());
        json_object_foreach(v, key, member) {
            if ((rv = unmarshal(&out, p, member, depth + 1)) != APR_SUCCESS) {
                return rv;
            }
            json_object_set(container, key, out);
        }
        *value = container;
    }
    else if (!strcmp(type, "L")) {
        if (!json_is_array(v)) {
            return ITEMS_EBADGATEWAY;
        }
        container = items_json_own(p, json_array());
        json_array_foreach(v, i, member) {
            if ((rv = unmarshal(&out, p, member, depth + 1)) != APR_SUCCESS) {
                return rv;
            }
            json_array_append(container, out);
        }
        *value = container;
    }
    else if (!strcmp(type, "SS") || !strcmp(type, "BS")) {
        return unmarshal_set(value, p, v, 0);
    }
    else if (!strcmp(type, "NS")) {
        return unmarshal_set(value, p, v, 1);
    }
    else {
        return ITEMS_EBADGATEWAY;
    }
    return APR_SUCCESS;
}

apr_status_t items_ddb_unmarshal(json_t **value, apr_pool_t *p, const json_t *av)
{
    *value = NULL;
    return unmarshal(value, p, av, 1);
}

/* An item (a top-level M's members) as a JSON object, its id first. */
static apr_status_t unmarshal_item(json_t **item, apr_pool_t *p, json_t *attrs)
{
    json_t *wrapped, *plain, *ordered, *id;
    apr_status_t rv;

    if (!json_is_object(attrs)) {
        return ITEMS_EBADGATEWAY;
    }
    wrapped = items_json_own(p, json_pack("{sO}", "M", attrs));
    if ((rv = items_ddb_unmarshal(&plain, p, wrapped)) != APR_SUCCESS) {
        return rv;
    }
    id = json_object_get(plain, "id");
    if (!id) {
        *item = plain;
        return APR_SUCCESS;
    }
    ordered = items_json_own(p, json_pack("{sO}", "id", id));
    if (!ordered || json_object_update(ordered, plain)) {
        return APR_ENOMEM;
    }
    *item = ordered;
    return APR_SUCCESS;
}

/* --- answers ---------------------------------------------------------------- */

static const struct {
    const char *type;
    apr_status_t status;
} error_types[] = {
    { "ConditionalCheckFailedException", ITEMS_ECONFLICT },
    { "TransactionConflictException", ITEMS_ECONFLICT },
    { "ProvisionedThroughputExceededException", ITEMS_EUNAVAILABLE },
    { "ThrottlingException", ITEMS_EUNAVAILABLE },
    { "RequestLimitExceeded", ITEMS_EUNAVAILABLE },
    { "LimitExceededException", ITEMS_EUNAVAILABLE },
    { "ServiceUnavailable", ITEMS_EUNAVAILABLE },
    { "ResourceNotFoundException", ITEMS_EBACKENDCONFIG },
    { "AccessDeniedException", ITEMS_EBACKENDCONFIG },
    { "UnrecognizedClientException", ITEMS_EBACKENDCONFIG },
    { "InvalidSignatureException", ITEMS_EBACKENDCONFIG },
    { "MissingAuthenticationTokenException", ITEMS_EBACKENDCONFIG },
    { "IncompleteSignatureException", ITEMS_EBACKENDCONFIG },
    { "ExpiredTokenException", ITEMS_EBACKENDCONFIG },
    { "InvalidClientTokenId", ITEMS_EBACKENDCONFIG },
};

apr_status_t items_ddb_status_for(const char **aws_type, const char **message, apr_pool_t *p,
                                  long http_status, const char *body, apr_size_t len)
{
    json_t *doc = NULL, *t, *m;
    const char *err, *hash;
    size_t i;

    *aws_type = NULL;
    *message = NULL;
    if (http_status == 200) {
        return APR_SUCCESS;
    }
    if (len && items_json_parse(&doc, &err, p, body, len) == APR_SUCCESS && json_is_object(doc)) {
        t = json_object_get(doc, "__type");
        m = json_object_get(doc, "message");
        if (!m) {
            m = json_object_get(doc, "Message");
        }
        if (json_is_string(t)) {
            hash = strrchr(json_string_value(t), '#');
            *aws_type = hash ? hash + 1 : json_string_value(t);
        }
        if (json_is_string(m)) {
            *message = json_string_value(m);
        }
    }
    if (*aws_type) {
        for (i = 0; i < sizeof(error_types) / sizeof(error_types[0]); i++) {
            if (!strcmp(*aws_type, error_types[i].type)) {
                return error_types[i].status;
            }
        }
    }
    if (http_status == 503 || http_status == 429) {
        return ITEMS_EUNAVAILABLE;
    }
    if (http_status == 401 || http_status == 403) {
        return ITEMS_EBACKENDCONFIG;
    }
    return ITEMS_EBADGATEWAY;
}

/* --- calls ------------------------------------------------------------------ */

static apr_status_t call(json_t **answer, items_ddb_diag_t *diag, apr_pool_t *p,
                         const items_ddb_t *ddb, const char *operation, const json_t *request)
{
    const char *headers[3], *body, *err;
    apr_size_t body_len;
    items_http_request_t req;
    items_http_response_t resp;
    apr_time_t start = apr_time_now();
    apr_status_t rv;

    *answer = NULL;
    memset(diag, 0, sizeof(*diag));
    diag->operation = operation;
    if (!ddb->creds || !ddb->creds->access_key_id) {
        diag->message = "no AWS credentials";
        return ITEMS_ENOCREDS;
    }
    if ((rv = items_json_dump(&body, &body_len, p, request)) != APR_SUCCESS) {
        return rv;
    }
    headers[0] = "Content-Type: application/x-amz-json-1.0";
    headers[1] = apr_pstrcat(p, "X-Amz-Target: DynamoDB_20120810.", operation, NULL);
    headers[2] = NULL;

    memset(&req, 0, sizeof(req));
    req.url = ddb->endpoint;
    req.region = ddb->region;
    req.service = "dynamodb";
    req.creds = ddb->creds;
    req.headers = headers;
    req.body = body;
    req.body_len = body_len;
    req.connect_timeout = ddb->connect_timeout;
    req.timeout = ddb->timeout;
    req.max_response = DDB_MAX_RESPONSE;

    rv = items_http_post(&resp, p, &req);
    diag->elapsed = apr_time_now() - start;
    diag->http_status = resp.status;
    if (rv != APR_SUCCESS) {
        diag->message = resp.error;
        return rv;
    }
    rv = items_ddb_status_for(&diag->aws_type, &diag->message, p, resp.status, resp.body,
                              resp.body_len);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (items_json_parse(answer, &err, p, resp.body, resp.body_len) != APR_SUCCESS
        || !json_is_object(*answer)) {
        diag->message = "response body is not a JSON object";
        *answer = NULL;
        return ITEMS_EBADGATEWAY;
    }
    return APR_SUCCESS;
}

apr_status_t items_ddb_put_new(items_ddb_diag_t *diag, apr_pool_t *p, const items_ddb_t *ddb,
                               const json_t *item)
{
    json_t *av, *request, *answer;
    apr_status_t rv;

    if ((rv = items_ddb_marshal(&av, p, item)) != APR_SUCCESS) {
        memset(diag, 0, sizeof(*diag));
        return rv;
    }
    /* attribute_not_exists: a re-sent create can never overwrite another item. */
    request = items_json_own(p, json_pack("{ss sO ss}", "TableName", ddb->table, "Item",
                                          json_object_get(av, "M"), "ConditionExpression",
                                          "attribute_not_exists(id)"));
    if (!request) {
        return APR_ENOMEM;
    }
    return call(&answer, diag, p, ddb, "PutItem", request);
}

apr_status_t items_ddb_get(json_t **item, items_ddb_diag_t *diag, apr_pool_t *p,
                           const items_ddb_t *ddb, const char *id)
{
    json_t *request, *answer, *attrs;
    apr_status_t rv;

    *item = NULL;
    request = items_json_own(p, json_pack("{ss s{s{ss}} sb}", "TableName", ddb->table, "Key",
                                          "id", "S", id, "ConsistentRead", 1));
    if (!request) {
        return APR_ENOMEM;
    }
    if ((rv = call(&answer, diag, p, ddb, "GetItem", request)) != APR_SUCCESS) {
        return rv;
    }
    attrs = json_object_get(answer, "Item");
    if (!attrs) {
        return ITEMS_ENOTFOUND;
    }
    if ((rv = unmarshal_item(item, p, attrs)) != APR_SUCCESS) {
        diag->message = "GetItem answered a malformed Item";
    }
    return rv;
}

apr_status_t items_ddb_scan(json_t **items, items_ddb_diag_t *diag, apr_pool_t *p,
                            const items_ddb_t *ddb, int limit)
{
    json_t *list = items_json_own(p, json_array());
    json_t *start_key = NULL, *request, *answer, *page, *attrs, *item;
    apr_status_t rv;
    size_t i;
    int pages;

    *items = NULL;
    memset(diag, 0, sizeof(*diag));
    /* Scan's Limit caps items read per page, and a page also stops at 1 MB. */
    for (pages = 0; (int)json_array_size(list) < limit; pages++) {
        if (pages == DDB_MAX_SCAN_PAGES) {
            diag->message = "Scan did not finish within the page bound";
            return ITEMS_EBADGATEWAY;
        }
        request = items_json_own(p, json_pack("{ss si sb}", "TableName", ddb->table, "Limit",
                                              limit - (int)json_array_size(list),
                                              "ConsistentRead", 1));
        if (!request) {
            return APR_ENOMEM;
        }
        if (start_key) {
            json_object_set(request, "ExclusiveStartKey", start_key);
        }
        if ((rv = call(&answer, diag, p, ddb, "Scan", request)) != APR_SUCCESS) {
            return rv;
        }
        page = json_object_get(answer, "Items");
        if (!json_is_array(page)) {
            diag->message = "Scan answered no Items array";
            return ITEMS_EBADGATEWAY;
        }
        json_array_foreach(page, i, attrs) {
            if ((rv = unmarshal_item(&item, p, attrs)) != APR_SUCCESS) {
                diag->message = "Scan answered a malformed item";
                return rv;
            }
            if ((int)json_array_size(list) < limit) {
                json_array_append(list, item);
            }
        }
        start_key = json_object_get(answer, "LastEvaluatedKey");
        if (!start_key) {
            break;
        }
    }
    *items = list;
    return APR_SUCCESS;
}
