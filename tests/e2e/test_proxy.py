# SPDX-License-Identifier: Apache-2.0
"""DynamoDB through an egress proxy: libcurl's standard proxy environment (http_proxy for an
http:// endpoint, NO_PROXY/no_proxy exclusions) makes the module open a CONNECT tunnel and
write its requests through it, keeping the tunnel alive like any other connection. A proxy
that refuses the tunnel is a prompt 5xx with one precise error-log line; an excluded host is
reached directly.

Each test gets its own signature-checking front (so what reached the backend can be counted)
and its own proxy (tests/e2e/connect_proxy.py). The proxy variables of the environment the
tests run in are removed from httpd's, so only the test's own settings count."""
import json
import time

import pytest
import requests

from harness import problem
from conftest import module_env, verifying_front
from connect_proxy import ConnectProxy

JSON = {"Content-Type": "application/json"}

# Every variable libcurl reads to pick a proxy or skip one.
PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
              "ALL_PROXY", "no_proxy", "NO_PROXY")


@pytest.fixture
def backend(dynalite):
    """A front of this test's own: its counters are this test's only."""
    with verifying_front(dynalite) as f:
        yield f


@pytest.fixture
def proxies():
    """Start CONNECT proxies for one test; all are stopped after it."""
    started = []

    def start(**kw):
        p = ConnectProxy(**kw).start()
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


def serve(make_httpd, backend, proxy_env, allowed=(), extra=""):
    """httpd against backend with exactly proxy_env as its proxy settings."""
    h = make_httpd(env=module_env(backend), extra_conf=extra, allowed_log=allowed, start=False)
    for k in PROXY_VARS:
        h.env.pop(k, None)
    h.env.update(proxy_env)
    return h.start()


def target(backend):
    return f"127.0.0.1:{backend.port}"


def crud(http, h):
    """Create, read back and list one item; the item."""
    r = http.post(h.url + "/items/", data=json.dumps({"name": "via proxy"}).encode(),
                  headers=JSON)
    assert r.status_code == 201, r.text
    item = r.json()
    got = http.get(h.url + f"/items/{item['id']}")
    assert got.status_code == 200, got.text
    assert got.json() == item
    listed = http.get(h.url + "/items/?limit=100")
    assert listed.status_code == 200, listed.text
    return item


def test_http_proxy_tunnels_to_the_endpoint_and_the_tunnel_is_kept_alive(
        make_httpd, backend, proxies, http):
    proxy = proxies()
    # Client connections kept longer than the module's idle probe (1 s), so that one
    # client connection can come back to the same child after its tunnel sat idle.
    h = serve(make_httpd, backend, {"http_proxy": proxy.url}, extra="KeepAliveTimeout 5\n")

    # One client connection, so one httpd child: create, GET and list share one tunnel.
    item = crud(http, h)
    assert proxy.connects == [target(backend)]
    assert proxy.tunnels == 1, proxy.stats()
    assert proxy.other == []  # nothing was sent to the proxy in plain text
    assert backend.requests == 3 and backend.verified == 3
    assert backend.connections == 1  # the backend saw nothing but the tunnel

    # Idle past the probe: the tunnel is still open, so it is used again.
    time.sleep(1.3)
    assert http.get(h.url + f"/items/{item['id']}").status_code == 200
    assert proxy.tunnels == 1 and proxy.closed_tunnels == 0, proxy.stats()

    # 20 more GETs, each on a new client connection (either child): at most one tunnel
    # more per child, never one per request.
    for _ in range(20):
        r = requests.get(h.url + "/items/nope", headers={"Connection": "close"})
        assert r.status_code == 404, r.text
    assert proxy.tunnels <= 1 + 2, proxy.stats()
    assert set(proxy.connects) == {target(backend)}
    assert proxy.refused == [] and proxy.other == []
    assert backend.connections == proxy.tunnels
    assert backend.requests >= 3 + 20


def test_a_tunnel_the_proxy_closed_is_replaced(make_httpd, backend, proxies, http):
    # Egress proxies close idle tunnels: the next call notices and opens a new one.
    proxy = proxies()
    h = serve(make_httpd, backend, {"http_proxy": proxy.url}, extra="KeepAliveTimeout 5\n")
    item = crud(http, h)
    assert proxy.tunnels == 1
    assert proxy.drop_tunnels() == 1
    time.sleep(0.2)  # the close reaches the module's side of the tunnel
    for _ in range(3):
        r = http.get(h.url + f"/items/{item['id']}")
        assert r.status_code == 200, r.text
    assert proxy.tunnels == 2, proxy.stats()
    # Idle past the probe, then closed: the probe sees it before anything is sent.
    time.sleep(1.3)
    assert proxy.drop_tunnels() == 1
    time.sleep(0.2)
    r = http.get(h.url + f"/items/{item['id']}")
    assert r.status_code == 200, r.text
    assert proxy.tunnels == 3, proxy.stats()
    assert set(proxy.connects) == {target(backend)} and proxy.refused == []


def test_proxy_credentials_from_the_proxy_url(make_httpd, backend, proxies, http):
    proxy = proxies(auth="egress:s3cr:et")
    # The password holds a ':', percent-encoded in the URL as it must be.
    url = f"http://egress:s3cr%3Aet@127.0.0.1:{proxy.port}"
    h = serve(make_httpd, backend, {"http_proxy": url})
    crud(http, h)
    assert proxy.tunnels == 1 and proxy.refused == [], proxy.stats()
    assert all(a and a.startswith("Basic ") for a in proxy.proxy_auth), proxy.proxy_auth
    h.stop()
    assert "s3cr" not in h.log_text()


@pytest.mark.parametrize("method,path,operation", [("POST", "/items/", "PutItem"),
                                                   ("GET", "/items/abc", "GetItem"),
                                                   ("GET", "/items/?limit=2", "Scan")])
def test_proxy_refusing_the_tunnel_is_a_prompt_5xx(make_httpd, backend, proxies, http,
                                                    method, path, operation):
    proxy = proxies(allow=())  # 403 to every target
    h = serve(make_httpd, backend, {"http_proxy": proxy.url},
              allowed=[rf"ITEMS0201: DynamoDB {operation} failed .* HTTP 0: .*"
                       r"CONNECT tunnel failed, response 403"])
    started = time.monotonic()
    r = http.request(method, h.url + path, data=json.dumps({"name": "x"}).encode(),
                     headers=JSON)
    elapsed = time.monotonic() - started
    problem(r, 503)  # nothing reached DynamoDB: unreachable, not a bad answer
    assert elapsed < 3, elapsed
    assert proxy.tunnels == 0
    # One attempt: a refusal is not retried (ItemsRetries would allow 3 more).
    assert len(proxy.connects) == 1, proxy.stats()
    assert set(proxy.connects) == {target(backend)}
    assert all(status == 403 for _, status in proxy.refused)
    assert backend.connections == 0 and backend.requests == 0  # nothing reached DynamoDB
    log = h.log_text()
    assert log.count("ITEMS0201") == 1, log
    assert "response 403" in log


def test_proxy_demanding_credentials_not_given_is_a_prompt_5xx(make_httpd, backend, proxies,
                                                                http):
    proxy = proxies(auth="egress:secret")
    h = serve(make_httpd, backend, {"http_proxy": proxy.url},
              allowed=[r"ITEMS0201: DynamoDB GetItem failed .* HTTP 0: .*"
                       r"CONNECT tunnel failed, response 407"])
    r = http.get(h.url + "/items/abc")
    problem(r, 503)
    assert r.elapsed.total_seconds() < 3
    assert proxy.tunnels == 0 and proxy.refused and \
        all(status == 407 for _, status in proxy.refused)
    assert len(proxy.connects) == 1, proxy.stats()  # not retried
    assert backend.connections == 0
    assert "response 407" in h.log_text()


@pytest.mark.parametrize("name,value", [("NO_PROXY", "127.0.0.1"),
                                        ("no_proxy", "example.invalid,127.0.0.1")])
def test_no_proxy_naming_the_endpoint_host_bypasses_the_proxy(make_httpd, backend, proxies,
                                                               http, name, value):
    proxy = proxies()
    h = serve(make_httpd, backend, {"http_proxy": proxy.url, name: value})
    crud(http, h)
    assert proxy.connects == [] and proxy.other == [], proxy.stats()
    assert backend.connections >= 1 and backend.requests >= 3
