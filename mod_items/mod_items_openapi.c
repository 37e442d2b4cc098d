/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "items-openapi" handler: serves the API's OpenAPI document with
 * servers[0].url set to where the API is mounted here.
 *
 * ItemsOpenAPIFile reads the document once, when httpd reads its
 * configuration: it must be a readable JSON object naming an OpenAPI 3 version
 * and holding "paths". The parsed document belongs to the configuration pool
 * (a cleanup releases it on restart) and is rendered then, around a
 * placeholder for the server URL, into two pieces of text; a request only
 * writes the pieces with the URL of its scope (ItemsOpenAPIServer) between
 * them. Nothing is parsed, built or locked per request.
 */
#include "mod_items_private.h"
#include "items_json.h"

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <http_protocol.h>

/* Stands for the server URL while the document is rendered; it must occur once. */
#define SERVER_PLACEHOLDER "items-openapi:server-url:5c0b9e7d41a2"

/* The default server URL, as a JSON string. */
#define DEFAULT_SERVER_JSON "\"" ITEMS_OPENAPI_DEFAULT_SERVER "\""

/* Larger than any API description needs; a bigger file is probably the wrong file. */
#define MAX_DOCUMENT_BYTES (16 * 1024 * 1024)

struct items_openapi_doc {
    const char *path;
    json_t *doc;        /* the parsed document, owned by the configuration pool */
    const char *head;   /* the rendered document up to the server URL's value */
    apr_size_t head_len;
    const char *tail;   /* and from just after it to the end */
    apr_size_t tail_len;
};

/* A file's whole content, NUL-terminated; NULL and *why on failure. */
static char *read_file(apr_size_t *len, const char **why, apr_pool_t *p, const char *path)
{
    apr_file_t *f;
    apr_finfo_t finfo;
    apr_status_t rv;
    char *buf, err[128];

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, APR_OS_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&finfo, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
    }
    if (rv != APR_SUCCESS) {
        *why = apr_psprintf(p, "cannot be read: %s", apr_strerror(rv, err, sizeof(err)));
        return NULL;
    }
    if (finfo.filetype != APR_REG || finfo.size > MAX_DOCUMENT_BYTES) {
        apr_file_close(f);
        *why = finfo.filetype != APR_REG ? "is not a regular file" : "is larger than 16 MB";
        return NULL;
    }
    *len = (apr_size_t)finfo.size;
    buf = apr_palloc(p, *len + 1);
    rv = *len ? apr_file_read_full(f, buf, *len, NULL) : APR_SUCCESS;
    apr_file_close(f);
    if (rv != APR_SUCCESS) {
        *why = apr_psprintf(p, "cannot be read: %s", apr_strerror(rv, err, sizeof(err)));
        return NULL;
    }
    buf[*len] = '\0';
    return buf;
}

/* NULL if doc looks like an OpenAPI 3 document, else what is wrong with it. */
static const char *check_document(const json_t *doc)
{
    const char *version;

    if (!json_is_object(doc)) {
        return "is not a JSON object";
    }
    version = json_string_value(json_object_get(doc, "openapi"));
    if (!version || strncmp(version, "3.", 2)) {
        return "is not an OpenAPI 3 document (no \"openapi\": \"3.x.y\")";
    }
    if (!json_is_object(json_object_get(doc, "paths"))) {
        return "has no \"paths\" object";
    }
    return NULL;
}

const char *items_openapi_set_file(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg), *why = NULL, *text, *at;
    struct items_openapi_doc *d;
    json_t *doc, *servers, *first, *url;
    json_error_t jerr;
    apr_size_t len, text_len;
    char *buf;

    if (!path || !(buf = read_file(&len, &why, cmd->temp_pool, path))) {
        return apr_psprintf(cmd->pool, "%s '%s' %s", cmd->cmd->name, arg,
                            why ? why : "is not a valid path");
    }
    /* jansson's own reading first: its messages name the line and column. */
    doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        return apr_psprintf(cmd->pool, "%s '%s' is not valid JSON: %s (line %d, column %d)",
                            cmd->cmd->name, arg, jerr.text, jerr.line, jerr.column);
    }
    json_decref(doc);
    /* The document kept: numbers keep their exact text, owned by the configuration pool. */
    if (items_json_parse(&doc, &why, cmd->pool, buf, len) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s '%s': %s", cmd->cmd->name, arg, why);
    }
    if ((why = check_document(doc)) != NULL) {
        return apr_psprintf(cmd->pool, "%s '%s' %s", cmd->cmd->name, arg, why);
    }
    if (strstr(buf, SERVER_PLACEHOLDER)) {
        return apr_psprintf(cmd->pool, "%s '%s' holds the text %s, which the module reserves",
                            cmd->cmd->name, arg, SERVER_PLACEHOLDER);
    }

    /* servers[0].url becomes the placeholder (servers[0] is made if there is none). */
    servers = json_object_get(doc, "servers");
    if (!json_is_array(servers) || json_array_size(servers) == 0) {
        servers = json_array();
        if (!servers || json_object_set_new(doc, "servers", servers)) {
            return "ItemsOpenAPIFile: out of memory";
        }
    }
    first = json_array_get(servers, 0);
    if (!first) {
        first = json_object();
        if (!first || json_array_append_new(servers, first)) {
            return "ItemsOpenAPIFile: out of memory";
        }
    }
    if (!json_is_object(first)) {
        return apr_psprintf(cmd->pool, "%s '%s': servers[0] is not an object", cmd->cmd->name, arg);
    }
    url = json_string(SERVER_PLACEHOLDER);
    if (!url || json_object_set_new(first, "url", url)) {
        return "ItemsOpenAPIFile: out of memory";
    }

    if (items_json_dump(&text, &text_len, cmd->pool, doc) != APR_SUCCESS
        || !(at = strstr(text, "\"" SERVER_PLACEHOLDER "\""))) {
        return apr_psprintf(cmd->pool, "%s '%s' cannot be rendered", cmd->cmd->name, arg);
    }
    d = apr_pcalloc(cmd->pool, sizeof(*d));
    d->path = path;
    d->doc = doc;
    d->head = text;
    d->head_len = (apr_size_t)(at - text);
    d->tail = at + strlen("\"" SERVER_PLACEHOLDER "\"");
    d->tail_len = text_len - d->head_len - strlen("\"" SERVER_PLACEHOLDER "\"");
    ((items_dir_conf_t *)dconf)->openapi = d;
    return NULL;
}

const char *items_openapi_set_server(cmd_parms *cmd, void *dconf, const char *arg)
{
    apr_uri_t uri;
    const char *c, *text;
    apr_size_t len;
    json_t *s;

    for (c = arg; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '"' || *c == '\\') {
            return apr_pstrcat(cmd->pool, cmd->cmd->name, " '", arg,
                               "' must not hold spaces, control characters, quotes or "
                               "backslashes", NULL);
        }
    }
    if (arg[0] != '/'
        && (apr_uri_parse(cmd->pool, arg, &uri) != APR_SUCCESS || !uri.scheme
            || (strcasecmp(uri.scheme, "http") && strcasecmp(uri.scheme, "https"))
            || !uri.hostname || !*uri.hostname)) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " '", arg,
                           "' must be a path (/items) or an http:// or https:// URL", NULL);
    }
    s = items_json_own(cmd->pool, json_string(arg));
    if (!s || items_json_dump(&text, &len, cmd->pool, s) != APR_SUCCESS) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " '", arg, "' is not valid UTF-8", NULL);
    }
    ((items_dir_conf_t *)dconf)->openapi_server = text;
    return NULL;
}

static int send_problem(request_rec *r, int status, const char *detail)
{
    json_t *body = items_json_own(r->pool, json_pack("{ss ss si ss}", "type", "about:blank",
                                                     "title", ap_get_status_line(status) + 4,
                                                     "status", status, "detail", detail));
    const char *text;
    apr_size_t len;

    if (!body || items_json_dump(&text, &len, r->pool, body) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    r->status = status;
    ap_set_content_type(r, "application/problem+json");
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only) {
        ap_rwrite(text, (int)len, r);
    }
    return OK;
}

int items_openapi_handler(request_rec *r)
{
    const items_dir_conf_t *c;
    const struct items_openapi_doc *d;
    const char *server, *rel;
    apr_size_t server_len;

    if (!r->handler || strcmp(r->handler, ITEMS_OPENAPI_HANDLER)) {
        return DECLINED;
    }
    c = ap_get_module_config(r->per_dir_config, &items_module);
    /* In a plain <Location>, the document is the location itself, nothing below it. */
    if (items_mount_len(r) >= 0) {
        rel = r->uri + items_mount_len(r);
        if (*rel && strcmp(rel, "/")) {
            return send_problem(r, HTTP_NOT_FOUND, "no such resource");
        }
    }
    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD");
        return send_problem(r, HTTP_METHOD_NOT_ALLOWED,
                            apr_psprintf(r->pool, "method %s is not allowed here; allowed: "
                                                  "GET, HEAD", r->method));
    }
    d = c->openapi;
    if (!d) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "ITEMS0110: SetHandler %s without ItemsOpenAPIFile for %s",
                      ITEMS_OPENAPI_HANDLER, r->uri);
        return send_problem(r, HTTP_INTERNAL_SERVER_ERROR,
                            "no OpenAPI document is configured here");
    }
    server = c->openapi_server ? c->openapi_server : DEFAULT_SERVER_JSON;
    server_len = strlen(server);
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, (apr_off_t)(d->head_len + server_len + d->tail_len));
    if (!r->header_only) {
        ap_rwrite(d->head, (int)d->head_len, r);
        ap_rwrite(server, (int)server_len, r);
        ap_rwrite(d->tail, (int)d->tail_len, r);
    }
    return OK;
}
