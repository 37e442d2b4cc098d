/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "items" handler: route method x path, read the body under a cap, check
 * preconditions, call the core, answer JSON, or problem+json (RFC 9457)
 * mapped from apr_status_t in one table.
 */
#include "mod_items_private.h"
#include "items_cursor.h"
#include "items_ddb.h"
#include "items_item.h"
#include "items_json.h"
#include "items_route.h"
#include "items_status.h"

#include <apr_strings.h>
#include <http_protocol.h>
#include <http_request.h>

#define ALLOW_COLLECTION "GET, HEAD, POST, OPTIONS"
#define ALLOW_ITEM "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"
#define MERGE_PATCH_TYPE "application/merge-patch+json"
/* Attempts at a PATCH that must merge in memory while others write the item. */
#define PATCH_ATTEMPTS 3

static const struct {
    apr_status_t status;
    int http;
    const char *detail; /* when the caller has nothing more precise */
} status_map[] = {
    { ITEMS_EBADREQUEST, HTTP_BAD_REQUEST, "the request is malformed" },
    { ITEMS_EINVALID, HTTP_UNPROCESSABLE_ENTITY, "the item is not valid" },
    { ITEMS_ENOTFOUND, HTTP_NOT_FOUND, "no item has this id" },
    { ITEMS_ECONFLICT, HTTP_CONFLICT, "the item was changed by another request; retry" },
    { ITEMS_ETOOLARGE, HTTP_REQUEST_ENTITY_TOO_LARGE, "the item is too large" },
    { ITEMS_EBADGATEWAY, HTTP_BAD_GATEWAY, "DynamoDB answered with an error or garbage" },
    { ITEMS_EUNAVAILABLE, HTTP_SERVICE_UNAVAILABLE,
      "DynamoDB is unreachable or throttling; try again later" },
    { ITEMS_ETIMEOUT, HTTP_GATEWAY_TIME_OUT, "DynamoDB did not answer in time" },
    { ITEMS_ENOCREDS, HTTP_INTERNAL_SERVER_ERROR,
      "the server has no AWS credentials configured" },
    { ITEMS_EBACKENDCONFIG, HTTP_BAD_GATEWAY,
      "DynamoDB refused the server's request (table or credentials); the server log says why" },
};

/* Everything one request needs, set up once by the handler. */
typedef struct items_req {
    request_rec *r;
    const items_dir_conf_t *conf;
    items_ddb_t ddb;
    items_ddb_diag_t diag;
    const char *collection; /* the collection's path as requested, without a trailing '/' */
} items_req_t;

static int http_status_for(apr_status_t rv, const char **detail)
{
    size_t i;

    for (i = 0; i < sizeof(status_map) / sizeof(status_map[0]); i++) {
        if (status_map[i].status == rv) {
            *detail = status_map[i].detail;
            return status_map[i].http;
        }
    }
    *detail = "internal error";
    return HTTP_INTERNAL_SERVER_ERROR;
}

static int send_text(request_rec *r, int status, const char *content_type, const char *text,
                     apr_size_t len)
{
    r->status = status;
    ap_set_content_type(r, content_type);
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only) {
        ap_rwrite(text, (int)len, r);
    }
    return OK;
}

static int send_json(request_rec *r, int status, const char *content_type, const json_t *body)
{
    const char *text;
    apr_size_t len;

    if (items_json_dump(&text, &len, r->pool, body) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return send_text(r, status, content_type, text, len);
}

static int send_empty(request_rec *r, int status)
{
    r->status = status;
    return OK;
}

/* A problem+json answer. detail is always valid UTF-8 (client bytes are never echoed raw). */
static int send_problem(request_rec *r, int status, const char *detail)
{
    json_t *body, *d = json_string(detail);

    if (!d) {
        d = json_string("the request is malformed");
    }
    body = items_json_own(r->pool, json_pack("{ss ss si so}", "type", "about:blank", "title",
                                             ap_get_status_line(status) + 4, "status", status,
                                             "detail", d));
    if (!body) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (status == HTTP_SERVICE_UNAVAILABLE) {
        apr_table_setn(r->headers_out, "Retry-After", "1");
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "ITEMS0101: %d for %s %s: %s", status,
                  r->method, r->uri, detail);
    return send_json(r, status, "application/problem+json", body);
}

static int send_error(request_rec *r, apr_status_t rv, const char *detail)
{
    const char *fallback;
    int status = http_status_for(rv, &fallback);

    return send_problem(r, status, detail ? detail : fallback);
}

/* A failed DynamoDB call: the client gets a safe detail, the log gets the facts. */
static int send_backend_error(items_req_t *q, apr_status_t rv)
{
    const items_ddb_diag_t *diag = &q->diag;
    const char *fallback;
    int status = http_status_for(rv, &fallback);

    if (status >= 500) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                      "ITEMS0201: DynamoDB %s failed after %" APR_TIME_T_FMT " ms: HTTP %ld%s%s: %s",
                      diag->operation ? diag->operation : "call", apr_time_as_msec(diag->elapsed),
                      diag->http_status, diag->aws_type ? " " : "",
                      diag->aws_type ? diag->aws_type : "",
                      rv == ITEMS_ENOCREDS && apr_table_get(q->r->notes, "items-creds-why")
                          ? apr_table_get(q->r->notes, "items-creds-why")
                          : diag->message ? diag->message : "no detail");
    }
    return send_error(q->r, rv, NULL);
}

static void set_etag(request_rec *r, const items_ddb_meta_t *meta)
{
    if (meta->version) {
        apr_table_setn(r->headers_out, "ETag", apr_pstrcat(r->pool, "\"", meta->version, "\"", NULL));
    }
}

/* id first, then the attributes. */
static json_t *item_with_id(apr_pool_t *p, const char *id, const json_t *attrs)
{
    json_t *item = items_json_own(p, json_pack("{ss}", "id", id));

    if (item && json_object_update(item, (json_t *)attrs) == 0) {
        return item;
    }
    return NULL;
}

void items_ddb_target(items_ddb_t *ddb, request_rec *r, const items_dir_conf_t *c)
{
    ddb->table = c->table ? c->table : items_env.table;
    ddb->region = c->region ? c->region : items_env.region;
    if (c->endpoint) {
        ddb->endpoint = c->endpoint;
        ddb->host = c->endpoint_host;
    }
    else if (items_env.endpoint) {
        ddb->endpoint = items_env.endpoint;
        ddb->host = items_env.endpoint_host;
    }
    else if (!c->region || !strcmp(c->region, items_env.region)) {
        ddb->endpoint = items_env.region_endpoint;
        ddb->host = items_env.region_endpoint_host;
    }
    else {
        ddb->endpoint = apr_pstrcat(r->pool, "https://dynamodb.", ddb->region, ".amazonaws.com",
                                    NULL);
        ddb->host = NULL; /* derived per call */
    }
    {
        /* This request's own copy of the process's credentials (refreshed ahead of expiry). */
        items_creds_t *creds = apr_pcalloc(r->pool, sizeof(*creds));
        const char *why = NULL;

        if (items_creds_get(creds, &why, r->pool) == APR_SUCCESS) {
            ddb->creds = creds;
            if (why) { /* this request tried a refresh, which failed; these are still valid */
                ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ITEMS0203: %s", why);
            }
        }
        else {
            ddb->creds = NULL; /* the DynamoDB call fails with ITEMS_ENOCREDS (500) */
            apr_table_setn(r->notes, "items-creds-why", why);
        }
    }
    ddb->connect_timeout =
        c->connect_timeout >= 0 ? c->connect_timeout : ITEMS_DEFAULT_CONNECT_TIMEOUT;
    ddb->timeout = c->timeout >= 0 ? c->timeout : ITEMS_DEFAULT_TIMEOUT;
    ddb->deadline = r->request_time + (c->deadline >= 0 ? c->deadline : ITEMS_DEFAULT_DEADLINE);
    ddb->max_attempts = 1 + (c->retries >= 0 ? c->retries : ITEMS_DEFAULT_RETRIES);
    ddb->ca_file = c->ca_file;
}

/* The media type without parameters, compared case-insensitively. */
static int media_type_is(const char *ct, const char *type)
{
    apr_size_t n = strlen(type);

    return ct && !strncasecmp(ct, type, n) && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '
                                               || ct[n] == '\t');
}

/* JSON bodies: application/json or any application/...+json; parameters ignored. */
static int is_json_content_type(const char *ct)
{
    apr_size_t n;

    if (!ct) {
        return 0;
    }
    if (media_type_is(ct, "application/json")) {
        return 1;
    }
    n = strcspn(ct, "; \t");
    return n > 17 && !strncasecmp(ct, "application/", 12) && !strncasecmp(ct + n - 5, "+json", 5);
}

/* Read the whole body, never more than max bytes. */
static apr_status_t read_body(const char **body, apr_size_t *len, const char **error,
                              request_rec *r, apr_off_t max)
{
    char *buf;
    apr_size_t got = 0;
    long n;

    *body = NULL;
    *len = 0;
    if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK) {
        *error = "the request body could not be read";
        return ITEMS_EBADREQUEST;
    }
    if (r->remaining > max) {
        *error = apr_psprintf(r->pool, "the request body is larger than %" APR_OFF_T_FMT
                                       " bytes", max);
        return ITEMS_ETOOLARGE;
    }
    if (!ap_should_client_block(r)) {
        *body = "";
        return APR_SUCCESS;
    }
    buf = apr_palloc(r->pool, (apr_size_t)max + 1);
    while ((n = ap_get_client_block(r, buf + got, (apr_size_t)max + 1 - got)) > 0) {
        got += (apr_size_t)n;
        if (got > (apr_size_t)max) {
            *error = apr_psprintf(r->pool, "the request body is larger than %" APR_OFF_T_FMT
                                           " bytes", max);
            return ITEMS_ETOOLARGE;
        }
    }
    if (n < 0) {
        *error = "the request body could not be read";
        return ITEMS_EBADREQUEST;
    }
    buf[got] = '\0';
    *body = buf;
    *len = got;
    return APR_SUCCESS;
}

/* Check the content type and read the body; an error answer is sent on failure. */
static int take_body(const char **body, apr_size_t *len, items_req_t *q, int merge_patch)
{
    request_rec *r = q->r;
    const char *ct = apr_table_get(r->headers_in, "Content-Type"), *error = NULL;
    apr_status_t rv;

    if (merge_patch ? !media_type_is(ct, MERGE_PATCH_TYPE) : !is_json_content_type(ct)) {
        return send_problem(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                            merge_patch ? "the body must be a JSON merge patch "
                                          "(Content-Type: application/merge-patch+json)"
                                        : "the request body must be JSON "
                                          "(Content-Type: application/json)");
    }
    rv = read_body(body, len, &error, r,
                   q->conf->max_body >= 0 ? q->conf->max_body : ITEMS_DEFAULT_MAX_BODY);
    if (rv != APR_SUCCESS) {
        return send_error(r, rv, error);
    }
    return DECLINED; /* go on */
}

/* If-Match as a write condition; an error answer is sent when the header is malformed. */
static int if_match_condition(items_ddb_cond_t *cond, items_req_t *q)
{
    const char *h = apr_table_get(q->r->headers_in, "If-Match"), *error;
    items_route_etags_t tags;

    memset(cond, 0, sizeof(*cond));
    if (!h) {
        return DECLINED;
    }
    if (items_route_parse_etags(&tags, &error, q->r->pool, h) != APR_SUCCESS) {
        return send_problem(q->r, HTTP_BAD_REQUEST, error);
    }
    cond->must_exist = 1;
    if (!tags.any) {
        /* Strong comparison: weak tags never match; with none left, nothing can. */
        static const char *const none = "-"; /* never a version (they are hex) */
        apr_array_header_t *v = tags.strong;
        if (!v->nelts) {
            APR_ARRAY_PUSH(v, const char *) = none;
        }
        cond->versions = v;
    }
    return DECLINED;
}

static int precondition_failed(request_rec *r)
{
    return send_problem(r, HTTP_PRECONDITION_FAILED,
                        "the item does not match the request's precondition (If-Match / "
                        "If-None-Match)");
}

/* --- collection ---------------------------------------------------------------------- */

static int create_item(items_req_t *q)
{
    request_rec *r = q->r;
    const char *body, *error = NULL, *id, *key, *hash = NULL;
    apr_size_t len;
    json_t *attrs, *stored, *item;
    items_ddb_meta_t meta, found;
    items_ddb_cond_t cond = { 0 };
    apr_status_t rv;
    int done, created;

    if ((done = take_body(&body, &len, q, 0)) != DECLINED) {
        return done;
    }
    key = apr_table_get(r->headers_in, "Idempotency-Key");
    if (key && !items_item_key_is_valid(key)) {
        return send_problem(r, HTTP_BAD_REQUEST,
                            "Idempotency-Key must be 1 to 255 printable ASCII characters");
    }
    rv = items_item_from_body(&attrs, &error, r->pool, body, len, NULL);
    if (rv != APR_SUCCESS) {
        return send_error(r, rv, error);
    }
    memset(&meta, 0, sizeof(meta));
    if ((rv = items_item_new_version(&meta.version, r->pool)) != APR_SUCCESS) {
        return send_error(r, rv, NULL);
    }
    if (key) {
        /* Stateless idempotency: the key names the id, the stored hash the request. */
        id = items_item_id_for_key(r->pool, key);
        meta.request = hash = items_item_hash(r->pool, attrs);
    }
    else if ((rv = items_item_new_id(&id, r->pool)) != APR_SUCCESS) {
        return send_error(r, rv, NULL);
    }
    /* attribute_not_exists: a re-sent create can never overwrite another item. */
    cond.must_not_exist = 1;
    rv = items_ddb_put(&created, &q->diag, r->pool, &q->ddb, id, attrs, &meta, &cond);
    if (rv == ITEMS_ECONFLICT && !key) {
        /* A repeat found the item: ours if it carries our version (the answer was lost). */
        rv = items_ddb_get(&stored, &found, &q->diag, r->pool, &q->ddb, id);
        rv = (rv == APR_SUCCESS && found.version && !strcmp(found.version, meta.version))
                 ? APR_SUCCESS
                 : ITEMS_ECONFLICT;
    }
    if (rv == ITEMS_ECONFLICT && key) {
        rv = items_ddb_get(&stored, &found, &q->diag, r->pool, &q->ddb, id);
        if (rv == APR_SUCCESS && (!found.request || strcmp(found.request, hash))) {
            return send_problem(r, HTTP_CONFLICT, "this Idempotency-Key was already used with "
                                                  "a different request body");
        }
        if (rv == APR_SUCCESS) {
            apr_table_setn(r->headers_out, "Location",
                           apr_pstrcat(r->pool, q->collection, "/", id, NULL));
            set_etag(r, &found);
            return send_json(r, HTTP_CREATED, "application/json", stored);
        }
        if (rv == ITEMS_ENOTFOUND) {
            rv = ITEMS_ECONFLICT; /* deleted in between: let the client retry */
        }
    }
    if (rv != APR_SUCCESS) {
        return send_backend_error(q, rv);
    }
    if (!(item = item_with_id(r->pool, id, attrs))) {
        return send_error(r, APR_ENOMEM, NULL);
    }
    apr_table_setn(r->headers_out, "Location", apr_pstrcat(r->pool, q->collection, "/", id, NULL));
    set_etag(r, &meta);
    return send_json(r, HTTP_CREATED, "application/json", item);
}

static const unsigned char *cursor_key(const items_dir_conf_t *c)
{
    return c->cursor_key ? c->cursor_key : items_env.cursor_key;
}

static int list_items(items_req_t *q)
{
    request_rec *r = q->r;
    const items_dir_conf_t *c = q->conf;
    int max = c->list_max >= 0 ? c->list_max : ITEMS_DEFAULT_LIST_MAX;
    int dflt = c->list_default >= 0 ? c->list_default : ITEMS_DEFAULT_LIST_LIMIT;
    const char *error, *cursor, *start_id = NULL, *next_id, *next, *text;
    apr_size_t len;
    apr_status_t rv;
    int limit;

    rv = items_route_list_query(&limit, &cursor, &error, r->pool, r->args,
                                dflt < max ? dflt : max, max);
    if (rv != APR_SUCCESS) {
        return send_error(r, rv, error);
    }
    if (cursor && items_cursor_decode(&start_id, r->pool, cursor_key(c), q->ddb.table, cursor)
                      != APR_SUCCESS) {
        return send_problem(r, HTTP_BAD_REQUEST, "'cursor' is not one this server issued (or "
                                                 "it was altered)");
    }
    rv = items_ddb_scan(&text, &len, &next_id, &q->diag, r->pool, &q->ddb, limit, start_id);
    if (rv != APR_SUCCESS) {
        return send_backend_error(q, rv);
    }
    if (next_id && (next = items_cursor_encode(r->pool, cursor_key(c), q->ddb.table, next_id))) {
        apr_table_setn(r->headers_out, "Link",
                       apr_psprintf(r->pool, "<%s/?limit=%d&cursor=%s>; rel=\"next\"",
                                    q->collection, limit, next));
    }
    return send_text(r, HTTP_OK, "application/json", text, len);
}

/* --- item ------------------------------------------------------------------------------ */

static int get_item(items_req_t *q, const char *id)
{
    request_rec *r = q->r;
    const char *inm = apr_table_get(r->headers_in, "If-None-Match"), *error;
    items_route_etags_t tags;
    items_ddb_meta_t meta;
    const char *text;
    apr_size_t len;
    apr_status_t rv;
    int i;

    if (inm && items_route_parse_etags(&tags, &error, r->pool, inm) != APR_SUCCESS) {
        return send_problem(r, HTTP_BAD_REQUEST, error);
    }
    rv = items_ddb_get_text(&text, &len, &meta, &q->diag, r->pool, &q->ddb, id);
    if (rv != APR_SUCCESS) {
        return send_backend_error(q, rv);
    }
    set_etag(r, &meta);
    if (inm) {
        /* Weak comparison: W/"v" matches "v". */
        int match = tags.any;
        for (i = 0; !match && meta.version && i < tags.all->nelts; i++) {
            match = !strcmp(APR_ARRAY_IDX(tags.all, i, const char *), meta.version);
        }
        if (match) {
            return send_empty(r, HTTP_NOT_MODIFIED);
        }
    }
    return send_text(r, HTTP_OK, "application/json", text, len);
}

/* Whether the item now carries version: a write of ours took effect. */
static int ours_now(items_req_t *q, const char *id, const char *version)
{
    items_ddb_meta_t found;
    json_t *item;

    return items_ddb_get(&item, &found, &q->diag, q->r->pool, &q->ddb, id) == APR_SUCCESS
           && found.version && !strcmp(found.version, version);
}

static int put_item(items_req_t *q, const char *id)
{
    request_rec *r = q->r;
    const char *body, *error = NULL, *inm = apr_table_get(r->headers_in, "If-None-Match");
    apr_size_t len;
    json_t *attrs, *item;
    items_ddb_meta_t meta = { 0 };
    items_ddb_cond_t cond;
    apr_status_t rv;
    int done, created;

    if ((done = if_match_condition(&cond, q)) != DECLINED) {
        return done;
    }
    if (inm) {
        while (*inm == ' ' || *inm == '\t') {
            inm++;
        }
        if (strcmp(inm, "*")) {
            return send_problem(r, HTTP_BAD_REQUEST,
                                "on PUT, If-None-Match supports only '*' (create only)");
        }
        cond.must_not_exist = 1;
    }
    if ((done = take_body(&body, &len, q, 0)) != DECLINED) {
        return done;
    }
    rv = items_item_from_body(&attrs, &error, r->pool, body, len, id);
    if (rv == APR_SUCCESS) {
        rv = items_item_new_version(&meta.version, r->pool);
    }
    if (rv != APR_SUCCESS) {
        return send_error(r, rv, error);
    }
    rv = items_ddb_put(&created, &q->diag, r->pool, &q->ddb, id, attrs, &meta, &cond);
    if (rv == ITEMS_ECONFLICT && ours_now(q, id, meta.version)) {
        rv = APR_SUCCESS; /* a retry of our own write, whose answer was lost */
        created = cond.must_not_exist;
    }
    if (rv == ITEMS_ECONFLICT) {
        return precondition_failed(r);
    }
    if (rv != APR_SUCCESS) {
        return send_backend_error(q, rv);
    }
    if (!(item = item_with_id(r->pool, id, attrs))) {
        return send_error(r, APR_ENOMEM, NULL);
    }
    set_etag(r, &meta);
    if (created) {
        apr_table_setn(r->headers_out, "Location", apr_pstrcat(r->pool, q->collection, "/", id, NULL));
    }
    return send_json(r, created ? HTTP_CREATED : HTTP_OK, "application/json", item);
}

/*
 * The merge the caller must do itself: read, merge in memory, write back on
 * the condition that nobody wrote in between.
 */
static apr_status_t patch_in_memory(json_t **item, items_ddb_meta_t *meta, items_req_t *q,
                                    const char *id, const json_t *patch,
                                    const items_ddb_cond_t *cond, const char **error)
{
    request_rec *r = q->r;
    json_t *current, *merged;
    items_ddb_meta_t found;
    items_ddb_cond_t unchanged = { 0 };
    apr_array_header_t *versions;
    apr_status_t rv;
    int created, i, ok;

    rv = items_ddb_get(&current, &found, &q->diag, r->pool, &q->ddb, id);
    if (rv != APR_SUCCESS) {
        /* With If-Match, an absent item fails the precondition (RFC 9110 13.1.1). */
        return rv == ITEMS_ENOTFOUND && cond->must_exist ? ITEMS_ECONFLICT : rv;
    }
    if (cond->versions) {
        for (ok = 0, i = 0; !ok && found.version && i < cond->versions->nelts; i++) {
            ok = !strcmp(APR_ARRAY_IDX(cond->versions, i, const char *), found.version);
        }
        if (!ok) {
            return ITEMS_ECONFLICT;
        }
    }
    json_object_del(current, "id");
    merged = items_item_merge(r->pool, current, patch);
    if (!json_is_string(json_object_get(merged, "name"))) {
        *error = "the item has no 'name' after the patch";
        return ITEMS_EINVALID;
    }
    if (items_item_size(merged) > ITEMS_ITEM_MAX_BYTES) {
        *error = "the item would be larger than DynamoDB's limit of 400 KB";
        return ITEMS_ETOOLARGE;
    }
    if (found.version) {
        versions = apr_array_make(r->pool, 1, sizeof(const char *));
        APR_ARRAY_PUSH(versions, const char *) = found.version;
        unchanged.versions = versions;
    }
    else {
        unchanged.unversioned = 1;
    }
    unchanged.must_exist = 1;
    meta->request = found.request;
    rv = items_item_new_version(&meta->version, r->pool);
    if (rv == APR_SUCCESS) {
        rv = items_ddb_put(&created, &q->diag, r->pool, &q->ddb, id, merged, meta, &unchanged);
    }
    if (rv == APR_SUCCESS) {
        *item = item_with_id(r->pool, id, merged);
    }
    return rv == ITEMS_ECONFLICT ? APR_EAGAIN : rv;
}

static int patch_item(items_req_t *q, const char *id)
{
    request_rec *r = q->r;
    const char *body, *error = NULL, *version;
    apr_size_t len;
    json_t *patch, *item = NULL;
    items_ddb_meta_t meta = { 0 };
    items_ddb_cond_t cond;
    apr_status_t rv;
    int done, attempt;

    if ((done = if_match_condition(&cond, q)) != DECLINED) {
        return done;
    }
    if ((done = take_body(&body, &len, q, 1)) != DECLINED) {
        return done;
    }
    rv = items_item_patch_from_body(&patch, &error, r->pool, body, len, id);
    if (rv == APR_SUCCESS) {
        rv = items_item_new_version(&version, r->pool);
    }
    if (rv != APR_SUCCESS) {
        return send_error(r, rv, error);
    }
    /* Atomic in one UpdateItem when the patch maps onto document paths. */
    rv = items_ddb_update(&item, &meta, &q->diag, r->pool, &q->ddb, id, patch, version, &cond);
    if (rv == ITEMS_ECONFLICT
        && items_ddb_get(&item, &meta, &q->diag, r->pool, &q->ddb, id) == APR_SUCCESS
        && meta.version && !strcmp(meta.version, version)) {
        rv = APR_SUCCESS; /* a retry of our own update, whose answer was lost */
    }
    if (rv == APR_SUCCESS) {
        meta.version = version;
    }
    else if (rv == ITEMS_ECONFLICT || rv == ITEMS_ETOOLARGE) {
        /* Absent, other version, or a nested merge onto a non-object: find out. */
        for (attempt = 0; attempt < PATCH_ATTEMPTS; attempt++) {
            rv = patch_in_memory(&item, &meta, q, id, patch, &cond, &error);
            if (rv != APR_EAGAIN) {
                break;
            }
        }
    }
    switch (rv) {
    case APR_SUCCESS:
        set_etag(r, &meta);
        return send_json(r, HTTP_OK, "application/json", item);
    case ITEMS_ECONFLICT:
        return precondition_failed(r);
    case APR_EAGAIN:
        return send_error(r, ITEMS_ECONFLICT, NULL);
    case ITEMS_EINVALID:
    case ITEMS_ETOOLARGE:
        return send_error(r, rv, error);
    default:
        return send_backend_error(q, rv);
    }
}

static int delete_item(items_req_t *q, const char *id)
{
    items_ddb_cond_t cond;
    apr_status_t rv;
    int done;

    if ((done = if_match_condition(&cond, q)) != DECLINED) {
        return done;
    }
    rv = items_ddb_delete(&q->diag, q->r->pool, &q->ddb, id, &cond);
    if (rv == ITEMS_ECONFLICT && q->diag.maybe_applied) {
        /* A retry found the condition false: if the item is gone, our first attempt did it. */
        json_t *item;
        items_ddb_meta_t meta;
        if (items_ddb_get(&item, &meta, &q->diag, q->r->pool, &q->ddb, id) == ITEMS_ENOTFOUND) {
            rv = APR_SUCCESS;
        }
    }
    if (rv == ITEMS_ECONFLICT) {
        /* Without If-Match the only condition is that the item exists. */
        return cond.must_exist ? precondition_failed(q->r) : send_error(q->r, ITEMS_ENOTFOUND, NULL);
    }
    if (rv != APR_SUCCESS) {
        return send_backend_error(q, rv);
    }
    return send_empty(q->r, HTTP_NO_CONTENT);
}

/* --- errors httpd raises itself -------------------------------------------------------- */

static const char *relative_path(request_rec *r, const items_dir_conf_t *c);

/* The methods a path below the mount allows, for a 405 that httpd raised (TRACE). */
static const char *allow_for(request_rec *r)
{
    const items_dir_conf_t *c = ap_get_module_config(r->per_dir_config, &items_module);
    items_route_t route;
    const char *error;

    /* Raised before the <Location> was walked (TraceEnable off): the whole family's. */
    if (!c || items_mount_len(r) < 0) {
        return "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
    }
    if (items_route_parse(&route, &error, r->pool, relative_path(r, c)) != APR_SUCCESS) {
        return NULL;
    }
    return route.kind == ITEMS_ROUTE_COLLECTION ? ALLOW_COLLECTION
           : route.kind == ITEMS_ROUTE_ITEM     ? ALLOW_ITEM
                                                : NULL;
}

apr_status_t items_problem_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const char *text, *detail;
    apr_size_t len;
    apr_bucket *b, *next;
    json_t *body;

    if (!f->ctx) {
        if (r->status < 400) {
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        detail = apr_psprintf(r->pool, "the server answered %s to this request",
                              ap_get_status_line(r->status));
        body = items_json_own(r->pool, json_pack("{ss ss si ss}", "type", "about:blank",
                                                 "title", ap_get_status_line(r->status) + 4,
                                                 "status", r->status, "detail", detail));
        if (!body || items_json_dump(&text, &len, r->pool, body) != APR_SUCCESS) {
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        f->ctx = f;
        if (r->status == HTTP_METHOD_NOT_ALLOWED) {
            const char *allow = apr_table_get(r->headers_out, "Allow");
            if ((!allow || !*allow) && (allow = allow_for(r)) != NULL) {
                apr_table_setn(r->headers_out, "Allow", allow);
            }
        }
        ap_set_content_type(r, "application/problem+json");
        ap_set_content_length(r, (apr_off_t)len);
        if (!r->header_only) {
            APR_BRIGADE_INSERT_HEAD(bb, apr_bucket_pool_create(text, len, r->pool,
                                                               f->c->bucket_alloc));
            b = APR_BUCKET_NEXT(APR_BRIGADE_FIRST(bb));
        }
        else {
            b = APR_BRIGADE_FIRST(bb);
        }
    }
    else {
        b = APR_BRIGADE_FIRST(bb);
    }
    /* httpd's HTML goes; metadata (end of stream, flush) stays. */
    for (; b != APR_BRIGADE_SENTINEL(bb); b = next) {
        next = APR_BUCKET_NEXT(b);
        if (!APR_BUCKET_IS_METADATA(b)) {
            apr_bucket_delete(b);
        }
    }
    return ap_pass_brigade(f->next, bb);
}

/* --- routing ------------------------------------------------------------------------------ */

static int send_method_not_allowed(request_rec *r, const char *allow)
{
    apr_table_setn(r->headers_out, "Allow", allow);
    return send_problem(r, HTTP_METHOD_NOT_ALLOWED,
                        apr_psprintf(r->pool, "method %s is not allowed here; allowed: %s",
                                     r->method, allow));
}

static int send_options(request_rec *r, const char *allow)
{
    apr_table_setn(r->headers_out, "Allow", allow);
    return send_empty(r, HTTP_NO_CONTENT);
}

/* The path below the mount point: from the <Location> prefix, else path_info. */
static const char *relative_path(request_rec *r, const items_dir_conf_t *c)
{
    apr_ssize_t n = items_mount_len(r);

    (void)c;
    if (n >= 0) {
        return r->uri + n;
    }
    return r->path_info ? r->path_info : "";
}

static int dispatch(items_req_t *q, const items_route_t *route);

int items_handler(request_rec *r)
{
    items_req_t q;
    items_route_t route;
    const char *error, *rel;
    apr_size_t n;
    apr_status_t rv;
    int rc;

    if (!r->handler || strcmp(r->handler, ITEMS_HANDLER)) {
        return DECLINED;
    }
    memset(&q, 0, sizeof(q));
    q.r = r;
    q.conf = ap_get_module_config(r->per_dir_config, &items_module);
    rel = relative_path(r, q.conf);
    rv = items_route_parse(&route, &error, r->pool, rel);
    if (rv != APR_SUCCESS) {
        rc = send_error(r, rv, error);
        items_status_count(r, &q.diag);
        return rc;
    }
    /* The collection as requested, for Location and Link. */
    n = strlen(r->uri) - strlen(rel);
    q.collection = apr_pstrmemdup(r->pool, r->uri, n);
    items_ddb_target(&q.ddb, r, q.conf);
    rc = dispatch(&q, &route);
    items_status_count(r, &q.diag);
    return rc;
}

static int dispatch(items_req_t *q, const items_route_t *route)
{
    request_rec *r = q->r;

    switch (route->kind) {
    case ITEMS_ROUTE_COLLECTION:
        switch (r->method_number) {
        case M_GET:
            return list_items(q);
        case M_POST:
            return create_item(q);
        case M_OPTIONS:
            return send_options(r, ALLOW_COLLECTION);
        default:
            return send_method_not_allowed(r, ALLOW_COLLECTION);
        }
    case ITEMS_ROUTE_ITEM:
        switch (r->method_number) {
        case M_GET:
            return get_item(q, route->id);
        case M_PUT:
            return put_item(q, route->id);
        case M_PATCH:
            return patch_item(q, route->id);
        case M_DELETE:
            return delete_item(q, route->id);
        case M_OPTIONS:
            return send_options(r, ALLOW_ITEM);
        default:
            return send_method_not_allowed(r, ALLOW_ITEM);
        }
    default:
        return send_problem(r, HTTP_NOT_FOUND, "no such resource: paths here are / and /{id}");
    }
}
