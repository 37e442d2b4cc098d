/* SPDX-License-Identifier: Apache-2.0 */
/* Directives: one table, values checked when httpd reads the configuration. */
#include "mod_items_private.h"
#include "items_http.h"

#include <apr_strings.h>
#include <apr_uri.h>
#include <apr_lib.h>
#include <http_core.h>
#include <apr_file_info.h>

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>

void *items_config_create_dir(apr_pool_t *p, char *dir)
{
    items_dir_conf_t *c = apr_pcalloc(p, sizeof(*c));

    (void)dir;
    c->list_default = -1;
    c->list_max = -1;
    c->max_body = -1;
    c->connect_timeout = -1;
    c->timeout = -1;
    c->problem_errors = -1;
    c->retries = -1;
    c->deadline = -1;
    return c;
}

void *items_config_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    const items_dir_conf_t *base = basev, *add = addv;
    items_dir_conf_t *c = apr_palloc(p, sizeof(*c));

    c->table = add->table ? add->table : base->table;
    c->region = add->region ? add->region : base->region;
    c->endpoint = add->endpoint ? add->endpoint : base->endpoint;
    c->endpoint_host = add->endpoint ? add->endpoint_host : base->endpoint_host;
    c->list_default = add->list_default >= 0 ? add->list_default : base->list_default;
    c->list_max = add->list_max >= 0 ? add->list_max : base->list_max;
    c->max_body = add->max_body >= 0 ? add->max_body : base->max_body;
    c->connect_timeout = add->connect_timeout >= 0 ? add->connect_timeout : base->connect_timeout;
    c->timeout = add->timeout >= 0 ? add->timeout : base->timeout;
    c->cursor_key = add->cursor_key ? add->cursor_key : base->cursor_key;
    c->problem_errors = add->problem_errors >= 0 ? add->problem_errors : base->problem_errors;
    c->retries = add->retries >= 0 ? add->retries : base->retries;
    c->deadline = add->deadline >= 0 ? add->deadline : base->deadline;
    c->ca_file = add->ca_file ? add->ca_file : base->ca_file;
    c->openapi = add->openapi ? add->openapi : base->openapi;
    c->openapi_server = add->openapi_server ? add->openapi_server : base->openapi_server;
    return c;
}

const char *items_config_check_endpoint(apr_pool_t *p, const char *url)
{
    apr_uri_t uri;

    if (apr_uri_parse(p, url, &uri) != APR_SUCCESS || !uri.scheme
        || (strcasecmp(uri.scheme, "http") && strcasecmp(uri.scheme, "https"))) {
        return "must be an http:// or https:// URL";
    }
    if (!uri.hostname || !*uri.hostname) {
        return "has no host name";
    }
    if (uri.query || uri.fragment || uri.user || uri.password) {
        return "must not carry a query, fragment or user information";
    }
    if (uri.port_str && (strspn(uri.port_str, "0123456789") != strlen(uri.port_str)
                         || strlen(uri.port_str) > 5 || atoi(uri.port_str) < 1
                         || atoi(uri.port_str) > 65535)) {
        return "has an invalid port";
    }
    return NULL;
}

const char *items_config_check_region(const char *region)
{
    const char *c;

    if (!*region || strlen(region) > 64) {
        return "must be 1 to 64 characters";
    }
    for (c = region; *c; c++) {
        if (!apr_islower(*c) && !apr_isdigit(*c) && *c != '-') {
            return "may hold only a-z, 0-9 and '-' (e.g. us-east-1)";
        }
    }
    return NULL;
}

const char *items_config_check_table(const char *table)
{
    size_t n = strlen(table);

    if (n < 3 || n > 255 || strspn(table, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789_.-") != n) {
        return "must be 3 to 255 characters of A-Z a-z 0-9 _ . -";
    }
    return NULL;
}

static const char *set_table(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *why = items_config_check_table(arg);

    if (why) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " '", arg, "' ", why, NULL);
    }
    ((items_dir_conf_t *)dconf)->table = arg;
    return NULL;
}

static const char *set_region(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *why = items_config_check_region(arg);

    if (why) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " '", arg, "' ", why, NULL);
    }
    ((items_dir_conf_t *)dconf)->region = arg;
    return NULL;
}

static const char *set_endpoint(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *why = items_config_check_endpoint(cmd->pool, arg);

    if (why) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " '", arg, "' ", why, NULL);
    }
    ((items_dir_conf_t *)dconf)->endpoint = arg;
    ((items_dir_conf_t *)dconf)->endpoint_host = items_http_host(cmd->pool, arg);
    return NULL;
}

static const char *parse_count(cmd_parms *cmd, long *out, const char *arg, long min, long max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 10);
    if (!apr_isdigit(*arg) || *end || errno || v < min || v > max) {
        return apr_psprintf(cmd->pool, "%s '%s' must be a whole number from %ld to %ld",
                            cmd->cmd->name, arg, min, max);
    }
    *out = v;
    return NULL;
}

static const char *set_list_limit(cmd_parms *cmd, void *dconf, const char *arg)
{
    items_dir_conf_t *c = dconf;
    const char *err;
    long v;

    if ((err = parse_count(cmd, &v, arg, 1, 1000000)) != NULL) {
        return err;
    }
    if (!strcmp(cmd->cmd->name, "ItemsListDefault")) {
        c->list_default = (int)v;
    }
    else {
        c->list_max = (int)v;
    }
    return NULL;
}

static const char *set_max_body(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err;
    long v;

    if ((err = parse_count(cmd, &v, arg, 2, 64L * 1024 * 1024)) != NULL) {
        return err;
    }
    ((items_dir_conf_t *)dconf)->max_body = v;
    return NULL;
}

static const char *set_timeout(cmd_parms *cmd, void *dconf, const char *arg)
{
    items_dir_conf_t *c = dconf;
    apr_interval_time_t t;

    if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS || t <= 0
        || t > apr_time_from_sec(3600)) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " '", arg,
                           "' must be a duration from 1ms to 1h, e.g. 3, 2500ms", NULL);
    }
    if (!strcmp(cmd->cmd->name, "ItemsConnectTimeout")) {
        c->connect_timeout = t;
    }
    else if (!strcmp(cmd->cmd->name, "ItemsDeadline")) {
        c->deadline = t;
    }
    else {
        c->timeout = t;
    }
    return NULL;
}

static const char *set_retries(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err;
    long v;

    if ((err = parse_count(cmd, &v, arg, 0, 10)) != NULL) {
        return err;
    }
    ((items_dir_conf_t *)dconf)->retries = (int)v;
    return NULL;
}

static const char *set_ca_file(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_finfo_t finfo;

    if (!path || apr_stat(&finfo, path, APR_FINFO_TYPE, cmd->pool) != APR_SUCCESS
        || finfo.filetype != APR_REG) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " '", arg, "' is not a readable file", NULL);
    }
    ((items_dir_conf_t *)dconf)->ca_file = path;
    return NULL;
}

static const char *set_cursor_secret(cmd_parms *cmd, void *dconf, const char *arg)
{
    unsigned char *key;
    unsigned int n = 0;

    if (strlen(arg) < 16) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           " must be at least 16 characters (use a long random string)", NULL);
    }
    key = apr_palloc(cmd->pool, EVP_MAX_MD_SIZE);
    if (!EVP_Digest(arg, strlen(arg), key, &n, EVP_sha256(), NULL) || n != 32) {
        return "ItemsCursorSecret: cannot derive a key";
    }
    ((items_dir_conf_t *)dconf)->cursor_key = key;
    return NULL;
}

static const char *set_problem_errors(cmd_parms *cmd, void *dconf, int on)
{
    ((items_dir_conf_t *)dconf)->problem_errors = on;
    return NULL;
}

items_proc_conf_t items_proc_conf = { NULL, -1 };

void items_config_proc_reset(void)
{
    items_proc_conf.aws_profile = NULL;
    items_proc_conf.refresh_margin = -1;
}

static const char *set_aws_profile(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *c;

    if (err) {
        return err;
    }
    for (c = arg; *c; c++) {
        if (!apr_isgraph(*c) || *c == '[' || *c == ']') {
            break;
        }
    }
    if (!*arg || *c || strlen(arg) > 128) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " '", arg,
                           "' must be a profile name: 1 to 128 visible characters, no [ or ]",
                           NULL);
    }
    items_proc_conf.aws_profile = arg;
    return NULL;
}

static const char *set_refresh_margin(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_interval_time_t t;

    if (err) {
        return err;
    }
    if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS || t < apr_time_from_msec(100)
        || t > apr_time_from_sec(6 * 3600)) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " '", arg,
                           "' must be a duration from 100ms to 6h, e.g. 300, 2500ms", NULL);
    }
    items_proc_conf.refresh_margin = t;
    return NULL;
}

#define ITEMS_CONTEXT (RSRC_CONF | ACCESS_CONF)

const command_rec items_cmds[] = {
    AP_INIT_TAKE1("ItemsTable", set_table, NULL, ITEMS_CONTEXT,
                  "DynamoDB table name (default: $DYNAMODB_TABLE, else 'items')"),
    AP_INIT_TAKE1("ItemsRegion", set_region, NULL, ITEMS_CONTEXT,
                  "AWS region (default: $AWS_DEFAULT_REGION, $AWS_REGION, else us-east-1)"),
    AP_INIT_TAKE1("ItemsEndpoint", set_endpoint, NULL, ITEMS_CONTEXT,
                  "DynamoDB endpoint URL (default: $DYNAMODB_ENDPOINT_URL, "
                  "$AWS_ENDPOINT_URL_DYNAMODB, $AWS_ENDPOINT_URL, else AWS's regional endpoint)"),
    AP_INIT_TAKE1("ItemsListDefault", set_list_limit, NULL, ITEMS_CONTEXT,
                  "items listed when the request gives no limit (default 50)"),
    AP_INIT_TAKE1("ItemsListMax", set_list_limit, NULL, ITEMS_CONTEXT,
                  "largest limit a list request may ask for (default 1000)"),
    AP_INIT_TAKE1("ItemsMaxBodySize", set_max_body, NULL, ITEMS_CONTEXT,
                  "largest request body accepted, in bytes (default 409600)"),
    AP_INIT_TAKE1("ItemsConnectTimeout", set_timeout, NULL, ITEMS_CONTEXT,
                  "time allowed to connect to DynamoDB (default 3s)"),
    AP_INIT_TAKE1("ItemsTimeout", set_timeout, NULL, ITEMS_CONTEXT,
                  "time allowed for one attempt at a DynamoDB call (default 5s)"),
    AP_INIT_TAKE1("ItemsDeadline", set_timeout, NULL, ITEMS_CONTEXT,
                  "time allowed for all DynamoDB calls of one request, retries included "
                  "(default 20s)"),
    AP_INIT_TAKE1("ItemsRetries", set_retries, NULL, ITEMS_CONTEXT,
                  "retries of a DynamoDB call that failed in a way worth repeating, 0 to 10 "
                  "(default 3)"),
    AP_INIT_TAKE1("ItemsCAFile", set_ca_file, NULL, ITEMS_CONTEXT,
                  "CA certificates (PEM) to verify the DynamoDB endpoint with (default: the "
                  "system's)"),
    AP_INIT_TAKE1("ItemsCursorSecret", set_cursor_secret, NULL, ITEMS_CONTEXT,
                  "secret that signs list cursors, the same on every server behind one "
                  "endpoint (default: random at each start)"),
    AP_INIT_FLAG("ItemsProblemErrors", set_problem_errors, NULL, ITEMS_CONTEXT,
                 "On: errors httpd itself answers here (bad request line, oversized headers, "
                 "auth) are application/problem+json too, not HTML (default: Off, only for "
                 "requests that reach the items handler)"),
    AP_INIT_TAKE1("ItemsOpenAPIFile", items_openapi_set_file, NULL, ITEMS_CONTEXT,
                  "OpenAPI document (JSON) that the items-openapi handler serves, read and "
                  "checked at startup (default: none)"),
    AP_INIT_TAKE1("ItemsOpenAPIServer", items_openapi_set_server, NULL, ITEMS_CONTEXT,
                  "where the API is mounted, written into the served document's servers[0].url: "
                  "a path or an http(s) URL (default /items)"),
    AP_INIT_TAKE1("ItemsAwsProfile", set_aws_profile, NULL, RSRC_CONF,
                  "profile of the shared AWS files (~/.aws/credentials, ~/.aws/config) that "
                  "holds the credentials; main server config only (default: $AWS_PROFILE, "
                  "else 'default')"),
    AP_INIT_TAKE1("ItemsAwsRefreshMargin", set_refresh_margin, NULL, RSRC_CONF,
                  "how long before temporary AWS credentials expire they are refreshed; main "
                  "server config only (default 300s)"),
    { NULL }
};
