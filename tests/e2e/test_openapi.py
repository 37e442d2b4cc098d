# SPDX-License-Identifier: Apache-2.0
"""The OpenAPI document: served by the items-openapi handler with the server URL of its
scope, its directives checked at startup, the Swagger UI page at /docs/, and the checker
that holds every answer of the suite to the document."""
import json
import os

import pytest

import harness
import openapi_check
from conftest import module_env

DOC = os.path.join(harness.DOCS_DIR, "openapi.json")
ALLOW = "GET, HEAD"


def source():
    with open(DOC, encoding="utf-8") as f:
        return json.load(f)


def assert_problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["type"] == "about:blank"
    assert body["title"] and body["detail"]
    return body


# --- serving ---------------------------------------------------------------------------------

def test_serves_the_document_with_the_default_server(http, api):
    r = http.get(api.url + "/openapi.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    served = r.json()
    expected = source()
    assert served["servers"][0]["url"] == "/items"
    assert served == expected, "the file as it is, but for servers[0].url"
    # Numbers keep their text (19.99, not 19.989999999999998).
    assert '"price":19.99,' in r.text
    head = http.head(api.url + "/openapi.json")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == r.headers["Content-Length"] == str(len(r.content))


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_405(http, api, method):
    r = http.request(method, api.url + "/openapi.json", data=b"{}")
    assert_problem(r, 405)
    assert r.headers["Allow"] == ALLOW


def test_nothing_below_the_document(http, api):
    assert_problem(http.get(api.url + "/openapi.json/more"), 404)


def test_server_url_follows_the_directive_per_location(front, make_httpd, http):
    conf = f"""<Location /openapi.json>
    ItemsOpenAPIServer https://api.example.com/v1/items
</Location>
<Location /other/openapi.json>
    SetHandler items-openapi
    ItemsOpenAPIFile "{DOC}"
    ItemsOpenAPIServer /other
    Require all granted
</Location>
"""
    h = make_httpd(env=module_env(front), extra_conf=conf)
    a = http.get(h.url + "/openapi.json").json()
    b = http.get(h.url + "/other/openapi.json").json()
    assert a["servers"][0]["url"] == "https://api.example.com/v1/items"
    assert b["servers"][0]["url"] == "/other"
    # Only the URL changes: the description and everything else stay.
    assert a["servers"][0]["description"] == source()["servers"][0]["description"]
    a["servers"] = b["servers"] = source()["servers"]
    assert a == b == source()


def test_a_document_without_servers_gets_one(front, make_httpd, http, tmp_path):
    doc = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}
    path = tmp_path / "bare.json"
    path.write_text(json.dumps(doc))
    h = make_httpd(env=module_env(front), extra_conf=f"""<Location /bare.json>
    SetHandler items-openapi
    ItemsOpenAPIFile "{path}"
    ItemsOpenAPIServer /api/items
    Require all granted
</Location>
""")
    assert http.get(h.url + "/bare.json").json() == {**doc, "servers": [{"url": "/api/items"}]}


def test_handler_without_a_document_is_500(front, make_httpd, http):
    h = make_httpd(env=module_env(front), extra_conf="""<Location /nodoc.json>
    SetHandler items-openapi
    Require all granted
</Location>
""", allowed_log=[r"ITEMS0110: SetHandler items-openapi without ItemsOpenAPIFile"])
    body = assert_problem(http.get(h.url + "/nodoc.json"), 500)
    assert "no OpenAPI document" in body["detail"]
    assert "ITEMS0110" in h.log_text()


# --- checked at startup -----------------------------------------------------------------------

@pytest.mark.parametrize("content,message", [
    (None, "cannot be read"),
    ('{"openapi": "3.1.0", "paths": {}', "is not valid JSON"),
    ('{"openapi": "3.1.0", "openapi": "3.1.0", "paths": {}}', "is not valid JSON"),
    ("[]", "is not a JSON object"),
    ('{"swagger": "2.0", "paths": {}}', "is not an OpenAPI 3 document"),
    ('{"openapi": "3.1.0"}', 'has no "paths" object'),
    ('{"openapi": "3.1.0", "paths": {}, "servers": ["/x"]}', "servers[0] is not an object"),
])
def test_configtest_rejects_bad_documents(front, tmp_path, content, message):
    path = tmp_path / "doc.json"
    if content is not None:
        path.write_text(content)
    h = harness.Httpd(env=module_env(front),
                      extra_conf=f'<Location /openapi.json>\nItemsOpenAPIFile "{path}"\n</Location>\n')
    try:
        res = h.configtest()
        assert res.returncode != 0
        assert "ItemsOpenAPIFile" in res.stderr and message in res.stderr, res.stderr
    finally:
        h.cleanup()


def test_configtest_names_the_line_of_a_json_error(front, tmp_path):
    path = tmp_path / "doc.json"
    path.write_text('{\n  "openapi": "3.1.0",\n  "paths": {,}\n}\n')
    h = harness.Httpd(env=module_env(front),
                      extra_conf=f'<Location /openapi.json>\nItemsOpenAPIFile "{path}"\n</Location>\n')
    try:
        res = h.configtest()
        assert res.returncode != 0 and "line 3" in res.stderr, res.stderr
    finally:
        h.cleanup()


@pytest.mark.parametrize("value", ["items", "ftp://example.com/items", "http://", '"/a b"',
                                   '"/a\\"b"'])
def test_configtest_rejects_bad_server_urls(front, value):
    h = harness.Httpd(env=module_env(front),
                      extra_conf=f"<Location /openapi.json>\nItemsOpenAPIServer {value}\n</Location>\n")
    try:
        res = h.configtest()
        assert res.returncode != 0
        assert "ItemsOpenAPIServer" in res.stderr, res.stderr
    finally:
        h.cleanup()


# --- Swagger UI at /docs/ ----------------------------------------------------------------------

def test_docs_page_and_its_files(http, api):
    r = http.get(api.url + "/docs", allow_redirects=False)
    assert r.status_code == 301 and r.headers["Location"].endswith("/docs/")
    page = http.get(api.url + "/docs/")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "swagger-ui/swagger-ui-bundle.js" in page.text and "../openapi.json" in page.text
    for path, ctype in [("/docs/swagger-ui/swagger-ui-bundle.js", "text/javascript"),
                        ("/docs/swagger-ui/swagger-ui.css", "text/css"),
                        ("/docs/swagger-ui/favicon-32x32.png", "image/png")]:
        got = http.get(api.url + path)
        assert got.status_code == 200, path
        assert got.headers["Content-Type"].split(";")[0] == ctype, path
        assert len(got.content) > 100


def test_docs_serves_only_what_the_page_loads(front, make_httpd, http):
    # Not the stock page of swagger-ui-dist (it loads an example API), nor a listing.
    h = make_httpd(env=module_env(front), allowed_log=[r"AH01630: client denied .*swagger-ui(-dist)?/"])
    for path in ["/docs/swagger-ui/index.html", "/docs/swagger-ui/", "/docs/swagger-ui/package.json",
                 "/docs/swagger-ui/swagger-initializer.js"]:
        assert_problem(http.get(h.url + path), 403)


# --- the checker itself --------------------------------------------------------------------------

STORED = {"id": "lamp-1", "name": "Lamp"}
JSON_HEADERS = {"Content-Type": "application/json", "ETag": '"0123456789abcdef"'}


@pytest.mark.parametrize("method,rel,status,headers,body", [
    ("GET", "/lamp-1", 200, JSON_HEADERS, STORED),
    ("GET", "/lamp-1", 200, {"Content-Type": "application/json"}, STORED),
    ("HEAD", "/", 200, {"Content-Type": "application/json"}, None),
    ("POST", "", 201, {**JSON_HEADERS, "Location": "/items/lamp-1"}, STORED),
    ("GET", "/", 200, {"Content-Type": "application/json",
                       "Link": '</items/?limit=1&cursor=abc>; rel="next"'}, [STORED]),
    ("DELETE", "/", 405, {"Content-Type": "application/problem+json",
                          "Allow": "GET, HEAD, POST, OPTIONS"},
     {"type": "about:blank", "title": "Method Not Allowed", "status": 405, "detail": "no"}),
    ("GET", "/a/b", 404, {"Content-Type": "application/problem+json"},
     {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "no"}),
])
def test_checker_accepts_documented_answers(method, rel, status, headers, body):
    raw = b"" if body is None else json.dumps(body).encode()
    assert openapi_check.checker().problems(method, rel, status, headers, raw) == []


@pytest.mark.parametrize("method,rel,status,headers,body,expect", [
    ("GET", "/lamp-1", 418, JSON_HEADERS, STORED, "status 418 is not documented"),
    ("POST", "/", 201, JSON_HEADERS, STORED, "required header Location is missing"),
    ("GET", "/lamp-1", 200, {"Content-Type": "text/plain"}, STORED, "Content-Type 'text/plain'"),
    ("GET", "/lamp-1", 200, JSON_HEADERS, {"id": "lamp-1"}, "'name' is a required property"),
    ("GET", "/lamp-1", 200, JSON_HEADERS, {**STORED, "_version": "1"}, "_version"),
    ("GET", "/", 200, {"Content-Type": "application/json"}, STORED, "is not of type 'array'"),
    ("GET", "/lamp-1", 404, {"Content-Type": "application/problem+json"},
     {"type": "about:blank", "title": "Not Found", "status": 400, "detail": "x"}, "404 was expected"),
    ("OPTIONS", "/", 204, {"Allow": "GET"}, None, "header Allow"),
    ("DELETE", "/x", 204, {}, {"unexpected": True}, "where none is documented"),
    ("GET", "/", 503, {"Content-Type": "application/problem+json"},
     {"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": "x"},
     "Retry-After is missing"),
])
def test_checker_rejects_what_the_document_does_not_say(method, rel, status, headers, body, expect):
    raw = b"" if body is None else json.dumps(body).encode()
    found = openapi_check.checker().problems(method, rel, status, headers, raw)
    assert any(expect in m for m in found), found


def test_every_example_in_the_document_is_valid():
    """The examples Swagger UI shows (and "Try it out" sends) validate against their schemas."""
    c = openapi_check.checker()
    checked = []

    def walk(node, pointer):
        if isinstance(node, dict):
            if "schema" in node and ("example" in node or "examples" in node):
                if "example" in node:
                    checked.append((f"{pointer}/schema", node["example"], f"{pointer}/example"))
                for name, ex in node.get("examples", {}).items():
                    if isinstance(ex, dict) and "value" in ex:
                        checked.append((f"{pointer}/schema", ex["value"], f"{pointer}/examples/{name}"))
            for k, v in node.items():
                walk(v, f"{pointer}/{openapi_check._escape(k)}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{pointer}/{i}")

    walk(c.doc["paths"], "/paths")
    walk(c.doc["components"]["responses"], "/components/responses")
    walk(c.doc["components"]["requestBodies"], "/components/requestBodies")
    for name, schema in c.doc["components"]["schemas"].items():
        for i, ex in enumerate(schema.get("examples", [])):
            checked.append((f"/components/schemas/{name}", ex, f"/components/schemas/{name}/examples/{i}"))
    assert len(checked) >= 20
    for schema, instance, where in checked:
        assert c.validate(schema, instance) == [], where
