/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "items" handler: route method x path, read the body under a cap, call
 * the core, answer JSON, or problem+json (RFC 9457) mapped from apr_status_t
 * in one table.
 */
#include "mod_items_private.h"
#include "items_ddb.h"
#include "items_item.h"
#include "items_json.h"
#include "items_route.h"
#include "items_status.h"

#include <apr_strings.h>
#include <http_protocol.h>
#include <http_request.h>

#define ALLOW_COLLECTION "GET, HEAD, POST, OPTIONS"
#define ALLOW_ITEM "GET, HEAD, OPTIONS"

static const struct {
    apr_status_t status;
    int http;
    const char *detail; /* when the caller has nothing more precise */
} status_map[] = {
    { ITEMS_EBADREQUEST, HTTP_BAD_REQUEST, "the request is malformed" },
    { ITEMS_EINVALID, HTTP_UNPROCESSABLE_ENTITY, "the item is not valid" },
    { ITEMS_ENOTFOUND, HTTP_NOT_FOUND, "no item has this id" },
    { ITEMS_ECONFLICT, HTTP_CONFLICT, "an item with this id already exists" },
    { ITEMS_ETOOLARGE, HTTP_REQUEST_ENTITY_TOO_LARGE, "the request body is too large" },
    { ITEMS_EBADGATEWAY, HTTP_BAD_GATEWAY, "DynamoDB answered with an error or garbage" },
    { ITEMS_EUNAVAILABLE, HTTP_SERVICE_UNAVAILABLE,
      "DynamoDB is unreachable or throttling; try again later" },
    { ITEMS_ETIMEOUT, HTTP_GATEWAY_TIME_OUT, "DynamoDB did not answer in time" },
    { ITEMS_ENOCREDS, HTTP_INTERNAL_SERVER_ERROR,
      "the server has no AWS credentials configured" },
    { ITEMS_EBACKENDCONFIG, HTTP_BAD_GATEWAY,
      "DynamoDB refused the server's request (table or credentials); the server log says why" },
};

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

static int send_json(request_rec *r, int status, const char *content_type, const json_t *body)
{
    const char *text;
    apr_size_t len;

    if (items_json_dump(&text, &len, r->pool, body) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    r->status = status;
    ap_set_content_type(r, content_type);
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only) {
        ap_rwrite(text, (int)len, r);
    }
    return OK;
}

/* A problem+json answer. detail may hold client bytes: it must stay valid UTF-8. */
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
    return send_json(r, status, "application/problem+json", body);
}

static int send_error(request_rec *r, apr_status_t rv, const char *detail)
{
    const char *fallback;
    int status = http_status_for(rv, &fallback);

    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "ITEMS0101: %d for %s %s: %s", status,
                  r->method, r->uri, detail ? detail : fallback);
    return send_problem(r, status, detail ? detail : fallback);
}

static int send_backend_error(request_rec *r, apr_status_t rv, const items_ddb_diag_t *diag)
{
    const char *fallback;
    int status = http_status_for(rv, &fallback);

    if (status >= 500) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "ITEMS0201: DynamoDB %s failed after %" APR_TIME_T_FMT " ms: HTTP %ld%s%s: %s",
                      diag->operation ? diag->operation : "call", apr_time_as_msec(diag->elapsed),
                      diag->http_status, diag->aws_type ? " " : "",
                      diag->aws_type ? diag->aws_type : "",
                      diag->message ? diag->message : "no detail");
    }
    return send_error(r, rv, NULL);
}

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
    r->status = HTTP_NO_CONTENT;
    return OK;
}

/* The effective DynamoDB target of this request: directives, else environment. */
static void ddb_target(items_ddb_t *ddb, request_rec *r, const items_dir_conf_t *c)
{
    ddb->table = c->table ? c->table : items_env.table;
    ddb->region = c->region ? c->region : items_env.region;
    if (c->endpoint) {
        ddb->endpoint = c->endpoint;
    }
    else if (items_env.endpoint) {
        ddb->endpoint = items_env.endpoint;
    }
    else if (!c->region || !strcmp(c->region, items_env.region)) {
        ddb->endpoint = items_env.region_endpoint;
    }
    else {
        ddb->endpoint = apr_pstrcat(r->pool, "https://dynamodb.", ddb->region, ".amazonaws.com",
                                    NULL);
    }
    ddb->creds = items_env.have_creds ? &items_env.creds : NULL;
    ddb->connect_timeout =
        c->connect_timeout >= 0 ? c->connect_timeout : ITEMS_DEFAULT_CONNECT_TIMEOUT;
    ddb->timeout = c->timeout >= 0 ? c->timeout : ITEMS_DEFAULT_TIMEOUT;
}

/* JSON bodies only: application/json or any application/...+json; parameters ignored. */
static int is_json_content_type(const char *ct)
{
    apr_size_t n;

    if (!ct) {
        return 0;
    }
    n = strcspn(ct, "; \t");
    if (n == 16 && !strncasecmp(ct, "application/json", 16)) {
        return 1;
    }
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

static int create_item(request_rec *r, const items_dir_conf_t *c)
{
    const char *body, *error = NULL, *id, *base;
    apr_size_t len;
    json_t *fields, *item;
    items_ddb_t ddb;
    items_ddb_diag_t diag;
    apr_status_t rv;

    if (!is_json_content_type(apr_table_get(r->headers_in, "Content-Type"))) {
        return send_problem(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                            "the request body must be JSON (Content-Type: application/json)");
    }
    rv = read_body(&body, &len, &error, r, c->max_body >= 0 ? c->max_body : ITEMS_DEFAULT_MAX_BODY);
    if (rv == APR_SUCCESS) {
        rv = items_item_from_body(&fields, &error, r->pool, body, len);
    }
    if (rv == APR_SUCCESS) {
        rv = items_item_new_id(&id, r->pool);
    }
    if (rv != APR_SUCCESS) {
        return send_error(r, rv, error);
    }
    /* The id leads, as clients print it. */
    item = items_json_own(r->pool, json_pack("{ss}", "id", id));
    if (!item || json_object_update(item, fields)) {
        return send_error(r, APR_ENOMEM, NULL);
    }

    ddb_target(&ddb, r, c);
    rv = items_ddb_put_new(&diag, r->pool, &ddb, item);
    if (rv != APR_SUCCESS) {
        return send_backend_error(r, rv, &diag);
    }
    base = r->uri;
    if (*base && base[strlen(base) - 1] == '/') {
        base = apr_pstrmemdup(r->pool, base, strlen(base) - 1);
    }
    apr_table_setn(r->headers_out, "Location", apr_pstrcat(r->pool, base, "/", id, NULL));
    return send_json(r, HTTP_CREATED, "application/json", item);
}

static int get_item(request_rec *r, const items_dir_conf_t *c, const char *id)
{
    items_ddb_t ddb;
    items_ddb_diag_t diag;
    json_t *item;
    apr_status_t rv;

    ddb_target(&ddb, r, c);
    rv = items_ddb_get(&item, &diag, r->pool, &ddb, id);
    if (rv != APR_SUCCESS) {
        return send_backend_error(r, rv, &diag);
    }
    return send_json(r, HTTP_OK, "application/json", item);
}

static int list_items(request_rec *r, const items_dir_conf_t *c)
{
    int max = c->list_max >= 0 ? c->list_max : ITEMS_DEFAULT_LIST_MAX;
    int dflt = c->list_default >= 0 ? c->list_default : ITEMS_DEFAULT_LIST_LIMIT;
    const char *error;
    items_ddb_t ddb;
    items_ddb_diag_t diag;
    json_t *items;
    apr_status_t rv;
    int limit;

    rv = items_route_list_limit(&limit, &error, r->pool, r->args, dflt < max ? dflt : max, max);
    if (rv != APR_SUCCESS) {
        return send_error(r, rv, error);
    }
    ddb_target(&ddb, r, c);
    rv = items_ddb_scan(&items, &diag, r->pool, &ddb, limit);
    if (rv != APR_SUCCESS) {
        return send_backend_error(r, rv, &diag);
    }
    return send_json(r, HTTP_OK, "application/json", items);
}

/* The path below the mount point: from the <Location> prefix, else path_info. */
static const char *relative_path(request_rec *r, const items_dir_conf_t *c)
{
    apr_size_t n;

    if (c->mount) {
        n = strlen(c->mount);
        if (!strncmp(r->uri, c->mount, n)) {
            return r->uri + n;
        }
    }
    return r->path_info ? r->path_info : "";
}

int items_handler(request_rec *r)
{
    const items_dir_conf_t *c;
    items_route_t route;
    const char *error;
    apr_status_t rv;

    if (!r->handler || strcmp(r->handler, ITEMS_HANDLER)) {
        return DECLINED;
    }
    c = ap_get_module_config(r->per_dir_config, &items_module);
    rv = items_route_parse(&route, &error, r->pool, relative_path(r, c));
    if (rv != APR_SUCCESS) {
        return send_error(r, rv, error);
    }
    switch (route.kind) {
    case ITEMS_ROUTE_COLLECTION:
        switch (r->method_number) {
        case M_GET:
            return list_items(r, c);
        case M_POST:
            return create_item(r, c);
        case M_OPTIONS:
            return send_options(r, ALLOW_COLLECTION);
        default:
            return send_method_not_allowed(r, ALLOW_COLLECTION);
        }
    case ITEMS_ROUTE_ITEM:
        switch (r->method_number) {
        case M_GET:
            return get_item(r, c, route.id);
        case M_OPTIONS:
            return send_options(r, ALLOW_ITEM);
        default:
            return send_method_not_allowed(r, ALLOW_ITEM);
        }
    default:
        return send_problem(r, HTTP_NOT_FOUND, "no such resource: paths here are / and /{id}");
    }
}
