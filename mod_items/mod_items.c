/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_items: a REST API for items stored in Amazon DynamoDB.
 * Hooks and process lifetime; directives are in mod_items_config.c, the
 * request path in mod_items_handler.c.
 */
#define ITEMS_DECLARES_MODULE
#include "mod_items_private.h"
#include "items_ddb.h"
#include "items_http.h"

#include <apr_atomic.h>
#include <apr_env.h>
#include <openssl/evp.h>
#include <apr_strings.h>
#include <ap_expr.h>
#include <ap_mpm.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>

items_env_defaults_t items_env;

/*
 * The AWS credential provider: resolved in post_config into pconf (so once per
 * configuration, in the parent), then started in each child, where pchild owns
 * what it holds and items_creds_get() finds it.
 */
static items_creds_provider_t *creds_provider;

static const char *env_first(apr_pool_t *p, const char *const *names)
{
    char *v;

    for (; *names; names++) {
        if (apr_env_get(&v, *names, p) == APR_SUCCESS && v && *v) {
            return v;
        }
    }
    return NULL;
}

/* Read and check the environment fallbacks; NULL or the reason startup must fail. */
static const char *load_env_defaults(apr_pool_t *p)
{
    static const char *const table_vars[] = { "DYNAMODB_TABLE", NULL };
    static const char *const region_vars[] = { "AWS_DEFAULT_REGION", "AWS_REGION", NULL };
    static const char *const endpoint_vars[] = { "DYNAMODB_ENDPOINT_URL",
                                                 "AWS_ENDPOINT_URL_DYNAMODB",
                                                 "AWS_ENDPOINT_URL", NULL };
    const char *why;
    char *secret = NULL;

    memset(&items_env, 0, sizeof(items_env));
    items_env.table = env_first(p, table_vars);
    items_env.region = env_first(p, region_vars);
    items_env.endpoint = env_first(p, endpoint_vars);
    if (items_env.table && (why = items_config_check_table(items_env.table)) != NULL) {
        return apr_psprintf(p, "DYNAMODB_TABLE '%s' %s", items_env.table, why);
    }
    if (items_env.region && (why = items_config_check_region(items_env.region)) != NULL) {
        return apr_psprintf(p, "AWS region '%s' from the environment %s", items_env.region, why);
    }
    if (items_env.endpoint
        && (why = items_config_check_endpoint(p, items_env.endpoint)) != NULL) {
        return apr_psprintf(p, "DynamoDB endpoint '%s' from the environment %s",
                            items_env.endpoint, why);
    }
    if (!items_env.table) {
        items_env.table = "items";
    }
    if (!items_env.region) {
        items_env.region = "us-east-1";
    }
    items_env.region_endpoint =
        apr_pstrcat(p, "https://dynamodb.", items_env.region, ".amazonaws.com", NULL);
    items_env.region_endpoint_host = items_http_host(p, items_env.region_endpoint);
    items_env.endpoint_host = items_env.endpoint ? items_http_host(p, items_env.endpoint) : NULL;
    /* Credentials come from the provider chain, resolved in post_config. */
    /* A shared secret keeps cursors valid across servers and restarts. */
    if (apr_env_get(&secret, "ITEMS_CURSOR_SECRET", p) == APR_SUCCESS && secret && *secret) {
        if (strlen(secret) < 16) {
            return "ITEMS_CURSOR_SECRET must be at least 16 characters";
        }
        EVP_Digest(secret, strlen(secret), items_env.cursor_key, NULL, EVP_sha256(), NULL);
    }
    else if (apr_generate_random_bytes(items_env.cursor_key, sizeof(items_env.cursor_key))
             != APR_SUCCESS) {
        return "cannot read random bytes for the cursor key";
    }
    return NULL;
}

/*
 * Walk the AWS credential chain once for this configuration and log the
 * outcome: where the credentials come from (info), or why there are none
 * (warning). Fills items_env.creds too, for code that reads them directly.
 */
static void resolve_credentials(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    items_creds_options_t opts;
    const char *why = NULL, *w = NULL;
    apr_status_t rv;

    memset(&opts, 0, sizeof(opts));
    opts.profile = items_proc_conf.aws_profile;
    opts.region = items_env.region;
    opts.refresh_margin = items_proc_conf.refresh_margin > 0 ? items_proc_conf.refresh_margin : 0;
    rv = items_creds_resolve(&creds_provider, &why, pconf, &opts);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ITEMS0002: %s: DynamoDB calls will fail",
                     why);
        return;
    }
    if (why) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "ITEMS0005: AWS credentials (%s) are not available yet: %s; each server "
                     "process retries when a request needs them",
                     items_creds_source_name(items_creds_provider_source(creds_provider)), why);
    }
    items_env.have_creds =
        items_creds_provider_get(&items_env.creds, &w, pconf, creds_provider) == APR_SUCCESS;
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 "ITEMS0003: table %s, region %s, endpoint %s, AWS credentials (%s): %s",
                 items_env.table, items_env.region,
                 items_env.endpoint ? items_env.endpoint : items_env.region_endpoint,
                 items_creds_source_name(items_creds_provider_source(creds_provider)),
                 items_creds_provider_describe(ptemp, creds_provider));
}

static int items_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    items_config_proc_reset();
    creds_provider = NULL;
    return OK;
}

static int items_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                             server_rec *s)
{
    const char *why = load_env_defaults(pconf);

    (void)plog;
    if (why) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "ITEMS0001: %s", why);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK; /* the first of httpd's two configuration passes: stay quiet */
    }
    items_status_post_config(pconf, s);
    resolve_credentials(pconf, ptemp, s);
    return OK;
}

/* `apachectl configtest` stops before post_config: check the environment here too. */
static void items_test_config(apr_pool_t *pconf, server_rec *s)
{
    const char *why = load_env_defaults(pconf);

    if (why) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "ITEMS0001: %s", why);
        fprintf(stderr, "mod_items: %s\n", why);
        exit(1);
    }
}

static void items_child_init(apr_pool_t *pchild, server_rec *s)
{
    int threads = 1;
    apr_status_t rv;

    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1) {
        threads = 1;
    }
    apr_atomic_init(pchild);
    items_ddb_init();
    items_status_child_init(pchild);
    rv = items_http_init(pchild, threads);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ITEMS0004: cannot set up libcurl");
    }
    if (creds_provider
        && (rv = items_creds_provider_start(creds_provider, pchild)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "ITEMS0006: cannot set up the AWS credentials of this process");
    }
}

static int handler_is_items(request_rec *r)
{
    core_dir_config *d = ap_get_core_module_config(r->per_dir_config);
    const char *err = NULL, *h;

    if (!d->expr_handler) {
        return 0;
    }
    h = ap_expr_str_exec(r, d->expr_handler, &err);
    return !err && h && !strcmp(h, ITEMS_HANDLER);
}

apr_ssize_t items_mount_len(request_rec *r)
{
    /* The section SetHandler came from: core knows its path even where ours has no config. */
    core_dir_config *d = ap_get_core_module_config(r->per_dir_config);
    apr_size_t n;

    if (!d || !d->d || d->d[0] != '/' || d->r || d->d_is_fnmatch || !r->uri) {
        return -1;
    }
    n = strlen(d->d);
    while (n > 0 && d->d[n - 1] == '/') {
        n--;
    }
    if (strncmp(r->uri, d->d, n) || (r->uri[n] && r->uri[n] != '/')) {
        return -1;
    }
    return (apr_ssize_t)n;
}

int items_request_is_ours(request_rec *r)
{
    items_dir_conf_t *c = ap_get_module_config(r->per_dir_config, &items_module);

    if (r->handler && !strcmp(r->handler, ITEMS_HANDLER)) {
        return 1;
    }
    if (c && c->problem_errors == 1) {
        return 1;
    }
    return items_mount_len(r) >= 0 && handler_is_items(r);
}

static void items_insert_error_filter(request_rec *r)
{
    if (items_request_is_ours(r)) {
        ap_add_output_filter(ITEMS_PROBLEM_FILTER, NULL, r, r->connection);
    }
}

/*
 * Requests for our mount point map to no file: name them "items:" here so
 * that map_to_storage can skip the directory walk, which costs much and
 * finds nothing.
 */
static int items_translate_name(request_rec *r)
{
    if (items_mount_len(r) < 0 || !handler_is_items(r)) {
        return DECLINED;
    }
    r->filename = apr_pstrcat(r->pool, "items:", r->uri, NULL);
    return OK;
}

static int items_map_to_storage(request_rec *r)
{
    return (r->filename && !strncmp(r->filename, "items:", 6)) ? OK : DECLINED;
}

static void items_register_hooks(apr_pool_t *p)
{
    static const char *const after_rewrite[] = { "mod_rewrite.c", NULL };

    (void)p;
    ap_hook_pre_config(items_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(items_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_test_config(items_test_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(items_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_translate_name(items_translate_name, after_rewrite, NULL, APR_HOOK_FIRST);
    ap_hook_map_to_storage(items_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(items_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(items_health_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(items_openapi_handler, NULL, NULL, APR_HOOK_MIDDLE);
    items_status_register_hooks();
    ap_hook_insert_error_filter(items_insert_error_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_output_filter(ITEMS_PROBLEM_FILTER, items_problem_filter, NULL,
                              AP_FTYPE_RESOURCE);
}

AP_DECLARE_MODULE(items) = {
    STANDARD20_MODULE_STUFF,
    items_config_create_dir,
    items_config_merge_dir,
    NULL,
    NULL,
    items_cmds,
    items_register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_ALWAYS_MERGE
#endif
};
