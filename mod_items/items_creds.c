/* SPDX-License-Identifier: Apache-2.0 */
#include "items_creds.h"

#include <apr_env.h>
#include <apr_strings.h>

static const char *env_nonempty(apr_pool_t *p, const char *name)
{
    char *v = NULL;

    if (apr_env_get(&v, name, p) != APR_SUCCESS || !v || !*v) {
        return NULL;
    }
    return v;
}

apr_status_t items_creds_from_env(items_creds_t *creds, apr_pool_t *p)
{
    creds->access_key_id = env_nonempty(p, "AWS_ACCESS_KEY_ID");
    creds->secret_access_key = env_nonempty(p, "AWS_SECRET_ACCESS_KEY");
    creds->session_token = env_nonempty(p, "AWS_SESSION_TOKEN");
    if (!creds->access_key_id || !creds->secret_access_key) {
        creds->access_key_id = creds->secret_access_key = creds->session_token = NULL;
        return APR_ENOENT;
    }
    return APR_SUCCESS;
}

const char *items_creds_mask(apr_pool_t *p, const char *access_key_id)
{
    size_t n = access_key_id ? strlen(access_key_id) : 0;

    if (n < 12) {
        return "****";
    }
    return apr_psprintf(p, "%.4s…%s", access_key_id, access_key_id + n - 4);
}
