/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the httpd glue (mod_items*.c) only. Log tags are ITEMSnnnn:
 * 00xx startup and configuration, 01xx requests, 02xx DynamoDB.
 */
#ifndef MOD_ITEMS_PRIVATE_H
#define MOD_ITEMS_PRIVATE_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <util_filter.h>

#include "items_creds.h"
#include "items_ddb.h"

/* mod_items.c gets this from AP_DECLARE_MODULE. */
#ifndef ITEMS_DECLARES_MODULE
APLOG_USE_MODULE(items);
#endif

extern module AP_MODULE_DECLARE_DATA items_module;

#define ITEMS_HANDLER "items"

/* Per-directory (and so per-server) configuration; NULL / -1 means "not set here". */
typedef struct items_dir_conf {
    const char *table;
    const char *region;
    const char *endpoint;
    const char *endpoint_host; /* Host header for endpoint, computed once */
    int list_default;
    int list_max;
    apr_off_t max_body;
    apr_interval_time_t connect_timeout;
    apr_interval_time_t timeout;
    const unsigned char *cursor_key; /* from ItemsCursorSecret */
    int problem_errors;  /* ItemsProblemErrors: -1 unset, 0 off, 1 on */
    int retries;         /* ItemsRetries, -1 unset */
    apr_interval_time_t deadline; /* ItemsDeadline, -1 unset */
    const char *ca_file; /* ItemsCAFile */
    const struct items_openapi_doc *openapi; /* ItemsOpenAPIFile, parsed at startup */
    const char *openapi_server; /* ItemsOpenAPIServer, as a JSON string */
} items_dir_conf_t;

/*
 * What the environment says, read once at startup (post_config) into the
 * configuration pool and only read afterwards.
 */
typedef struct items_env_defaults {
    const char *table;
    const char *region;
    const char *endpoint;          /* NULL: derived from the region */
    const char *endpoint_host;
    const char *region_endpoint;   /* https://dynamodb.<region>.amazonaws.com */
    const char *region_endpoint_host;
    items_creds_t creds;
    int have_creds;
    /* Signs pagination cursors unless ItemsCursorSecret is set: random per start. */
    unsigned char cursor_key[32];
} items_env_defaults_t;

extern items_env_defaults_t items_env;

/*
 * Process-wide settings from the main server configuration (the credential
 * provider is one per process): reset before each reading of the
 * configuration (pre_config), read in post_config.
 */
typedef struct items_proc_conf {
    const char *aws_profile;               /* ItemsAwsProfile, NULL: unset */
    apr_interval_time_t refresh_margin;    /* ItemsAwsRefreshMargin, -1: unset */
} items_proc_conf_t;

extern items_proc_conf_t items_proc_conf;
void items_config_proc_reset(void);

#define ITEMS_DEFAULT_LIST_LIMIT 50
#define ITEMS_DEFAULT_LIST_MAX 1000
#define ITEMS_DEFAULT_MAX_BODY (400 * 1024)
#define ITEMS_DEFAULT_CONNECT_TIMEOUT apr_time_from_sec(3)
#define ITEMS_DEFAULT_TIMEOUT apr_time_from_sec(5)
#define ITEMS_DEFAULT_DEADLINE apr_time_from_sec(20)
#define ITEMS_DEFAULT_RETRIES 3

extern const command_rec items_cmds[];
void *items_config_create_dir(apr_pool_t *p, char *dir);
void *items_config_merge_dir(apr_pool_t *p, void *base, void *add);

/* NULL if url is an acceptable DynamoDB endpoint, else why not. */
const char *items_config_check_endpoint(apr_pool_t *p, const char *url);
const char *items_config_check_region(const char *region);
const char *items_config_check_table(const char *table);

int items_handler(request_rec *r);

/* The DynamoDB target of a request: directives, else the environment. */
void items_ddb_target(items_ddb_t *ddb, request_rec *r, const items_dir_conf_t *c);

/* --- mod_items_status.c: counters shared by all children, health, mod_status ---------- */

#define ITEMS_HEALTH_HANDLER "items-health"

typedef struct items_counters {
    items_ddb_stats_t ddb;
    volatile apr_uint32_t requests;
    volatile apr_uint32_t responses[6]; /* by status class: [2] = 2xx ... [5] = 5xx */
} items_counters_t;

apr_status_t items_status_post_config(apr_pool_t *pconf, server_rec *s);
apr_status_t items_status_child_init(apr_pool_t *pchild);
void items_status_register_hooks(void);
/* Count a response of the items handler and leave its DynamoDB figures in r->notes. */
void items_status_count(request_rec *r, const items_ddb_diag_t *diag);
int items_health_handler(request_rec *r);

/* --- mod_items_openapi.c: the API's OpenAPI document ------------------------------------ */

#define ITEMS_OPENAPI_HANDLER "items-openapi"
#define ITEMS_OPENAPI_DEFAULT_SERVER "/items"

const char *items_openapi_set_file(cmd_parms *cmd, void *dconf, const char *arg);
const char *items_openapi_set_server(cmd_parms *cmd, void *dconf, const char *arg);
int items_openapi_handler(request_rec *r);

/* Whether r is for the items handler (its section says SetHandler items). */
int items_request_is_ours(request_rec *r);

/* Length of the <Location> path r is below (the mount point), -1 when there is none. */
apr_ssize_t items_mount_len(request_rec *r);

/* Replaces the body of errors httpd raises itself (413, 400, 401...) with problem+json. */
apr_status_t items_problem_filter(ap_filter_t *f, apr_bucket_brigade *bb);
#define ITEMS_PROBLEM_FILTER "ITEMS_PROBLEM"

#endif
