/* SPDX-License-Identifier: Apache-2.0 */
/*
 * items_creds: the AWS credential provider chain.
 *
 * The environment and the shared files are set up per test (HOME points at an
 * empty temporary directory, every AWS_* variable the chain reads is cleared
 * first). The HTTP sources (container endpoint, EC2 instance metadata, STS)
 * are played by a loopback fake below that answers by path, records every
 * request (method, target, headers, body) and can be told to fail or to be
 * slow. Credentials it hands out carry their generation number in all three
 * parts, so a test can tell which fetch a snapshot came from and that its
 * parts belong together.
 *
 * Like httpd, the tests resolve without the HTTP handle pool (the parent
 * process), then call items_http_init() and items_creds_provider_start() on a
 * "child" pool, which is destroyed at the end of the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "items_creds.h"
#include "items_http.h"
#include "items_status.h"

static const char *const chain_vars[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
    "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_V1_DISABLED", NULL
};

#define CONTAINER_TOKEN "Bearer container-auth-TOKEN-0123456789"
#define IMDS_TOKEN "IMDSv2-session-TOKEN-abcdefghijklmnop=="
#define JWT "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl+/="
#define ROLE_ARN "arn:aws:iam::123456789012:role/items-role"

/* ------------------------------------------------------------------------ */
/* the loopback fake                                                        */

#define FAKE_MAX_REQS 256

typedef struct fake_req {
    char method[16];
    char target[512];
    char headers[8192]; /* the raw header lines, CRLF-separated */
    char body[16384];
    double at;          /* seconds since the epoch, when it arrived */
} fake_req_t;

typedef enum fake_mode { FAKE_CONTAINER, FAKE_IMDS, FAKE_STS } fake_mode_t;

typedef struct fake {
    int listen_fd, wake[2];
    unsigned short port;
    pthread_t thread;
    pthread_mutex_t lock;
    /* under lock */
    fake_mode_t mode;
    fake_req_t *reqs;
    int n_reqs;
    int cred_fetches;       /* answers that handed out credentials */
    int fail_status;        /* answer this status instead of credentials, 0: don't */
    int fail_from;          /* ... from this credential fetch on (1-based) */
    int expiry_secs;        /* lifetime of generation 1 */
    int later_expiry_secs;  /* lifetime of the later generations */
    time_t expiry[64];      /* per generation */
    int delay_ms;           /* before each credential answer */
    int imds_token_status;  /* the token PUT's status (200) */
    int sts_error;          /* STS answers an ErrorResponse */
} fake_t;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void iso(char *buf, size_t n, time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void gen_creds(int gen, char *akid, char *secret, char *token)
{
    sprintf(akid, "ASIAFAKE%012d", gen);
    sprintf(secret, "fakeSecret/%d+wJalrXUtnFEMIK7MDENGbPxRfiCY", gen);
    sprintf(token, "fakeToken%d//IQoJb3JpZ2luX2VjEFAaCXVzLWVhc3QtMSJHMEUCIQ==", gen);
}

/* Value of header name in req, copied into out ("" when absent). */
static const char *req_header(const fake_req_t *req, const char *name, char *out, size_t n)
{
    const char *line = req->headers;
    size_t len = strlen(name);

    out[0] = '\0';
    while (line && *line) {
        const char *eol = strstr(line, "\r\n");
        size_t l = eol ? (size_t)(eol - line) : strlen(line);

        if (l > len && !strncasecmp(line, name, len) && line[len] == ':') {
            const char *v = line + len + 1;
            while (*v == ' ') {
                v++;
            }
            l -= (size_t)(v - line);
            snprintf(out, n, "%.*s", (int)l, v);
            return out;
        }
        line = eol ? eol + 2 : NULL;
    }
    return out;
}

static int has_header(const fake_req_t *req, const char *name)
{
    size_t len = strlen(name);
    const char *line = req->headers;

    while (line && *line) {
        if (!strncasecmp(line, name, len) && line[len] == ':') {
            return 1;
        }
        line = strstr(line, "\r\n");
        line = line ? line + 2 : NULL;
    }
    return 0;
}

/* Credentials for the next generation as the mode's format; under lock. */
static int answer_creds(fake_t *f, char *body, size_t cap)
{
    char akid[64], secret[128], token[256], exp[40];
    int gen = ++f->cred_fetches;
    time_t e = time(NULL) + (gen == 1 ? f->expiry_secs : f->later_expiry_secs);

    if (f->fail_status && gen >= f->fail_from) {
        f->cred_fetches--;
        snprintf(body, cap, "{\"code\":\"InternalError\",\"message\":\"the fake is failing\"}");
        return f->fail_status;
    }
    if (gen < 64) {
        f->expiry[gen] = e;
    }
    gen_creds(gen, akid, secret, token);
    iso(exp, sizeof(exp), e);
    if (f->mode == FAKE_STS) {
        snprintf(body, cap,
                 "<AssumeRoleWithWebIdentityResponse "
                 "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
                 "  <AssumeRoleWithWebIdentityResult>\n"
                 "    <SubjectFromWebIdentityToken>system:sa</SubjectFromWebIdentityToken>\n"
                 "    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn>"
                 "<AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId></AssumedRoleUser>\n"
                 "    <Credentials>\n"
                 "      <SessionToken>%s</SessionToken>\n"
                 "      <SecretAccessKey>%s</SecretAccessKey>\n"
                 "      <Expiration>%s</Expiration>\n"
                 "      <AccessKeyId>%s</AccessKeyId>\n"
                 "    </Credentials>\n"
                 "    <Provider>oidc.example.com</Provider>\n"
                 "  </AssumeRoleWithWebIdentityResult>\n"
                 "  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>\n"
                 "</AssumeRoleWithWebIdentityResponse>\n",
                 token, secret, exp, akid);
    }
    else {
        snprintf(body, cap,
                 "{\"Code\":\"Success\",\"LastUpdated\":\"2024-01-01T00:00:00Z\","
                 "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\","
                 "\"Token\":\"%s\",\"Expiration\":\"%s\"}",
                 akid, secret, token, exp);
    }
    return 200;
}

/* The answer to req; under lock. */
static int route(fake_t *f, const fake_req_t *req, char *body, size_t cap, int *is_creds)
{
    char v[512];

    *is_creds = 0;
    body[0] = '\0';
    switch (f->mode) {
    case FAKE_CONTAINER:
        if (strcmp(req->method, "GET") || strcmp(req->target, "/creds")) {
            return 404;
        }
        if (strcmp(req_header(req, "Authorization", v, sizeof(v)), CONTAINER_TOKEN)) {
            snprintf(body, cap, "{\"code\":\"AccessDenied\",\"message\":\"bad token\"}");
            return 401;
        }
        *is_creds = 1;
        return answer_creds(f, body, cap);
    case FAKE_IMDS:
        if (!strcmp(req->method, "PUT") && !strcmp(req->target, "/latest/api/token")) {
            if (strcmp(req_header(req, "X-aws-ec2-metadata-token-ttl-seconds", v, sizeof(v)),
                       "21600")) {
                return 400;
            }
            if (f->imds_token_status != 200) {
                return f->imds_token_status;
            }
            snprintf(body, cap, "%s", IMDS_TOKEN);
            return 200;
        }
        if (strcmp(req->method, "GET")) {
            return 405;
        }
        if (f->imds_token_status == 200
            && strcmp(req_header(req, "X-aws-ec2-metadata-token", v, sizeof(v)), IMDS_TOKEN)) {
            return 401;
        }
        if (!strcmp(req->target, "/latest/meta-data/iam/security-credentials/")) {
            snprintf(body, cap, "items-instance-role\n");
            return 200;
        }
        if (!strcmp(req->target,
                    "/latest/meta-data/iam/security-credentials/items-instance-role")) {
            *is_creds = 1;
            return answer_creds(f, body, cap);
        }
        return 404;
    case FAKE_STS:
        if (strcmp(req->method, "POST") || !strstr(req->body, "Action=AssumeRoleWithWebIdentity")) {
            return 400;
        }
        if (f->sts_error) {
            snprintf(body, cap,
                     "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                     "<Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
                     "<Message>Couldn&apos;t verify the token</Message></Error>"
                     "<RequestId>r-2</RequestId></ErrorResponse>");
            return 400;
        }
        *is_creds = 1;
        return answer_creds(f, body, cap);
    }
    return 500;
}

/* Read one request (Content-Length framing); 0 on success. */
static int read_request(int fd, fake_req_t *req)
{
    char buf[32768];
    size_t len = 0, cl = 0, head;
    char *end = NULL, *p;

    for (;;) {
        ssize_t n;
        if (len == sizeof(buf) - 1) {
            return -1;
        }
        n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0) {
            return -1;
        }
        len += (size_t)n;
        buf[len] = '\0';
        if (!end && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            char *cls = strcasestr(buf, "\r\nContent-Length:");
            if (cls && cls < end) {
                cl = strtoul(cls + 17, NULL, 10);
            }
        }
        if (end && len >= (size_t)(end - buf) + 4 + cl) {
            break;
        }
    }
    head = (size_t)(end - buf);
    p = strstr(buf, "\r\n");
    sscanf(buf, "%15s %511s", req->method, req->target);
    snprintf(req->headers, sizeof(req->headers), "%.*s", (int)(head - (size_t)(p + 2 - buf)),
             p + 2);
    snprintf(req->body, sizeof(req->body), "%.*s", (int)cl, end + 4);
    req->at = now_s();
    return 0;
}

static void *fake_serve(void *arg)
{
    fake_t *f = arg;

    for (;;) {
        struct pollfd pfd[2] = { { f->wake[0], POLLIN, 0 }, { f->listen_fd, POLLIN, 0 } };
        char body[16384], out[20000];
        fake_req_t req;
        struct timeval tv = { 2, 0 };
        int fd, status, is_creds, n;
        int delay;

        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (pfd[0].revents) {
            break;
        }
        fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        memset(&req, 0, sizeof(req));
        if (read_request(fd, &req) != 0) {
            close(fd);
            continue;
        }
        pthread_mutex_lock(&f->lock);
        if (f->n_reqs < FAKE_MAX_REQS) {
            f->reqs[f->n_reqs++] = req;
        }
        status = route(f, &req, body, sizeof(body), &is_creds);
        delay = is_creds ? f->delay_ms : 0;
        pthread_mutex_unlock(&f->lock);
        if (delay) {
            usleep((useconds_t)delay * 1000u);
        }
        n = snprintf(out, sizeof(out),
                     "HTTP/1.1 %d Fake\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     status, strlen(body), body);
        if (send(fd, out, (size_t)n, MSG_NOSIGNAL) < 0) {
            /* the client left */
        }
        close(fd);
    }
    return NULL;
}

static fake_t *fake_start(fake_mode_t mode)
{
    fake_t *f = calloc(1, sizeof(*f));
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    int one = 1;

    assert_non_null(f);
    f->reqs = calloc(FAKE_MAX_REQS, sizeof(fake_req_t));
    assert_non_null(f->reqs);
    f->mode = mode;
    f->expiry_secs = 3600;
    f->later_expiry_secs = 3600;
    f->imds_token_status = 200;
    pthread_mutex_init(&f->lock, NULL);
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->listen_fd >= 0);
    setsockopt(f->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->listen_fd, 64), 0);
    assert_int_equal(getsockname(f->listen_fd, (struct sockaddr *)&sa, &salen), 0);
    f->port = ntohs(sa.sin_port);
    assert_int_equal(pipe(f->wake), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_serve, f), 0);
    return f;
}

static void fake_stop(fake_t *f)
{
    if (!f) {
        return;
    }
    if (write(f->wake[1], "x", 1) < 0) {
        /* the thread is gone already */
    }
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    close(f->wake[0]);
    close(f->wake[1]);
    pthread_mutex_destroy(&f->lock);
    free(f->reqs);
    free(f);
}

static int fake_count(fake_t *f, int creds_only)
{
    int n;

    pthread_mutex_lock(&f->lock);
    n = creds_only ? f->cred_fetches : f->n_reqs;
    pthread_mutex_unlock(&f->lock);
    return n;
}

static fake_req_t fake_req(fake_t *f, int i)
{
    fake_req_t r;

    pthread_mutex_lock(&f->lock);
    assert_true(i < f->n_reqs);
    r = f->reqs[i];
    pthread_mutex_unlock(&f->lock);
    return r;
}

static void fake_set(fake_t *f, int *field, int value)
{
    pthread_mutex_lock(&f->lock);
    *field = value;
    pthread_mutex_unlock(&f->lock);
}

static const char *fake_url(apr_pool_t *p, fake_t *f, const char *path)
{
    return apr_psprintf(p, "http://127.0.0.1:%u%s", f->port, path);
}

/* ------------------------------------------------------------------------ */
/* fixture                                                                  */

typedef struct fx {
    apr_pool_t *pool;   /* the "configuration" pool: resolve */
    apr_pool_t *child;  /* the "child" pool: http handles and the started provider */
    char dir[64];       /* a temporary HOME */
    fake_t *fake;
} fx_t;

static void clear_chain_env(void)
{
    const char *const *v;

    for (v = chain_vars; *v; v++) {
        unsetenv(*v);
    }
}

static int fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));

    if (!fx || apr_pool_create(&fx->pool, NULL) != APR_SUCCESS) {
        return -1;
    }
    strcpy(fx->dir, "/tmp/test_creds.XXXXXX");
    if (!mkdtemp(fx->dir)) {
        return -1;
    }
    clear_chain_env();
    setenv("HOME", fx->dir, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1); /* tests of IMDS turn it back on */
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *fx = *state;
    char cmd[128];

    if (fx->child) {
        apr_pool_destroy(fx->child);
    }
    apr_pool_destroy(fx->pool);
    fake_stop(fx->fake);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    if (system(cmd) != 0) {
        /* left behind in /tmp */
    }
    clear_chain_env();
    free(fx);
    return 0;
}

static const char *write_file(fx_t *fx, const char *name, const char *text)
{
    const char *path = apr_pstrcat(fx->pool, fx->dir, "/", name, NULL);
    FILE *f;
    char *dir = apr_pstrdup(fx->pool, path), *slash = strrchr(dir, '/');

    *slash = '\0';
    mkdir(dir, 0700);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* What httpd's child_init does: the handle pool, then the provider. */
static void start_child(fx_t *fx, items_creds_provider_t *prov)
{
    assert_int_equal(apr_pool_create(&fx->child, fx->pool), APR_SUCCESS);
    assert_int_equal(items_http_init(fx->child, 16), APR_SUCCESS);
    assert_int_equal(items_creds_provider_start(prov, fx->child), APR_SUCCESS);
}

static int gen_of(const items_creds_t *c)
{
    int a = -1, s = -2, t = -3;

    if (!c->access_key_id || !c->secret_access_key || !c->session_token
        || sscanf(c->access_key_id, "ASIAFAKE%d", &a) != 1
        || sscanf(c->secret_access_key, "fakeSecret/%d+", &s) != 1
        || sscanf(c->session_token, "fakeToken%d//", &t) != 1 || a != s || s != t) {
        return -1;
    }
    return a;
}

static void assert_gen(const items_creds_t *c, int gen)
{
    char akid[64], secret[128], token[256];

    gen_creds(gen, akid, secret, token);
    assert_non_null(c->access_key_id);
    assert_string_equal(c->access_key_id, akid);
    assert_string_equal(c->secret_access_key, secret);
    assert_non_null(c->session_token);
    assert_string_equal(c->session_token, token);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle)) {
        fail_msg("'%s' does not contain '%s'", hay ? hay : "(null)", needle);
    }
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (hay && strstr(hay, needle)) {
        fail_msg("'%s' contains '%s'", hay, needle);
    }
}

static items_creds_options_t opts_default(void)
{
    items_creds_options_t o;

    memset(&o, 0, sizeof(o));
    o.region = "eu-west-3";
    return o;
}

/* ------------------------------------------------------------------------ */
/* 1. the environment                                                       */

static void test_env_keys_and_token(void **state)
{
    fx_t *fx = *state;
    items_creds_options_t o = opts_default();
    items_creds_provider_t *prov;
    items_creds_t c;
    const char *why;

    setenv("AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE000001", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env/secret+key", 1);
    setenv("AWS_SESSION_TOKEN", "env-session-token//+==", 1);
    /* shared files with other keys: the environment comes first */
    write_file(fx, ".aws/credentials", "[default]\naws_access_key_id = AKIAFILE\n"
                                       "aws_secret_access_key = filesecret\n");
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), APR_SUCCESS);
    assert_null(why);
    assert_int_equal(items_creds_provider_source(prov), ITEMS_CREDS_SOURCE_ENV);
    assert_string_equal(items_creds_source_name(ITEMS_CREDS_SOURCE_ENV), "environment");
    start_child(fx, prov);
    assert_int_equal(items_creds_get(&c, &why, fx->pool), APR_SUCCESS);
    assert_null(why);
    assert_string_equal(c.access_key_id, "AKIAENVEXAMPLE000001");
    assert_string_equal(c.secret_access_key, "env/secret+key");
    assert_string_equal(c.session_token, "env-session-token//+==");
    /* the log line: masked key, never the secret */
    assert_contains(items_creds_provider_describe(fx->pool, prov),
                    "AKIA...0001 with session token");
    assert_lacks(items_creds_provider_describe(fx->pool, prov), "AKIAENVEXAMPLE000001");
    assert_lacks(items_creds_provider_describe(fx->pool, prov), "env/secret+key");
}

static void test_env_without_token(void **state)
{
    fx_t *fx = *state;
    items_creds_provider_t *prov;
    items_creds_t c;
    const char *why;

    setenv("AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE000002", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env/secret+key", 1);
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, NULL), APR_SUCCESS);
    /* before start: the resolving thread may read what was found */
    assert_int_equal(items_creds_provider_get(&c, &why, fx->pool, prov), APR_SUCCESS);
    assert_string_equal(c.access_key_id, "AKIAENVEXAMPLE000002");
    assert_null(c.session_token);
}

static void test_env_partial_stops_the_chain(void **state)
{
    fx_t *fx = *state;
    items_creds_provider_t *prov;
    const char *why;

    setenv("AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE000003", 1);
    write_file(fx, ".aws/credentials", "[default]\naws_access_key_id = AKIAFILE\n"
                                       "aws_secret_access_key = filesecret\n");
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, NULL), ITEMS_ENOCREDS);
    assert_contains(why, "no AWS credentials: AWS_ACCESS_KEY_ID is set but "
                         "AWS_SECRET_ACCESS_KEY is not");
    assert_int_equal(items_creds_provider_source(prov), ITEMS_CREDS_SOURCE_NONE);
}

/* ------------------------------------------------------------------------ */
/* 2. the shared files                                                      */

static const char credentials_file[] =
    "# a comment\n"
    "; another comment\n"
    "[default]\r\n"
    "aws_access_key_id = AKIADEFAULT000000001\r\n"
    "aws_secret_access_key=default/secret+1\r\n"
    "\n"
    "[other]\n"
    "  # indented comment\n"
    "AWS_ACCESS_KEY_ID   =   AKIAOTHER00000000002   \n"
    "aws_secret_access_key = other/secret+2\n"
    "aws_session_token = other-token-2==\n"
    "\n"
    "[both]\n"
    "aws_access_key_id = AKIABOTHCREDFILE0003\n"
    "aws_secret_access_key = both/from-credentials\n"
    "\n"
    "[half]\n"
    "aws_access_key_id = AKIAHALF000000000004\n";

static const char config_file[] =
    "[default]\n"
    "region = eu-west-3\n"
    "\n"
    "[profile cfgonly]\n"
    "region = us-west-2\n"
    "s3 =\n"
    "  max_concurrent_requests = 20\n"
    "aws_access_key_id = AKIACONFIGONLY000005\n"
    "aws_secret_access_key = cfg/secret+5\n"
    "\n"
    "[cfgonly]\n"
    "aws_access_key_id = AKIANOTAPROFILE00006\n"
    "aws_secret_access_key = wrong\n"
    "\n"
    "[profile both]\n"
    "aws_access_key_id = AKIABOTHCONFIG000007\n"
    "aws_secret_access_key = both/from-config\n"
    "\n"
    "[profile assumer]\n"
    "role_arn = arn:aws:iam::123456789012:role/other\n"
    "source_profile = default\n"
    "\n"
    "[profile sso]\n"
    "sso_session = corp\n"
    "\n"
    "[sso-session corp]\n"
    "sso_start_url = https://example.awsapps.com/start\n"
    "\n"
    "[profile regiononly]\n"
    "region = us-east-2\n";

static void write_shared_files(fx_t *fx)
{
    write_file(fx, ".aws/credentials", credentials_file);
    write_file(fx, ".aws/config", config_file);
}

static items_creds_t resolve_static(fx_t *fx, const char *profile, const char *expect_where)
{
    items_creds_options_t o = opts_default();
    items_creds_provider_t *prov;
    items_creds_t c;
    const char *why;

    o.profile = profile;
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), APR_SUCCESS);
    assert_null(why);
    assert_int_equal(items_creds_provider_source(prov), ITEMS_CREDS_SOURCE_PROFILE);
    assert_contains(items_creds_provider_describe(fx->pool, prov), expect_where);
    start_child(fx, prov);
    assert_int_equal(items_creds_provider_get(&c, &why, fx->pool, prov), APR_SUCCESS);
    assert_null(why);
    return c;
}

static void test_profile_default(void **state)
{
    fx_t *fx = *state;
    items_creds_t c;

    write_shared_files(fx);
    c = resolve_static(fx, NULL, "profile 'default' of ");
    assert_string_equal(c.access_key_id, "AKIADEFAULT000000001");
    assert_string_equal(c.secret_access_key, "default/secret+1");
    assert_null(c.session_token);
}

static void test_profile_from_aws_profile_with_token(void **state)
{
    fx_t *fx = *state;
    items_creds_t c;

    write_shared_files(fx);
    setenv("AWS_PROFILE", "other", 1);
    c = resolve_static(fx, NULL, "profile 'other'");
    assert_string_equal(c.access_key_id, "AKIAOTHER00000000002");
    assert_string_equal(c.secret_access_key, "other/secret+2");
    assert_string_equal(c.session_token, "other-token-2==");
}

static void test_profile_directive_wins_over_aws_profile(void **state)
{
    fx_t *fx = *state;
    items_creds_t c;

    write_shared_files(fx);
    setenv("AWS_PROFILE", "other", 1);
    /* "[profile cfgonly]" of the config file, not its bare "[cfgonly]" */
    c = resolve_static(fx, "cfgonly", "/.aws/config");
    assert_string_equal(c.access_key_id, "AKIACONFIGONLY000005");
    assert_string_equal(c.secret_access_key, "cfg/secret+5");
}

static void test_profile_credentials_file_wins(void **state)
{
    fx_t *fx = *state;
    items_creds_t c;

    write_shared_files(fx);
    c = resolve_static(fx, "both", "/.aws/credentials");
    assert_string_equal(c.access_key_id, "AKIABOTHCREDFILE0003");
    assert_string_equal(c.secret_access_key, "both/from-credentials");
}

static void test_profile_files_from_environment(void **state)
{
    fx_t *fx = *state;
    items_creds_t c;
    const char *path = write_file(fx, "elsewhere/creds", "[default]\n"
                                                         "aws_access_key_id=AKIAELSEWHERE0000008\n"
                                                         "aws_secret_access_key=else/where\n");

    write_shared_files(fx); /* not read: the variables name other files */
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    setenv("AWS_CONFIG_FILE", apr_pstrcat(fx->pool, fx->dir, "/nothing-here", NULL), 1);
    c = resolve_static(fx, NULL, path);
    assert_string_equal(c.access_key_id, "AKIAELSEWHERE0000008");
}

static void test_profile_pinned_but_missing_stops(void **state)
{
    fx_t *fx = *state;
    items_creds_options_t o = opts_default();
    items_creds_provider_t *prov;
    const char *why;

    write_shared_files(fx);
    o.profile = "nosuch";
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), ITEMS_ENOCREDS);
    assert_contains(why, "no AWS credentials: profile 'nosuch' is in neither ");
    assert_contains(why, "(named by ItemsAwsProfile)");

    o.profile = NULL;
    setenv("AWS_PROFILE", "nosuch", 1);
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), ITEMS_ENOCREDS);
    assert_contains(why, "(named by AWS_PROFILE)");
}

static void test_profile_missing_files_fall_through(void **state)
{
    fx_t *fx = *state;
    items_creds_provider_t *prov;
    const char *why;

    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, NULL), ITEMS_ENOCREDS);
    assert_contains(why, apr_psprintf(fx->pool, "shared files: profile 'default' is in neither "
                                      "%s/.aws/credentials (absent) nor %s/.aws/config (absent)",
                                      fx->dir, fx->dir));
}

static void test_profile_unsupported_and_partial(void **state)
{
    fx_t *fx = *state;
    items_creds_options_t o = opts_default();
    items_creds_provider_t *prov;
    const char *why;

    write_shared_files(fx);
    o.profile = "assumer";
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), ITEMS_ENOCREDS);
    assert_contains(why, "profile 'assumer' assumes role arn:aws:iam::123456789012:role/other "
                         "through source_profile, which mod_items does not support");

    o.profile = "sso";
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), ITEMS_ENOCREDS);
    assert_contains(why, "IAM Identity Center (SSO)");

    o.profile = "half";
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), ITEMS_ENOCREDS);
    assert_contains(why, "has aws_access_key_id but no aws_secret_access_key");
    assert_lacks(why, "AKIAHALF");

    /* a profile without keys: on to the rest of the chain */
    o.profile = "regiononly";
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), ITEMS_ENOCREDS);
    assert_contains(why, "shared files: profile 'regiononly' holds no keys; web identity: ");
}

/* ------------------------------------------------------------------------ */
/* 4. the container endpoint                                                */

static items_creds_provider_t *resolve_container(fx_t *fx, items_creds_options_t *o,
                                                 apr_status_t expect, const char **why)
{
    items_creds_provider_t *prov;

    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", fake_url(fx->pool, fx->fake, "/creds"), 1);
    assert_int_equal(items_creds_resolve(&prov, why, fx->pool, o), expect);
    return prov;
}

static void test_container_with_token(void **state)
{
    fx_t *fx = *state;
    items_creds_options_t o = opts_default();
    items_creds_provider_t *prov;
    items_creds_t c;
    const char *why;
    char v[512];
    fake_req_t r;

    fx->fake = fake_start(FAKE_CONTAINER);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", CONTAINER_TOKEN, 1);
    prov = resolve_container(fx, &o, APR_SUCCESS, &why);
    assert_null(why);
    assert_int_equal(items_creds_provider_source(prov), ITEMS_CREDS_SOURCE_CONTAINER);
    r = fake_req(fx->fake, 0);
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.target, "/creds");
    assert_string_equal(req_header(&r, "Authorization", v, sizeof(v)), CONTAINER_TOKEN);
    assert_contains(items_creds_provider_describe(fx->pool, prov),
                    apr_psprintf(fx->pool, "access key ASIA...0001 with session token from the "
                                 "container endpoint http://127.0.0.1:%u, expires ",
                                 fx->fake->port));
    start_child(fx, prov);
    assert_int_equal(items_creds_get(&c, &why, fx->pool), APR_SUCCESS);
    assert_null(why);
    assert_gen(&c, 1);
    assert_int_equal(fake_count(fx->fake, 0), 1); /* cached: no second call */
}

static void test_container_token_file_wins(void **state)
{
    fx_t *fx = *state;
    items_creds_options_t o = opts_default();
    items_creds_provider_t *prov;
    items_creds_t c;
    const char *why, *file;
    char v[512];
    fake_req_t r;

    fx->fake = fake_start(FAKE_CONTAINER);
    file = write_file(fx, "token", CONTAINER_TOKEN "\n");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer the-variable-loses", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", file, 1);
    prov = resolve_container(fx, &o, APR_SUCCESS, &why);
    assert_null(why);
    r = fake_req(fx->fake, 0);
    assert_string_equal(req_header(&r, "Authorization", v, sizeof(v)), CONTAINER_TOKEN);
    start_child(fx, prov);
    assert_int_equal(items_creds_get(&c, &why, fx->pool), APR_SUCCESS);
    assert_gen(&c, 1);
}

static void test_container_refused_token(void **state)
{
    fx_t *fx = *state;
    items_creds_options_t o = opts_default();
    items_creds_provider_t *prov;
    items_creds_t c;
    const char *why;

    fx->fake = fake_start(FAKE_CONTAINER);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong-secret-token", 1);
    /* configured, so chosen; the first fetch failed and is retried on demand */
    prov = resolve_container(fx, &o, APR_SUCCESS, &why);
    assert_int_equal(items_creds_provider_source(prov), ITEMS_CREDS_SOURCE_CONTAINER);
    assert_contains(why, "answered HTTP 401 AccessDenied: bad token");
    assert_lacks(why, "wrong-secret-token");
    assert_contains(items_creds_provider_describe(fx->pool, prov), "no credentials yet from");
    start_child(fx, prov);
    assert_int_equal(items_creds_get(&c, &why, fx->pool), ITEMS_ENOCREDS);
    assert_contains(why, "no AWS credentials: fetching the container credentials failed: the "
                         "container endpoint http://127.0.0.1:");
    assert_contains(why, "answered HTTP 401 AccessDenied: bad token; next attempt in ");
    assert_null(c.access_key_id);
    assert_int_equal(fake_count(fx->fake, 0), 2);
}

static void test_container_full_uri_rules(void **state)
{
    fx_t *fx = *state;
    items_creds_provider_t *prov;
    const char *why;

    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.10/creds", 1);
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, NULL), ITEMS_ENOCREDS);
    assert_contains(why, "names host 192.0.2.10: an http URL must point to a loopback address");

    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "ftp://127.0.0.1/creds", 1);
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, NULL), ITEMS_ENOCREDS);
    assert_contains(why, "is not an http(s) URL");

    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/credentials", 1);
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, NULL), ITEMS_ENOCREDS);
    assert_contains(why, "must start with '/'");
}

static void test_container_relative_uri_goes_to_ecs_host(void **state)
{
    fx_t *fx = *state;
    items_creds_options_t o = opts_default();
    items_creds_provider_t *prov;
    const char *why;

    /* The ECS agent's address: nothing (or something else) answers there in a test. */
    o.probe_timeout = apr_time_from_msec(300);
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/secret-uuid", 1);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/ignored", 1);
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), APR_SUCCESS);
    assert_int_equal(items_creds_provider_source(prov), ITEMS_CREDS_SOURCE_CONTAINER);
    assert_contains(why, "the container endpoint http://169.254.170.2 ");
    assert_lacks(why, "secret-uuid"); /* the path is a capability: kept out of the log */
}

/* ------------------------------------------------------------------------ */
/* 5. EC2 instance metadata                                                 */

static void test_imds_v2_flow(void **state)
{
    fx_t *fx = *state;
    items_creds_options_t o = opts_default();
    items_creds_provider_t *prov;
    items_creds_t c;
    const char *why;
    char v[512];
    fake_req_t r;
    int i;

    fx->fake = fake_start(FAKE_IMDS);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake_url(fx->pool, fx->fake, "/"), 1);
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), APR_SUCCESS);
    assert_null(why);
    assert_int_equal(items_creds_provider_source(prov), ITEMS_CREDS_SOURCE_IMDS);
    assert_contains(items_creds_provider_describe(fx->pool, prov), ", role items-instance-role");

    assert_int_equal(fake_count(fx->fake, 0), 3);
    r = fake_req(fx->fake, 0);
    assert_string_equal(r.method, "PUT");
    assert_string_equal(r.target, "/latest/api/token");
    assert_string_equal(req_header(&r, "X-aws-ec2-metadata-token-ttl-seconds", v, sizeof(v)),
                        "21600");
    assert_false(has_header(&r, "X-aws-ec2-metadata-token"));
    r = fake_req(fx->fake, 1);
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.target, "/latest/meta-data/iam/security-credentials/");
    r = fake_req(fx->fake, 2);
    assert_string_equal(r.target, "/latest/meta-data/iam/security-credentials/items-instance-role");
    for (i = 1; i <= 2; i++) {
        r = fake_req(fx->fake, i);
        assert_string_equal(req_header(&r, "X-aws-ec2-metadata-token", v, sizeof(v)), IMDS_TOKEN);
    }

    start_child(fx, prov);
    assert_int_equal(items_creds_get(&c, &why, fx->pool), APR_SUCCESS);
    assert_gen(&c, 1);
}

static void test_imds_v1_fallback_and_its_switch(void **state)
{
    fx_t *fx = *state;
    items_creds_options_t o = opts_default();
    items_creds_provider_t *prov;
    items_creds_t c;
    const char *why;
    fake_req_t r;

    fx->fake = fake_start(FAKE_IMDS);
    fake_set(fx->fake, &fx->fake->imds_token_status, 404);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake_url(fx->pool, fx->fake, ""), 1);
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), APR_SUCCESS);
    assert_null(why);
    r = fake_req(fx->fake, 1);
    assert_false(has_header(&r, "X-aws-ec2-metadata-token"));
    assert_int_equal(items_creds_provider_get(&c, &why, fx->pool, prov), APR_SUCCESS);
    assert_gen(&c, 1);

    setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), ITEMS_ENOCREDS);
    assert_contains(why, "answered HTTP 404 to the IMDSv2 token request (IMDSv1 is off");
}

static void test_imds_unreachable_or_disabled(void **state)
{
    fx_t *fx = *state;
    items_creds_options_t o = opts_default();
    items_creds_provider_t *prov;
    const char *why;

    fx->fake = fake_start(FAKE_IMDS);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake_url(fx->pool, fx->fake, ""), 1);
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), ITEMS_ENOCREDS);
    assert_contains(why, "instance metadata: turned off by AWS_EC2_METADATA_DISABLED");
    assert_int_equal(fake_count(fx->fake, 0), 0);

    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), ITEMS_ENOCREDS);
    assert_int_equal(items_creds_provider_source(prov), ITEMS_CREDS_SOURCE_NONE);
    assert_contains(why, "instance metadata: EC2 instance metadata at http://127.0.0.1:1 did "
                         "not answer");
}

/* ------------------------------------------------------------------------ */
/* 3. web identity                                                          */

static void setup_web_identity(fx_t *fx)
{
    fx->fake = fake_start(FAKE_STS);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", write_file(fx, "jwt", JWT "\n"), 1);
    setenv("AWS_ROLE_ARN", ROLE_ARN, 1);
    setenv("AWS_ENDPOINT_URL_STS", fake_url(fx->pool, fx->fake, ""), 1);
}

static void test_web_identity(void **state)
{
    fx_t *fx = *state;
    items_creds_options_t o = opts_default();
    items_creds_provider_t *prov;
    items_creds_t c;
    const char *why;
    char v[512];
    fake_req_t r;

    setup_web_identity(fx);
    setenv("AWS_ROLE_SESSION_NAME", "items-session", 1);
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), APR_SUCCESS);
    assert_null(why);
    assert_int_equal(items_creds_provider_source(prov), ITEMS_CREDS_SOURCE_WEB_IDENTITY);
    r = fake_req(fx->fake, 0);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.target, "/");
    assert_contains(req_header(&r, "Content-Type", v, sizeof(v)),
                    "application/x-www-form-urlencoded");
    assert_contains(r.body, "Action=AssumeRoleWithWebIdentity");
    assert_contains(r.body, "Version=2011-06-15");
    assert_contains(r.body, "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fitems-role");
    assert_contains(r.body, "RoleSessionName=items-session");
    assert_contains(r.body, "WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ."
                            "c2lnbmF0dXJl%2B%2F%3D");
    assert_false(has_header(&r, "Authorization")); /* unsigned */
    assert_contains(items_creds_provider_describe(fx->pool, prov), "from web identity (role "
                    ROLE_ARN);
    start_child(fx, prov);
    assert_int_equal(items_creds_get(&c, &why, fx->pool), APR_SUCCESS);
    assert_gen(&c, 1); /* the session token is part of it */
}

static void test_web_identity_sts_error_and_config(void **state)
{
    fx_t *fx = *state;
    items_creds_options_t o = opts_default();
    items_creds_provider_t *prov;
    const char *why;

    setup_web_identity(fx);
    fake_set(fx->fake, &fx->fake->sts_error, 1);
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), APR_SUCCESS);
    assert_contains(why, "AssumeRoleWithWebIdentity for " ROLE_ARN ": STS answered HTTP 400 "
                         "InvalidIdentityToken: Couldn't verify the token");
    assert_lacks(why, "eyJhbGci");
    assert_contains(fake_req(fx->fake, 0).body, "RoleSessionName=mod_items-");

    /* a profile can name the role and the token file too */
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    unsetenv("AWS_ROLE_ARN");
    fake_set(fx->fake, &fx->fake->sts_error, 0);
    write_file(fx, ".aws/config", apr_psprintf(fx->pool, "[profile wi]\nrole_arn = %s\n"
                                               "web_identity_token_file = %s/jwt\n"
                                               "role_session_name = from-profile\n",
                                               ROLE_ARN, fx->dir));
    o.profile = "wi";
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), APR_SUCCESS);
    assert_null(why);
    assert_int_equal(items_creds_provider_source(prov), ITEMS_CREDS_SOURCE_WEB_IDENTITY);
    assert_contains(fake_req(fx->fake, 1).body, "RoleSessionName=from-profile");

    /* only half of it configured: skipped, and said so */
    o.profile = NULL;
    setenv("AWS_ROLE_ARN", ROLE_ARN, 1);
    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, &o), ITEMS_ENOCREDS);
    assert_contains(why, "web identity: AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE "
                         "is not");
}

/* ------------------------------------------------------------------------ */
/* nothing at all                                                           */

static void test_nothing_at_all(void **state)
{
    fx_t *fx = *state;
    items_creds_provider_t *prov;
    items_creds_t c;
    const char *why;

    assert_int_equal(items_creds_get(&c, &why, fx->pool), ITEMS_ENOCREDS); /* none started */
    assert_contains(why, "no AWS credentials");

    assert_int_equal(items_creds_resolve(&prov, &why, fx->pool, NULL), ITEMS_ENOCREDS);
    assert_contains(why, "no AWS credentials: environment: AWS_ACCESS_KEY_ID and "
                         "AWS_SECRET_ACCESS_KEY are not set; shared files: profile 'default' "
                         "is in neither ");
    assert_contains(why, "; web identity: AWS_WEB_IDENTITY_TOKEN_FILE is not set; container: "
                         "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI are not set; instance metadata: "
                         "turned off by AWS_EC2_METADATA_DISABLED");
    assert_string_equal(items_creds_provider_describe(fx->pool, prov), "no credentials");
    start_child(fx, prov);
    assert_int_equal(items_creds_get(&c, &why, fx->pool), ITEMS_ENOCREDS);
    assert_string_equal(why, "no AWS credentials: none were found when the server started");
    assert_null(c.access_key_id);
    assert_null(c.secret_access_key);
}

/* ------------------------------------------------------------------------ */
/* caching and refreshing                                                   */

static items_creds_provider_t *short_lived(fx_t *fx, int expiry_secs, double margin_s,
                                           double retry_s)
{
    items_creds_options_t o = opts_default();
    items_creds_provider_t *prov;
    const char *why;

    fx->fake = fake_start(FAKE_CONTAINER);
    fake_set(fx->fake, &fx->fake->expiry_secs, expiry_secs);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", CONTAINER_TOKEN, 1);
    o.refresh_margin = (apr_interval_time_t)(margin_s * APR_USEC_PER_SEC);
    o.retry_interval = (apr_interval_time_t)(retry_s * APR_USEC_PER_SEC);
    prov = resolve_container(fx, &o, APR_SUCCESS, &why);
    assert_null(why);
    start_child(fx, prov);
    return prov;
}

static time_t gen_expiry(fake_t *f, int gen)
{
    time_t t;

    pthread_mutex_lock(&f->lock);
    t = f->expiry[gen];
    pthread_mutex_unlock(&f->lock);
    return t;
}

static void test_refresh_before_expiry(void **state)
{
    fx_t *fx = *state;
    items_creds_t c;
    const char *why;
    double deadline;
    apr_pool_t *rp;

    short_lived(fx, 4, 2.0, 0.2);
    assert_int_equal(items_creds_get(&c, &why, fx->pool), APR_SUCCESS);
    assert_gen(&c, 1);
    assert_int_equal(fake_count(fx->fake, 1), 1);

    /* get until a refresh happened: before generation 1 expired, by exactly one fetch */
    deadline = now_s() + 6;
    apr_pool_create(&rp, fx->pool);
    while (fake_count(fx->fake, 1) < 2 && now_s() < deadline) {
        apr_pool_clear(rp);
        assert_int_equal(items_creds_get(&c, &why, rp), APR_SUCCESS);
        assert_null(why);
        usleep(20000);
    }
    assert_int_equal(fake_count(fx->fake, 1), 2);
    assert_true(fake_req(fx->fake, 1).at < (double)gen_expiry(fx->fake, 1));
    assert_gen(&c, 2); /* the refreshing call returns the new ones */
    apr_pool_clear(rp);
    assert_int_equal(items_creds_get(&c, &why, rp), APR_SUCCESS);
    assert_gen(&c, 2);
    assert_int_equal(fake_count(fx->fake, 1), 2); /* generation 2 lives an hour */
}

static void test_failed_refresh_keeps_current(void **state)
{
    fx_t *fx = *state;
    items_creds_t c;
    const char *why = NULL;
    double deadline;
    int failures_seen = 0, requests;
    apr_status_t rv;

    short_lived(fx, 3, 2.0, 0.3);
    fake_set(fx->fake, &fx->fake->fail_from, 2);
    fake_set(fx->fake, &fx->fake->fail_status, 500);

    /* In the refresh window the refresh fails: the current ones are served, said once. */
    deadline = now_s() + 5;
    while (!failures_seen && now_s() < deadline) {
        rv = items_creds_get(&c, &why, fx->pool);
        assert_int_equal(rv, APR_SUCCESS);
        assert_gen(&c, 1);
        if (why) {
            failures_seen++;
            assert_contains(why, "refreshing the container credentials failed: the container "
                                 "endpoint http://127.0.0.1:");
            assert_contains(why, "answered HTTP 500 InternalError: the fake is failing; the "
                                 "current ones stay in use until ");
        }
        usleep(10000);
    }
    assert_int_equal(failures_seen, 1);
    /* right after a failure: no new attempt (backoff), no report, still generation 1 */
    requests = fake_count(fx->fake, 0);
    assert_int_equal(items_creds_get(&c, &why, fx->pool), APR_SUCCESS);
    assert_null(why);
    assert_gen(&c, 1);
    assert_int_equal(fake_count(fx->fake, 0), requests);

    /* once expired, with the endpoint still failing: no credentials, and why */
    while (now_s() < (double)gen_expiry(fx->fake, 1) + 0.05) {
        usleep(20000);
    }
    usleep(400000); /* past the backoff too: this call tries again, and fails */
    assert_int_equal(items_creds_get(&c, &why, fx->pool), ITEMS_ENOCREDS);
    assert_contains(why, "no AWS credentials: the container credentials expired at ");
    assert_contains(why, "and fetching new ones failed: the container endpoint");
    assert_null(c.access_key_id);

    /* the endpoint recovers: the next attempt after the backoff succeeds */
    fake_set(fx->fake, &fx->fake->fail_status, 0);
    usleep(400000);
    assert_int_equal(items_creds_get(&c, &why, fx->pool), APR_SUCCESS);
    assert_null(why);
    assert_gen(&c, 2);
}

static void test_first_fetch_failed_then_recovers(void **state)
{
    fx_t *fx = *state;
    items_creds_options_t o = opts_default();
    items_creds_provider_t *prov;
    items_creds_t c;
    const char *why;

    fx->fake = fake_start(FAKE_CONTAINER);
    fake_set(fx->fake, &fx->fake->fail_from, 1);
    fake_set(fx->fake, &fx->fake->fail_status, 503);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", CONTAINER_TOKEN, 1);
    o.retry_interval = apr_time_from_msec(200);
    prov = resolve_container(fx, &o, APR_SUCCESS, &why);
    assert_contains(why, "answered HTTP 503");
    start_child(fx, prov);
    assert_int_equal(items_creds_get(&c, &why, fx->pool), ITEMS_ENOCREDS);
    assert_contains(why, "no AWS credentials: fetching the container credentials failed: ");
    assert_contains(why, "answered HTTP 503 InternalError: the fake is failing; next attempt in ");
    fake_set(fx->fake, &fx->fake->fail_status, 0);
    assert_int_equal(items_creds_get(&c, &why, fx->pool), ITEMS_ENOCREDS); /* backoff */
    usleep(250000);
    assert_int_equal(items_creds_get(&c, &why, fx->pool), APR_SUCCESS);
    assert_null(why);
    assert_gen(&c, 1);
}

/* --- many threads, one refresh -------------------------------------------- */

#define THREADS 8

typedef struct worker {
    fx_t *fx;
    apr_pool_t *pool;
    double until;
    long gets, bad, errors, gen1, gen2;
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    items_creds_t c;
    const char *why;

    while (now_s() < w->until) {
        apr_pool_clear(w->pool);
        if (items_creds_get(&c, &why, w->pool) != APR_SUCCESS) {
            w->errors++;
            continue;
        }
        w->gets++;
        switch (gen_of(&c)) {
        case 1:
            w->gen1++;
            break;
        case 2:
            w->gen2++;
            break;
        default:
            w->bad++;
        }
    }
    apr_pool_clear(w->pool);
    return NULL;
}

static void test_concurrent_gets_during_refresh(void **state)
{
    fx_t *fx = *state;
    worker_t w[THREADS];
    pthread_t t[THREADS];
    long gets = 0, gen1 = 0, gen2 = 0;
    double start;
    int i;

    /* generation 1 lives 3 s and is refreshed after about 1.5 s; the fetch takes 400 ms */
    short_lived(fx, 3, 2.0, 0.2);
    fake_set(fx->fake, &fx->fake->delay_ms, 400);
    start = now_s();
    for (i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].fx = fx;
        w[i].until = start + 2.6;
        assert_int_equal(apr_pool_create(&w[i].pool, NULL), APR_SUCCESS);
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].bad, 0);    /* every snapshot complete and of one generation */
        assert_int_equal(w[i].errors, 0); /* never without credentials */
        gets += w[i].gets;
        gen1 += w[i].gen1;
        gen2 += w[i].gen2;
        apr_pool_destroy(w[i].pool);
    }
    assert_int_equal(fake_count(fx->fake, 1), 2); /* exactly one refresh */
    assert_true(gen1 > 0 && gen2 > 0);
    assert_true(gets > 100);
    print_message("    %ld gets: %ld of generation 1, %ld of generation 2\n", gets, gen1, gen2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
        T(test_env_keys_and_token),
        T(test_env_without_token),
        T(test_env_partial_stops_the_chain),
        T(test_profile_default),
        T(test_profile_from_aws_profile_with_token),
        T(test_profile_directive_wins_over_aws_profile),
        T(test_profile_credentials_file_wins),
        T(test_profile_files_from_environment),
        T(test_profile_pinned_but_missing_stops),
        T(test_profile_missing_files_fall_through),
        T(test_profile_unsupported_and_partial),
        T(test_web_identity),
        T(test_web_identity_sts_error_and_config),
        T(test_container_with_token),
        T(test_container_token_file_wins),
        T(test_container_refused_token),
        T(test_container_full_uri_rules),
        T(test_container_relative_uri_goes_to_ecs_host),
        T(test_imds_v2_flow),
        T(test_imds_v1_fallback_and_its_switch),
        T(test_imds_unreachable_or_disabled),
        T(test_nothing_at_all),
        T(test_refresh_before_expiry),
        T(test_failed_refresh_keeps_current),
        T(test_first_fetch_failed_then_recovers),
        T(test_concurrent_gets_during_refresh),
#undef T
    };
    int rc;

    apr_initialize();
    rc = cmocka_run_group_tests_name("items_creds", tests, NULL, NULL);
    apr_terminate();
    return rc;
}
