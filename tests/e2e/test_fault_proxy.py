# SPDX-License-Identifier: Apache-2.0
"""The fault proxy itself: a real dynalite behind it, a real boto3 client (and raw
sockets, where the bytes on the wire are the point) in front of it.  Each fault kind
is shown to do what its docstring says, and the counters to count it."""
import json
import os
import socket
import sys
import threading
import time
import uuid

import boto3
import botocore.config
import botocore.exceptions
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, os.path.dirname(__file__))

import harness  # noqa: E402
from fault_proxy import DEFAULT_GARBAGE, FaultProxy, Rule  # noqa: E402

TABLE = "faults"
REGION = "us-east-1"
# botocore's "max_attempts" counts retries, not attempts (max_attempts=1 is one retry, see
# test_max_attempts_one_is_one_retry); "total_max_attempts" takes precedence and makes each
# call a single attempt, so that one scripted fault is one error.
SINGLE_ATTEMPT = {"max_attempts": 1, "total_max_attempts": 1}
# What boto3 raises when the connection breaks (reset, closed, refused, bad bytes).
CONNECTION_ERRORS = (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)


@pytest.fixture(scope="module")
def backend():
    d = harness.Dynalite().start()
    try:
        d.create_table(TABLE)
        yield d
    finally:
        d.stop()


@pytest.fixture
def proxy(backend):
    p = FaultProxy(backend.url)
    try:
        yield p.start()
    finally:
        p.stop()  # raises if a thread of the proxy outlives it
    assert p.threads() == []


def client(url, retries=None, **config):
    cfg = {"retries": retries or SINGLE_ATTEMPT, "connect_timeout": 2, "read_timeout": 3}
    cfg.update(config)
    return boto3.client("dynamodb", endpoint_url=url, region_name=REGION,
                        aws_access_key_id="AKIDFAULTPROXYTEST", aws_secret_access_key="dummy",
                        config=botocore.config.Config(**cfg))


def new_id(tag):
    return f"{tag}-{uuid.uuid4().hex[:10]}"


def put(c, item_id, **attrs):
    item = {"id": {"S": item_id}}
    item.update({k: {"S": v} for k, v in attrs.items()})
    return c.put_item(TableName=TABLE, Item=item)


def get(c, item_id):
    return c.get_item(TableName=TABLE, Key={"id": {"S": item_id}}, ConsistentRead=True)


def stored_ids(backend):
    """What dynalite holds, read straight from it (not through the proxy)."""
    return {item["id"]["S"] for item in backend.scan_all(TABLE)}


def raw_request(url, op, payload, connection="keep-alive", extra_headers=()):
    """The bytes of a signed DynamoDB request, as an SDK would send them."""
    body = json.dumps(payload).encode()
    req = AWSRequest(method="POST", url=url + "/", data=body, headers={
        "X-Amz-Target": f"DynamoDB_20120810.{op}",
        "Content-Type": "application/x-amz-json-1.0"})
    SigV4Auth(Credentials("AKIDFAULTPROXYTEST", "dummy"), "dynamodb", REGION).add_auth(req)
    host = url.split("://", 1)[1]
    lines = [b"POST / HTTP/1.1", f"Host: {host}".encode(), f"Connection: {connection}".encode(),
             f"Content-Length: {len(body)}".encode()]
    lines += [f"{k}: {v}".encode() for k, v in req.headers.items()]
    lines += [f"{k}: {v}".encode() for k, v in extra_headers]
    return b"\r\n".join(lines) + b"\r\n\r\n", body


def get_request(url, item_id):
    head, body = raw_request(url, "GetItem", {"TableName": TABLE, "Key": {"id": {"S": item_id}},
                                             "ConsistentRead": True})
    return head + body


def connect(proxy, timeout=3):
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=timeout)


def recv_all(sock):
    """Everything until the peer closes; raises ConnectionResetError on a reset."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def read_response(sock):
    """One response: (status, headers dict, body); body stops at Content-Length or EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError(f"closed before a full head: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


# --- pass-through and keep-alive -------------------------------------------


def test_passes_requests_through_and_counts_them(proxy, backend):
    c = client(proxy.url)
    key = new_id("plain")
    put(c, key, color="blue")
    assert get(c, key)["Item"] == {"id": {"S": key}, "color": {"S": "blue"}}
    assert key in stored_ids(backend)
    s = proxy.stats()
    assert s["requests"] == 2 and s["forwarded"] == 2
    assert s["ops"] == {"PutItem": 1, "GetItem": 1}
    assert s["forwarded_ops"] == {"PutItem": 1, "GetItem": 1}
    assert s["faults"] == {} and s["upstream_errors"] == 0 and s["bad_requests"] == 0
    assert s["log"] == [("PutItem", "forward"), ("GetItem", "forward")]


def test_keep_alive_uses_one_client_and_one_upstream_connection(proxy):
    c = client(proxy.url)
    key = new_id("ka")
    put(c, key)
    for _ in range(5):
        assert get(c, key)["Item"]["id"]["S"] == key
    assert proxy.requests == 6
    assert proxy.connections == 1
    assert proxy.upstream_connections == 1


def test_raw_keep_alive_and_connection_close(proxy, backend):
    key = new_id("raw")
    put(backend.client(), key)
    with connect(proxy) as s:
        for _ in range(3):
            s.sendall(get_request(proxy.url, key))
            status, headers, body = read_response(s)
            assert status == 200 and headers["connection"] == "keep-alive"
            assert json.loads(body)["Item"]["id"]["S"] == key
        head, body = raw_request(proxy.url, "GetItem", {"TableName": TABLE,
                                                        "Key": {"id": {"S": key}}},
                                 connection="close")
        s.sendall(head + body)
        status, headers, _ = read_response(s)
        assert status == 200 and headers["connection"] == "close"
        assert s.recv(10) == b""  # the proxy closed it as asked
    assert proxy.connections == 1 and proxy.requests == 4


def test_expect_100_continue_is_answered(proxy, backend):
    key = new_id("expect")
    head, body = raw_request(proxy.url, "PutItem", {"TableName": TABLE,
                                                    "Item": {"id": {"S": key}}},
                             extra_headers=[("Expect", "100-continue")])
    with connect(proxy) as s:
        s.sendall(head)
        interim = b""
        while b"\r\n\r\n" not in interim:
            chunk = s.recv(1)
            assert chunk, "closed before 100 Continue"
            interim += chunk
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(body)
        status, _, _ = read_response(s)
    assert status == 200
    assert key in stored_ids(backend)


def test_upstream_down_gives_502_and_counts_it():
    p = FaultProxy(f"http://127.0.0.1:{harness.free_port()}").start()
    try:
        r = requests.post(p.url + "/", data=b"{}", headers={
            "X-Amz-Target": "DynamoDB_20120810.ListTables"}, timeout=5)
        assert r.status_code == 502
        assert r.json()["__type"] == "BadGateway"
        assert p.upstream_errors == 1 and p.forwarded == 0
        assert p.log == [("ListTables", "forward"), ("ListTables", "upstream_error")]
    finally:
        p.stop()


def test_max_attempts_one_is_one_retry(proxy):
    """Why the other tests add total_max_attempts=1: the brief's retries={"max_attempts": 1}
    alone lets botocore retry once, which would hide a single scripted fault."""
    c = client(proxy.url, retries={"max_attempts": 1})
    proxy.status(400, "ThrottlingException", "slow down", op="PutItem")
    put(c, new_id("retry"))  # no error: the retry went through
    assert proxy.ops["PutItem"] == 2
    assert proxy.log == [("PutItem", "status"), ("PutItem", "forward")]


# --- each fault kind --------------------------------------------------------


def test_latency_delays_only_the_matching_operation(proxy):
    c = client(proxy.url)
    key = new_id("lat")
    rule = proxy.latency(0.8, op="GetItem")
    t0 = time.monotonic()
    put(c, key)
    assert time.monotonic() - t0 < 0.6  # PutItem does not match
    t0 = time.monotonic()
    assert get(c, key)["Item"]["id"]["S"] == key  # delayed, then answered
    assert time.monotonic() - t0 >= 0.8
    t0 = time.monotonic()
    get(c, key)
    assert time.monotonic() - t0 < 0.6  # the rule was for one request
    assert rule.applied == 1 and rule.remaining == 0 and proxy.pending() == []
    assert proxy.faults == {"latency": 1} and proxy.forwarded == 3
    assert proxy.log == [("PutItem", "forward"), ("GetItem", "latency"), ("GetItem", "forward")]


def test_refuse_closes_a_new_connection_unread(proxy, backend):
    proxy.refuse()
    with connect(proxy) as s:
        s.settimeout(2)
        # Nothing was sent and nothing comes back: the proxy closed it right away.
        assert s.recv(100) == b""
    assert proxy.connections == 1 and proxy.requests == 0
    assert proxy.faults == {"refuse": 1} and proxy.log == [(None, "refuse")]

    proxy.refuse()
    c = client(proxy.url)
    key = new_id("refuse")
    with pytest.raises(CONNECTION_ERRORS):
        put(c, key)
    assert key not in stored_ids(backend)
    assert proxy.requests == 0 and proxy.forwarded == 0
    put(c, key)  # the rule is used up: a new connection works
    assert key in stored_ids(backend)
    assert proxy.connections == 3 and proxy.faults == {"refuse": 2}


def test_refuse_closes_a_kept_alive_connection_at_its_next_request(proxy, backend):
    c = client(proxy.url)
    key = new_id("refuse-ka")
    put(c, key)
    proxy.refuse()
    with pytest.raises(CONNECTION_ERRORS):
        get(c, key)
    assert proxy.connections == 1  # it was the kept-alive connection that was closed
    assert proxy.requests == 1 and proxy.log == [("PutItem", "forward"), (None, "refuse")]


def test_refuse_takes_no_operation():
    p = FaultProxy("http://127.0.0.1:9")
    with pytest.raises(TypeError):
        p.refuse(op="PutItem")
    with pytest.raises(ValueError):
        p.add_rule("refuse", op="PutItem")
    assert p.pending() == []


def test_reset_before_resets_and_does_not_forward(proxy, backend):
    c = client(proxy.url)
    key = new_id("rstb")
    proxy.reset_before(op="PutItem")
    with pytest.raises(CONNECTION_ERRORS):
        put(c, key)
    assert key not in stored_ids(backend)
    assert proxy.requests == 1 and proxy.forwarded == 0
    assert proxy.faults == {"reset_before": 1}

    proxy.reset_before()
    with connect(proxy) as s:
        s.sendall(get_request(proxy.url, key))
        with pytest.raises(ConnectionResetError):  # an RST, not a FIN
            recv_all(s)
    assert proxy.forwarded == 0 and proxy.faults == {"reset_before": 2}


def test_reset_after_writes_then_loses_the_answer(proxy, backend):
    c = client(proxy.url)
    key = new_id("rsta")
    proxy.reset_after(op="PutItem")
    with pytest.raises(CONNECTION_ERRORS):
        put(c, key)
    assert key in stored_ids(backend)  # the write happened
    assert proxy.forwarded_ops["PutItem"] == 1 and proxy.faults == {"reset_after": 1}

    proxy.reset_after()
    with connect(proxy) as s:
        s.sendall(get_request(proxy.url, key))
        with pytest.raises(ConnectionResetError):  # no byte of the answer, then an RST
            recv_all(s)
    assert proxy.forwarded == 2 and proxy.faults == {"reset_after": 2}


def test_truncate_cuts_the_body_keeping_content_length(proxy, backend):
    key = new_id("trunc")
    put(backend.client(), key, text="x" * 300)
    with connect(proxy) as s:  # the whole answer, for reference
        s.sendall(get_request(proxy.url, key))
        _, full_headers, full_body = read_response(s)
    assert len(full_body) > 300

    proxy.truncate(10, op="GetItem")
    with connect(proxy) as s:
        s.sendall(get_request(proxy.url, key))
        data = recv_all(s)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert f"Content-Length: {len(full_body)}".encode() in head.split(b"\r\n")
    assert body == full_body[:10]

    proxy.truncate(10, op="GetItem")
    c = client(proxy.url)
    with pytest.raises(botocore.exceptions.BotoCoreError):
        get(c, key)
    assert proxy.faults == {"truncate": 2} and proxy.forwarded_ops["GetItem"] == 3
    assert get(c, key)["Item"]["text"]["S"] == "x" * 300  # passes through again


def test_garbage_answers_non_http_bytes(proxy, backend):
    proxy.garbage()
    with connect(proxy) as s:
        s.sendall(get_request(proxy.url, new_id("garbage")))
        assert recv_all(s) == DEFAULT_GARBAGE
    proxy.garbage(data=b"\xde\xad\xbe\xef", op="PutItem")
    c = client(proxy.url)
    key = new_id("garbage")
    with pytest.raises(CONNECTION_ERRORS):
        put(c, key)
    assert key not in stored_ids(backend)
    assert proxy.forwarded == 0 and proxy.faults == {"garbage": 2}


def test_slow_drip_sends_the_whole_answer_slowly(proxy, backend):
    key = new_id("drip")
    put(backend.client(), key, text="y" * 100)
    bps = 500
    proxy.slow_drip(bps, chunk=25)
    with connect(proxy, timeout=10) as s:
        s.sendall(get_request(proxy.url, key))
        t0 = time.monotonic()
        pieces, data = 0, b""
        while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < int(
                data.split(b"Content-Length: ")[1].split(b"\r\n")[0]):
            chunk = s.recv(65536)
            assert chunk, "closed before the whole answer"
            pieces += 1
            data += chunk
        elapsed = time.monotonic() - t0
        # The complete, correct answer, in many small pieces, at about bps.
        assert json.loads(data.partition(b"\r\n\r\n")[2])["Item"]["text"]["S"] == "y" * 100
        assert pieces >= len(data) // 25 // 2
        assert elapsed >= (len(data) - 25) / bps * 0.9
        # The connection stays open and the next answer comes at full speed.
        s.sendall(get_request(proxy.url, key))
        t0 = time.monotonic()
        assert read_response(s)[0] == 200
        assert time.monotonic() - t0 < 0.3
    assert proxy.connections == 1 and proxy.faults == {"slow_drip": 1}

    proxy.slow_drip(300, op="GetItem")  # a GetItem answer is over 300 bytes with its head
    c = client(proxy.url)
    t0 = time.monotonic()
    assert get(c, key)["Item"]["text"]["S"] == "y" * 100
    assert time.monotonic() - t0 >= 0.9


@pytest.mark.parametrize("code,aws_type", [
    (400, "ThrottlingException"),
    (400, "ProvisionedThroughputExceededException"),
    (500, "InternalServerError"),
    (503, "ServiceUnavailable"),
])
def test_status_answers_a_dynamodb_error_without_forwarding(proxy, backend, code, aws_type):
    c = client(proxy.url)
    key = new_id("status")
    message = f"injected {aws_type}"
    proxy.status(code, aws_type, message, op="PutItem")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        put(c, key)
    assert err.value.response["Error"]["Code"] == aws_type
    assert err.value.response["Error"]["Message"] == message
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == code
    assert key not in stored_ids(backend)  # nothing reached dynalite
    assert proxy.forwarded == 0 and proxy.faults == {"status": 1}
    put(c, key)  # same connection, now passed through
    assert key in stored_ids(backend)
    assert proxy.connections == 1 and proxy.forwarded == 1


def test_status_body_on_the_wire(proxy):
    proxy.status(503, "ServiceUnavailable", "try later")
    with connect(proxy) as s:
        s.sendall(get_request(proxy.url, "x"))
        status, headers, body = read_response(s)
    assert status == 503
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert json.loads(body) == {
        "__type": "com.amazonaws.dynamodb.v20120810#ServiceUnavailable", "message": "try later"}


def test_hang_never_answers(proxy):
    c = client(proxy.url)  # read_timeout=3
    proxy.hang(op="GetItem")
    t0 = time.monotonic()
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        get(c, new_id("hang"))
    assert time.monotonic() - t0 >= 3
    assert proxy.faults == {"hang": 1} and proxy.forwarded == 0 and proxy.requests == 1


def test_stop_ends_hangs_sleeps_and_idle_connections_promptly(backend):
    p = FaultProxy(backend.url).start()
    port = p.port
    socks = []
    try:
        p.hang()
        p.latency(30)
        p.slow_drip(1, chunk=1)
        for _ in range(3):
            s = connect(p, timeout=5)
            socks.append(s)
            s.sendall(get_request(p.url, "x"))
            deadline = time.monotonic() + 5
            while p.requests < len(socks) and time.monotonic() < deadline:
                time.sleep(0.01)
        idle = connect(p, timeout=5)
        socks.append(idle)
        deadline = time.monotonic() + 5
        while (p.forwarded < 1 or len(p.threads()) < 5) and time.monotonic() < deadline:
            time.sleep(0.01)  # the drip has its answer; the idle one has its thread
        assert p.stats()["faults"] == {"hang": 1, "latency": 1, "slow_drip": 1}
        assert len(p.threads()) == 5  # the accept thread and one per connection
        t0 = time.monotonic()
        p.stop()
        assert time.monotonic() - t0 < 1.5
        assert p.threads() == []
        for s in socks:  # every client sees its connection end
            s.settimeout(2)
            recv_all(s)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        p.stop()
        for s in socks:
            s.close()


# --- the script: counts, matching, order, clear -----------------------------


def test_a_rule_for_two_requests_applies_to_exactly_two(proxy, backend):
    c = client(proxy.url)
    keys = [new_id("n2") for _ in range(3)]
    rule = proxy.status(500, "InternalServerError", "boom", times=2, op="PutItem")
    for key in keys[:2]:
        with pytest.raises(botocore.exceptions.ClientError):
            put(c, key)
    assert proxy.pending() == [] and rule.applied == 2
    put(c, keys[2])
    assert stored_ids(backend) & set(keys) == {keys[2]}
    assert proxy.log == [("PutItem", "status")] * 2 + [("PutItem", "forward")]
    assert proxy.faults == {"status": 2} and proxy.forwarded == 1


def test_operation_matching_only_affects_that_operation(proxy, backend):
    c = client(proxy.url)
    key = new_id("op")
    put(c, key)
    proxy.reset_before(op="DeleteItem")
    for _ in range(3):
        get(c, key)
        put(c, key, v="again")
    assert proxy.pending() != [] and proxy.faults == {}
    with pytest.raises(CONNECTION_ERRORS):
        c.delete_item(TableName=TABLE, Key={"id": {"S": key}})
    assert key in stored_ids(backend)
    assert proxy.ops["DeleteItem"] == 1 and proxy.forwarded_ops["DeleteItem"] == 0
    # A full X-Amz-Target, or several operations, match too.
    proxy.status(400, "ThrottlingException", "t", op="DynamoDB_20120810.GetItem")
    proxy.status(400, "ThrottlingException", "t", op=("Scan", "Query"), times=2)
    for call in (lambda: get(c, key), lambda: c.scan(TableName=TABLE),
                 lambda: c.query(TableName=TABLE, KeyConditionExpression="id = :k",
                                 ExpressionAttributeValues={":k": {"S": key}})):
        with pytest.raises(botocore.exceptions.ClientError):
            call()
    assert proxy.pending() == [] and proxy.faults == {"reset_before": 1, "status": 3}


def test_first_matching_rule_in_order_wins(proxy):
    c = client(proxy.url)
    get_rule = proxy.status(503, "ServiceUnavailable", "for gets", op="GetItem")
    any_rule = proxy.status(500, "InternalServerError", "for anything")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        put(c, new_id("order"))
    assert err.value.response["Error"]["Code"] == "InternalServerError"
    assert get_rule.remaining == 1 and any_rule.remaining == 0
    with pytest.raises(botocore.exceptions.ClientError) as err:
        get(c, "nothing")
    assert err.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert proxy.pending() == []


def test_times_none_applies_until_clear(proxy):
    c = client(proxy.url)
    rule = proxy.status(503, "ServiceUnavailable", "down", times=None, op="GetItem")
    for _ in range(4):
        with pytest.raises(botocore.exceptions.ClientError):
            get(c, "k")
    assert rule.applied == 4 and proxy.pending() == [rule]
    proxy.clear()
    assert proxy.pending() == []
    assert "Item" not in get(c, "k")
    assert proxy.faults == {"status": 4} and proxy.forwarded == 1


def test_counters_and_rules_are_thread_safe(proxy):
    clients = [client(proxy.url) for _ in range(4)]
    proxy.status(500, "InternalServerError", "some", times=7, op="GetItem")
    errors, oks, lock = [], [], threading.Lock()

    def work(c):
        for _ in range(6):
            try:
                get(c, "k")
                with lock:
                    oks.append(1)
            except botocore.exceptions.ClientError:
                with lock:
                    errors.append(1)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(errors) == 7 and len(oks) == 17
    s = proxy.stats()
    assert s["requests"] == 24 and s["forwarded"] == 17 and s["faults"] == {"status": 7}
    assert len(s["log"]) == 24 and s["log"].count(("GetItem", "status")) == 7
    assert s["connections"] == 4


def test_rule_validation():
    p = FaultProxy("http://127.0.0.1:9")
    for bad in (lambda: p.add_rule("explode"), lambda: p.latency(1, times=0),
                lambda: p.latency(-1), lambda: p.truncate(-1), lambda: p.slow_drip(0),
                lambda: p.status(99, "X"), lambda: p.add_rule("hang", op=[]),
                lambda: p.pause_listening(-1)):
        with pytest.raises(ValueError):
            bad()
    assert p.pending() == []
    r = p.status(400, "com.amazon.coral.availability#ThrottlingException")
    assert isinstance(r, Rule)
    assert r.params["aws_type"] == "com.amazon.coral.availability#ThrottlingException"
    with pytest.raises(ValueError):
        FaultProxy("https://127.0.0.1:1")


# --- the listener ------------------------------------------------------------


def test_pause_listening_refuses_new_connections_then_listens_again(proxy):
    c = client(proxy.url)
    key = new_id("pause")
    put(c, key)
    port = proxy.port
    proxy.pause_listening(1.0)
    assert not proxy.listening
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        get(client(proxy.url), key)
    assert get(c, key)["Item"]["id"]["S"] == key  # an open connection keeps working
    deadline = time.monotonic() + 5
    while not proxy.listening and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proxy.listening and proxy.port == port
    assert get(client(proxy.url), key)["Item"]["id"]["S"] == key
    assert proxy.connections == 2


def test_pause_until_resume(proxy):
    proxy.pause_listening()
    time.sleep(0.3)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=2).close()
    proxy.resume_listening()
    assert proxy.listening
    socket.create_connection(("127.0.0.1", proxy.port), timeout=2).close()
