# SPDX-License-Identifier: Apache-2.0
"""Tests for sigv4_front.py against a real dynalite.

Run with Debian's interpreter (it has botocore/boto3/pytest):

    cd /work/main && /usr/bin/python3 -m pytest -q tests/e2e/test_sigv4_front.py
"""

import contextlib
import hashlib
import hmac
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from sigv4_front import SigV4Front  # noqa: E402

DYNALITE = REPO / "node_modules" / ".bin" / "dynalite"
FRONT_SCRIPT = HERE / "sigv4_front.py"

AKID = "AKIDFRONTTEST0000001"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLE/KEY+"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE/session+token=="
REGION = "eu-west-1"
JSON_CT = "application/x-amz-json-1.0"
INVALID_SIG = "com.amazon.coral.service#InvalidSignatureException"
TARGET = "DynamoDB_20120810."

# curl check from the brief: fixed credentials on both sides.
CURL_AKID = "AKIDEXAMPLE"
CURL_SECRET = "wJalr/+secret"
CURL_TOKEN = "tok"
CURL_REGION = "us-east-1"

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
AWS_VARS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc):
    """Stop a process we started (its own session), escalating to SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def _dynalite_answers(port):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/")
        conn.getresponse().read()
        conn.close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def upstream():
    """A real dynalite on a free 127.0.0.1 port; yields its URL."""
    if not os.access(DYNALITE, os.X_OK):
        pytest.fail("dynalite not found at %s (run `npm ci` in the repo)" % DYNALITE)
    log = tempfile.NamedTemporaryFile(prefix="dynalite-", suffix=".log", delete=False)
    proc = None
    try:
        for _attempt in range(3):
            port = free_port()
            proc = subprocess.Popen(
                [str(DYNALITE), "--host", "127.0.0.1", "--port", str(port), "--createTableMs", "0"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and proc.poll() is None:
                if _dynalite_answers(port):
                    break
                time.sleep(0.1)
            if proc.poll() is None and _dynalite_answers(port):
                break
            stop_process(proc)  # lost a port race or failed: try another port
            proc = None
        if proc is None:
            pytest.fail("dynalite did not start; log:\n" + Path(log.name).read_text(errors="replace"))
        yield "http://127.0.0.1:%d" % port
    finally:
        if proc is not None:
            stop_process(proc)
        log.close()
        os.unlink(log.name)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in PROXY_VARS + AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@contextlib.contextmanager
def running_front(upstream, **kwargs):
    args = dict(access_key=AKID, secret_key=SECRET, session_token=TOKEN, region=REGION)
    args.update(kwargs)
    sfront = SigV4Front(upstream, **args)
    sfront.start()
    try:
        yield sfront
    finally:
        sfront.stop()


@pytest.fixture
def sfront(upstream):
    with running_front(upstream) as f:
        yield f


def ddb_client(url, access_key=AKID, secret=SECRET, token=TOKEN, region=REGION):
    session = boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret,
        aws_session_token=token, region_name=region,
    )
    return session.client(
        "dynamodb", endpoint_url=url,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                      connect_timeout=5, read_timeout=15),
    )


def create_table(client, name):
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def table_name():
    return "front_" + uuid.uuid4().hex[:12]


def botocore_signed(port, operation, payload, credentials, region=REGION, extra_headers=None):
    """Sign a DynamoDB JSON request with botocore; return (headers, body)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": JSON_CT, "X-Amz-Target": TARGET + operation}
    headers.update(extra_headers or {})
    req = AWSRequest(method="POST", url="http://127.0.0.1:%d/" % port, data=body, headers=headers)
    SigV4Auth(credentials, "dynamodb", region).add_auth(req)
    return dict(req.headers.items()), body


def raw_post(port, headers, body):
    """POST over a fresh connection; return (status, content_type, decoded_json)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("POST", "/", body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, resp.getheader("Content-Type"), json.loads(data) if data else None
    finally:
        conn.close()


def independent_sigv4(body, amz_date, host, target, akid, secret, token, region):
    """A SigV4 signer written from the spec with hashlib/hmac only (no botocore)."""
    hdrs = {
        "content-type": JSON_CT,
        "host": host,
        "x-amz-date": amz_date,
        "x-amz-target": target,
    }
    if token:
        hdrs["x-amz-security-token"] = token
    names = sorted(hdrs)
    canonical_headers = "".join("%s:%s\n" % (n, hdrs[n]) for n in names)
    signed = ";".join(names)
    creq = "\n".join(["POST", "/", "", canonical_headers, signed, hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/dynamodb/aws4_request" % (amz_date[:8], region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (amz_date[:8], region, "dynamodb", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    out = {
        "Content-Type": JSON_CT,
        "Host": host,
        "X-Amz-Date": amz_date,
        "X-Amz-Target": target,
        "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (akid, scope, signed, sig),
    }
    if token:
        out["X-Amz-Security-Token"] = token
    return out


def assert_rejected(status, ctype, doc, sfront, needle):
    assert status == 400
    assert ctype == JSON_CT
    assert doc["__type"] == INVALID_SIG
    assert sfront.verified == 0
    assert len(sfront.mismatches) == 1, sfront.mismatches
    assert needle in sfront.mismatches[0], sfront.mismatches
    assert doc["message"] == sfront.mismatches[0]


# --- (a) boto3 round trip ---------------------------------------------------

def test_boto3_create_put_get_all_verified(sfront):
    client = ddb_client(sfront.url)
    name = table_name()
    create_table(client, name)
    client.put_item(TableName=name, Item={"pk": {"S": "k1"}, "v": {"S": "hello / + world"}})
    got = client.get_item(TableName=name, Key={"pk": {"S": "k1"}}, ConsistentRead=True)
    assert got["Item"] == {"pk": {"S": "k1"}, "v": {"S": "hello / + world"}}
    assert got["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-requestid")
    assert got["ResponseMetadata"]["HTTPHeaders"].get("x-amz-crc32")
    assert sfront.mismatches == []
    assert sfront.requests == 3
    assert sfront.verified == 3
    assert sfront.upstream_errors == 0


def test_stats_endpoint_reports_counters(sfront):
    client = ddb_client(sfront.url)
    client.list_tables()
    with pytest.raises(ClientError):
        ddb_client(sfront.url, secret=SECRET + "x").list_tables()
    stats = requests.get(sfront.url + "/__front/stats", timeout=10).json()
    assert stats["requests"] == 2
    assert stats["verified"] == 1
    assert len(stats["mismatches"]) == 1
    assert stats["connections"] == sfront.connections >= 2
    assert sfront.requests == 2  # the stats GET itself is not a counted request


# --- (b) wrong credentials --------------------------------------------------

@pytest.mark.parametrize(
    "client_kwargs, needle",
    [
        ({"secret": SECRET.replace("/", "-")}, "signature does not match"),
        ({"access_key": "AKIDSOMEONEELSE00001"}, "access key id"),
        ({"region": "us-west-2"}, "region"),
        ({"token": TOKEN + "x"}, "X-Amz-Security-Token differs"),
    ],
    ids=["secret", "access-key", "region", "token"],
)
def test_wrong_credentials_rejected_and_not_forwarded(sfront, client_kwargs, needle):
    name = table_name()
    bad = ddb_client(sfront.url, **client_kwargs)
    with pytest.raises(ClientError) as info:
        create_table(bad, name)
    err = info.value.response
    assert err["Error"]["Code"] == "InvalidSignatureException"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sfront.verified == 0
    assert len(sfront.mismatches) == 1
    assert needle in sfront.mismatches[0], sfront.mismatches
    # Never forwarded: the table does not exist upstream.
    tables = ddb_client(sfront.url).list_tables()["TableNames"]
    assert name not in tables
    assert sfront.verified == 1


# --- (c) body changed after signing ------------------------------------------

def test_body_altered_after_signing_rejected(sfront):
    good = ddb_client(sfront.url)
    name = table_name()
    create_table(good, name)
    creds = Credentials(AKID, SECRET, TOKEN)

    # Control: the same helper's unaltered request goes through.
    headers, body = botocore_signed(sfront.port, "PutItem", {"TableName": name, "Item": {"pk": {"S": "k"}, "v": {"S": "good"}}}, creds)
    status, _, doc = raw_post(sfront.port, headers, body)
    assert status == 200, doc
    assert sfront.mismatches == []

    sfront.reset_counters()
    headers, body = botocore_signed(sfront.port, "PutItem", {"TableName": name, "Item": {"pk": {"S": "k"}, "v": {"S": "orig"}}}, creds)
    altered = body.replace(b'"orig"', b'"evil"')
    assert altered != body and len(altered) == len(body)
    status, ctype, doc = raw_post(sfront.port, headers, altered)
    assert_rejected(status, ctype, doc, sfront, "signature does not match")

    item = good.get_item(TableName=name, Key={"pk": {"S": "k"}}, ConsistentRead=True)["Item"]
    assert item["v"] == {"S": "good"}


def test_signed_content_sha256_must_match_body(sfront):
    creds = Credentials(AKID, SECRET, TOKEN)
    body = b"{}"
    wrong = hashlib.sha256(b"{ }").hexdigest()
    headers, body = botocore_signed(sfront.port, "ListTables", body, creds, extra_headers={"X-Amz-Content-SHA256": wrong})
    status, ctype, doc = raw_post(sfront.port, headers, body)
    assert_rejected(status, ctype, doc, sfront, "X-Amz-Content-SHA256")


# --- (d) session token / required signed headers ------------------------------

def _no_token(port):
    return botocore_signed(port, "ListTables", {}, Credentials(AKID, SECRET))


def _token_unsigned(port):
    headers, body = botocore_signed(port, "ListTables", {}, Credentials(AKID, SECRET))
    headers["X-Amz-Security-Token"] = TOKEN
    return headers, body


def _target_unsigned(port):
    req = AWSRequest(method="POST", url="http://127.0.0.1:%d/" % port, data=b"{}", headers={"Content-Type": JSON_CT})
    SigV4Auth(Credentials(AKID, SECRET, TOKEN), "dynamodb", REGION).add_auth(req)
    headers = dict(req.headers.items())
    headers["X-Amz-Target"] = TARGET + "ListTables"
    return headers, b"{}"


@pytest.mark.parametrize(
    "make, needle",
    [
        (_no_token, "x-amz-security-token"),
        (_token_unsigned, "lacks x-amz-security-token"),
        (_target_unsigned, "lacks x-amz-target"),
    ],
    ids=["token-missing", "token-not-signed", "target-not-signed"],
)
def test_missing_or_unsigned_required_headers_rejected(sfront, make, needle):
    headers, body = make(sfront.port)
    status, ctype, doc = raw_post(sfront.port, headers, body)
    assert_rejected(status, ctype, doc, sfront, needle)
    assert sfront.requests == 1


def test_token_sent_when_front_has_none_is_rejected(upstream):
    with running_front(upstream, session_token=None) as f:
        ok = ddb_client(f.url, token=None)
        ok.list_tables()
        assert f.verified == 1
        with pytest.raises(ClientError) as info:
            ddb_client(f.url).list_tables()
        assert info.value.response["Error"]["Code"] == "InvalidSignatureException"
        assert len(f.mismatches) == 1 and "no session token" in f.mismatches[0]


# --- dates -------------------------------------------------------------------

def test_fixed_date_independent_signer(upstream):
    """A spec-only signer agrees with the front; the X-Amz-Date is used as is."""
    amz_date = "20150830T123600Z"
    with running_front(upstream, max_skew_seconds=None) as f:
        headers = independent_sigv4(b"{}", amz_date, "127.0.0.1:%d" % f.port, TARGET + "ListTables", AKID, SECRET, TOKEN, REGION)
        status, _, doc = raw_post(f.port, headers, b"{}")
        assert status == 200, doc
        assert "TableNames" in doc
        assert f.verified == 1 and f.mismatches == []
        # One hex digit off in the signature must fail.
        sig = headers["Authorization"][-64:]
        flipped = ("0" if sig[-1] != "0" else "1")
        headers["Authorization"] = headers["Authorization"][:-1] + flipped
        status, _, doc = raw_post(f.port, headers, b"{}")
        assert status == 400 and doc["__type"] == INVALID_SIG
    with running_front(upstream) as f:  # default: 15 minutes of skew
        headers = independent_sigv4(b"{}", amz_date, "127.0.0.1:%d" % f.port, TARGET + "ListTables", AKID, SECRET, TOKEN, REGION)
        status, ctype, doc = raw_post(f.port, headers, b"{}")
        assert_rejected(status, ctype, doc, f, "signature expired")


def test_scope_date_must_match_x_amz_date(upstream):
    with running_front(upstream, max_skew_seconds=None) as f:
        headers = independent_sigv4(b"{}", "20150830T123600Z", "127.0.0.1:%d" % f.port, TARGET + "ListTables", AKID, SECRET, TOKEN, REGION)
        headers["X-Amz-Date"] = "20150831T000100Z"
        status, ctype, doc = raw_post(f.port, headers, b"{}")
        assert_rejected(status, ctype, doc, f, "scope date")


def test_malformed_authorization_rejected(sfront):
    headers, body = botocore_signed(sfront.port, "ListTables", {}, Credentials(AKID, SECRET, TOKEN))
    headers["Authorization"] = headers["Authorization"].replace("SignedHeaders=", "Headers=")
    status, ctype, doc = raw_post(sfront.port, headers, body)
    assert_rejected(status, ctype, doc, sfront, "Authorization header is not")


# --- (e) keep-alive ----------------------------------------------------------

def test_keep_alive_one_connection_for_many_requests(sfront):
    client = ddb_client(sfront.url)
    for _ in range(6):
        client.list_tables()
    assert sfront.verified == 6
    assert sfront.connections == 1
    assert sfront.upstream_connects == 1

    # Control: the counter does count separate connections.
    creds = Credentials(AKID, SECRET, TOKEN)
    for _ in range(3):
        headers, body = botocore_signed(sfront.port, "ListTables", {}, creds)
        status, _, _ = raw_post(sfront.port, headers, body)
        assert status == 200
    assert sfront.connections == 4
    assert sfront.verified == 9


def test_idle_connection_does_not_block_others(sfront):
    """One thread per connection: a silent client does not stall the rest."""
    idle = socket.create_connection(("127.0.0.1", sfront.port), timeout=5)
    try:
        client = ddb_client(sfront.url)
        t0 = time.monotonic()
        client.list_tables()
        assert time.monotonic() - t0 < 5
        assert sfront.verified == 1
    finally:
        idle.close()


class _ClosingUpstream:
    """Fake upstream: answers one request per connection, then closes the
    socket without announcing it (like an idle keep-alive timeout)."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.accepted = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                m = re.search(rb"(?i)content-length:\s*(\d+)", head)
                need = int(m.group(1)) if m else 0
                while len(rest) < need:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    rest += chunk
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
                             b"Content-Length: 17\r\n\r\n{\"TableNames\":[]}")

    def close(self):
        self.stopping.set()
        self.sock.close()
        self.thread.join(5)


def test_stale_upstream_connection_is_retried():
    upstream = _ClosingUpstream()
    try:
        with running_front(upstream.url) as f:
            client = ddb_client(f.url)
            for _ in range(3):
                assert client.list_tables()["TableNames"] == []
                time.sleep(0.05)  # let the upstream close its side
            assert f.upstream_errors == 0
            assert f.verified == 3
            assert f.connections == 1
            assert upstream.accepted == 3
    finally:
        upstream.close()


def test_stop_closes_idle_keep_alive_connections(upstream):
    # Other fronts (the session's) may be running in this process: look at ours only.
    before = set(threading.enumerate())
    f = SigV4Front(upstream, AKID, SECRET, TOKEN, REGION)
    f.start()
    port = f.port
    try:
        client = ddb_client(f.url)
        client.list_tables()
        assert f.connections == 1
        t0 = time.monotonic()
    finally:
        f.stop()
    assert time.monotonic() - t0 < 5
    assert not [t for t in set(threading.enumerate()) - before if t.name == "sigv4-front"]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


# --- upstream down -------------------------------------------------------------

def test_upstream_unreachable_is_502():
    dead = "http://127.0.0.1:%d" % free_port()
    with running_front(dead) as f:
        headers, body = botocore_signed(f.port, "ListTables", {}, Credentials(AKID, SECRET, TOKEN))
        status, ctype, doc = raw_post(f.port, headers, body)
        assert status == 502
        assert ctype == JSON_CT
        assert "unreachable" in doc["message"]
        assert f.verified == 1 and f.upstream_errors == 1


# --- curl / libcurl CURLOPT_AWS_SIGV4 ----------------------------------------

def run_curl(url, extra=()):
    """The brief's curl command (plus -v to see what was sent)."""
    cmd = [
        "curl", "-sS", "-v", "--noproxy", "*", "--max-time", "20",
        "--aws-sigv4", "aws:amz:%s:dynamodb" % CURL_REGION,
        "--user", "%s:%s" % (CURL_AKID, CURL_SECRET),
        "-H", "Content-Type: " + JSON_CT,
        "-H", "X-Amz-Target: " + TARGET + "ListTables",
        "-H", "X-Amz-Security-Token: " + CURL_TOKEN,
        *extra,
        "-d", "{}", url + "/",
        "-w", "\n%{http_code}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    body, _, code = out.stdout.rpartition("\n")
    sent = [line[2:] for line in out.stderr.splitlines() if line.startswith("> ")]
    return int(code), json.loads(body), sent


def curl_signed_headers(sent):
    auth = [h for h in sent if h.lower().startswith("authorization:")]
    assert len(auth) == 1, sent
    m = re.search(r"SignedHeaders=([^,\s]+)", auth[0])
    assert m, auth
    return m.group(1).split(";")


needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl binary not installed; cannot check libcurl's CURLOPT_AWS_SIGV4")


def curl_front(upstream, **kwargs):
    args = dict(access_key=CURL_AKID, secret_key=CURL_SECRET, session_token=CURL_TOKEN, region=CURL_REGION)
    args.update(kwargs)
    return running_front(upstream, **args)


@needs_curl
def test_curl_aws_sigv4_verifies(upstream):
    """curl without 'Expect:' removal: verified by the strict sfront."""
    with curl_front(upstream) as f:
        code, doc, sent = run_curl(f.url)
        assert code == 200, doc
        assert isinstance(doc["TableNames"], list)
        assert f.verified == 1 and f.mismatches == []
        assert "expect" not in curl_signed_headers(sent)


@needs_curl
def test_curl_empty_expect_header(upstream):
    """The brief's exact command, with -H 'Expect:'.

    libcurl 7.88.1 lists 'expect' in SignedHeaders (signed with an empty
    value) although it sends no Expect header (curl issue #11664, fixed in
    later curl).  The strict default rejects that, as some AWS services do;
    absent_signed_headers={'expect'} accepts it.
    """
    with curl_front(upstream) as f:
        code, doc, sent = run_curl(f.url, ["-H", "Expect:"])
        signed = curl_signed_headers(sent)
        expect_sent = any(h.lower().startswith("expect:") for h in sent)
        assert not expect_sent
        if "expect" in signed:  # libcurl < 8.3
            assert code == 400 and doc["__type"] == INVALID_SIG
            assert f.mismatches == ["'expect' is named in SignedHeaders but is not in the request"]
        else:
            assert code == 200, doc
            assert f.mismatches == []
    with curl_front(upstream, absent_signed_headers=("expect",)) as f:
        code, doc, sent = run_curl(f.url, ["-H", "Expect:"])
        assert code == 200, doc
        assert isinstance(doc["TableNames"], list)
        assert f.verified == 1 and f.mismatches == []


@needs_curl
def test_curl_wrong_secret_rejected(upstream):
    with curl_front(upstream, secret_key=CURL_SECRET + "!") as f:
        code, doc, _ = run_curl(f.url)
        assert code == 400 and doc["__type"] == INVALID_SIG
        assert f.verified == 0 and len(f.mismatches) == 1


# --- CLI ---------------------------------------------------------------------

def test_cli_serves_and_stops_on_sigterm(upstream):
    cmd = [sys.executable, str(FRONT_SCRIPT), "--upstream", upstream,
           "--access-key", AKID, "--secret-key", SECRET, "--session-token", TOKEN,
           "--region", REGION, "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready, "front printed nothing"
        line = proc.stdout.readline().strip()
        m = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))", line)
        assert m, line
        url = m.group(1)
        ddb_client(url).list_tables()
        stats = requests.get(url + "/__front/stats", timeout=10).json()
        assert stats["verified"] == 1 and stats["mismatches"] == []
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0, proc.stderr.read()
    finally:
        stop_process(proc)
        proc.stdout.close()
        proc.stderr.close()
