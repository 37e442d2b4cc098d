# SPDX-License-Identifier: Apache-2.0
"""Hostile input: raw requests, each answered with its exact status as problem+json, with
httpd still serving afterwards and nothing written to the table."""
import socket

import pytest

import harness
import openapi_check
from conftest import module_env

HOSTILE_TABLE = "hostile"


@pytest.fixture(scope="module")
def target(front, dynalite):
    dynalite.create_table(HOSTILE_TABLE)
    h = harness.Httpd(env=module_env(front, DYNAMODB_TABLE=HOSTILE_TABLE),
                      extra_conf="<Location /items>\nItemsMaxBodySize 4096\n</Location>\n",
                      allowed_log=[r"AH00126", r"AH00127", r"AH00561", r"AH00566", r"AH00567",
                                   r"AH02430", r"AH02429", r"AH10173", r"AH10244", r"AH00565",
                                   r"AH00569", r"AH00570", r"AH02428", r"AH10001", r"AH00564"])
    h.start()
    yield h, dynalite
    h.stop(wait=False)
    bad = h.unexpected_log_lines()
    h.cleanup()
    assert not bad, bad


def raw(port, data, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    resp = b"".join(chunks)
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode()] = v.strip().decode("latin-1")
    return status, headers, body


def request(method, path, body=b"", content_type=b"application/json", extra=b""):
    head = method.encode() + b" " + path + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
    if content_type is not None and body:
        head += b"Content-Type: " + content_type + b"\r\n"
    if body:
        head += b"Content-Length: %d\r\n" % len(body)
    return head + extra + b"\r\n" + body


def post(body, content_type=b"application/json", extra=b""):
    return request("POST", b"/items/", body, content_type, extra)


CASES = [
    # bodies that are not JSON
    ("truncated", post(b'{"name": "x"'), 400),
    ("trailing garbage", post(b'{"name": "x"} x'), 400),
    ("two documents", post(b'{"name": "x"}{"name": "y"}'), 400),
    ("invalid utf-8", post(b'{"name": "\xc3\x28"}'), 400),
    ("overlong utf-8", post(b'{"name": "\xc0\xaf"}'), 400),
    ("utf-16 surrogate bytes", post(b'{"name": "\xed\xa0\x80"}'), 400),
    ("lone surrogate escape", post(b'{"name": "\\ud800"}'), 400),
    ("raw NUL", post(b'{"name": "a\x00b"}'), 400),
    ("escaped NUL", post(b'{"name": "a\\u0000b"}'), 400),
    ("NUL in a key", post(b'{"na\\u0000me": "x"}'), 400),
    ("duplicate keys", post(b'{"name": "a", "name": "b"}'), 400),
    ("nested 33 deep", post(b'{"name": "x", "d": ' + b"[" * 32 + b"]" * 32 + b"}"), 400),
    ("nested 2000 deep", post(b"[" * 2000 + b"]" * 2000), 400),
    ("single quotes", post(b"{'name': 'x'}"), 400),
    ("comment", post(b'{"name": "x" /* c */}'), 400),
    ("NaN", post(b'{"name": "x", "n": NaN}'), 400),
    ("leading zero", post(b'{"name": "x", "n": 007}'), 400),
    ("hex number", post(b'{"name": "x", "n": 0x10}'), 400),
    ("plus sign", post(b'{"name": "x", "n": +1}'), 400),
    ("unterminated string", post(b'{"name": "x}'), 400),
    ("control char in string", post(b'{"name": "a\tb"}'), 400),
    ("bad escape", post(b'{"name": "\\q"}'), 400),
    ("whitespace only", post(b"   \n "), 400),
    ("BOM", post(b'\xef\xbb\xbf{"name": "x"}'), 400),
    # JSON that is not an item
    ("array", post(b'[{"name": "x"}]'), 422),
    ("string", post(b'"name"'), 422),
    ("number", post(b"42"), 422),
    ("null", post(b"null"), 422),
    ("true", post(b"true"), 422),
    ("no name", post(b'{"description": "d"}'), 422),
    ("empty name", post(b'{"name": ""}'), 422),
    ("numeric name", post(b'{"name": 1}'), 422),
    ("object name", post(b'{"name": {"x": 1}}'), 422),
    ("bool description", post(b'{"name": "x", "description": true}'), 422),
    ("id given", post(b'{"name": "x", "id": "mine"}'), 422),
    ("reserved name", post(b'{"name": "x", "_version": "v"}'), 422),
    ("empty attribute name", post(b'{"name": "x", "": 1}'), 422),
    ("number too large", post(b'{"name": "x", "n": 1e126}'), 422),
    ("number too small", post(b'{"name": "x", "n": -1e-131}'), 422),
    ("39 digits", post(b'{"name": "x", "n": 1.23456789012345678901234567890123456789}'), 422),
    ("long name", post(b'{"name": "' + b"x" * 1025 + b'"}'), 422),
    # sizes and framing
    ("empty body", request("POST", b"/items/", b"", extra=b"Content-Type: application/json\r\n"
                           b"Content-Length: 0\r\n"), 400),
    ("declared too large", request("POST", b"/items/", b"", extra=b"Content-Type: application/json\r\n"
                                   b"Content-Length: 100000\r\n"), 413),
    ("sent too large", post(b'{"name": "' + b"x" * 5000 + b'"}'), 413),
    ("chunked too large", request("POST", b"/items/", b"", extra=b"Content-Type: application/json\r\n"
                                  b"Transfer-Encoding: chunked\r\n\r\n1400\r\n" + b"x" * 5120
                                  + b"\r\n0\r\n"), 413),
    ("broken chunking", request("POST", b"/items/", b"", extra=b"Content-Type: application/json\r\n"
                                b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n"), 400),
    ("huge header", request("GET", b"/items/", extra=b"X-Big: " + b"y" * 10000 + b"\r\n"), 400),
    ("too many headers", request("GET", b"/items/", extra=b"".join(b"X-H%d: v\r\n" % i
                                                                    for i in range(120))), 400),
    ("bad request line", b"GET /items/ HTTP/1.1 extra\r\nHost: t\r\n\r\n", 400),
    # content types
    ("no content type", post(b'{"name": "x"}', content_type=None), 415),
    ("text/plain", post(b'{"name": "x"}', content_type=b"text/plain"), 415),
    ("form", post(b"name=x", content_type=b"application/x-www-form-urlencoded"), 415),
    ("xml", post(b"<name>x</name>", content_type=b"application/xml"), 415),
    ("json prefix", post(b'{"name": "x"}', content_type=b"application/jsonp"), 415),
    ("merge patch on POST", post(b'{"name": "x"}', content_type=b"text/json"), 415),
    ("PATCH with plain json", request("PATCH", b"/items/abc", b'{"name": "x"}'), 415),
    # methods
    ("DELETE collection", request("DELETE", b"/items/"), 405),
    ("PUT collection", request("PUT", b"/items/", b'{"name": "x"}'), 405),
    ("PATCH collection", request("PATCH", b"/items/", b'{"name": "x"}',
                                 b"application/merge-patch+json"), 405),
    ("POST item", request("POST", b"/items/abc", b'{"name": "x"}'), 405),
    ("unknown method", request("BREW", b"/items/"), 405),
    ("TRACE", request("TRACE", b"/items/"), 405),
    # paths
    ("nested path", request("GET", b"/items/a/b"), 404),
    ("trailing slash on item", request("GET", b"/items/a/"), 404),
    ("encoded slash", request("GET", b"/items/a%2Fb"), 404),
    ("bad id chars", request("GET", b"/items/a!b"), 400),
    ("id too long", request("GET", b"/items/" + b"a" * 129), 400),
    ("encoded NUL in id", request("GET", b"/items/a%00b"), 404),
    ("non-ascii id", request("GET", b"/items/%C3%A9"), 400),
    ("PUT to bad id", request("PUT", b"/items/a!b", b'{"name": "x"}'), 400),
    # queries
    ("limit 0", request("GET", b"/items/?limit=0"), 400),
    ("limit negative", request("GET", b"/items/?limit=-5"), 400),
    ("limit huge", request("GET", b"/items/?limit=18446744073709551617"), 400),
    ("limit text", request("GET", b"/items/?limit=ten"), 400),
    ("limit repeated", request("GET", b"/items/?limit=1&limit=1"), 400),
    ("unknown parameter", request("GET", b"/items/?q=x"), 400),
    ("broken escape", request("GET", b"/items/?limit=%zz"), 400),
    ("forged cursor", request("GET", b"/items/?cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 400),
    ("cursor not base64", request("GET", b"/items/?cursor=***************************"), 400),
    # headers
    ("idempotency key too long", post(b'{"name": "x"}', extra=b"Idempotency-Key: " + b"k" * 256
                                      + b"\r\n"), 400),
    ("idempotency key not ascii", post(b'{"name": "x"}', extra=b"Idempotency-Key: \xff\xfe\r\n"), 400),
    ("malformed If-Match", request("PUT", b"/items/x1", b'{"name": "x"}',
                                   extra=b"If-Match: abc\r\n"), 400),
    ("unclosed If-Match", request("DELETE", b"/items/x1", extra=b'If-Match: "abc\r\n'), 400),
    ("If-None-Match tag on PUT", request("PUT", b"/items/x1", b'{"name": "x"}',
                                         extra=b'If-None-Match: "a"\r\n'), 400),
    ("If-Match on absent item", request("PUT", b"/items/x1", b'{"name": "x"}',
                                        extra=b"If-Match: *\r\n"), 412),
    ("delete absent", request("DELETE", b"/items/absent"), 404),
    ("patch absent", request("PATCH", b"/items/absent", b'{"a": 1}', b"application/merge-patch+json"),
     404),
]


def test_matrix_is_large_enough():
    assert len(CASES) >= 60


@pytest.mark.parametrize("name,data,status", CASES, ids=[c[0] for c in CASES])
def test_hostile_request(target, name, data, status):
    h, dynalite = target
    got, headers, body = raw(h.port, data)
    assert got == status, body[:300]
    openapi_check.checker().check_raw(data, got, headers, body)
    assert headers.get("content-type") == "application/problem+json", (headers, body[:300])
    import json
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["detail"]
    # Still serving, and nothing was written.
    ok, _, listing = raw(h.port, request("GET", b"/items/?limit=5"))
    assert ok == 200 and listing == b"[]"
    assert dynalite.scan_all(HOSTILE_TABLE) == []
