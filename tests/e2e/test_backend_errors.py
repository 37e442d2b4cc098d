# SPDX-License-Identifier: Apache-2.0
"""When DynamoDB fails, is unreachable or refuses us: the right 5xx as problem+json, one
precise error-log line for the sysadmin, and httpd keeps serving."""
import json

import pytest

import harness
from harness import problem
from conftest import module_env
from fake_backend import FakeBackend
from sigv4_front import SigV4Front

JSON = {"Content-Type": "application/json"}
ITEM = json.dumps({"name": "x"}).encode()


def serve_against(make_httpd, front, endpoint, allowed, extra=""):
    env = module_env(front, DYNAMODB_ENDPOINT_URL=endpoint)
    return make_httpd(env=env, extra_conf=extra, allowed_log=allowed)


@pytest.mark.parametrize("method,path", [("POST", "/items/"), ("GET", "/items/abc"),
                                         ("GET", "/items/?limit=2")])
def test_unreachable_backend_is_503_with_retry_after(front, make_httpd, http, method, path):
    port = harness.free_port()  # nothing listens here
    h = serve_against(make_httpd, front, f"http://127.0.0.1:{port}",
                      [r"ITEMS0201: DynamoDB (PutItem|GetItem|Scan) failed .* HTTP 0: .*"
                       r"(Connection refused|Couldn't connect|Failed to connect)"])
    r = http.request(method, h.url + path, data=ITEM, headers=JSON)
    assert "unreachable" in problem(r, 503)["detail"]
    assert r.headers["Retry-After"] == "1"
    assert "ITEMS0201" in h.log_text()


def test_backend_that_never_answers_is_504(front, make_httpd, http):
    fake = FakeBackend(mode="hang").start()
    try:
        h = serve_against(make_httpd, front, fake.url,
                          [r"ITEMS0201: DynamoDB GetItem failed .* HTTP 0: .*timed out"],
                          extra="<Location /items>\nItemsTimeout 300ms\n</Location>\n")
        r = http.get(h.url + "/items/abc")
        assert "in time" in problem(r, 504)["detail"]
        assert r.elapsed.total_seconds() < 5
    finally:
        fake.stop()


@pytest.mark.parametrize("mode,status,body,log", [
    ("garbage", 200, b"", r"HTTP 0: the answer is not HTTP"),
    ("close", 200, b"", r"HTTP 0: the connection closed without an answer"),
    ("answer", 200, b"this is not json", r"HTTP 200: response body is not a JSON object"),
    ("answer", 200, b"[1,2]", r"HTTP 200: response body is not a JSON object"),
    ("answer", 500, b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError",'
                    b'"message":"boom"}', r"HTTP 500 InternalServerError: boom"),
    ("answer", 400, b'{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException",'
                    b'"message":"bad"}', r"HTTP 400 ValidationException: bad"),
])
def test_garbled_or_failing_backend_is_502(front, make_httpd, http, mode, status, body, log):
    fake = FakeBackend(status=status, body=body, mode=mode).start()
    try:
        h = serve_against(make_httpd, front, fake.url,
                          [r"ITEMS0201: DynamoDB GetItem failed .*" + log])
        problem(http.get(h.url + "/items/abc"), 502)
        assert "ITEMS0201" in h.log_text()
        assert fake.requests >= 1
    finally:
        fake.stop()


@pytest.mark.parametrize("status,aws_type", [
    (400, "ThrottlingException"), (400, "ProvisionedThroughputExceededException"),
    (400, "RequestLimitExceeded"), (503, "ServiceUnavailable"),
])
def test_throttling_is_503_with_retry_after(front, make_httpd, http, status, aws_type):
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{aws_type}",
                       "message": "slow down"}).encode()
    fake = FakeBackend(status=status, body=body).start()
    try:
        h = serve_against(make_httpd, front, fake.url,
                          [rf"ITEMS0201: DynamoDB PutItem failed .* HTTP {status} {aws_type}"])
        r = http.post(h.url + "/items/", data=ITEM, headers=JSON)
        problem(r, 503)
        assert r.headers["Retry-After"] == "1"
    finally:
        fake.stop()


def test_missing_table_is_502_and_logged_precisely(front, make_httpd, http):
    h = make_httpd(env=module_env(front, DYNAMODB_TABLE="no-such-table"),
                   allowed_log=[r"ITEMS0201: DynamoDB PutItem failed .* HTTP 400 "
                                r"ResourceNotFoundException"])
    body = problem(http.post(h.url + "/items/", data=ITEM, headers=JSON), 502)
    assert "no-such-table" not in body["detail"]  # the table name stays in the log
    assert "ResourceNotFoundException" in h.log_text()


def test_bad_signature_is_refused_by_the_verifier_and_502(dynalite, make_httpd, http):
    # A front that expects other keys than the module signs with: the SDK signer must
    # reject every request, so this also proves the verifier can fail.
    strict = SigV4Front(dynalite.url, harness.ACCESS_KEY, "another/secret+key", harness.SESSION_TOKEN,
                        harness.REGION)
    strict.start()
    try:
        env = module_env(strict)
        h = make_httpd(env=env, allowed_log=[r"ITEMS0201: .* InvalidSignatureException"])
        r = http.post(h.url + "/items/", data=ITEM, headers=JSON)
        problem(r, 502)
        assert strict.verified == 0 and len(strict.mismatches) >= 1
        assert "InvalidSignatureException" in h.log_text()
    finally:
        strict.stop()


def test_no_credentials_is_500_with_one_clear_line(front, make_httpd, http):
    env = module_env(front)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]
    h = make_httpd(env=env, allowed_log=[r"ITEMS0002: no AWS credentials",
                                         r"ITEMS0201: DynamoDB PutItem failed .*no AWS credentials"])
    body = problem(http.post(h.url + "/items/", data=ITEM, headers=JSON), 500)
    assert "credentials" in body["detail"]
    log = h.log_text()
    assert log.count("ITEMS0002") == 1
    assert log.count("ITEMS0201") == 1


def test_secrets_never_reach_the_log(front, make_httpd, http):
    h = make_httpd(env=module_env(front), extra_conf="LogLevel trace8\n",
                   allowed_log=[r"\[[a-z_]+:(trace\d|debug|info)\]", r"\[core:trace"])
    http.post(h.url + "/items/", data=ITEM, headers=JSON)
    http.get(h.url + "/items/?limit=1")
    h.stop()
    log = h.log_text()
    assert harness.SECRET_KEY not in log
    assert harness.SESSION_TOKEN not in log
    assert harness.ACCESS_KEY not in log


def test_clock_skew_is_corrected_from_the_server_date(front, make_httpd, http):
    # DynamoDB's clock is an hour ahead of ours: the first signature is refused as expired,
    # the module takes the time from the answer's Date header and signs again, once.
    fake = FakeBackend(mode="clock", clock_offset=3600).start()
    try:
        h = serve_against(make_httpd, front, fake.url, [])
        r = http.get(h.url + "/items/abc")
        assert r.status_code == 200, r.text
        assert r.json() == {"id": "abc", "name": "on time"}
        assert fake.requests == 2
        # The corrected time sticks: the next request on that child signs right at once.
        assert len(fake.amz_dates[1]) >= 1 and len(set(fake.amz_dates[1])) == 1
        for _ in range(4):
            assert http.get(h.url + "/items/abc").status_code == 200
        assert fake.requests <= 2 + 4 + 1  # at most one more correction (the other child)
    finally:
        fake.stop()


def test_retries_are_bounded_then_503(front, make_httpd, http):
    # Throttled on every attempt: ItemsRetries bounds the attempts, then 503 + Retry-After.
    from fake_backend import FakeBackend as Fake
    body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                       "message": "slow down"}).encode()
    fake = Fake(status=400, body=body).start()
    try:
        h = serve_against(make_httpd, front, fake.url,
                          [r"ITEMS0201: DynamoDB GetItem failed .* ThrottlingException"],
                          extra="<Location /items>\nItemsRetries 2\n</Location>\n")
        r = http.get(h.url + "/items/abc")
        assert r.status_code == 503 and r.headers["Retry-After"] == "1"
        assert fake.requests == 3  # one attempt and two retries
    finally:
        fake.stop()
