/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS credentials. For now they come from the standard environment variables,
 * read once at startup; the full provider chain comes later behind this same
 * interface.
 */
#ifndef ITEMS_CREDS_H
#define ITEMS_CREDS_H

#include <apr_pools.h>

typedef struct items_creds {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL when the keys are long-term */
} items_creds_t;

/*
 * Read AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN into
 * *creds (copied into p). APR_ENOENT when the key pair is absent or partial.
 */
apr_status_t items_creds_from_env(items_creds_t *creds, apr_pool_t *p);

/* A form of an access key id that is safe to log: "AKIA…WXYZ" (never the secret). */
const char *items_creds_mask(apr_pool_t *p, const char *access_key_id);

#endif
