/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DynamoDB's JSON protocol (API version 2012-08-10): request bodies,
 * AttributeValue (un)marshalling, and the translation of DynamoDB's answers
 * (HTTP status + __type) into apr_status_t.
 */
#ifndef ITEMS_DDB_H
#define ITEMS_DDB_H

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>

#include "items_creds.h"

/* Where and how to reach one table. */
typedef struct items_ddb {
    const char *endpoint; /* http(s) URL of the DynamoDB endpoint */
    const char *region;
    const char *table;
    const items_creds_t *creds;
    apr_interval_time_t connect_timeout;
    apr_interval_time_t timeout;
} items_ddb_t;

/* What happened on the wire, for the error log (never shown to clients). */
typedef struct items_ddb_diag {
    const char *operation;  /* e.g. "PutItem" */
    long http_status;       /* 0 when no answer arrived */
    const char *aws_type;   /* short __type, e.g. "ResourceNotFoundException" */
    const char *message;    /* DynamoDB's message or the transport error */
    apr_time_t elapsed;
} items_ddb_diag_t;

/* Store a new item (it carries its "id"); ITEMS_ECONFLICT when that id exists. */
apr_status_t items_ddb_put_new(items_ddb_diag_t *diag, apr_pool_t *p, const items_ddb_t *ddb,
                               const json_t *item);

/* Fetch one item by id (consistent read); ITEMS_ENOTFOUND when absent. */
apr_status_t items_ddb_get(json_t **item, items_ddb_diag_t *diag, apr_pool_t *p,
                           const items_ddb_t *ddb, const char *id);

/* Up to limit items as a JSON array, following DynamoDB's pages as needed. */
apr_status_t items_ddb_scan(json_t **items, items_ddb_diag_t *diag, apr_pool_t *p,
                            const items_ddb_t *ddb, int limit);

/* --- pure parts, exposed for unit tests ------------------------------------ */

/* A JSON value as a DynamoDB AttributeValue. ITEMS_EINVALID for what DynamoDB cannot hold. */
apr_status_t items_ddb_marshal(json_t **av, apr_pool_t *p, const json_t *value);

/* A DynamoDB AttributeValue as plain JSON. ITEMS_EBADGATEWAY when av is malformed. */
apr_status_t items_ddb_unmarshal(json_t **value, apr_pool_t *p, const json_t *av);

/*
 * Classify a DynamoDB answer: APR_SUCCESS for 200, else the status for its
 * __type (throttling, missing table, condition failed, ...). *aws_type and
 * *message are set when the body carries them.
 */
apr_status_t items_ddb_status_for(const char **aws_type, const char **message, apr_pool_t *p,
                                  long http_status, const char *body, apr_size_t len);

#endif
