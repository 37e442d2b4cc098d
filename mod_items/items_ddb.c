/* SPDX-License-Identifier: Apache-2.0 */
#include "items_ddb.h"
#include "items_ddbtext.h"
#include "items_http.h"
#include "items_json.h"
#include "items_status.h"

#include <apr_atomic.h>
#include <apr_general.h>
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
    if ((key = items_json_number_text(v)) != NULL) {
        *av = items_json_own(p, json_pack("{ss}", "N", key));
        return *av ? APR_SUCCESS : APR_ENOMEM;
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

static void put_str(items_json_buf_t *b, const char *s)
{
    items_json_buf_put(b, s, strlen(s));
}

/* {"<type>":"<text>"}, e.g. {"N":"12.5"} or {"S":"id"} */
static void put_typed(items_json_buf_t *b, const char *type, const char *text, apr_size_t n)
{
    put_str(b, "{\"");
    put_str(b, type);
    put_str(b, "\":");
    items_json_buf_string(b, text, n);
    put_str(b, "}");
}

/* One AttributeValue {"<type>": ...} for v, as text: what marshal() builds, without the tree. */
static apr_status_t marshal_text(items_json_buf_t *b, const json_t *v, int depth)
{
    const char *key, *text;
    char num[32];
    json_t *member;
    size_t i;
    apr_status_t rv;

    if (depth > DDB_MAX_DEPTH) {
        return ITEMS_EINVALID;
    }
    if ((text = items_json_number_text(v)) != NULL) {
        put_typed(b, "N", text, strlen(text));
        return APR_SUCCESS;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        put_str(b, "{\"M\":{");
        i = 0;
        json_object_foreach((json_t *)v, key, member) {
            if (i++) {
                put_str(b, ",");
            }
            items_json_buf_string(b, key, strlen(key));
            put_str(b, ":");
            if ((rv = marshal_text(b, member, depth + 1)) != APR_SUCCESS) {
                return rv;
            }
        }
        put_str(b, "}}");
        return APR_SUCCESS;
    case JSON_ARRAY:
        put_str(b, "{\"L\":[");
        json_array_foreach(v, i, member) {
            if (i) {
                put_str(b, ",");
            }
            if ((rv = marshal_text(b, member, depth + 1)) != APR_SUCCESS) {
                return rv;
            }
        }
        put_str(b, "]}");
        return APR_SUCCESS;
    case JSON_STRING:
        put_typed(b, "S", json_string_value(v), json_string_length(v));
        return APR_SUCCESS;
    case JSON_INTEGER:
    case JSON_REAL:
        if (json_is_integer(v)) {
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        }
        else {
            snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        }
        put_typed(b, "N", num, strlen(num));
        return APR_SUCCESS;
    case JSON_TRUE:
        put_str(b, "{\"BOOL\":true}");
        return APR_SUCCESS;
    case JSON_FALSE:
        put_str(b, "{\"BOOL\":false}");
        return APR_SUCCESS;
    default:
        put_str(b, "{\"NULL\":true}");
        return APR_SUCCESS;
    }
}

apr_status_t items_ddb_marshal_text(const char **text, apr_size_t *len, apr_pool_t *p,
                                    const json_t *value)
{
    items_json_buf_t b;
    apr_status_t rv;

    items_json_buf_init(&b, p, 512);
    if ((rv = marshal_text(&b, value, 1)) != APR_SUCCESS) {
        return rv;
    }
    *text = b.data;
    *len = b.len;
    return APR_SUCCESS;
}

/*
 * DynamoDB sends numbers as text; keep it exact. It is written verbatim into
 * responses, so it must be a JSON number (RFC 8259), or the answer is malformed.
 */
static json_t *number_from_text(const char *s)
{
    return items_json_is_number(s, strlen(s)) ? items_json_number(s) : NULL;
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
        if (!numbers && memchr(json_string_value(m), '\0', json_string_length(m))) {
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
        /* A NUL would be taken for our number tag: such strings cannot be served. */
        if (!json_is_string(v) || memchr(json_string_value(v), '\0', json_string_length(v))) {
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
        if (!json_is_true(v)) { /* DynamoDB's NULL is always {"NULL": true} */
            return ITEMS_EBADGATEWAY;
        }
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
    const char *hash;
    size_t i;

    *aws_type = NULL;
    *message = NULL;
    if (http_status == 200) {
        return APR_SUCCESS;
    }
    if (len && items_json_parse_plain(&doc, p, body, len) == APR_SUCCESS && json_is_object(doc)) {
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
    /*
     * DynamoDB refuses an item over 400 KB with a plain ValidationException:
     * "Item size has exceeded ..." (PutItem), "Item size to update has exceeded
     * ..." (UpdateItem), "Expression size has exceeded ..." (4 KB expressions).
     */
    if (*aws_type && *message && !strcmp(*aws_type, "ValidationException")
        && strstr(*message, "exceeded the maximum allowed size")) {
        return ITEMS_ETOOLARGE;
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


/* --- stored items --------------------------------------------------------------- */

#define ATTR_VERSION "_version"
#define ATTR_REQUEST "_request"

apr_status_t items_ddb_unmarshal_item(json_t **item, items_ddb_meta_t *meta, apr_pool_t *p,
                                      const json_t *attrs)
{
    json_t *out, *id, *value, *v;
    const char *key;
    apr_status_t rv;

    *item = NULL;
    memset(meta, 0, sizeof(*meta));
    if (!json_is_object(attrs)) {
        return ITEMS_EBADGATEWAY;
    }
    out = items_json_own(p, json_object());
    /* "id" leads, as clients print it. */
    if ((id = json_object_get(attrs, "id")) != NULL) {
        if ((rv = items_ddb_unmarshal(&value, p, id)) != APR_SUCCESS) {
            return rv;
        }
        json_object_set(out, "id", value);
    }
    json_object_foreach((json_t *)attrs, key, v) {
        if (key[0] == '_') {
            json_t *s = json_object_get(v, "S");
            if (!strcmp(key, ATTR_VERSION) && json_is_string(s)) {
                meta->version = json_string_value(s);
            }
            else if (!strcmp(key, ATTR_REQUEST) && json_is_string(s)) {
                meta->request = json_string_value(s);
            }
            continue;
        }
        if (!strcmp(key, "id")) {
            continue;
        }
        if ((rv = items_ddb_unmarshal(&value, p, v)) != APR_SUCCESS) {
            return rv;
        }
        json_object_set(out, key, value);
    }
    *item = out;
    return APR_SUCCESS;
}

/* --- conditions ------------------------------------------------------------------ */

/* Expression attribute names and values, numbered as they are added. */
typedef struct expr {
    apr_pool_t *pool;
    json_t *names;
    json_t *values;
} expr_t;

static const char *expr_name(expr_t *x, const char *name)
{
    const char *ph = apr_psprintf(x->pool, "#n%d", (int)json_object_size(x->names));
    json_object_set_new(x->names, ph, json_string(name));
    return ph;
}

static const char *expr_value(expr_t *x, json_t *av)
{
    const char *ph = apr_psprintf(x->pool, ":v%d", (int)json_object_size(x->values));
    json_object_set(x->values, ph, av);
    return ph;
}

static const char *expr_string(expr_t *x, const char *s)
{
    return expr_value(x, items_json_own(x->pool, json_pack("{ss}", "S", s)));
}

/* The ConditionExpression for cond, NULL when there is none. */
static const char *condition(expr_t *x, const items_ddb_cond_t *cond)
{
    const char *expr = NULL, *id = NULL, *in;
    int i;

    if (cond->must_exist || cond->must_not_exist) {
        id = expr_name(x, "id");
        expr = apr_psprintf(x->pool, "attribute_%s(%s)",
                            cond->must_exist ? "exists" : "not_exists", id);
    }
    if (cond->versions && cond->versions->nelts) {
        in = "";
        for (i = 0; i < cond->versions->nelts; i++) {
            in = apr_pstrcat(x->pool, in, i ? ", " : "",
                             expr_string(x, APR_ARRAY_IDX(cond->versions, i, const char *)),
                             NULL);
        }
        in = apr_psprintf(x->pool, "%s IN (%s)", expr_name(x, ATTR_VERSION), in);
        expr = expr ? apr_pstrcat(x->pool, expr, " AND ", in, NULL) : in;
    }
    if (cond->unversioned) {
        in = apr_psprintf(x->pool, "attribute_not_exists(%s)", expr_name(x, ATTR_VERSION));
        expr = expr ? apr_pstrcat(x->pool, expr, " AND ", in, NULL) : in;
    }
    return expr;
}

static apr_status_t add_expressions(json_t *request, expr_t *x, const char *cond_expr)
{
    if (cond_expr) {
        json_object_set_new(request, "ConditionExpression", json_string(cond_expr));
    }
    if (json_object_size(x->names)) {
        json_object_set(request, "ExpressionAttributeNames", x->names);
    }
    if (json_object_size(x->values)) {
        json_object_set(request, "ExpressionAttributeValues", x->values);
    }
    return APR_SUCCESS;
}

static void expr_init(expr_t *x, apr_pool_t *p)
{
    x->pool = p;
    x->names = items_json_own(p, json_object());
    x->values = items_json_own(p, json_object());
}

/* --- calls ------------------------------------------------------------------ */

/*
 * Retries. Backoff is exponential with full jitter; a per-process token budget
 * (as the AWS SDKs keep) stops retries from multiplying load during an outage:
 * a retry costs tokens, a call that succeeds at once gives one back.
 */
#define RETRY_BASE_MS 25
#define RETRY_THROTTLE_BASE_MS 100
#define RETRY_CAP_MS 1000
#define BUDGET_MAX 500
#define BUDGET_RETRY_COST 5
#define BUDGET_TIMEOUT_COST 10
/* An attempt is not worth starting with less time than this before the deadline. */
#define MIN_ATTEMPT_TIME apr_time_from_msec(20)

static items_ddb_stats_t local_stats;
items_ddb_stats_t *items_ddb_stats = &local_stats;
static volatile apr_uint32_t retry_budget = BUDGET_MAX;
/* Server time minus ours, in seconds, learnt from a "signature expired" answer. */
static volatile apr_uint32_t clock_skew_s;

void items_ddb_init(void)
{
    apr_atomic_set32(&retry_budget, BUDGET_MAX);
    apr_atomic_set32(&clock_skew_s, 0);
}

static int budget_take(apr_uint32_t cost)
{
    apr_uint32_t have;

    do {
        have = apr_atomic_read32(&retry_budget);
        if (have < cost) {
            return 0;
        }
    } while (apr_atomic_cas32(&retry_budget, have - cost, have) != have);
    return 1;
}

static void budget_give(void)
{
    apr_uint32_t have;

    do {
        have = apr_atomic_read32(&retry_budget);
        if (have >= BUDGET_MAX) {
            return;
        }
    } while (apr_atomic_cas32(&retry_budget, have + 1, have) != have);
}

static apr_interval_time_t backoff(int attempt, int throttled)
{
    apr_uint32_t r;
    apr_int64_t cap = (throttled ? RETRY_THROTTLE_BASE_MS : RETRY_BASE_MS) * ((apr_int64_t)1 << (attempt < 10 ? attempt : 10));

    if (cap > RETRY_CAP_MS) {
        cap = RETRY_CAP_MS;
    }
    if (apr_generate_random_bytes((unsigned char *)&r, sizeof(r)) != APR_SUCCESS) {
        r = (apr_uint32_t)apr_time_now();
    }
    return apr_time_from_msec(r % (apr_uint32_t)(cap + 1));
}

/* Whether a failed attempt is worth repeating: the service may answer better next time. */
static int retryable(apr_status_t rv, const items_ddb_diag_t *diag)
{
    if (diag->lasting) {
        return 0;
    }
    if (rv == ITEMS_EUNAVAILABLE || rv == ITEMS_ETIMEOUT) {
        return 1;
    }
    /* Transport failures (reset, truncated answer) and 5xx answers; not garbled 200s. */
    return rv == ITEMS_EBADGATEWAY && (diag->transport_error || diag->http_status >= 500);
}

static int is_clock_skew(const items_ddb_diag_t *diag)
{
    return diag->aws_type && diag->message
           && (!strcmp(diag->aws_type, "InvalidSignatureException")
               || !strcmp(diag->aws_type, "RequestTimeTooSkewed"))
           && (strstr(diag->message, "Signature expired") || strstr(diag->message, "skew")
               || strstr(diag->message, "Skew"));
}

/* An answer's body as a JSON object, or ITEMS_EBADGATEWAY. */
static apr_status_t answer_object(json_t **answer, items_ddb_diag_t *diag, apr_pool_t *p,
                                  const char *body, apr_size_t len)
{
    if (items_json_parse_plain(answer, p, body, len) != APR_SUCCESS || !json_is_object(*answer)) {
        diag->message = "response body is not a JSON object";
        *answer = NULL;
        return ITEMS_EBADGATEWAY;
    }
    return APR_SUCCESS;
}

/* One call. The answer as a JSON object, or (raw != NULL) its body as it came. */
static apr_status_t attempt(json_t **answer, const char **raw, apr_size_t *raw_len,
                            items_ddb_diag_t *diag, apr_pool_t *p, items_http_request_t *req,
                            apr_time_t *server_date)
{
    items_http_response_t resp;
    apr_time_t start = apr_time_now();
    apr_status_t rv;

    if (answer) {
        *answer = NULL;
    }
    diag->http_status = 0;
    diag->aws_type = NULL;
    diag->message = NULL;
    diag->calls++;
    apr_atomic_inc32(&items_ddb_stats->calls);
    rv = items_http_post(&resp, p, req);
    diag->elapsed += apr_time_now() - start;
    diag->http_status = resp.status;
    diag->maybe_applied |= resp.resent;
    diag->transport_error = rv != APR_SUCCESS;
    diag->lasting = resp.lasting;
    *server_date = resp.date;
    if (rv != APR_SUCCESS) {
        diag->message = resp.error;
        diag->maybe_applied |= resp.sent;
        return rv;
    }
    rv = items_ddb_status_for(&diag->aws_type, &diag->message, p, resp.status, resp.body,
                              resp.body_len);
    if (rv != APR_SUCCESS) {
        if (resp.status >= 500) {
            diag->maybe_applied = 1;
        }
        return rv;
    }
    if (raw) {
        *raw = resp.body;
        *raw_len = resp.body_len;
        return APR_SUCCESS;
    }
    return answer_object(answer, diag, p, resp.body, resp.body_len);
}

/*
 * One DynamoDB operation, retried as needed: its answer as a JSON object, or
 * (raw != NULL) the answer's body for items_ddbtext.c to read first.
 */
static apr_status_t call_text(json_t **answer, const char **raw, apr_size_t *raw_len,
                              items_ddb_diag_t *diag, apr_pool_t *p, const items_ddb_t *ddb,
                              const char *operation, const char *body, apr_size_t body_len)
{
    const char *headers[3];
    items_http_request_t req;
    apr_time_t now, server_date, start = apr_time_now();
    apr_interval_time_t delay;
    apr_status_t rv;
    int tries, skew_fixed = 0;

    if (answer) {
        *answer = NULL;
    }
    diag->operation = operation;
    diag->http_status = 0;
    diag->aws_type = NULL;
    diag->message = NULL;
    if (!ddb->creds || !ddb->creds->access_key_id) {
        diag->message = "no AWS credentials";
        return ITEMS_ENOCREDS;
    }
    headers[0] = "Content-Type: application/x-amz-json-1.0";
    headers[1] = apr_pstrcat(p, "X-Amz-Target: DynamoDB_20120810.", operation, NULL);
    headers[2] = NULL;

    memset(&req, 0, sizeof(req));
    req.url = ddb->endpoint;
    req.host = ddb->host;
    req.region = ddb->region;
    req.service = "dynamodb";
    req.creds = ddb->creds;
    req.headers = headers;
    req.body = body;
    req.body_len = body_len;
    req.connect_timeout = ddb->connect_timeout;
    req.max_response = DDB_MAX_RESPONSE;
    req.ca_file = ddb->ca_file;

    for (tries = 1;; tries++) {
        now = apr_time_now();
        req.timeout = ddb->timeout;
        if (ddb->deadline) {
            if (ddb->deadline - now < MIN_ATTEMPT_TIME) {
                rv = ITEMS_ETIMEOUT;
                diag->message = "the request's deadline passed before DynamoDB answered";
                break;
            }
            if (ddb->deadline - now < req.timeout) {
                req.timeout = ddb->deadline - now;
            }
        }
        {
            apr_int32_t skew = (apr_int32_t)apr_atomic_read32(&clock_skew_s);
            req.sign_time = skew ? now + apr_time_from_sec(skew) : 0;
        }
        rv = attempt(answer, raw, raw_len, diag, p, &req, &server_date);
        if (rv == APR_SUCCESS) {
            if (tries == 1) {
                budget_give();
            }
            break;
        }
        /* A clock off by minutes: take the time from the server's Date and sign again, once. */
        if (!skew_fixed && server_date && is_clock_skew(diag)) {
            skew_fixed = 1;
            apr_atomic_set32(&clock_skew_s,
                             (apr_uint32_t)(apr_int32_t)apr_time_sec(server_date - apr_time_now()));
            continue;
        }
        if (rv == ITEMS_EUNAVAILABLE && diag->aws_type) {
            apr_atomic_inc32(&items_ddb_stats->throttles);
        }
        if (!retryable(rv, diag) || tries >= ddb->max_attempts) {
            break;
        }
        if (!budget_take(rv == ITEMS_ETIMEOUT ? BUDGET_TIMEOUT_COST : BUDGET_RETRY_COST)) {
            apr_atomic_inc32(&items_ddb_stats->budget_exhausted);
            break;
        }
        delay = backoff(tries, rv == ITEMS_EUNAVAILABLE && diag->aws_type != NULL);
        if (ddb->deadline && apr_time_now() + delay + MIN_ATTEMPT_TIME > ddb->deadline) {
            break;
        }
        apr_sleep(delay);
        diag->retries++;
        apr_atomic_inc32(&items_ddb_stats->retries);
    }
    if (rv != APR_SUCCESS) {
        apr_atomic_inc32(&items_ddb_stats->failures);
    }
    apr_atomic_add32(&items_ddb_stats->time_ms, (apr_uint32_t)apr_time_as_msec(apr_time_now() - start));
    return rv;
}

/* The same, for a request given as a JSON value. */
static apr_status_t call(json_t **answer, const char **raw, apr_size_t *raw_len,
                         items_ddb_diag_t *diag, apr_pool_t *p, const items_ddb_t *ddb,
                         const char *operation, const json_t *request)
{
    const char *body;
    apr_size_t body_len;
    apr_status_t rv;

    if (answer) {
        *answer = NULL;
    }
    if ((rv = items_json_dump(&body, &body_len, p, request)) != APR_SUCCESS) {
        return rv;
    }
    return call_text(answer, raw, raw_len, diag, p, ddb, operation, body, body_len);
}

/* ,"name":{"S":"value"} */
static void put_string_member(items_json_buf_t *b, const char *name, const char *value)
{
    put_str(b, ",");
    items_json_buf_string(b, name, strlen(name));
    put_str(b, ":");
    put_typed(b, "S", value, strlen(value));
}

/*
 * The PutItem request as text: the small part built as JSON and serialized,
 * the item marshalled straight to text (no AttributeValue tree).
 */
static apr_status_t put_request(const char **text, apr_size_t *len, apr_pool_t *p,
                                const items_ddb_t *ddb, const char *id, const json_t *attrs,
                                const items_ddb_meta_t *meta, const items_ddb_cond_t *cond)
{
    json_t *request, *member;
    items_json_buf_t b;
    const char *head, *key;
    apr_size_t head_len;
    expr_t x;
    apr_status_t rv;

    if (!json_is_object(attrs)) {
        return ITEMS_EINVALID;
    }
    request = items_json_own(p, json_pack("{ss ss}", "TableName", ddb->table, "ReturnValues",
                                          "ALL_OLD"));
    if (!request) {
        return APR_ENOMEM;
    }
    expr_init(&x, p);
    add_expressions(request, &x, condition(&x, cond));
    if ((rv = items_json_dump(&head, &head_len, p, request)) != APR_SUCCESS) {
        return rv;
    }
    items_json_buf_init(&b, p, head_len + 1024);
    items_json_buf_put(&b, head, head_len - 1); /* all but its closing brace */
    put_str(&b, ",\"Item\":{\"id\":");
    put_typed(&b, "S", id, strlen(id));
    json_object_foreach((json_t *)attrs, key, member) {
        /* the module's own attributes are written here (they replace any of the same name) */
        if (!strcmp(key, "id") || (meta->version && !strcmp(key, ATTR_VERSION))
            || (meta->request && !strcmp(key, ATTR_REQUEST))) {
            continue;
        }
        put_str(&b, ",");
        items_json_buf_string(&b, key, strlen(key));
        put_str(&b, ":");
        if ((rv = marshal_text(&b, member, 2)) != APR_SUCCESS) {
            return rv;
        }
    }
    if (meta->version) {
        put_string_member(&b, ATTR_VERSION, meta->version);
    }
    if (meta->request) {
        put_string_member(&b, ATTR_REQUEST, meta->request);
    }
    put_str(&b, "}}");
    *text = b.data;
    *len = b.len;
    return APR_SUCCESS;
}

apr_status_t items_ddb_put(int *created, items_ddb_diag_t *diag, apr_pool_t *p,
                           const items_ddb_t *ddb, const char *id, const json_t *attrs,
                           const items_ddb_meta_t *meta, const items_ddb_cond_t *cond)
{
    const char *request, *body;
    apr_size_t request_len, len;
    json_t *answer;
    apr_status_t rv;

    *created = 0;
    if ((rv = put_request(&request, &request_len, p, ddb, id, attrs, meta, cond)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = call_text(NULL, &body, &len, diag, p, ddb, "PutItem", request, request_len))
        != APR_SUCCESS) {
        return rv;
    }
    /* "{}", DynamoDB's usual answer to a create, says it without a parse */
    if (len == 2 && !memcmp(body, "{}", 2)) {
        *created = 1;
        return APR_SUCCESS;
    }
    if ((rv = answer_object(&answer, diag, p, body, len)) != APR_SUCCESS) {
        return rv;
    }
    *created = json_object_get(answer, "Attributes") == NULL;
    return APR_SUCCESS;
}

/* GetItem of id: the answer's body, unread. */
static apr_status_t get_body(const char **body, apr_size_t *len, items_ddb_diag_t *diag,
                             apr_pool_t *p, const items_ddb_t *ddb, const char *id)
{
    json_t *request = items_json_own(p, json_pack("{ss s{s{ss}} sb}", "TableName", ddb->table,
                                                  "Key", "id", "S", id, "ConsistentRead", 1));

    if (!request) {
        return APR_ENOMEM;
    }
    return call(NULL, body, len, diag, p, ddb, "GetItem", request);
}

/* The item of a GetItem answer's body, through jansson. */
static apr_status_t get_item(json_t **item, items_ddb_meta_t *meta, items_ddb_diag_t *diag,
                             apr_pool_t *p, const char *body, apr_size_t len)
{
    json_t *answer, *attrs;
    apr_status_t rv;

    if ((rv = answer_object(&answer, diag, p, body, len)) != APR_SUCCESS) {
        return rv;
    }
    attrs = json_object_get(answer, "Item");
    if (!attrs) {
        return ITEMS_ENOTFOUND;
    }
    if ((rv = items_ddb_unmarshal_item(item, meta, p, attrs)) != APR_SUCCESS) {
        diag->message = "GetItem answered a malformed Item";
    }
    return rv;
}

apr_status_t items_ddb_get(json_t **item, items_ddb_meta_t *meta, items_ddb_diag_t *diag,
                           apr_pool_t *p, const items_ddb_t *ddb, const char *id)
{
    const char *body;
    apr_size_t len;
    apr_status_t rv;

    *item = NULL;
    memset(meta, 0, sizeof(*meta));
    if ((rv = get_body(&body, &len, diag, p, ddb, id)) != APR_SUCCESS) {
        return rv;
    }
    return get_item(item, meta, diag, p, body, len);
}

apr_status_t items_ddb_get_text(const char **text, apr_size_t *text_len, items_ddb_meta_t *meta,
                                items_ddb_diag_t *diag, apr_pool_t *p, const items_ddb_t *ddb,
                                const char *id)
{
    items_ddbtext_answer_t fast;
    const char *body;
    apr_size_t len;
    json_t *item;
    apr_status_t rv;

    *text = NULL;
    memset(meta, 0, sizeof(*meta));
    if ((rv = get_body(&body, &len, diag, p, ddb, id)) != APR_SUCCESS) {
        return rv;
    }
    if (items_ddbtext_items(&fast, p, body, len, 0) == APR_SUCCESS) {
        if (!fast.n_items) {
            return ITEMS_ENOTFOUND;
        }
        *text = fast.items[0].text;
        *text_len = fast.items[0].len;
        meta->version = fast.items[0].version;
        meta->request = fast.items[0].request;
        return APR_SUCCESS;
    }
    if ((rv = get_item(&item, meta, diag, p, body, len)) != APR_SUCCESS) {
        return rv;
    }
    return items_json_dump(text, text_len, p, item);
}

/* DynamoDB's limit on each expression's length. */
#define DDB_MAX_EXPRESSION 4096

/* SET/REMOVE clauses for a merge patch at a document path; nested objects merge. */
static apr_status_t patch_clauses(const char **set, const char **remove, const char **types,
                                  expr_t *x, const char *path, const json_t *patch, int depth)
{
    const char *key, *here;
    json_t *v, *av;
    apr_status_t rv;

    if (depth > DDB_MAX_DEPTH) {
        return ITEMS_ETOOLARGE;
    }
    json_object_foreach((json_t *)patch, key, v) {
        here = path ? apr_pstrcat(x->pool, path, ".", expr_name(x, key), NULL)
                    : expr_name(x, key);
        if (json_is_null(v)) {
            *remove = *remove ? apr_pstrcat(x->pool, *remove, ", ", here, NULL) : here;
        }
        else if (json_is_object(v) && json_object_size(v) > 0) {
            /* Merge into the map that must be there; else the caller merges itself. */
            const char *is_map = apr_psprintf(x->pool, "attribute_type(%s, %s)", here,
                                              expr_string(x, "M"));
            *types = *types ? apr_pstrcat(x->pool, *types, " AND ", is_map, NULL) : is_map;
            if ((rv = patch_clauses(set, remove, types, x, here, v, depth + 1)) != APR_SUCCESS) {
                return rv;
            }
        }
        else {
            if ((rv = items_ddb_marshal(&av, x->pool, v)) != APR_SUCCESS) {
                return rv;
            }
            here = apr_pstrcat(x->pool, here, " = ", expr_value(x, av), NULL);
            *set = *set ? apr_pstrcat(x->pool, *set, ", ", here, NULL) : here;
        }
    }
    return APR_SUCCESS;
}

apr_status_t items_ddb_update_request(json_t **request, apr_pool_t *p, const char *table,
                                      const char *id, const json_t *patch,
                                      const char *new_version, const items_ddb_cond_t *cond)
{
    const char *set = NULL, *remove = NULL, *types = NULL, *update, *cond_expr;
    items_ddb_cond_t exists = *cond;
    expr_t x;
    apr_status_t rv;

    *request = NULL;
    expr_init(&x, p);
    exists.must_exist = 1;
    exists.must_not_exist = 0;
    cond_expr = condition(&x, &exists);
    if ((rv = patch_clauses(&set, &remove, &types, &x, NULL, patch, 1)) != APR_SUCCESS) {
        return rv;
    }
    update = apr_psprintf(p, "SET %s = %s%s%s", expr_name(&x, ATTR_VERSION),
                          expr_string(&x, new_version), set ? ", " : "", set ? set : "");
    if (remove) {
        update = apr_pstrcat(p, update, " REMOVE ", remove, NULL);
    }
    if (types) {
        cond_expr = apr_pstrcat(p, cond_expr, " AND ", types, NULL);
    }
    if (strlen(update) > DDB_MAX_EXPRESSION || strlen(cond_expr) > DDB_MAX_EXPRESSION) {
        return ITEMS_ETOOLARGE;
    }
    *request = items_json_own(p, json_pack("{ss s{s{ss}} ss ss}", "TableName", table, "Key",
                                           "id", "S", id, "UpdateExpression", update,
                                           "ReturnValues", "ALL_NEW"));
    if (!*request) {
        return APR_ENOMEM;
    }
    return add_expressions(*request, &x, cond_expr);
}

apr_status_t items_ddb_update(json_t **item, items_ddb_meta_t *meta, items_ddb_diag_t *diag,
                              apr_pool_t *p, const items_ddb_t *ddb, const char *id,
                              const json_t *patch, const char *new_version,
                              const items_ddb_cond_t *cond)
{
    json_t *request, *answer;
    apr_status_t rv;

    *item = NULL;
    memset(meta, 0, sizeof(*meta));
    rv = items_ddb_update_request(&request, p, ddb->table, id, patch, new_version, cond);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((rv = call(&answer, NULL, NULL, diag, p, ddb, "UpdateItem", request)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = items_ddb_unmarshal_item(item, meta, p, json_object_get(answer, "Attributes")))
        != APR_SUCCESS) {
        diag->message = "UpdateItem answered no or malformed Attributes";
    }
    return rv;
}

apr_status_t items_ddb_describe(const char **status, items_ddb_diag_t *diag, apr_pool_t *p,
                                const items_ddb_t *ddb)
{
    json_t *request, *answer, *st;
    apr_status_t rv;

    *status = NULL;
    request = items_json_own(p, json_pack("{ss}", "TableName", ddb->table));
    if (!request) {
        return APR_ENOMEM;
    }
    if ((rv = call(&answer, NULL, NULL, diag, p, ddb, "DescribeTable", request)) != APR_SUCCESS) {
        return rv;
    }
    st = json_object_get(json_object_get(answer, "Table"), "TableStatus");
    if (!json_is_string(st)) {
        diag->message = "DescribeTable answered no TableStatus";
        return ITEMS_EBADGATEWAY;
    }
    *status = json_string_value(st);
    /* UPDATING tables serve reads and writes too. */
    return strcmp(*status, "ACTIVE") && strcmp(*status, "UPDATING") ? ITEMS_EUNAVAILABLE
                                                                   : APR_SUCCESS;
}

apr_status_t items_ddb_delete(items_ddb_diag_t *diag, apr_pool_t *p, const items_ddb_t *ddb,
                              const char *id, const items_ddb_cond_t *cond)
{
    items_ddb_cond_t exists = *cond;
    json_t *request, *answer;
    expr_t x;

    exists.must_exist = 1;
    exists.must_not_exist = 0;
    request = items_json_own(p, json_pack("{ss s{s{ss}}}", "TableName", ddb->table, "Key", "id",
                                          "S", id));
    if (!request) {
        return APR_ENOMEM;
    }
    expr_init(&x, p);
    add_expressions(request, &x, condition(&x, &exists));
    return call(&answer, NULL, NULL, diag, p, ddb, "DeleteItem", request);
}

/*
 * A first Scan page read by items_ddbtext.c: the list's text and the next
 * page's id, when that page completes the list (more items than asked, or the
 * table's end). APR_ENOTIMPL otherwise: the jansson path takes over.
 */
static apr_status_t scan_text(const char **text, apr_size_t *text_len, const char **next_id,
                              apr_pool_t *p, const char *body, apr_size_t len, int limit)
{
    items_ddbtext_answer_t fast;
    apr_size_t total = 2;
    int n, i;
    char *out;

    if (limit < 1 || items_ddbtext_items(&fast, p, body, len, 1) != APR_SUCCESS
        || fast.n_items > limit + 1 || (fast.n_items <= limit && fast.has_more)) {
        return APR_ENOTIMPL;
    }
    n = fast.n_items > limit ? limit : fast.n_items;
    if (fast.n_items > limit && !(*next_id = fast.items[limit - 1].id)) {
        return APR_ENOTIMPL;
    }
    for (i = 0; i < n; i++) {
        total += fast.items[i].len + 1;
    }
    out = apr_palloc(p, total + 1);
    *text = out;
    *out++ = '[';
    for (i = 0; i < n; i++) {
        if (i) {
            *out++ = ',';
        }
        memcpy(out, fast.items[i].text, fast.items[i].len);
        out += fast.items[i].len;
    }
    *out++ = ']';
    *out = '\0';
    *text_len = (apr_size_t)(out - *text);
    return APR_SUCCESS;
}

apr_status_t items_ddb_scan(const char **text, apr_size_t *text_len, const char **next_id,
                            items_ddb_diag_t *diag, apr_pool_t *p, const items_ddb_t *ddb,
                            int limit, const char *start_id)
{
    json_t *list = items_json_own(p, json_array());
    json_t *start_key = NULL, *request, *answer, *page, *attrs, *item, *key_id;
    items_ddb_meta_t meta;
    const char *body;
    apr_size_t len;
    apr_status_t rv;
    size_t i;
    int pages;

    *text = NULL;
    *next_id = NULL;
    if (start_id) {
        start_key = items_json_own(p, json_pack("{s{ss}}", "id", "S", start_id));
    }
    /*
     * Read one item more than asked: only then do we know that more remain,
     * and a "next" link never leads to an empty page. Scan's Limit caps the
     * items read per page, and a page also stops at 1 MB: follow pages.
     */
    for (pages = 0; (int)json_array_size(list) <= limit; pages++) {
        if (pages == DDB_MAX_SCAN_PAGES) {
            diag->message = "Scan did not finish within the page bound";
            return ITEMS_EBADGATEWAY;
        }
        request = items_json_own(p, json_pack("{ss si sb}", "TableName", ddb->table, "Limit",
                                              limit + 1 - (int)json_array_size(list),
                                              "ConsistentRead", 1));
        if (!request) {
            return APR_ENOMEM;
        }
        if (start_key) {
            json_object_set(request, "ExclusiveStartKey", start_key);
        }
        if ((rv = call(NULL, &body, &len, diag, p, ddb, "Scan", request)) != APR_SUCCESS) {
            return rv;
        }
        if (pages == 0 && scan_text(text, text_len, next_id, p, body, len, limit) == APR_SUCCESS) {
            return APR_SUCCESS;
        }
        *next_id = NULL;
        if ((rv = answer_object(&answer, diag, p, body, len)) != APR_SUCCESS) {
            return rv;
        }
        page = json_object_get(answer, "Items");
        if (!json_is_array(page) || (int)json_array_size(page) > limit + 1) {
            diag->message = "Scan answered no Items array or more than asked";
            return ITEMS_EBADGATEWAY;
        }
        json_array_foreach(page, i, attrs) {
            if ((rv = items_ddb_unmarshal_item(&item, &meta, p, attrs)) != APR_SUCCESS) {
                diag->message = "Scan answered a malformed item";
                return rv;
            }
            json_array_append(list, item);
        }
        start_key = json_object_get(answer, "LastEvaluatedKey");
        if (!start_key) {
            break;
        }
    }
    if ((int)json_array_size(list) > limit) {
        while ((int)json_array_size(list) > limit) {
            json_array_remove(list, json_array_size(list) - 1);
        }
        key_id = json_object_get(json_array_get(list, (size_t)limit - 1), "id");
        if (!json_is_string(key_id)) {
            diag->message = "Scan answered an item without a string id";
            return ITEMS_EBADGATEWAY;
        }
        *next_id = json_string_value(key_id);
    }
    return items_json_dump(text, text_len, p, list);
}
