# SPDX-License-Identifier: Apache-2.0
"""The AWS credential chain end to end: httpd without AWS_ACCESS_KEY_ID finds its credentials
at a loopback container endpoint, EC2 instance metadata, STS (web identity) or the shared
credentials file, and every DynamoDB call is signed with them (the front verifies each
signature, session token included). Temporary credentials are refreshed before they expire
while requests keep succeeding; with no credentials at all the answer is a clear 500 and the
log says once, at startup, what was tried; no secret or token ever reaches the log."""
import datetime
import http.server
import json
import os
import shutil
import tempfile
import threading
import time
import urllib.parse

import pytest

import harness
from conftest import module_env
from sigv4_front import SigV4Front, SignatureMismatch

JSON = {"Content-Type": "application/json"}

# Every variable the chain reads: cleared unless a test sets it.
CHAIN_VARS = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_V1_DISABLED",
)

CONTAINER_AUTH = "Bearer e2e-container-authorization-TOKEN-31415"
IMDS_TOKEN = "e2e-IMDSv2-session-TOKEN-27182=="
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6aXRlbXMifQ.e2e-sig"
ROLE_ARN = "arn:aws:iam::123456789012:role/items-e2e"

# Requests only use refreshed credentials once the handler takes them from items_creds_get().
HANDLER_SRC = os.path.join(harness.ROOT, "mod_items", "mod_items_handler.c")
with open(HANDLER_SRC, encoding="utf-8") as _f:
    HANDLER_REFRESHES = "items_creds_get(" in _f.read()
needs_refreshing_handler = pytest.mark.skipif(
    not HANDLER_REFRESHES,
    reason="the handler does not take its credentials from items_creds_get() yet")


def creds_for(gen):
    """Generation gen of the fakes' credentials: (access key, secret, session token)."""
    return (f"ASIAE2E{gen:013d}", f"e2eSecret/{gen}+wJalrXUtnFEMIK7MDENGbPxRfiCY",
            f"e2eToken{gen}//IQoJb3JpZ2luX2VjEKb+/IQoJb3JpZ2luX2VjEKb==")


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class CredFake:
    """A loopback stand-in for the container endpoint, EC2 instance metadata or STS.

    Hands out generation 1, 2, ... of creds_for() on each credentials fetch, generation 1
    expiring after expiry_secs, the later ones after later_expiry_secs. Records every
    request; fail_status makes credentials fetches fail until it is set back to 0."""

    def __init__(self, mode, expiry_secs=3600, later_expiry_secs=3600, fail_status=0):
        self.mode = mode
        self.expiry_secs, self.later_expiry_secs = expiry_secs, later_expiry_secs
        self.fail_status = fail_status
        self.lock = threading.Lock()
        self.requests = []      # (method, path, {lower-case header: value}, body)
        self.fetches = []       # (time, generation, expiry) per credentials answer
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode() if n else ""
                status, ctype, out = fake.answer(self.command, self.path,
                                                 {k.lower(): v for k, v in self.headers.items()},
                                                 body)
                data = out.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = _serve

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def fetch_count(self):
        with self.lock:
            return len(self.fetches)

    def _credentials(self):
        """Under lock: the next generation, or a failure."""
        if self.fail_status:
            return None
        gen = len(self.fetches) + 1
        expiry = time.time() + (self.expiry_secs if gen == 1 else self.later_expiry_secs)
        self.fetches.append((time.time(), gen, expiry))
        return gen, creds_for(gen), iso(expiry)

    def answer(self, method, path, headers, body):
        with self.lock:
            self.requests.append((method, path, headers, body))
            if self.mode == "container":
                if method != "GET" or path != "/creds":
                    return 404, "text/plain", "not here"
                if headers.get("authorization") != CONTAINER_AUTH:
                    return 401, "application/json", '{"code":"AccessDenied","message":"no"}'
                got = self._credentials()
                if not got:
                    return self.fail_status, "application/json", \
                        '{"code":"InternalError","message":"the fake is down"}'
                _, (key, secret, token), exp = got
                return 200, "application/json", json.dumps(
                    {"AccessKeyId": key, "SecretAccessKey": secret, "Token": token,
                     "Expiration": exp, "RoleArn": ROLE_ARN})
            if self.mode == "imds":
                if method == "PUT" and path == "/latest/api/token":
                    if headers.get("x-aws-ec2-metadata-token-ttl-seconds") != "21600":
                        return 400, "text/plain", "missing TTL"
                    return 200, "text/plain", IMDS_TOKEN
                if headers.get("x-aws-ec2-metadata-token") != IMDS_TOKEN:
                    return 401, "text/plain", "no token"
                if path == "/latest/meta-data/iam/security-credentials/":
                    return 200, "text/plain", "items-e2e-role"
                if path == "/latest/meta-data/iam/security-credentials/items-e2e-role":
                    got = self._credentials()
                    if not got:
                        return self.fail_status, "text/plain", "down"
                    _, (key, secret, token), exp = got
                    return 200, "text/plain", json.dumps(
                        {"Code": "Success", "LastUpdated": iso(time.time()), "Type": "AWS-HMAC",
                         "AccessKeyId": key, "SecretAccessKey": secret, "Token": token,
                         "Expiration": exp})
                return 404, "text/plain", "not here"
            if self.mode == "sts":
                form = urllib.parse.parse_qs(body)
                if (method != "POST" or form.get("Action") != ["AssumeRoleWithWebIdentity"]
                        or form.get("RoleArn") != [ROLE_ARN]
                        or form.get("WebIdentityToken") != [JWT]):
                    return 400, "text/xml", (
                        "<ErrorResponse><Error><Code>InvalidParameterValue</Code>"
                        "<Message>bad request</Message></Error></ErrorResponse>")
                got = self._credentials()
                if not got:
                    return self.fail_status, "text/xml", (
                        "<ErrorResponse><Error><Code>ServiceUnavailable</Code>"
                        "<Message>down</Message></Error></ErrorResponse>")
                _, (key, secret, token), exp = got
                return 200, "text/xml", (
                    '<AssumeRoleWithWebIdentityResponse '
                    'xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                    "<AssumeRoleWithWebIdentityResult><Credentials>"
                    f"<SessionToken>{token}</SessionToken>"
                    f"<SecretAccessKey>{secret}</SecretAccessKey>"
                    f"<Expiration>{exp}</Expiration>"
                    f"<AccessKeyId>{key}</AccessKeyId>"
                    "</Credentials></AssumeRoleWithWebIdentityResult>"
                    "<ResponseMetadata><RequestId>e2e</RequestId></ResponseMetadata>"
                    "</AssumeRoleWithWebIdentityResponse>")
            return 500, "text/plain", "no mode"


class GenerationsFront(SigV4Front):
    """A verifying front that accepts the fakes' generations 1..n and records which
    generation signed each verified request."""

    def __init__(self, upstream, n=8):
        key, secret, token = creds_for(1)
        super().__init__(upstream, key, secret, token, harness.REGION)
        self.verifiers = [SigV4Front(upstream, *creds_for(g), harness.REGION)
                          for g in range(1, n + 1)]
        self.used = []  # generation per verified request, in order

    def verify(self, method, path, headers, body):
        first = None
        for gen, v in enumerate(self.verifiers, 1):
            try:
                v.verify(method, path, headers, body)
            except SignatureMismatch as exc:
                first = first or exc
                continue
            with self._lock:
                self.used.append(gen)
            return
        raise first


@pytest.fixture
def home():
    """An empty HOME that httpd's children (www-data) can read."""
    d = tempfile.mkdtemp(prefix="items-creds-")
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def write(path, text):
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


def chain_env(front, home, **extra):
    """module_env without the key variables, an empty HOME and no instance metadata."""
    env = module_env(front)
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        del env[k]
    env["HOME"] = home
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env.update(extra)
    return env


def serve(make_httpd, env, extra_conf="", allowed_log=()):
    h = make_httpd(env=env, extra_conf=extra_conf, allowed_log=allowed_log, start=False)
    for k in CHAIN_VARS:
        if k not in env:
            h.env.pop(k, None)
    return h.start()


def wait_log(h, needle, timeout=10.0):
    """httpd listens before post_config has logged: wait for a startup line."""
    deadline = time.time() + timeout
    while needle not in h.log_text():
        assert time.time() < deadline, f"no {needle!r} in the log:\n{h.log_text()}"
        time.sleep(0.05)
    return h.log_text()


def post_and_get(http, h, name):
    r = http.post(h.url + "/items/", data=json.dumps({"name": name}), headers=JSON)
    assert r.status_code == 201, r.text
    item = r.json()
    g = http.get(h.url + "/items/" + item["id"])
    assert g.status_code == 200, g.text
    assert g.json()["name"] == name
    return item


def own_front(dynalite, gen=1):
    return SigV4Front(dynalite.url, *creds_for(gen), harness.REGION).start()


def assert_startup_line(h, source, where):
    lines = [l for l in wait_log(h, "ITEMS0003").splitlines() if "ITEMS0003" in l]
    assert len(lines) == 1, h.log_text()
    assert f"AWS credentials ({source}): access key ASIA...0001 with session token from " \
           f"{where}" in lines[0], lines[0]


def assert_nothing_secret(text, *extra):
    for gen in (1, 2, 3):
        for secret in creds_for(gen):
            assert secret not in text
    for s in (CONTAINER_AUTH, IMDS_TOKEN, JWT) + extra:
        assert s not in text


# --- the sources -----------------------------------------------------------------------------

@pytest.mark.parametrize("auth", ["variable", "file"])
def test_container_endpoint(dynalite, make_httpd, http, home, auth):
    fake = CredFake("container").start()
    front = own_front(dynalite)
    try:
        extra = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": fake.url + "/creds"}
        if auth == "file":
            extra["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = write(f"{home}/token",
                                                                    CONTAINER_AUTH + "\n")
            extra["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "Bearer the-variable-loses"
        else:
            extra["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = CONTAINER_AUTH
        h = serve(make_httpd, chain_env(front, home, **extra))
        post_and_get(http, h, "from the container endpoint")
        assert front.mismatches == [] and front.verified >= 2  # session token signed and sent
        assert fake.fetch_count() == 1  # once, at startup: the children inherit them
        assert fake.requests[0][2]["authorization"] == CONTAINER_AUTH
        assert_startup_line(h, "container", f"the container endpoint {fake.url}, expires ")
        assert_nothing_secret(h.log_text())
    finally:
        front.stop()
        fake.stop()


def test_instance_metadata(dynalite, make_httpd, http, home):
    fake = CredFake("imds").start()
    front = own_front(dynalite)
    try:
        env = chain_env(front, home, AWS_EC2_METADATA_SERVICE_ENDPOINT=fake.url)
        del env["AWS_EC2_METADATA_DISABLED"]
        h = serve(make_httpd, env)
        post_and_get(http, h, "from instance metadata")
        assert front.mismatches == [] and front.verified >= 2
        methods = [(m, p) for m, p, _, _ in fake.requests]
        assert methods == [("PUT", "/latest/api/token"),
                           ("GET", "/latest/meta-data/iam/security-credentials/"),
                           ("GET", "/latest/meta-data/iam/security-credentials/items-e2e-role")]
        assert fake.requests[0][2]["x-aws-ec2-metadata-token-ttl-seconds"] == "21600"
        assert all(hd.get("x-aws-ec2-metadata-token") == IMDS_TOKEN
                   for m, _, hd, _ in fake.requests if m == "GET")
        assert_startup_line(h, "instance metadata",
                            f"EC2 instance metadata at {fake.url}, role items-e2e-role")
        assert_nothing_secret(h.log_text())
    finally:
        front.stop()
        fake.stop()


def test_web_identity(dynalite, make_httpd, http, home):
    fake = CredFake("sts").start()
    front = own_front(dynalite)
    try:
        h = serve(make_httpd, chain_env(
            front, home, AWS_WEB_IDENTITY_TOKEN_FILE=write(f"{home}/jwt", JWT),
            AWS_ROLE_ARN=ROLE_ARN, AWS_ROLE_SESSION_NAME="items-e2e",
            AWS_ENDPOINT_URL_STS=fake.url))
        post_and_get(http, h, "from web identity")
        assert front.mismatches == [] and front.verified >= 2
        form = urllib.parse.parse_qs(fake.requests[0][3])
        assert form["RoleSessionName"] == ["items-e2e"] and form["Version"] == ["2011-06-15"]
        assert "authorization" not in fake.requests[0][2]  # AssumeRoleWithWebIdentity is unsigned
        assert_startup_line(h, "web identity", f"web identity (role {ROLE_ARN}")
        assert_nothing_secret(h.log_text())
    finally:
        front.stop()
        fake.stop()


def test_shared_credentials_file_and_profile_directive(front, make_httpd, http, home):
    write(f"{home}/.aws/credentials",
          "[default]\naws_access_key_id = AKIAWRONGPROFILE0001\naws_secret_access_key = no\n\n"
          f"[items]\naws_access_key_id = {harness.ACCESS_KEY}\n"
          f"aws_secret_access_key = {harness.SECRET_KEY}\n"
          f"aws_session_token = {harness.SESSION_TOKEN}\n")
    h = serve(make_httpd, chain_env(front, home, AWS_PROFILE="default"),
              extra_conf="ItemsAwsProfile items\n")
    post_and_get(http, h, "from the shared credentials file")
    line = [l for l in wait_log(h, "ITEMS0003").splitlines() if "ITEMS0003" in l][0]
    assert f"AWS credentials (shared files): access key AKIA...0001 with session token from " \
           f"profile 'items' of {home}/.aws/credentials" in line
    assert harness.SECRET_KEY not in h.log_text()


def test_profile_directive_is_for_the_main_server_only(front, make_httpd, home):
    h = make_httpd(env=chain_env(front, home),
                   extra_conf="<VirtualHost 127.0.0.1:1>\nItemsAwsProfile x\n</VirtualHost>\n",
                   start=False)
    res = h.configtest()
    assert res.returncode != 0
    assert "ItemsAwsProfile cannot occur within <VirtualHost> section" in res.stderr


# --- caching and refreshing ------------------------------------------------------------------

@needs_refreshing_handler
def test_refreshed_before_expiry_while_requests_succeed(dynalite, make_httpd, http, home):
    # Generation 1 expires 8 s after startup and is refreshed in its last 4 s.
    fake = CredFake("container", expiry_secs=8).start()
    front = GenerationsFront(dynalite.url).start()
    try:
        h = serve(make_httpd, chain_env(front, home,
                                        AWS_CONTAINER_CREDENTIALS_FULL_URI=fake.url + "/creds",
                                        AWS_CONTAINER_AUTHORIZATION_TOKEN=CONTAINER_AUTH),
                  extra_conf="ItemsAwsRefreshMargin 4\n")
        wait_log(h, "ITEMS0003")
        _, _, first_expiry = fake.fetches[0]
        deadline = time.time() + 15
        after = 0
        while time.time() < deadline and after < 6:
            post_and_get(http, h, "across a refresh")  # every request succeeds
            if fake.fetch_count() >= 2:
                after += 1
            time.sleep(0.2)
        assert fake.fetch_count() >= 2, "no refresh happened"
        refreshed_at = fake.fetches[1][0]
        assert refreshed_at < first_expiry - 1, "refreshed too late"
        assert refreshed_at > first_expiry - 4 - 1, "refreshed too early"
        assert front.mismatches == []
        assert front.used[0] == 1 and front.used[-1] >= 2  # new credentials in use
        assert_nothing_secret(h.log_text())
    finally:
        front.stop()
        fake.stop()


@needs_refreshing_handler
def test_endpoint_down_at_startup_then_recovers(dynalite, make_httpd, http, home):
    fake = CredFake("container", fail_status=503).start()
    front = own_front(dynalite)
    try:
        h = serve(make_httpd, chain_env(front, home,
                                        AWS_CONTAINER_CREDENTIALS_FULL_URI=fake.url + "/creds",
                                        AWS_CONTAINER_AUTHORIZATION_TOKEN=CONTAINER_AUTH),
                  allowed_log=[r"ITEMS0005: AWS credentials \(container\) are not available yet: "
                               r"the container endpoint http://127\.0\.0\.1:\d+ answered HTTP 503 "
                               r"InternalError: the fake is down"])
        assert wait_log(h, "ITEMS0005").count("ITEMS0005") == 1
        with fake.lock:
            fake.fail_status = 0
        post_and_get(http, h, "after the endpoint came back")
        assert front.mismatches == [] and front.verified >= 2
    finally:
        front.stop()
        fake.stop()


# --- nothing at all, and secrecy -------------------------------------------------------------

def test_no_credentials_at_all(front, make_httpd, http, home):
    h = serve(make_httpd, chain_env(front, home),
              allowed_log=[r"ITEMS0002: no AWS credentials: ",
                           r"ITEMS0201: DynamoDB PutItem failed .*no AWS credentials"])
    r = http.post(h.url + "/items/", data=json.dumps({"name": "x"}), headers=JSON)
    assert r.status_code == 500
    assert r.headers["Content-Type"] == "application/problem+json"
    assert "credentials" in r.json()["detail"]
    log = wait_log(h, "ITEMS0002")
    lines = [l for l in log.splitlines() if "ITEMS0002" in l]
    assert len(lines) == 1
    for part in ("environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
                 f"shared files: profile 'default' is in neither {home}/.aws/credentials "
                 f"(absent) nor {home}/.aws/config (absent)",
                 "web identity: AWS_WEB_IDENTITY_TOKEN_FILE is not set",
                 "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI are not set",
                 "instance metadata: turned off by AWS_EC2_METADATA_DISABLED",
                 ": DynamoDB calls will fail"):
        assert part in lines[0], lines[0]
    assert log.count("ITEMS0201") == 1


def test_no_secret_or_token_in_the_log_at_trace8(dynalite, make_httpd, http, home):
    fake = CredFake("container").start()
    front = own_front(dynalite)
    try:
        h = serve(make_httpd, chain_env(front, home,
                                        AWS_CONTAINER_CREDENTIALS_FULL_URI=fake.url + "/creds",
                                        AWS_CONTAINER_AUTHORIZATION_TOKEN=CONTAINER_AUTH),
                  extra_conf="LogLevel trace8\n",
                  allowed_log=[r"\[[a-z_]+:(trace\d|debug|info)\]", r"\[core:trace"])
        post_and_get(http, h, "quietly")
        http.get(h.url + "/items/?limit=1")
        h.stop()
        log = h.log_text()
        assert "ITEMS0003" in log and "ASIA...0001" in log  # the masked key only
        assert creds_for(1)[0] not in log
        assert_nothing_secret(log)
    finally:
        front.stop()
        fake.stop()
