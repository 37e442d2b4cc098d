# SPDX-License-Identifier: Apache-2.0
"""DynamoDB over HTTPS, as in production: httpd + mod_items -> TLS front -> SigV4 front ->
dynalite. The TLS front (tls_front.py) holds a certificate from a throwaway CA and relays raw
bytes, so the SigV4 front still re-verifies every request the module sends; it counts
connections and handshakes, and can close kept-alive connections the way servers do."""
import json
import os
import shutil
import time
import types
import uuid
from http.client import HTTPConnection

import pytest

from harness import next_link, problem
from conftest import module_env
from tls_front import CLOSE_MODES, ThrowawayCA, TLSFront, throwaway_dir

JSON = {"Content-Type": "application/json"}
MERGE = {"Content-Type": "application/merge-patch+json"}
TLS_TABLE = "tls-items"
# One child process: every client connection shares one pool of backend connections, so
# a new backend connection (a new handshake) means the pool did not reuse one.
ONE_CHILD = """StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16
"""
# What the module logs when it cannot get a verified connection (libcurl's own words).
CERT_FAILURE_LOG = (r"ITEMS0201: DynamoDB (GetItem|PutItem) failed after \d+ ms: HTTP 0: "
                    r"(SSL certificate problem|SSL: no alternative certificate subject name)")


@pytest.fixture(scope="module")
def pki():
    """Our CA and its certificates for 127.0.0.1, plus a CA nobody should trust."""
    top = throwaway_dir()
    try:
        ca = ThrowawayCA(os.path.join(top, "ca"), "items e2e test CA")
        other = ThrowawayCA(os.path.join(top, "other"), "items e2e untrusted CA")
        cert, key = ca.issue("server")
        wrong_cert, wrong_key = ca.issue("wrong-name", cn="elsewhere.invalid",
                                         san="DNS:elsewhere.invalid")
        yield types.SimpleNamespace(ca=ca.pem, other_ca=other.pem, cert=cert, key=key,
                                    wrong_cert=wrong_cert, wrong_key=wrong_key)
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="module")
def tls(front, pki):
    """The TLS front for the module, relaying to the session's SigV4-verifying front."""
    t = TLSFront(front.port, pki.cert, pki.key).start()
    try:
        yield t
    finally:
        t.stop()


@pytest.fixture(scope="module")
def tls_table(dynalite):
    dynalite.create_table(TLS_TABLE)
    return TLS_TABLE


def serve_tls(make_httpd, front, endpoint, ca_file, extra="", allowed=(), table=TLS_TABLE):
    """httpd whose DynamoDB endpoint is https://, set by directives as a deployment would."""
    env = module_env(front, DYNAMODB_TABLE=table)
    del env["DYNAMODB_ENDPOINT_URL"]
    conf = f"ItemsEndpoint {endpoint}\n"
    if ca_file:
        conf += f"ItemsCAFile {ca_file}\n"
    return make_httpd(env=env, extra_conf=conf + extra, allowed_log=allowed)


class Counts:
    """Counter deltas of the TLS front and the SigV4 front since construction."""
    TLS = ("accepted", "handshakes", "failed_handshakes", "idle_closes", "bytes_up")
    SIGV4 = ("requests", "verified", "connections")

    def __init__(self, tls, front):
        self.tls, self.front = tls, front
        self.start = self._now()
        self.mismatches = len(front.mismatches)

    def _now(self):
        out = {n: getattr(self.tls, n) for n in self.TLS}
        out.update({"sigv4_" + n: getattr(self.front, n) for n in self.SIGV4})
        return out

    def delta(self):
        now = self._now()
        return {k: now[k] - self.start[k] for k in now}

    def new_mismatches(self):
        return self.front.mismatches[self.mismatches:]


# --- a. the API over TLS -------------------------------------------------------------------

def test_crud_and_paging_over_tls(tls, front, pki, tls_table, dynalite, make_httpd, http):
    counts = Counts(tls, front)
    h = serve_tls(make_httpd, front, tls.url, pki.ca,
                  extra="<Location /items>\nItemsMaxBodySize 1048576\n</Location>\n")
    base = h.url + "/items/"

    created = []
    for i in range(5):
        r = http.post(base, data=json.dumps({"name": f"tls {i}", "n": i}), headers=JSON)
        assert r.status_code == 201, r.text
        assert r.headers["Location"] == f"/items/{r.json()['id']}"
        created.append(r.json())
    first = created[0]
    r = http.get(base + first["id"])
    assert r.status_code == 200 and r.json() == first
    etag = r.headers["ETag"]

    # PUT replaces (If-Match on the current version), PATCH merges.
    r = http.put(base + first["id"], data=json.dumps({"name": "replaced", "kind": "tls"}),
                 headers={**JSON, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": first["id"], "name": "replaced", "kind": "tls"}
    r = http.patch(base + first["id"], data=json.dumps({"kind": None, "extra": [1, 2]}),
                   headers=MERGE)
    assert r.status_code == 200, r.text
    assert http.get(base + first["id"]).json() == {"id": first["id"], "name": "replaced",
                                                   "extra": [1, 2]}

    # DELETE, then the item is gone.
    gone = created.pop()
    assert http.delete(base + gone["id"]).status_code == 204
    problem(http.get(base + gone["id"]), 404)

    # An answer of many TLS records (16 KiB each at most): a 300 KiB item, read and listed.
    big = {"name": "big", "blob": "x" * (300 * 1024)}
    r = http.put(base + "tls-big", data=json.dumps(big), headers=JSON)
    assert r.status_code == 201, r.text
    assert http.get(base + "tls-big").json() == {"id": "tls-big", **big}
    assert len(http.get(base + "?limit=1000").content) > 300 * 1024

    # Paging with limit=2 and the next-page cursor: every item exactly once.
    want = {c["id"] for c in created} | {"tls-big"}
    seen, url, pages = [], base + "?limit=2", 0
    while url:
        r = http.get(url if url.startswith("http") else h.url + url)
        assert r.status_code == 200, r.text
        page = r.json()
        assert 0 < len(page) <= 2
        seen += [i["id"] for i in page]
        url = next_link(r)
        pages += 1
        assert pages <= 10
    assert sorted(seen) == sorted(want) and pages == 3

    stored = dynalite.client().get_item(TableName=tls_table, Key={"id": {"S": first["id"]}},
                                        ConsistentRead=True)["Item"]
    assert stored["name"] == {"S": "replaced"} and "kind" not in stored

    d = counts.delta()
    # Every DynamoDB call went through TLS and was re-verified by the SigV4 front...
    assert d["sigv4_requests"] >= 17 and d["sigv4_verified"] == d["sigv4_requests"]  # 17 API calls
    assert counts.new_mismatches() == []
    # ...and nothing reached that front but through the TLS front: one upstream connection
    # per TLS connection.
    assert d["handshakes"] >= 1 and d["failed_handshakes"] == 0
    assert d["sigv4_connections"] == d["handshakes"]
    assert d["bytes_up"] > 300 * 1024


def test_dns_name_in_the_certificate_is_verified_too(tls, front, pki, tls_table, make_httpd,
                                                      http):
    counts = Counts(tls, front)
    h = serve_tls(make_httpd, front, f"https://localhost:{tls.port}", pki.ca)
    problem(http.get(f"{h.url}/items/{uuid.uuid4()}"), 404)
    r = http.post(h.url + "/items/", data=b'{"name": "via localhost"}', headers=JSON)
    assert r.status_code == 201, r.text
    d = counts.delta()
    assert d["handshakes"] >= 1 and d["sigv4_verified"] == d["sigv4_requests"] >= 2


# --- b. keep-alive over TLS ----------------------------------------------------------------

def test_tls_connections_are_kept_alive(tls, front, pki, tls_table, make_httpd, http):
    h = serve_tls(make_httpd, front, tls.url, pki.ca, extra=ONE_CHILD)
    item = http.post(h.url + "/items/", data=b'{"name": "kept alive"}', headers=JSON).json()
    path = f"/items/{item['id']}"

    conn = HTTPConnection("127.0.0.1", h.port, timeout=10)
    try:
        conn.request("GET", path)  # warm-up
        assert conn.getresponse().read() and conn.sock is not None
        client_port = conn.sock.getsockname()[1]
        counts = Counts(tls, front)
        for _ in range(30):
            conn.request("GET", path)
            resp = conn.getresponse()
            assert resp.status == 200 and json.loads(resp.read()) == item
            assert conn.sock.getsockname()[1] == client_port  # one client connection
    finally:
        conn.close()
    d = counts.delta()
    assert d["sigv4_requests"] == d["sigv4_verified"] == 30
    # Not one new TLS connection, handshake or upstream connection for 30 calls.
    assert (d["accepted"], d["handshakes"], d["sigv4_connections"]) == (0, 0, 0), d

    # Idle longer than the module's probe threshold (1 s): the probe finds the TLS
    # connection alive (no stray TLS record makes it look readable) and it is reused.
    time.sleep(1.3)
    assert http.get(h.url + path).json() == item
    d = counts.delta()
    assert (d["accepted"], d["handshakes"]) == (0, 0), d
    assert d["sigv4_requests"] == 31


# --- c. certificates the module must refuse -------------------------------------------------

@pytest.mark.parametrize("case", ["untrusted CA", "system store", "wrong host name"])
def test_unverifiable_certificate_is_503_and_logged(case, tls, front, pki, tls_table, dynalite,
                                                    make_httpd, http):
    server = tls
    if case == "wrong host name":
        server = TLSFront(front.port, pki.wrong_cert, pki.wrong_key).start()
    try:
        ca_file = {"untrusted CA": pki.other_ca, "system store": None,
                   "wrong host name": pki.ca}[case]
        counts = Counts(server, front)
        before = len(dynalite.scan_all(tls_table))
        h = serve_tls(make_httpd, front, server.url, ca_file, allowed=[CERT_FAILURE_LOG])
        for method, path, body in (("GET", f"/items/{uuid.uuid4()}", None),
                                   ("POST", "/items/", b'{"name": "never stored"}')):
            r = http.request(method, h.url + path, data=body, headers=JSON)
            assert "unreachable" in problem(r, 503)["detail"]
            assert r.headers["Retry-After"] == "1"
        log = h.log_text()
        if case == "wrong host name":
            assert "SSL: no alternative certificate subject name matches target host name " \
                   "'127.0.0.1'" in log, log
        else:
            assert "SSL certificate problem: unable to get local issuer certificate" in log, log
            # The server side saw the client refuse the handshake.
            assert server.wait_for("failed_handshakes", counts.start["failed_handshakes"] + 2) \
                - counts.start["failed_handshakes"] >= 2
            assert any("unknown ca" in e.lower() for e in server.handshake_errors)
        d = counts.delta()
        # One connection per request: a certificate that does not verify is not retried.
        assert d["accepted"] == 2, d
        assert log.count("ITEMS0201") == 2, log
        # Not a byte of a signed request went over a connection that failed verification.
        assert d["bytes_up"] == 0 and d["sigv4_requests"] == 0, d
        assert len(dynalite.scan_all(tls_table)) == before
    finally:
        if server is not tls:
            server.stop()


# --- d. kept-alive connections the server closed ---------------------------------------------

@pytest.mark.parametrize("close_mode", CLOSE_MODES)
def test_connection_closed_by_the_server_is_replaced(close_mode, front, pki, tls_table,
                                                     dynalite, make_httpd, http):
    # ItemsRetries 0: only the connection layer's own recovery (probe an idle connection,
    # or send once more when a reused one fails before any answer byte) can save a call.
    server = TLSFront(front.port, pki.cert, pki.key, close_mode=close_mode).start()
    try:
        h = serve_tls(make_httpd, front, server.url, pki.ca,
                      extra=ONE_CHILD + "<Location /items>\nItemsRetries 0\n</Location>\n")
        r = http.post(h.url + "/items/", data=b'{"name": "closing"}', headers=JSON)
        assert r.status_code == 201, r.text
        item = r.json()
        url = f"{h.url}/items/{item['id']}"
        assert http.get(url).json() == item

        steps = [
            # Closed just now: the module does not probe a connection used < 1 s ago, so it
            # sends on the dead one, fails before any answer byte and sends once more.
            ("GET", 0.0, None),
            ("POST", 0.0, json.dumps({"name": f"after {close_mode} close"})),
            # Idle past 1 s: the probe sees the close and a new connection is opened first.
            ("GET", 1.3, None),
            ("PATCH", 1.3, json.dumps({"closed": close_mode})),
        ]
        for method, idle, body in steps:
            assert server.close_all() == 1, (method, idle)
            counts = Counts(server, front)
            time.sleep(idle)
            if method == "GET":
                r = http.get(url)
                assert r.status_code == 200 and r.json()["id"] == item["id"], r.text
            elif method == "POST":
                r = http.post(h.url + "/items/", data=body, headers=JSON)
                assert r.status_code == 201, r.text
            else:
                r = http.patch(url, data=body, headers=MERGE)
                assert r.status_code == 200 and r.json()["closed"] == close_mode, r.text
            d = counts.delta()
            # Exactly one new connection, and the dead one delivered nothing upstream.
            assert (d["accepted"], d["handshakes"]) == (1, 1), (method, idle, d)
            assert d["sigv4_requests"] == d["sigv4_verified"] >= 1, (method, idle, d)
        names = [i["name"]["S"] for i in dynalite.scan_all(tls_table)]
        assert names.count(f"after {close_mode} close") == 1  # created once, not twice
    finally:
        server.stop()


def test_idle_timeout_of_the_server_is_survived(front, pki, tls_table, make_httpd, http):
    # A server that drops connections idle 0.4 s; calls 0.7 s apart each find theirs dead.
    server = TLSFront(front.port, pki.cert, pki.key, idle_close=0.4).start()
    try:
        h = serve_tls(make_httpd, front, server.url, pki.ca,
                      extra=ONE_CHILD + "<Location /items>\nItemsRetries 0\n</Location>\n")
        url = f"{h.url}/items/{uuid.uuid4()}"
        problem(http.get(url), 404)
        counts = Counts(server, front)
        for _ in range(3):
            time.sleep(0.7)
            problem(http.get(url), 404)
        d = counts.delta()
        assert d["handshakes"] == 3 and d["idle_closes"] >= 3, d
        assert d["sigv4_requests"] == d["sigv4_verified"] == 3, d
    finally:
        server.stop()
