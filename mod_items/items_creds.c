/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The AWS credential provider chain (see items_creds.h for the order and the
 * life cycle).
 *
 * Memory and secrets: a set of credentials lives in one malloc'd block (a
 * "snapshot") that is wiped before it is freed. Before items_creds_provider_start()
 * the resolving pool owns the first snapshot; after it, pchild owns the current
 * one. Readers never keep a pointer into a snapshot: they copy it into their
 * own pool under the lock, and those copies are wiped by a pool cleanup.
 * Whatever a fetch leaves in pool memory (response bodies, file contents,
 * tokens) is wiped as soon as the snapshot is made.
 */
#include "items_creds.h"
#include "items_http.h"
#include "items_json.h"
#include "items_status.h"

#include <apr_env.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_uri.h>
#include <apr_user.h>
#include <apr_xml.h>
#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !APR_HAS_THREADS
#error "mod_items needs APR with thread support"
#endif

#define ECS_ENDPOINT "http://169.254.170.2"
#define IMDS_ENDPOINT "http://169.254.169.254"
#define IMDS_ENDPOINT_V6 "http://[fd00:ec2::254]"
#define IMDS_TOKEN_TTL "21600"
#define STS_VERSION "2011-06-15"

#define MAX_ANSWER (64 * 1024)           /* a credentials answer (JSON or XML) */
#define MAX_TOKEN_FILE (64 * 1024)       /* a web identity or container token */
#define MAX_SHARED_FILE (1024 * 1024)    /* ~/.aws/credentials, ~/.aws/config */
#define MAX_DETAIL 200                   /* bytes of a peer's error message we repeat */

/* ------------------------------------------------------------------------ */
/* snapshots                                                                 */

typedef struct snap {
    apr_size_t size;          /* of the whole block, for the wipe */
    apr_time_t expiration;    /* 0: never expires */
    apr_time_t refresh_at;    /* 0: never refreshed */
    char *akid, *secret, *token;
    char buf[];
} snap_t;

static snap_t *snap_new(const char *akid, const char *secret, const char *token,
                        apr_time_t expiration, apr_time_t now, apr_interval_time_t margin)
{
    apr_size_t a = strlen(akid) + 1, s = strlen(secret) + 1, t = token ? strlen(token) + 1 : 0;
    snap_t *n = calloc(1, sizeof(*n) + a + s + t);

    if (!n) {
        return NULL;
    }
    n->size = sizeof(*n) + a + s + t;
    n->akid = n->buf;
    memcpy(n->akid, akid, a);
    n->secret = n->akid + a;
    memcpy(n->secret, secret, s);
    if (token) {
        n->token = n->secret + s;
        memcpy(n->token, token, t);
    }
    n->expiration = expiration;
    if (expiration) {
        /* Short-lived credentials are refreshed at half their life at the latest. */
        apr_interval_time_t half = (expiration - now) / 2;
        n->refresh_at = expiration - (margin < half ? margin : half);
    }
    return n;
}

static void snap_free(snap_t *s)
{
    if (s) {
        OPENSSL_cleanse(s, s->size);
        free(s);
    }
}

/* ------------------------------------------------------------------------ */
/* the provider                                                              */

struct items_creds_provider {
    items_creds_source_t source;
    const char *where;          /* for the log: file, URL, role; never a secret */
    /* how to fetch (temporary sources); immutable after resolve */
    const char *url;            /* container: the full URL; IMDS: the endpoint; STS endpoint */
    const char *auth_token;     /* container: AWS_CONTAINER_AUTHORIZATION_TOKEN */
    const char *token_file;     /* container: its token file; web identity: the JWT file */
    const char *role_arn;
    const char *session_name;
    int imds_v1;                /* IMDSv1 fallback allowed */
    apr_interval_time_t margin, retry, probe_timeout, sts_timeout, wait_limit;

    snap_t *initial;            /* from resolve; owned by the resolving pool until started */

    /* after items_creds_provider_start(): owned by pchild */
    int started;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *refreshed; /* broadcast when a fetch ends */
    snap_t *cur;                /* under lock */
    int refreshing;             /* under lock: one thread is fetching */
    apr_time_t next_attempt;    /* under lock: no fetch before this (after a failure) */
    char last_error[512];       /* under lock */
};

/* The provider items_creds_get() uses: set in child_init, cleared with pchild. */
static items_creds_provider_t *process_provider;

/* What a fetch brought back, in pool memory (wiped by fetched_wipe). */
typedef struct fetched {
    char *akid, *secret, *token;
    apr_time_t expiration;
    const char *role;           /* IMDS: the instance's role */
} fetched_t;

static void wipe_str(const char *s)
{
    if (s) {
        OPENSSL_cleanse((char *)s, strlen(s));
    }
}

static void fetched_wipe(fetched_t *f)
{
    wipe_str(f->secret);
    wipe_str(f->token);
}

static apr_status_t wipe_cleanup(void *data)
{
    wipe_str(data);
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* small helpers                                                             */

static const char *env_get(apr_pool_t *p, const char *name)
{
    char *v = NULL;

    if (apr_env_get(&v, name, p) != APR_SUCCESS || !v || !*v) {
        return NULL;
    }
    return v;
}

static int env_true(apr_pool_t *p, const char *name)
{
    const char *v = env_get(p, name);

    return v && !strcasecmp(v, "true");
}

static char *trim(char *s)
{
    char *e;

    while (apr_isspace(*s)) {
        s++;
    }
    e = s + strlen(s);
    while (e > s && apr_isspace(e[-1])) {
        *--e = '\0';
    }
    return s;
}

static const char *iso_time(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t e;

    apr_time_exp_gmt(&e, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", e.tm_year + 1900, e.tm_mon + 1,
                        e.tm_mday, e.tm_hour, e.tm_min, e.tm_sec);
}

/* ISO 8601 as AWS writes it: 2030-01-02T03:04:05Z, with optional fraction or offset. */
static apr_status_t parse_time(apr_time_t *t, const char *s)
{
    int y, mo, d, h, mi, sec, n = 0, oh, om;
    long offset = 0;
    apr_time_exp_t e;
    const char *r;

    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n < 19
        || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60
        || h < 0 || mi < 0 || sec < 0) {
        return APR_EGENERAL;
    }
    r = s + n;
    if (*r == '.') {
        for (r++; apr_isdigit(*r); r++) {
        }
    }
    if (*r == 'Z' || *r == 'z') {
        r++;
    }
    else if (*r == '+' || *r == '-') {
        if (!apr_isdigit(r[1]) || !apr_isdigit(r[2])) {
            return APR_EGENERAL;
        }
        oh = (r[1] - '0') * 10 + (r[2] - '0');
        r += 3;
        if (*r == ':') {
            r++;
        }
        if (!apr_isdigit(r[0]) || !apr_isdigit(r[1])) {
            return APR_EGENERAL;
        }
        om = (r[0] - '0') * 10 + (r[1] - '0');
        offset = (s[n] == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
        r += 2;
    }
    if (*r) {
        return APR_EGENERAL;
    }
    memset(&e, 0, sizeof(e));
    e.tm_year = y - 1900;
    e.tm_mon = mo - 1;
    e.tm_mday = d;
    e.tm_hour = h;
    e.tm_min = mi;
    e.tm_sec = sec;
    if (apr_time_exp_gmt_get(t, &e) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *t -= apr_time_from_sec(offset);
    return APR_SUCCESS;
}

/* "~/x" with the home directory of the user we run as. */
static const char *expand_home(apr_pool_t *p, const char *path)
{
    const char *home;
    char *name = NULL, *dir = NULL;
    apr_uid_t uid;
    apr_gid_t gid;

    if (path[0] != '~' || (path[1] && path[1] != '/')) {
        return path;
    }
    home = env_get(p, "HOME");
    if (!home && apr_uid_current(&uid, &gid, p) == APR_SUCCESS
        && apr_uid_name_get(&name, uid, p) == APR_SUCCESS
        && apr_uid_homepath_get(&dir, name, p) == APR_SUCCESS) {
        home = dir;
    }
    return home ? apr_pstrcat(p, home, path + 1, NULL) : path;
}

/* The whole file, NUL-terminated, at most max bytes; ITEMS_ETOOLARGE when longer. */
static apr_status_t read_file(char **text, apr_size_t *len, apr_pool_t *p, const char *path,
                              apr_size_t max)
{
    apr_file_t *f;
    apr_size_t n = max + 1;
    apr_status_t rv;
    char *buf;

    *text = NULL;
    *len = 0;
    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, APR_OS_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    buf = apr_palloc(p, max + 2);
    rv = apr_file_read_full(f, buf, max + 1, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        OPENSSL_cleanse(buf, max + 2);
        return rv;
    }
    if (n > max) {
        OPENSSL_cleanse(buf, max + 2);
        return ITEMS_ETOOLARGE;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return APR_SUCCESS;
}

static const char *file_error(apr_pool_t *p, apr_status_t rv)
{
    char buf[120];

    if (rv == ITEMS_ETOOLARGE) {
        return "too large";
    }
    return apr_pstrdup(p, apr_strerror(rv, buf, sizeof(buf)));
}

/* A token from a file: trimmed, non-empty, one line. *err says what is wrong. */
static apr_status_t read_token_file(char **token, const char **err, apr_pool_t *p,
                                    const char *path)
{
    apr_size_t len;
    apr_status_t rv = read_file(token, &len, p, path, MAX_TOKEN_FILE);

    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot read the token file %s: %s", path, file_error(p, rv));
        return rv;
    }
    *token = trim(*token);
    if (!**token) {
        *err = apr_psprintf(p, "the token file %s is empty", path);
        return APR_EGENERAL;
    }
    if (strpbrk(*token, "\r\n")) {
        wipe_str(*token);
        *err = apr_psprintf(p, "the token file %s holds more than one line", path);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* application/x-www-form-urlencoded value (RFC 3986 unreserved kept). */
static char *form_encode(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (apr_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* Printable ASCII only, at most MAX_DETAIL bytes: a peer's words, safe for one log line. */
static const char *printable(apr_pool_t *p, const char *s)
{
    char *out, *o;
    apr_size_t i;

    if (!s) {
        return "";
    }
    out = o = apr_palloc(p, MAX_DETAIL + 4);
    for (i = 0; s[i] && i < MAX_DETAIL; i++) {
        *o++ = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    }
    if (s[i]) {
        memcpy(o, "...", 3);
        o += 3;
    }
    *o = '\0';
    return out;
}

/* scheme://host[:port] of url: where a call goes, without a path that may be a capability. */
static const char *url_origin(apr_pool_t *p, const char *url)
{
    apr_uri_t u;

    if (apr_uri_parse(p, url, &u) != APR_SUCCESS || !u.scheme || !u.hostinfo) {
        return "(an unparsable URL)";
    }
    return apr_pstrcat(p, u.scheme, "://", u.hostinfo, NULL);
}

static apr_status_t http(items_http_response_t *resp, apr_pool_t *p, const char *method,
                         const char *url, const char *const *headers, const char *body,
                         apr_interval_time_t connect_timeout, apr_interval_time_t timeout)
{
    items_http_request_t req;

    memset(&req, 0, sizeof(req));
    req.url = url;
    req.headers = headers;
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.connect_timeout = connect_timeout;
    req.timeout = timeout;
    req.max_response = MAX_ANSWER;
    return items_http_call(resp, p, method, &req);
}

static void wipe_body(items_http_response_t *resp)
{
    if (resp->body && resp->body_len) {
        OPENSSL_cleanse((char *)resp->body, resp->body_len);
    }
}

/* ------------------------------------------------------------------------ */
/* answers                                                                   */

static const char *json_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The container endpoint's and IMDS's JSON: AccessKeyId, SecretAccessKey, Token, Expiration. */
static apr_status_t creds_from_json(fetched_t *f, const char **err, apr_pool_t *p,
                                    const items_http_response_t *resp)
{
    const char *code, *akid, *secret, *token, *exp;
    json_t *doc = NULL;

    if (items_json_parse_plain(&doc, p, resp->body, resp->body_len) != APR_SUCCESS
        || !json_is_object(doc)) {
        *err = "the answer is not a JSON object";
        return ITEMS_EBADGATEWAY;
    }
    code = json_str(doc, "Code");
    akid = json_str(doc, "AccessKeyId");
    secret = json_str(doc, "SecretAccessKey");
    token = json_str(doc, "Token");
    exp = json_str(doc, "Expiration");
    if (code && strcmp(code, "Success")) {
        *err = apr_psprintf(p, "the answer says Code %s", printable(p, code));
        goto fail;
    }
    if (!akid || !*akid || !secret || !*secret) {
        *err = "the answer lacks AccessKeyId or SecretAccessKey";
        goto fail;
    }
    if (exp && parse_time(&f->expiration, exp) != APR_SUCCESS) {
        *err = apr_psprintf(p, "the answer's Expiration '%s' is not an ISO 8601 time",
                            printable(p, exp));
        goto fail;
    }
    f->akid = apr_pstrdup(p, akid);
    f->secret = apr_pstrdup(p, secret);
    f->token = token && *token ? apr_pstrdup(p, token) : NULL;
    wipe_str(secret);
    wipe_str(token);
    return APR_SUCCESS;

fail:
    wipe_str(secret);
    wipe_str(token);
    return ITEMS_EBADGATEWAY;
}

/* The "code" and "message" of a JSON error answer, for the log. */
static const char *json_error_detail(apr_pool_t *p, const items_http_response_t *resp)
{
    json_t *doc = NULL;
    const char *code, *msg;

    if (!resp->body_len || items_json_parse_plain(&doc, p, resp->body, resp->body_len)
                               != APR_SUCCESS || !json_is_object(doc)) {
        return "";
    }
    code = json_str(doc, "code") ? json_str(doc, "code") : json_str(doc, "Code");
    msg = json_str(doc, "message") ? json_str(doc, "message") : json_str(doc, "Message");
    if (!code && !msg) {
        return "";
    }
    return apr_psprintf(p, " %s%s%s", code ? printable(p, code) : "", code && msg ? ": " : "",
                        msg ? printable(p, msg) : "");
}

static apr_xml_elem *xml_find(apr_xml_elem *e, const char *name)
{
    apr_xml_elem *found;

    for (; e; e = e->next) {
        if (!strcmp(e->name, name)) {
            return e;
        }
        if ((found = xml_find(e->first_child, name)) != NULL) {
            return found;
        }
    }
    return NULL;
}

/* The text of parent's child element name, trimmed; NULL when absent. */
static char *xml_child_text(apr_pool_t *p, const apr_xml_elem *parent, const char *name)
{
    const apr_xml_elem *e;
    const apr_text *t;
    char *s = NULL;

    for (e = parent ? parent->first_child : NULL; e; e = e->next) {
        if (strcmp(e->name, name)) {
            continue;
        }
        s = "";
        for (t = e->first_cdata.first; t; t = t->next) {
            s = apr_pstrcat(p, s, t->text, NULL);
        }
        return trim(s);
    }
    return NULL;
}

static void xml_wipe(apr_xml_elem *e)
{
    apr_text *t;

    for (; e; e = e->next) {
        for (t = e->first_cdata.first; t; t = t->next) {
            wipe_str(t->text);
        }
        xml_wipe(e->first_child);
    }
}

/* STS's XML answer: the Credentials, or the Error's Code and Message. */
static apr_status_t creds_from_sts(fetched_t *f, const char **err, apr_pool_t *p,
                                   const items_http_response_t *resp)
{
    apr_xml_parser *xp = apr_xml_parser_create(p);
    apr_xml_doc *doc = NULL;
    apr_xml_elem *c;
    char *exp, *code, *msg, buf[200];

    if (apr_xml_parser_feed(xp, resp->body, resp->body_len) != APR_SUCCESS
        || apr_xml_parser_done(xp, &doc) != APR_SUCCESS || !doc || !doc->root) {
        apr_xml_parser_geterror(xp, buf, sizeof(buf));
        *err = apr_psprintf(p, "STS answered HTTP %ld with XML that does not parse (%s)",
                            resp->status, printable(p, buf));
        return ITEMS_EBADGATEWAY;
    }
    if (resp->status != 200) {
        c = xml_find(doc->root, "Error");
        code = xml_child_text(p, c, "Code");
        msg = xml_child_text(p, c, "Message");
        *err = apr_psprintf(p, "STS answered HTTP %ld%s%s%s%s", resp->status, code ? " " : "",
                            code ? printable(p, code) : "", msg ? ": " : "",
                            msg ? printable(p, msg) : "");
        return ITEMS_EBACKENDCONFIG;
    }
    c = xml_find(doc->root, "Credentials");
    f->akid = xml_child_text(p, c, "AccessKeyId");
    f->secret = xml_child_text(p, c, "SecretAccessKey");
    f->token = xml_child_text(p, c, "SessionToken");
    exp = xml_child_text(p, c, "Expiration");
    if (c) {
        xml_wipe(c->first_child);
    }
    if (!f->akid || !*f->akid || !f->secret || !*f->secret || !f->token || !*f->token) {
        fetched_wipe(f);
        *err = "STS's answer lacks Credentials (AccessKeyId, SecretAccessKey, SessionToken)";
        return ITEMS_EBADGATEWAY;
    }
    if (!exp || parse_time(&f->expiration, exp) != APR_SUCCESS) {
        fetched_wipe(f);
        *err = apr_psprintf(p, "STS's Expiration '%s' is not an ISO 8601 time",
                            exp ? printable(p, exp) : "");
        return ITEMS_EBADGATEWAY;
    }
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* fetching                                                                  */

static apr_status_t fetch_container(fetched_t *f, const char **err, apr_pool_t *p,
                                    const items_creds_provider_t *prov)
{
    const char *headers[2] = { NULL, NULL };
    items_http_response_t resp;
    char *token = NULL, *line = NULL;
    apr_status_t rv;

    if (prov->token_file) {
        if ((rv = read_token_file(&token, err, p, prov->token_file)) != APR_SUCCESS) {
            return rv;
        }
    }
    else if (prov->auth_token) {
        token = apr_pstrdup(p, prov->auth_token);
    }
    if (token) {
        headers[0] = line = apr_pstrcat(p, "Authorization: ", token, NULL);
    }
    rv = http(&resp, p, "GET", prov->url, headers, NULL, prov->probe_timeout,
              prov->probe_timeout);
    wipe_str(token);
    wipe_str(line);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "the container endpoint %s did not answer: %s", prov->where,
                            resp.error);
        return rv;
    }
    if (resp.status != 200) {
        *err = apr_psprintf(p, "the container endpoint %s answered HTTP %ld%s", prov->where,
                            resp.status, json_error_detail(p, &resp));
        wipe_body(&resp);
        return resp.status == 401 || resp.status == 403 ? ITEMS_EBACKENDCONFIG
                                                         : ITEMS_EBADGATEWAY;
    }
    rv = creds_from_json(f, err, p, &resp);
    wipe_body(&resp);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "the container endpoint %s: %s", prov->where, *err);
    }
    return rv;
}

static int valid_role_name(const char *s)
{
    apr_size_t n = strlen(s);

    return n >= 1 && n <= 128
           && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-")
                  == n;
}

/*
 * IMDSv2: a session token (PUT), the role name, then its credentials, the
 * token sent with each GET. *answered is set once the service proved to be
 * EC2's instance metadata (a token, or an IMDSv1 role listing).
 */
static apr_status_t fetch_imds(fetched_t *f, const char **err, int *answered, apr_pool_t *p,
                               const items_creds_provider_t *prov)
{
    const char *headers[2] = { NULL, NULL };
    const char *base = prov->url, *list_url;
    items_http_response_t resp;
    char *token = NULL, *line = NULL, *role, *nl;
    apr_status_t rv;

    *answered = 0;
    headers[0] = "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL;
    rv = http(&resp, p, "PUT", apr_pstrcat(p, base, "/latest/api/token", NULL), headers, "",
              prov->probe_timeout, prov->probe_timeout);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "EC2 instance metadata at %s did not answer: %s", base,
                            resp.error);
        return rv;
    }
    if (resp.status == 200 && resp.body_len && !memchr(resp.body, '\n', resp.body_len)) {
        token = trim((char *)resp.body);
        *answered = 1;
    }
    else if ((resp.status == 403 || resp.status == 404 || resp.status == 405) && prov->imds_v1) {
        token = NULL; /* the SDKs' IMDSv1 fallback */
    }
    else {
        wipe_body(&resp);
        *err = apr_psprintf(p, "EC2 instance metadata at %s answered HTTP %ld to the IMDSv2 "
                            "token request%s", base, resp.status,
                            prov->imds_v1 ? "" : " (IMDSv1 is off: AWS_EC2_METADATA_V1_DISABLED)");
        return ITEMS_EBADGATEWAY;
    }
    headers[0] = token ? (line = apr_pstrcat(p, "X-aws-ec2-metadata-token: ", token, NULL)) : NULL;

    list_url = apr_pstrcat(p, base, "/latest/meta-data/iam/security-credentials/", NULL);
    rv = http(&resp, p, "GET", list_url, headers, NULL, prov->probe_timeout,
              prov->probe_timeout);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "EC2 instance metadata at %s did not answer: %s", base,
                            resp.error);
        goto done;
    }
    if (resp.status == 200 && !token) {
        *answered = 1;
    }
    if (resp.status == 404 && token) {
        *err = apr_psprintf(p, "EC2 instance metadata at %s has no IAM role for this instance "
                            "(no instance profile attached)", base);
        rv = ITEMS_EBACKENDCONFIG;
        goto done;
    }
    if (resp.status != 200) {
        *err = apr_psprintf(p, "EC2 instance metadata at %s answered HTTP %ld to the role "
                            "listing", base, resp.status);
        rv = ITEMS_EBADGATEWAY;
        goto done;
    }
    role = apr_pstrmemdup(p, resp.body, resp.body_len);
    if ((nl = strchr(role, '\n')) != NULL) {
        *nl = '\0';
    }
    role = trim(role);
    if (!valid_role_name(role)) {
        *err = apr_psprintf(p, "EC2 instance metadata at %s named no valid role ('%s')", base,
                            printable(p, role));
        rv = ITEMS_EBADGATEWAY;
        goto done;
    }
    f->role = role;

    rv = http(&resp, p, "GET", apr_pstrcat(p, list_url, role, NULL), headers, NULL,
              prov->probe_timeout, prov->probe_timeout);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "EC2 instance metadata at %s did not answer: %s", base,
                            resp.error);
        goto done;
    }
    if (resp.status != 200) {
        wipe_body(&resp);
        *err = apr_psprintf(p, "EC2 instance metadata at %s answered HTTP %ld for role %s", base,
                            resp.status, role);
        rv = ITEMS_EBADGATEWAY;
        goto done;
    }
    rv = creds_from_json(f, err, p, &resp);
    wipe_body(&resp);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "EC2 instance metadata at %s, role %s: %s", base, role, *err);
    }

done:
    wipe_str(token);
    wipe_str(line);
    return rv;
}

static apr_status_t fetch_web_identity(fetched_t *f, const char **err, apr_pool_t *p,
                                       const items_creds_provider_t *prov)
{
    static const char *const headers[] = {
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8", NULL
    };
    items_http_response_t resp;
    char *jwt = NULL, *encoded, *body;
    apr_interval_time_t connect = apr_time_from_sec(2);
    apr_status_t rv;

    if ((rv = read_token_file(&jwt, err, p, prov->token_file)) != APR_SUCCESS) {
        *err = apr_psprintf(p, "web identity: %s", *err);
        return rv;
    }
    encoded = form_encode(p, jwt);
    wipe_str(jwt);
    body = apr_pstrcat(p, "Action=AssumeRoleWithWebIdentity&Version=" STS_VERSION "&RoleArn=",
                       form_encode(p, prov->role_arn), "&RoleSessionName=",
                       form_encode(p, prov->session_name), "&WebIdentityToken=", encoded, NULL);
    wipe_str(encoded);
    rv = http(&resp, p, "POST", prov->url, headers, body,
              connect < prov->sts_timeout ? connect : prov->sts_timeout, prov->sts_timeout);
    wipe_str(body);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "STS at %s did not answer: %s", prov->url, resp.error);
        return rv;
    }
    rv = creds_from_sts(f, err, p, &resp);
    wipe_body(&resp);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "AssumeRoleWithWebIdentity for %s: %s", prov->role_arn, *err);
    }
    return rv;
}

/* One fetch from the provider's source, into a new snapshot (*out). */
static apr_status_t fetch(snap_t **out, const char **err, int *answered, apr_pool_t *parent,
                          const items_creds_provider_t *prov, const char **role)
{
    apr_pool_t *p;
    fetched_t f;
    apr_time_t now;
    apr_status_t rv;
    int dummy;

    *out = NULL;
    if (apr_pool_create(&p, parent) != APR_SUCCESS) {
        *err = "out of memory";
        return APR_ENOMEM;
    }
    memset(&f, 0, sizeof(f));
    answered = answered ? answered : &dummy;
    switch (prov->source) {
    case ITEMS_CREDS_SOURCE_CONTAINER:
        rv = fetch_container(&f, err, p, prov);
        break;
    case ITEMS_CREDS_SOURCE_IMDS:
        rv = fetch_imds(&f, err, answered, p, prov);
        break;
    case ITEMS_CREDS_SOURCE_WEB_IDENTITY:
        rv = fetch_web_identity(&f, err, p, prov);
        break;
    default:
        *err = "this source cannot be refreshed";
        rv = APR_ENOTIMPL;
        break;
    }
    now = apr_time_now();
    if (rv == APR_SUCCESS && f.expiration && f.expiration <= now) {
        *err = apr_psprintf(p, "%s handed out credentials that expired at %s", prov->where,
                            iso_time(p, f.expiration));
        rv = ITEMS_EBADGATEWAY;
    }
    if (rv == APR_SUCCESS) {
        *out = snap_new(f.akid, f.secret, f.token, f.expiration, now, prov->margin);
        if (!*out) {
            *err = "out of memory";
            rv = APR_ENOMEM;
        }
        if (role && f.role) {
            *role = apr_pstrdup(parent, f.role);
        }
    }
    if (rv != APR_SUCCESS) {
        *err = apr_pstrdup(parent, *err); /* p goes */
    }
    fetched_wipe(&f);
    apr_pool_destroy(p);
    return rv;
}

/* ------------------------------------------------------------------------ */
/* the chain                                                                 */

typedef enum step { STEP_NEXT, STEP_FOUND, STEP_STOP } step_t;

/* The first fetch of a temporary source: its failure does not stop the chain's choice. */
static step_t first_fetch(items_creds_provider_t *prov, const char **why, apr_pool_t *p)
{
    const char *err = NULL;

    if (fetch(&prov->initial, &err, NULL, p, prov, NULL) != APR_SUCCESS) {
        *why = err;
    }
    return STEP_FOUND;
}

static step_t step_env(items_creds_provider_t *prov, const char **why,
                       apr_array_header_t *tried, apr_pool_t *p)
{
    const char *akid = env_get(p, "AWS_ACCESS_KEY_ID");
    const char *secret = env_get(p, "AWS_SECRET_ACCESS_KEY");
    const char *token = env_get(p, "AWS_SESSION_TOKEN");

    if (akid && secret) {
        prov->source = ITEMS_CREDS_SOURCE_ENV;
        prov->where = "the environment (AWS_ACCESS_KEY_ID)";
        prov->initial = snap_new(akid, secret, token, 0, 0, 0);
        if (!prov->initial) {
            *why = "out of memory";
            return STEP_STOP;
        }
        return STEP_FOUND;
    }
    if (akid || secret) {
        *why = akid ? "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
                    : "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not";
        return STEP_STOP;
    }
    APR_ARRAY_PUSH(tried, const char *) =
        "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set";
    return STEP_NEXT;
}

/*
 * The key = value lines of one profile: section [name] in the credentials
 * file, [profile name] (or [default] for "default") in the config file. Lines
 * that start with a blank belong to a sub-section and are skipped; # and ;
 * start comments. text is modified; the table points into it (it is wiped
 * afterwards). Returns whether the section exists.
 */
static int ini_profile(apr_table_t *t, char *text, const char *want, int config_file)
{
    char *line, *next, *close, *name, *eq, *k;
    int in = 0, found = 0;

    for (line = text; line; line = next) {
        if ((next = strchr(line, '\n')) != NULL) {
            *next++ = '\0';
        }
        if (*line == ' ' || *line == '\t') {
            continue;
        }
        line = trim(line);
        if (!*line || *line == '#' || *line == ';') {
            continue;
        }
        if (*line == '[') {
            in = 0;
            if ((close = strchr(line, ']')) == NULL) {
                continue;
            }
            *close = '\0';
            name = trim(line + 1);
            if (config_file && !strncmp(name, "profile", 7) && apr_isspace(name[7])) {
                name = trim(name + 8);
            }
            else if (config_file && strcmp(name, "default")) {
                continue; /* [sso-session x], [services x], or a bare name */
            }
            in = !strcmp(name, want);
            found |= in;
            continue;
        }
        if (!in || (eq = strchr(line, '=')) == NULL) {
            continue;
        }
        *eq = '\0';
        for (k = line; *k; k++) {
            *k = apr_tolower(*k);
        }
        apr_table_setn(t, trim(line), trim(eq + 1));
    }
    return found;
}

typedef struct shared_file {
    const char *path;
    char *text;
    apr_size_t len;
    apr_status_t rv;
    apr_table_t *values;
    int has_profile;
} shared_file_t;

static void shared_file_load(shared_file_t *f, apr_pool_t *p, const char *var, const char *dflt,
                             const char *profile, int config_file)
{
    const char *path = env_get(p, var);

    f->path = expand_home(p, path ? path : dflt);
    f->values = apr_table_make(p, 8);
    f->rv = read_file(&f->text, &f->len, p, f->path, MAX_SHARED_FILE);
    f->has_profile = f->rv == APR_SUCCESS && ini_profile(f->values, f->text, profile, config_file);
}

static const char *shared_file_state(apr_pool_t *p, const shared_file_t *f)
{
    if (APR_STATUS_IS_ENOENT(f->rv)) {
        return apr_pstrcat(p, f->path, " (absent)", NULL);
    }
    if (f->rv != APR_SUCCESS) {
        return apr_pstrcat(p, f->path, " (unreadable: ", file_error(p, f->rv), ")", NULL);
    }
    return f->path;
}

static step_t web_identity_setup(items_creds_provider_t *prov, const char **why, apr_pool_t *p,
                                 const char *role_arn, const char *token_file,
                                 const char *session_name, const char *region);

static step_t step_profile(items_creds_provider_t *prov, const char **why,
                           apr_array_header_t *tried, apr_pool_t *p,
                           const items_creds_options_t *opts)
{
    const char *env_profile = env_get(p, "AWS_PROFILE");
    const char *profile = opts->profile ? opts->profile : env_profile ? env_profile : "default";
    const char *pinned_by = opts->profile ? "ItemsAwsProfile" : env_profile ? "AWS_PROFILE" : NULL;
    const char *akid, *secret, *token, *role_arn, *wif;
    const shared_file_t *keys;
    shared_file_t cred, conf;
    step_t step = STEP_NEXT;

#define PROFILE_VALUE(name) \
    (apr_table_get(cred.values, name) ? apr_table_get(cred.values, name) \
                                      : apr_table_get(conf.values, name))

    memset(&cred, 0, sizeof(cred));
    memset(&conf, 0, sizeof(conf));
    shared_file_load(&conf, p, "AWS_CONFIG_FILE", "~/.aws/config", profile, 1);
    shared_file_load(&cred, p, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials", profile, 0);

    if (!cred.has_profile && !conf.has_profile) {
        const char *detail = apr_psprintf(p, "profile '%s' is in neither %s nor %s", profile,
                                          shared_file_state(p, &cred),
                                          shared_file_state(p, &conf));
        if (pinned_by) {
            *why = apr_psprintf(p, "%s (named by %s)", detail, pinned_by);
            step = STEP_STOP;
        }
        else {
            APR_ARRAY_PUSH(tried, const char *) = apr_pstrcat(p, "shared files: ", detail, NULL);
        }
        goto done;
    }

    role_arn = PROFILE_VALUE("role_arn");
    wif = PROFILE_VALUE("web_identity_token_file");
    if (role_arn && wif && !PROFILE_VALUE("source_profile")
        && !PROFILE_VALUE("credential_source")) {
        step = web_identity_setup(prov, why, p, apr_pstrdup(p, role_arn),
                                  expand_home(p, apr_pstrdup(p, wif)),
                                  PROFILE_VALUE("role_session_name")
                                      ? apr_pstrdup(p, PROFILE_VALUE("role_session_name"))
                                      : NULL,
                                  opts->region);
        if (prov->where) {
            prov->where = apr_psprintf(p, "%s (profile '%s')", prov->where, profile);
        }
        goto done;
    }
    if (role_arn) {
        *why = apr_psprintf(p, "profile '%s' assumes role %s through %s, which mod_items does "
                            "not support: give the profile static keys, or use web identity, "
                            "container or instance-metadata credentials", profile,
                            printable(p, role_arn),
                            PROFILE_VALUE("source_profile") ? "source_profile"
                            : PROFILE_VALUE("credential_source") ? "credential_source"
                                                                  : "role_arn alone");
        step = STEP_STOP;
        goto done;
    }

    /* Static keys: both from the same file, the credentials file first. */
    keys = (apr_table_get(cred.values, "aws_access_key_id")
            || apr_table_get(cred.values, "aws_secret_access_key")) ? &cred : &conf;
    akid = apr_table_get(keys->values, "aws_access_key_id");
    secret = apr_table_get(keys->values, "aws_secret_access_key");
    token = apr_table_get(keys->values, "aws_session_token");
    if (akid && *akid && secret && *secret) {
        prov->source = ITEMS_CREDS_SOURCE_PROFILE;
        prov->where = apr_psprintf(p, "profile '%s' of %s", profile, keys->path);
        prov->initial = snap_new(akid, secret, token && *token ? token : NULL, 0, 0, 0);
        if (!prov->initial) {
            *why = "out of memory";
            step = STEP_STOP;
        }
        else {
            step = STEP_FOUND;
        }
        goto done;
    }
    if (akid || secret) {
        *why = apr_psprintf(p, "profile '%s' of %s has %s but no %s", profile, keys->path,
                            akid ? "aws_access_key_id" : "aws_secret_access_key",
                            akid ? "aws_secret_access_key" : "aws_access_key_id");
        step = STEP_STOP;
        goto done;
    }
    if (PROFILE_VALUE("credential_process") || PROFILE_VALUE("sso_session")
        || PROFILE_VALUE("sso_start_url") || PROFILE_VALUE("login_session")) {
        *why = apr_psprintf(p, "profile '%s' gets its credentials through %s, which mod_items "
                            "does not support: give the profile static keys", profile,
                            PROFILE_VALUE("credential_process") ? "credential_process"
                                                                : "IAM Identity Center (SSO)");
        step = STEP_STOP;
        goto done;
    }
    APR_ARRAY_PUSH(tried, const char *) =
        apr_psprintf(p, "shared files: profile '%s' holds no keys", profile);

done:
    if (cred.text) {
        OPENSSL_cleanse(cred.text, cred.len);
    }
    if (conf.text) {
        OPENSSL_cleanse(conf.text, conf.len);
    }
    return step;
#undef PROFILE_VALUE
}

static const char *sts_endpoint(apr_pool_t *p, const char *region)
{
    const char *url = env_get(p, "AWS_ENDPOINT_URL_STS");

    if (!url) {
        url = env_get(p, "AWS_ENDPOINT_URL");
    }
    if (url) {
        return url;
    }
    return apr_pstrcat(p, "https://sts.", region, ".amazonaws.com",
                       strncmp(region, "cn-", 3) ? "" : ".cn", NULL);
}

static step_t web_identity_setup(items_creds_provider_t *prov, const char **why, apr_pool_t *p,
                                 const char *role_arn, const char *token_file,
                                 const char *session_name, const char *region)
{
    prov->source = ITEMS_CREDS_SOURCE_WEB_IDENTITY;
    prov->role_arn = role_arn;
    prov->token_file = token_file;
    prov->session_name = session_name ? session_name
                                      : apr_psprintf(p, "mod_items-%" APR_TIME_T_FMT,
                                                     apr_time_sec(apr_time_now()));
    prov->url = sts_endpoint(p, region);
    if (strncmp(prov->url, "https://", 8) && strncmp(prov->url, "http://", 7)) {
        *why = apr_psprintf(p, "the STS endpoint '%s' is not an http(s) URL",
                            printable(p, prov->url));
        prov->source = ITEMS_CREDS_SOURCE_NONE;
        return STEP_STOP;
    }
    prov->where = apr_psprintf(p, "web identity (role %s, token file %s, STS %s)", role_arn,
                               token_file, prov->url);
    return first_fetch(prov, why, p);
}

static step_t step_web_identity(items_creds_provider_t *prov, const char **why,
                                apr_array_header_t *tried, apr_pool_t *p,
                                const items_creds_options_t *opts)
{
    const char *file = env_get(p, "AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *arn = env_get(p, "AWS_ROLE_ARN");

    if (!file || !arn) {
        APR_ARRAY_PUSH(tried, const char *) =
            !file && !arn ? "web identity: AWS_WEB_IDENTITY_TOKEN_FILE is not set"
            : file        ? "web identity: AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN "
                            "is not"
                          : "web identity: AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE "
                            "is not";
        return STEP_NEXT;
    }
    return web_identity_setup(prov, why, p, apr_pstrdup(p, arn),
                              expand_home(p, apr_pstrdup(p, file)),
                              env_get(p, "AWS_ROLE_SESSION_NAME")
                                  ? apr_pstrdup(p, env_get(p, "AWS_ROLE_SESSION_NAME"))
                                  : NULL,
                              opts->region);
}

/* An http:// full URI may only name this host or the ECS/EKS agents (as the SDKs require). */
static int container_host_allowed(apr_pool_t *p, const char *host)
{
    apr_sockaddr_t *sa = NULL;
    char *ip;
    int n = 0;

    if (apr_sockaddr_info_get(&sa, host, APR_UNSPEC, 80, 0, p) != APR_SUCCESS || !sa) {
        return 0;
    }
    for (; sa; sa = sa->next, n++) {
        if (apr_sockaddr_ip_get(&ip, sa) != APR_SUCCESS) {
            return 0;
        }
        if (strncmp(ip, "127.", 4) && strcmp(ip, "::1") && strcmp(ip, "169.254.170.2")
            && strcmp(ip, "169.254.170.23") && strcasecmp(ip, "fd00:ec2::23")
            && strncmp(ip, "::ffff:127.", 11)) {
            return 0;
        }
    }
    return n > 0;
}

static step_t step_container(items_creds_provider_t *prov, const char **why,
                             apr_array_header_t *tried, apr_pool_t *p)
{
    const char *rel = env_get(p, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env_get(p, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *token = env_get(p, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    const char *token_file = env_get(p, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    apr_uri_t u;

    if (!rel && !full) {
        APR_ARRAY_PUSH(tried, const char *) =
            "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
            "AWS_CONTAINER_CREDENTIALS_FULL_URI are not set";
        return STEP_NEXT;
    }
    if (rel) {
        if (rel[0] != '/') {
            *why = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'";
            return STEP_STOP;
        }
        prov->url = apr_pstrcat(p, ECS_ENDPOINT, rel, NULL);
    }
    else {
        if (apr_uri_parse(p, full, &u) != APR_SUCCESS || !u.scheme || !u.hostname
            || (strcasecmp(u.scheme, "https") && strcasecmp(u.scheme, "http"))) {
            *why = "AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL";
            return STEP_STOP;
        }
        if (!strcasecmp(u.scheme, "http") && !container_host_allowed(p, u.hostname)) {
            *why = apr_psprintf(p, "AWS_CONTAINER_CREDENTIALS_FULL_URI names host %s: an http "
                                "URL must point to a loopback address, 169.254.170.2, "
                                "169.254.170.23 or fd00:ec2::23 (or use https)",
                                printable(p, u.hostname));
            return STEP_STOP;
        }
        prov->url = apr_pstrdup(p, full);
    }
    if (!token_file && token && strpbrk(token, "\r\n")) {
        *why = "AWS_CONTAINER_AUTHORIZATION_TOKEN holds a line break";
        return STEP_STOP;
    }
    prov->source = ITEMS_CREDS_SOURCE_CONTAINER;
    prov->token_file = token_file ? apr_pstrdup(p, token_file) : NULL;
    prov->auth_token = !token_file && token ? apr_pstrdup(p, token) : NULL;
    prov->where = url_origin(p, prov->url); /* where_long() names it */
    return first_fetch(prov, why, p);
}

static step_t step_imds(items_creds_provider_t *prov, const char **why,
                        apr_array_header_t *tried, apr_pool_t *p)
{
    const char *endpoint = env_get(p, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = env_get(p, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    const char *err = NULL, *role = NULL;
    char *url;
    apr_size_t n;
    int answered = 0;

    if (env_true(p, "AWS_EC2_METADATA_DISABLED")) {
        APR_ARRAY_PUSH(tried, const char *) =
            "instance metadata: turned off by AWS_EC2_METADATA_DISABLED";
        return STEP_NEXT;
    }
    url = apr_pstrdup(p, endpoint ? endpoint
                      : (mode && !strcasecmp(mode, "IPv6")) ? IMDS_ENDPOINT_V6 : IMDS_ENDPOINT);
    for (n = strlen(url); n > 0 && url[n - 1] == '/'; n--) {
        url[n - 1] = '\0';
    }
    prov->source = ITEMS_CREDS_SOURCE_IMDS;
    prov->url = url;
    prov->imds_v1 = !env_true(p, "AWS_EC2_METADATA_V1_DISABLED");
    prov->where = apr_pstrcat(p, "EC2 instance metadata at ", url, NULL);
    if (fetch(&prov->initial, &err, &answered, p, prov, &role) == APR_SUCCESS) {
        prov->where = apr_pstrcat(p, prov->where, ", role ", role, NULL);
        return STEP_FOUND;
    }
    if (answered) {
        *why = err; /* this is EC2: retried on demand */
        return STEP_FOUND;
    }
    prov->source = ITEMS_CREDS_SOURCE_NONE;
    prov->url = NULL;
    APR_ARRAY_PUSH(tried, const char *) = apr_pstrcat(p, "instance metadata: ", err, NULL);
    return STEP_NEXT;
}

static apr_status_t provider_cleanup(void *data)
{
    items_creds_provider_t *prov = data;

    snap_free(prov->initial);
    prov->initial = NULL;
    wipe_str(prov->auth_token);
    return APR_SUCCESS;
}

apr_status_t items_creds_resolve(items_creds_provider_t **provider, const char **why,
                                 apr_pool_t *p, const items_creds_options_t *opts)
{
    items_creds_options_t defaults;
    items_creds_provider_t *prov = apr_pcalloc(p, sizeof(*prov));
    apr_array_header_t *tried = apr_array_make(p, 5, sizeof(const char *));
    const char *stop = NULL;
    step_t step;

    if (!opts) {
        memset(&defaults, 0, sizeof(defaults));
        opts = &defaults;
    }
    *provider = prov;
    *why = NULL;
    prov->margin = opts->refresh_margin > 0 ? opts->refresh_margin
                                            : ITEMS_CREDS_DEFAULT_REFRESH_MARGIN;
    prov->retry = opts->retry_interval > 0 ? opts->retry_interval : prov->margin / 4;
    if (prov->retry > apr_time_from_sec(30)) {
        prov->retry = apr_time_from_sec(30);
    }
    if (prov->retry < apr_time_from_msec(100)) {
        prov->retry = apr_time_from_msec(100);
    }
    prov->probe_timeout = opts->probe_timeout > 0 ? opts->probe_timeout : apr_time_from_sec(1);
    prov->sts_timeout = opts->sts_timeout > 0 ? opts->sts_timeout : apr_time_from_sec(5);
    prov->wait_limit = (3 * prov->probe_timeout > prov->sts_timeout ? 3 * prov->probe_timeout
                                                                    : prov->sts_timeout)
                       + apr_time_from_sec(1);
    apr_pool_cleanup_register(p, prov, provider_cleanup, apr_pool_cleanup_null);
    if (!opts->region) {
        defaults = *opts;
        defaults.region = "us-east-1";
        opts = &defaults;
    }

    step = step_env(prov, &stop, tried, p);
    if (step == STEP_NEXT) {
        step = step_profile(prov, &stop, tried, p, opts);
    }
    if (step == STEP_NEXT) {
        step = step_web_identity(prov, &stop, tried, p, opts);
    }
    if (step == STEP_NEXT) {
        step = step_container(prov, &stop, tried, p);
    }
    if (step == STEP_NEXT) {
        step = step_imds(prov, &stop, tried, p);
    }

    if (step == STEP_FOUND) {
        *why = stop; /* set when the first fetch failed */
        return APR_SUCCESS;
    }
    prov->source = ITEMS_CREDS_SOURCE_NONE;
    snap_free(prov->initial);
    prov->initial = NULL;
    if (step == STEP_STOP) {
        *why = apr_pstrcat(p, "no AWS credentials: ", stop, NULL);
    }
    else {
        int i;

        *why = "no AWS credentials: ";
        for (i = 0; i < tried->nelts; i++) {
            *why = apr_pstrcat(p, *why, i ? "; " : "", APR_ARRAY_IDX(tried, i, const char *),
                               NULL);
        }
    }
    return ITEMS_ENOCREDS;
}

/* ------------------------------------------------------------------------ */
/* per process                                                               */

static apr_status_t provider_stop(void *data)
{
    items_creds_provider_t *prov = data;

    snap_free(prov->cur);
    prov->cur = NULL;
    prov->started = 0;
    prov->lock = NULL;
    prov->refreshed = NULL;
    if (process_provider == prov) {
        process_provider = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t items_creds_provider_start(items_creds_provider_t *prov, apr_pool_t *pchild)
{
    apr_status_t rv;

    if (prov->started) {
        process_provider = prov;
        return APR_SUCCESS;
    }
    if ((rv = apr_thread_mutex_create(&prov->lock, APR_THREAD_MUTEX_DEFAULT, pchild))
            != APR_SUCCESS
        || (rv = apr_thread_cond_create(&prov->refreshed, pchild)) != APR_SUCCESS) {
        return rv;
    }
    /* Registered after the lock: runs before the lock is destroyed. */
    apr_pool_cleanup_register(pchild, prov, provider_stop, apr_pool_cleanup_null);
    prov->cur = prov->initial; /* this process's copy; the resolving pool no longer owns it */
    prov->initial = NULL;
    prov->refreshing = 0;
    prov->next_attempt = 0;
    prov->last_error[0] = '\0';
    prov->started = 1;
    process_provider = prov;
    return APR_SUCCESS;
}

items_creds_source_t items_creds_provider_source(const items_creds_provider_t *provider)
{
    return provider ? provider->source : ITEMS_CREDS_SOURCE_NONE;
}

const char *items_creds_source_name(items_creds_source_t source)
{
    switch (source) {
    case ITEMS_CREDS_SOURCE_ENV:
        return "environment";
    case ITEMS_CREDS_SOURCE_PROFILE:
        return "shared files";
    case ITEMS_CREDS_SOURCE_WEB_IDENTITY:
        return "web identity";
    case ITEMS_CREDS_SOURCE_CONTAINER:
        return "container";
    case ITEMS_CREDS_SOURCE_IMDS:
        return "instance metadata";
    default:
        return "none";
    }
}

static const char *where_long(apr_pool_t *p, const items_creds_provider_t *prov)
{
    return prov->source == ITEMS_CREDS_SOURCE_CONTAINER
               ? apr_pstrcat(p, "the container endpoint ", prov->where, NULL)
               : prov->where;
}

const char *items_creds_provider_describe(apr_pool_t *p, items_creds_provider_t *prov)
{
    const char *akid = NULL;
    apr_time_t expiration = 0;
    int token = 0;
    const snap_t *s;

    if (!prov || prov->source == ITEMS_CREDS_SOURCE_NONE) {
        return "no credentials";
    }
    if (prov->started) {
        apr_thread_mutex_lock(prov->lock);
    }
    s = prov->started ? prov->cur : prov->initial;
    if (s) {
        akid = items_creds_mask(p, s->akid);
        token = s->token != NULL;
        expiration = s->expiration;
    }
    if (prov->started) {
        apr_thread_mutex_unlock(prov->lock);
    }
    if (!akid) {
        return apr_pstrcat(p, "no credentials yet from ", where_long(p, prov), NULL);
    }
    return apr_psprintf(p, "access key %s%s from %s%s%s", akid,
                        token ? " with session token" : "", where_long(p, prov),
                        expiration ? ", expires " : "",
                        expiration ? iso_time(p, expiration) : "");
}

static void copy_out(items_creds_t *out, apr_pool_t *p, const snap_t *s)
{
    char *secret = apr_pstrdup(p, s->secret);
    char *token = s->token ? apr_pstrdup(p, s->token) : NULL;

    apr_pool_cleanup_register(p, secret, wipe_cleanup, apr_pool_cleanup_null);
    if (token) {
        apr_pool_cleanup_register(p, token, wipe_cleanup, apr_pool_cleanup_null);
    }
    out->access_key_id = apr_pstrdup(p, s->akid);
    out->secret_access_key = secret;
    out->session_token = token;
}

static int snap_valid(const snap_t *s, apr_time_t now)
{
    return s && (!s->expiration || now < s->expiration);
}

static int snap_fresh(const snap_t *s, apr_time_t now)
{
    return s && (!s->refresh_at || now < s->refresh_at);
}

/* Why there are no credentials now; called under the lock. */
static const char *unavailable(apr_pool_t *p, const items_creds_provider_t *prov,
                               apr_time_t now)
{
    const char *err = prov->last_error[0] ? prov->last_error : "no detail";
    apr_interval_time_t wait = prov->next_attempt > now ? prov->next_attempt - now : 0;

    if (prov->cur) {
        return apr_psprintf(p, "no AWS credentials: the %s credentials expired at %s and "
                            "fetching new ones failed: %s; next attempt in %" APR_TIME_T_FMT
                            " ms", items_creds_source_name(prov->source),
                            iso_time(p, prov->cur->expiration), err, apr_time_as_msec(wait));
    }
    return apr_psprintf(p, "no AWS credentials: fetching the %s credentials failed: %s; next "
                        "attempt in %" APR_TIME_T_FMT " ms",
                        items_creds_source_name(prov->source), err, apr_time_as_msec(wait));
}

apr_status_t items_creds_provider_get(items_creds_t *out, const char **why, apr_pool_t *p,
                                      items_creds_provider_t *prov)
{
    apr_time_t now, wait_until = 0;
    snap_t *fresh = NULL, *old;
    const char *err = NULL;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    *why = NULL;
    if (!prov) {
        *why = "no AWS credentials: none were set up in this process";
        return ITEMS_ENOCREDS;
    }
    if (prov->source == ITEMS_CREDS_SOURCE_NONE) {
        *why = "no AWS credentials: none were found when the server started";
        return ITEMS_ENOCREDS;
    }
    if (!prov->started) {
        /* The resolving thread, before the process is set up: what resolve found. */
        if (!snap_valid(prov->initial, apr_time_now())) {
            *why = apr_pstrcat(p, "no AWS credentials from ", where_long(p, prov), " yet", NULL);
            return ITEMS_ENOCREDS;
        }
        copy_out(out, p, prov->initial);
        return APR_SUCCESS;
    }
    if ((prov->source == ITEMS_CREDS_SOURCE_ENV || prov->source == ITEMS_CREDS_SOURCE_PROFILE)
        && prov->cur) {
        /* Long-term keys: this snapshot is never swapped while the process serves. */
        copy_out(out, p, prov->cur);
        return APR_SUCCESS;
    }

    apr_thread_mutex_lock(prov->lock);
    for (;;) {
        now = apr_time_now();
        if (snap_fresh(prov->cur, now)) {
            copy_out(out, p, prov->cur);
            apr_thread_mutex_unlock(prov->lock);
            return APR_SUCCESS;
        }
        if (!prov->refreshing && now >= prov->next_attempt) {
            break; /* this thread refreshes */
        }
        if (snap_valid(prov->cur, now)) {
            /* another thread is refreshing, or the last attempt failed a moment ago */
            copy_out(out, p, prov->cur);
            apr_thread_mutex_unlock(prov->lock);
            return APR_SUCCESS;
        }
        if (!prov->refreshing) {
            *why = unavailable(p, prov, now);
            apr_thread_mutex_unlock(prov->lock);
            return ITEMS_ENOCREDS;
        }
        /* Nothing valid and another thread is fetching: wait for it, not forever. */
        if (!wait_until) {
            wait_until = now + prov->wait_limit;
        }
        if (now >= wait_until) {
            *why = apr_psprintf(p, "no AWS credentials: fetching the %s credentials takes "
                                "longer than %" APR_TIME_T_FMT " ms",
                                items_creds_source_name(prov->source),
                                apr_time_as_msec(prov->wait_limit));
            apr_thread_mutex_unlock(prov->lock);
            return ITEMS_ENOCREDS;
        }
        apr_thread_cond_timedwait(prov->refreshed, prov->lock, wait_until - now);
    }
    prov->refreshing = 1;
    apr_thread_mutex_unlock(prov->lock);

    rv = fetch(&fresh, &err, NULL, p, prov, NULL); /* no lock held across the HTTP calls */

    apr_thread_mutex_lock(prov->lock);
    prov->refreshing = 0;
    now = apr_time_now();
    old = NULL;
    if (rv == APR_SUCCESS) {
        old = prov->cur;
        prov->cur = fresh;
        prov->next_attempt = 0;
        prov->last_error[0] = '\0';
        copy_out(out, p, fresh);
    }
    else {
        prov->next_attempt = now + prov->retry;
        apr_cpystrn(prov->last_error, err ? err : "no detail", sizeof(prov->last_error));
        if (snap_valid(prov->cur, now)) {
            copy_out(out, p, prov->cur);
            *why = apr_psprintf(p, "refreshing the %s credentials failed: %s; the current "
                                "ones stay in use until %s (next attempt in %" APR_TIME_T_FMT
                                " ms)", items_creds_source_name(prov->source), err,
                                prov->cur->expiration ? iso_time(p, prov->cur->expiration)
                                                      : "they expire",
                                apr_time_as_msec(prov->retry));
            rv = APR_SUCCESS;
        }
        else {
            *why = unavailable(p, prov, now);
            rv = ITEMS_ENOCREDS;
        }
    }
    apr_thread_cond_broadcast(prov->refreshed);
    apr_thread_mutex_unlock(prov->lock);
    snap_free(old);
    return rv;
}

apr_status_t items_creds_get(items_creds_t *out, const char **why, apr_pool_t *p)
{
    return items_creds_provider_get(out, why, p, process_provider);
}

/* ------------------------------------------------------------------------ */
/* the first interface, kept                                                 */

apr_status_t items_creds_from_env(items_creds_t *creds, apr_pool_t *p)
{
    creds->access_key_id = env_get(p, "AWS_ACCESS_KEY_ID");
    creds->secret_access_key = env_get(p, "AWS_SECRET_ACCESS_KEY");
    creds->session_token = env_get(p, "AWS_SESSION_TOKEN");
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
    return apr_psprintf(p, "%.4s...%s", access_key_id, access_key_id + n - 4);
}
