/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DynamoDB's JSON protocol (API version 2012-08-10): request bodies,
 * AttributeValue (un)marshalling, conditions, and the translation of
 * DynamoDB's answers (HTTP status + __type) into apr_status_t.
 *
 * Stored items carry the module's own attributes next to the client's:
 * "_version" (a random token, new on every write: the ETag) and, for items
 * made by POST with an Idempotency-Key, "_request" (a hash of that request).
 */
#ifndef ITEMS_DDB_H
#define ITEMS_DDB_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>

#include "items_creds.h"

/* Where and how to reach one table. */
typedef struct items_ddb {
    const char *endpoint; /* http(s) URL of the DynamoDB endpoint */
    const char *host;     /* its Host header, from items_http_host(); NULL: derived per call */
    const char *region;
    const char *table;
    const items_creds_t *creds;
    apr_interval_time_t connect_timeout;
    apr_interval_time_t timeout;   /* one attempt */
    apr_time_t deadline;           /* the whole request's end (absolute), 0: none */
    int max_attempts;              /* attempts per call, retries included (>= 1) */
    const char *ca_file;           /* CA bundle for TLS, NULL: system default */
} items_ddb_t;

/* What happened on the wire, for the error log (never shown to clients). */
typedef struct items_ddb_diag {
    const char *operation;  /* e.g. "PutItem" */
    long http_status;       /* 0 when no answer arrived */
    const char *aws_type;   /* short __type, e.g. "ResourceNotFoundException" */
    const char *message;    /* DynamoDB's message or the transport error */
    apr_time_t elapsed;
    int calls;              /* DynamoDB calls made, retries included */
    int retries;            /* of those, repeats after a failure */
    int maybe_applied;      /* an attempt may have taken effect although it failed, or went
                               out twice: a condition failure may be our own doing */
    int transport_error;    /* the last attempt failed below HTTP (reset, truncated, timeout) */
    int lasting;            /* ... in a way no retry cures (items_http_response_t.lasting) */
} items_ddb_diag_t;

/* Counters of DynamoDB calls, updated atomically; read with apr_atomic_read32. */
typedef struct items_ddb_stats {
    volatile apr_uint32_t calls, retries, failures, throttles, budget_exhausted;
    volatile apr_uint32_t time_ms; /* total time in DynamoDB calls, wraps */
} items_ddb_stats_t;

/* Where the counters go: a process-local block unless the glue points it at shared memory. */
extern items_ddb_stats_t *items_ddb_stats;

/* Once per process: retry budget and clock-skew state. */
void items_ddb_init(void);

/* The module's bookkeeping on a stored item. */
typedef struct items_ddb_meta {
    const char *version;    /* NULL for items written by others */
    const char *request;    /* hash of the creating request, or NULL */
} items_ddb_meta_t;

/* A condition on a write. */
typedef struct items_ddb_cond {
    int must_exist;                  /* attribute_exists(id) */
    int must_not_exist;              /* attribute_not_exists(id) */
    const apr_array_header_t *versions; /* const char *: the current version must be one of these */
    int unversioned;                 /* the item must have no version (written by others) */
} items_ddb_cond_t;

/*
 * Write the whole item id (PutItem) with attrs (which hold no "id") and the
 * given meta, under cond. *created says whether no item was there before.
 * ITEMS_ECONFLICT when the condition failed.
 */
apr_status_t items_ddb_put(int *created, items_ddb_diag_t *diag, apr_pool_t *p,
                           const items_ddb_t *ddb, const char *id, const json_t *attrs,
                           const items_ddb_meta_t *meta, const items_ddb_cond_t *cond);

/* Fetch one item by id (consistent read), "id" first; ITEMS_ENOTFOUND when absent. */
apr_status_t items_ddb_get(json_t **item, items_ddb_meta_t *meta, items_ddb_diag_t *diag,
                           apr_pool_t *p, const items_ddb_t *ddb, const char *id);

/*
 * The same, as the client's JSON text (NUL-terminated): read straight from
 * DynamoDB's answer by items_ddbtext.c when it can, through jansson otherwise.
 */
apr_status_t items_ddb_get_text(const char **text, apr_size_t *text_len, items_ddb_meta_t *meta,
                                items_ddb_diag_t *diag, apr_pool_t *p, const items_ddb_t *ddb,
                                const char *id);

/*
 * Apply a merge patch atomically (UpdateItem): members set, nulls removed,
 * nested objects merged through document paths, a new version set; the item
 * must exist and meet cond. *item is the item afterwards. ITEMS_ECONFLICT
 * when a condition failed (absent item, other version, or a nested object
 * patched onto something that is not one), ITEMS_ETOOLARGE when the patch
 * cannot be expressed as one UpdateItem (the caller then merges itself).
 */
apr_status_t items_ddb_update(json_t **item, items_ddb_meta_t *meta, items_ddb_diag_t *diag,
                              apr_pool_t *p, const items_ddb_t *ddb, const char *id,
                              const json_t *patch, const char *new_version,
                              const items_ddb_cond_t *cond);

/* DescribeTable: APR_SUCCESS when the table exists and is ACTIVE (*status says its state). */
apr_status_t items_ddb_describe(const char **status, items_ddb_diag_t *diag, apr_pool_t *p,
                                const items_ddb_t *ddb);

/* Delete the item id, which must exist and meet cond; ITEMS_ECONFLICT when not. */
apr_status_t items_ddb_delete(items_ddb_diag_t *diag, apr_pool_t *p, const items_ddb_t *ddb,
                              const char *id, const items_ddb_cond_t *cond);

/*
 * Up to limit (>= 1) items as the client's JSON array text (NUL-terminated),
 * following DynamoDB's pages as needed, starting after start_id (NULL: from
 * the beginning). *next_id is where the next page starts, NULL when the scan
 * is complete. A first page that completes the list is read straight by
 * items_ddbtext.c when it can, the rest through jansson.
 */
apr_status_t items_ddb_scan(const char **text, apr_size_t *text_len, const char **next_id,
                            items_ddb_diag_t *diag, apr_pool_t *p, const items_ddb_t *ddb,
                            int limit, const char *start_id);

/* --- pure parts, exposed for unit tests ------------------------------------ */

/* A JSON value as a DynamoDB AttributeValue. ITEMS_EINVALID for what DynamoDB cannot hold. */
apr_status_t items_ddb_marshal(json_t **av, apr_pool_t *p, const json_t *value);

/* The same AttributeValue as JSON text, written without building it. */
apr_status_t items_ddb_marshal_text(const char **text, apr_size_t *len, apr_pool_t *p,
                                    const json_t *value);

/* A DynamoDB AttributeValue as plain JSON. ITEMS_EBADGATEWAY when av is malformed. */
apr_status_t items_ddb_unmarshal(json_t **value, apr_pool_t *p, const json_t *av);

/*
 * A stored item (a map of AttributeValues) as the client sees it: "id" first,
 * the module's "_" attributes taken out into *meta.
 */
apr_status_t items_ddb_unmarshal_item(json_t **item, items_ddb_meta_t *meta, apr_pool_t *p,
                                      const json_t *attrs);

/*
 * The UpdateItem request for a merge patch. ITEMS_ETOOLARGE when the
 * expressions would exceed DynamoDB's limits.
 */
apr_status_t items_ddb_update_request(json_t **request, apr_pool_t *p, const char *table,
                                      const char *id, const json_t *patch,
                                      const char *new_version, const items_ddb_cond_t *cond);

/*
 * Classify a DynamoDB answer: APR_SUCCESS for 200, else the status for its
 * __type (throttling, missing table, condition failed, ...). *aws_type and
 * *message are set when the body carries them.
 */
apr_status_t items_ddb_status_for(const char **aws_type, const char **message, apr_pool_t *p,
                                  long http_status, const char *body, apr_size_t len);

#endif
