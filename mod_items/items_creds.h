/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS credentials: the standard provider chain of the AWS SDKs, resolved once
 * at startup, cached per process and refreshed ahead of expiry.
 *
 * The chain, in the SDKs' order; the first source that is configured wins:
 *   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
 *   2. the shared files AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and
 *      AWS_CONFIG_FILE (~/.aws/config, "[profile name]" sections), profile from
 *      ItemsAwsProfile, else AWS_PROFILE, else "default": static keys, or
 *      role_arn + web_identity_token_file (as in 3);
 *   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 *      (+ AWS_ROLE_SESSION_NAME), exchanged at STS AssumeRoleWithWebIdentity;
 *   4. the container endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
 *      AWS_CONTAINER_CREDENTIALS_FULL_URI, authorised by
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN;
 *   5. EC2 instance metadata (IMDSv2, IMDSv1 as the SDKs' fallback).
 *
 * Life cycle, as httpd uses it:
 *   post_config (parent, once per configuration): items_creds_resolve() picks
 *     the source and fetches the first credentials; the glue logs the outcome.
 *   child_init: items_creds_provider_start() gives the provider its lock in
 *     pchild, which owns everything it holds from then on, and makes it the
 *     process's provider.
 *   each request: items_creds_get() copies a consistent snapshot into the
 *     request pool (wiped when that pool is cleaned up). Temporary credentials
 *     are refreshed by exactly one thread, ahead of expiry, while the others
 *     keep using the current ones; the lock is only held to copy or swap,
 *     never across an HTTP call.
 */
#ifndef ITEMS_CREDS_H
#define ITEMS_CREDS_H

#include <apr_pools.h>
#include <apr_time.h>

typedef struct items_creds {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL when the keys are long-term */
} items_creds_t;

typedef enum items_creds_source {
    ITEMS_CREDS_SOURCE_NONE = 0,
    ITEMS_CREDS_SOURCE_ENV,
    ITEMS_CREDS_SOURCE_PROFILE,
    ITEMS_CREDS_SOURCE_WEB_IDENTITY,
    ITEMS_CREDS_SOURCE_CONTAINER,
    ITEMS_CREDS_SOURCE_IMDS
} items_creds_source_t;

typedef struct items_creds_options {
    const char *profile;                 /* ItemsAwsProfile; NULL: $AWS_PROFILE, else "default" */
    const char *region;                  /* for STS; NULL: us-east-1 */
    apr_interval_time_t refresh_margin;  /* refresh this long before expiry; <= 0: 5 minutes */
    apr_interval_time_t retry_interval;  /* after a failed fetch; <= 0: margin / 4, at most 30 s */
    apr_interval_time_t probe_timeout;   /* instance metadata, container endpoint; <= 0: 1 s */
    apr_interval_time_t sts_timeout;     /* STS; <= 0: 5 s */
} items_creds_options_t;

#define ITEMS_CREDS_DEFAULT_REFRESH_MARGIN apr_time_from_sec(300)

typedef struct items_creds_provider items_creds_provider_t;

/*
 * Walk the chain once (this may make HTTP calls, with short timeouts) and
 * fetch the first credentials. *provider is always set, in p.
 *   APR_SUCCESS, *why NULL:   credentials found.
 *   APR_SUCCESS, *why set:    a source is configured (web identity, container,
 *                             instance metadata) but its first fetch failed:
 *                             *why says why; items_creds_get() retries.
 *   ITEMS_ENOCREDS, *why set: no usable source; *why names each source tried,
 *                             or the misconfiguration that stopped the chain
 *                             (e.g. a profile using an unsupported feature).
 * Nothing secret is ever put in *why.
 */
apr_status_t items_creds_resolve(items_creds_provider_t **provider, const char **why,
                                 apr_pool_t *p, const items_creds_options_t *opts);

items_creds_source_t items_creds_provider_source(const items_creds_provider_t *provider);

/* "environment", "shared files", "web identity", "container", "instance metadata", "none". */
const char *items_creds_source_name(items_creds_source_t source);

/*
 * One line for the log, nothing secret in it: the masked access key id, with
 * or without session token, the source and where it is, and the expiry, e.g.
 * "access key ASIA...WXYZ with session token from the container endpoint
 * http://169.254.170.2, expires 2030-01-01T00:00:00Z".
 */
const char *items_creds_provider_describe(apr_pool_t *p, items_creds_provider_t *provider);

/*
 * Per process (child_init): create the lock in pchild, move the credentials
 * into memory pchild owns (wiped and freed when pchild goes), and make this the
 * provider items_creds_get() uses. Until then the provider is read-only and
 * may only be used by the thread that resolved it.
 */
apr_status_t items_creds_provider_start(items_creds_provider_t *provider, apr_pool_t *pchild);

/*
 * A consistent snapshot of the credentials, copied into p (the copies of the
 * secret and the token are wiped when p is cleaned up). Thread-safe once
 * started.
 *   APR_SUCCESS, *why NULL:   *out holds valid credentials.
 *   APR_SUCCESS, *why set:    this call tried a refresh, which failed; *out
 *                             holds the current credentials, still valid.
 *                             Only the refreshing thread sees *why, once per
 *                             failed attempt: log it as a warning.
 *   ITEMS_ENOCREDS, *why set: no valid credentials (none found at startup, or
 *                             expired and the refresh failed); *why starts
 *                             with "no AWS credentials".
 */
apr_status_t items_creds_provider_get(items_creds_t *out, const char **why, apr_pool_t *p,
                                      items_creds_provider_t *provider);

/* items_creds_provider_get() on this process's provider (the last one started). */
apr_status_t items_creds_get(items_creds_t *out, const char **why, apr_pool_t *p);

/*
 * Read AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN into
 * *creds (copied into p). APR_ENOENT when the key pair is absent or partial.
 */
apr_status_t items_creds_from_env(items_creds_t *creds, apr_pool_t *p);

/*
 * A form of an access key id that is safe to log: "AKIA...WXYZ" (never the
 * secret). ASCII only: httpd escapes other bytes in its error log.
 */
const char *items_creds_mask(apr_pool_t *p, const char *access_key_id);

#endif
