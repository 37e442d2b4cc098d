/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Operability: counters shared by all children (anonymous shared memory made
 * before the fork), a mod_status section, per-request notes for LogFormat,
 * and the "items-health" handler.
 */
#include "mod_items_private.h"
#include "items_json.h"
#include "items_status.h"

#include <apr_atomic.h>
#include <apr_optional_hooks.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <http_protocol.h>
#include <mod_status.h>

/* How long a health verdict is reused: load balancers probe often. */
#define HEALTH_CACHE_TIME apr_time_from_sec(3)
#define HEALTH_CACHE_SLOTS 8

/* In shared memory after post_config; NULL before (configtest). */
static items_counters_t *counters;

/* Per child: the last verdicts, by endpoint and table. */
typedef struct health_slot {
    char key[512];
    apr_time_t checked;
    apr_status_t rv;
    char reason[256];
} health_slot_t;

static health_slot_t health_cache[HEALTH_CACHE_SLOTS];
static apr_thread_mutex_t *health_lock;

apr_status_t items_status_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_shm_t *shm;
    apr_status_t rv = apr_shm_create(&shm, sizeof(items_counters_t), NULL, pconf);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "ITEMS0005: no shared memory for counters: each child counts alone");
        counters = apr_pcalloc(pconf, sizeof(*counters));
    }
    else {
        counters = apr_shm_baseaddr_get(shm);
        memset(counters, 0, sizeof(*counters));
    }
    items_ddb_stats = &counters->ddb;
    return APR_SUCCESS;
}

apr_status_t items_status_child_init(apr_pool_t *pchild)
{
    memset(health_cache, 0, sizeof(health_cache));
    return apr_thread_mutex_create(&health_lock, APR_THREAD_MUTEX_DEFAULT, pchild);
}

void items_status_count(request_rec *r, const items_ddb_diag_t *diag)
{
    int cls = r->status / 100;

    if (counters) {
        apr_atomic_inc32(&counters->requests);
        if (cls >= 1 && cls <= 5) {
            apr_atomic_inc32(&counters->responses[cls]);
        }
    }
    /* For LogFormat: %{items-ddb-ms}n %{items-ddb-calls}n %{items-ddb-retries}n */
    apr_table_setn(r->notes, "items-ddb-ms",
                   apr_psprintf(r->pool, "%" APR_TIME_T_FMT, apr_time_as_msec(diag->elapsed)));
    apr_table_setn(r->notes, "items-ddb-calls", apr_itoa(r->pool, diag->calls));
    apr_table_setn(r->notes, "items-ddb-retries", apr_itoa(r->pool, diag->retries));
    if (diag->aws_type) {
        apr_table_setn(r->notes, "items-ddb-error", diag->aws_type);
    }
}

static int status_hook(request_rec *r, int flags)
{
    items_counters_t c;
    apr_uint32_t calls;
    int i;

    if (!counters) {
        return OK;
    }
    c.requests = apr_atomic_read32(&counters->requests);
    for (i = 0; i < 6; i++) {
        c.responses[i] = apr_atomic_read32(&counters->responses[i]);
    }
    calls = apr_atomic_read32(&counters->ddb.calls);
    c.ddb.retries = apr_atomic_read32(&counters->ddb.retries);
    c.ddb.failures = apr_atomic_read32(&counters->ddb.failures);
    c.ddb.throttles = apr_atomic_read32(&counters->ddb.throttles);
    c.ddb.budget_exhausted = apr_atomic_read32(&counters->ddb.budget_exhausted);
    c.ddb.time_ms = apr_atomic_read32(&counters->ddb.time_ms);

    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "ItemsRequests: %u\n", c.requests);
        for (i = 2; i <= 5; i++) {
            ap_rprintf(r, "ItemsResponses%dxx: %u\n", i, c.responses[i]);
        }
        ap_rprintf(r, "ItemsDynamoDBCalls: %u\nItemsDynamoDBRetries: %u\n"
                      "ItemsDynamoDBFailures: %u\nItemsDynamoDBThrottles: %u\n"
                      "ItemsDynamoDBRetryBudgetExhausted: %u\nItemsDynamoDBAvgMs: %.2f\n",
                   calls, c.ddb.retries, c.ddb.failures, c.ddb.throttles, c.ddb.budget_exhausted,
                   calls ? (double)c.ddb.time_ms / calls : 0.0);
        return OK;
    }
    ap_rputs("<hr />\n<h2>mod_items</h2>\n<dl>\n", r);
    ap_rprintf(r, "<dt>Requests: %u (2xx %u, 3xx %u, 4xx %u, 5xx %u)</dt>\n", c.requests,
               c.responses[2], c.responses[3], c.responses[4], c.responses[5]);
    ap_rprintf(r, "<dt>DynamoDB calls: %u, retries %u, failures %u, throttled %u, "
                  "retry budget exhausted %u</dt>\n",
               calls, c.ddb.retries, c.ddb.failures, c.ddb.throttles, c.ddb.budget_exhausted);
    ap_rprintf(r, "<dt>DynamoDB latency: %.2f ms on average</dt>\n</dl>\n",
               calls ? (double)c.ddb.time_ms / calls : 0.0);
    return OK;
}

void items_status_register_hooks(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL, APR_HOOK_MIDDLE);
}

/* --- items-health ------------------------------------------------------------------ */

static int send_health(request_rec *r, apr_status_t rv, const char *reason)
{
    json_t *body;
    const char *text;
    apr_size_t len;
    int status = rv == APR_SUCCESS ? HTTP_OK : HTTP_SERVICE_UNAVAILABLE;

    if (status == HTTP_OK) {
        body = json_pack("{ss}", "status", "ok");
        ap_set_content_type(r, "application/json");
    }
    else {
        body = json_pack("{ss ss si ss}", "type", "about:blank", "title", "Service Unavailable",
                         "status", status, "detail", reason);
        ap_set_content_type(r, "application/problem+json");
        apr_table_setn(r->headers_out, "Retry-After", "5");
    }
    items_json_own(r->pool, body);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (!body || items_json_dump(&text, &len, r->pool, body) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    r->status = status;
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only) {
        ap_rwrite(text, (int)len, r);
    }
    return OK;
}

int items_health_handler(request_rec *r)
{
    const items_dir_conf_t *c;
    items_ddb_t ddb;
    items_ddb_diag_t diag;
    health_slot_t *slot = NULL, *oldest = NULL;
    const char *key, *table_status, *reason;
    apr_time_t now = apr_time_now();
    apr_status_t rv;
    int i;

    if (!r->handler || strcmp(r->handler, ITEMS_HEALTH_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD");
        return HTTP_METHOD_NOT_ALLOWED;
    }
    c = ap_get_module_config(r->per_dir_config, &items_module);
    items_ddb_target(&ddb, r, c);
    key = apr_pstrcat(r->pool, ddb.endpoint, " ", ddb.table, NULL);

    if (health_lock && strlen(key) < sizeof(slot->key)) {
        apr_thread_mutex_lock(health_lock);
        for (i = 0; i < HEALTH_CACHE_SLOTS; i++) {
            if (!strcmp(health_cache[i].key, key)) {
                slot = &health_cache[i];
            }
            if (!oldest || health_cache[i].checked < oldest->checked) {
                oldest = &health_cache[i];
            }
        }
        if (slot && now - slot->checked < HEALTH_CACHE_TIME) {
            rv = slot->rv;
            reason = apr_pstrdup(r->pool, slot->reason);
            apr_thread_mutex_unlock(health_lock);
            return send_health(r, rv, reason);
        }
        apr_thread_mutex_unlock(health_lock);
    }

    memset(&diag, 0, sizeof(diag));
    rv = items_ddb_describe(&table_status, &diag, r->pool, &ddb);
    if (rv == APR_SUCCESS) {
        reason = "ok";
    }
    else if (table_status) {
        reason = apr_psprintf(r->pool, "the table is %s", table_status);
    }
    else if (rv == ITEMS_ENOCREDS) {
        reason = "no AWS credentials";
    }
    else if (rv == ITEMS_ETIMEOUT) {
        reason = "DynamoDB did not answer in time";
    }
    else if (rv == ITEMS_EUNAVAILABLE) {
        reason = "DynamoDB is unreachable or throttling";
    }
    else {
        reason = "DynamoDB refused or failed the check; the error log says why";
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "ITEMS0202: health check failed: DynamoDB DescribeTable HTTP %ld%s%s: %s",
                      diag.http_status, diag.aws_type ? " " : "",
                      diag.aws_type ? diag.aws_type : "", diag.message ? diag.message : reason);
    }
    if (health_lock && strlen(key) < sizeof(slot->key)) {
        apr_thread_mutex_lock(health_lock);
        slot = slot ? slot : oldest;
        apr_cpystrn(slot->key, key, sizeof(slot->key));
        apr_cpystrn(slot->reason, reason, sizeof(slot->reason));
        slot->checked = now;
        slot->rv = rv;
        apr_thread_mutex_unlock(health_lock);
    }
    return send_health(r, rv, reason);
}
