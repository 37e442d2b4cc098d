# SPDX-License-Identifier: Apache-2.0
"""The items API end to end: real httpd + mod_items + signature-checking front + dynalite."""
import json
import re
import socket
import uuid

import pytest

from conftest import TABLE

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
JSON = {"Content-Type": "application/json"}


def assert_problem(resp, status, detail_part=None):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == "application/problem+json"
    body = resp.json()
    assert body["status"] == status
    assert body["title"] and body["type"] == "about:blank"
    assert isinstance(body["detail"], str) and body["detail"]
    if detail_part:
        assert detail_part in body["detail"], body["detail"]
    return body


def create(http, api, body, path="/items/", headers=JSON):
    return http.post(api.url + path, data=json.dumps(body).encode(), headers=headers)


# --- create ------------------------------------------------------------------------------

def test_create_returns_201_location_and_the_item(http, api, dynalite):
    r = create(http, api, {"name": "Test", "description": "Описание"})
    assert r.status_code == 201
    assert r.headers["Content-Type"] == "application/json"
    item = r.json()
    assert list(item) == ["id", "name", "description"]
    assert UUID4.match(item["id"])
    assert item["name"] == "Test" and item["description"] == "Описание"
    assert r.headers["Location"] == f"/items/{item['id']}"
    assert re.fullmatch(r'"[0-9a-f]{16}"', r.headers["ETag"])
    # Storage cross-check with a real AWS client: names and types as the module promises.
    stored = dynalite.client().get_item(TableName=TABLE, Key={"id": {"S": item["id"]}},
                                        ConsistentRead=True)["Item"]
    assert stored == {"id": {"S": item["id"]}, "name": {"S": "Test"},
                      "description": {"S": "Описание"},
                      "_version": {"S": r.headers["ETag"].strip('"')}}


def test_create_on_the_mount_point_without_slash(http, api):
    r = create(http, api, {"name": "no slash"}, path="/items")
    assert r.status_code == 201
    assert r.headers["Location"] == f"/items/{r.json()['id']}"
    assert "description" not in r.json()


def test_create_accepts_null_description_and_charset_parameter(http, api):
    r = create(http, api, {"name": "n", "description": None},
               headers={"Content-Type": "application/json; charset=UTF-8"})
    assert r.status_code == 201
    assert r.json()["description"] is None
    got = http.get(api.url + r.headers["Location"])
    assert got.json() == r.json()


def test_ids_are_distinct(http, api):
    ids = {create(http, api, {"name": f"n{i}"}).json()["id"] for i in range(20)}
    assert len(ids) == 20


def test_create_with_chunked_body(http, api):
    def chunks():
        yield b'{"name": "chun'
        yield b'ked", "description": "in parts"}'
    r = http.post(api.url + "/items/", data=chunks(), headers=JSON)
    assert r.status_code == 201
    assert r.json()["name"] == "chunked"


@pytest.mark.parametrize("body,status,detail", [
    (b'{"name": "x"', 400, "malformed JSON"),
    (b'not json', 400, "malformed JSON"),
    (b'', 400, "empty"),
    (b'{"name": "a", "name": "b"}', 400, "duplicate"),
    (b'{"name": "\xff\xfe"}', 400, "malformed JSON"),
    (b'{"name": "a\\u0000b"}', 400, "malformed JSON"),
    (b'[' * 40 + b']' * 40, 400, "nested"),
    (b'[{"name": "x"}]', 422, "JSON object"),
    (b'"just a string"', 422, "JSON object"),
    (b'{}', 422, "'name' is required"),
    (b'{"description": "no name"}', 422, "'name' is required"),
    (b'{"name": ""}', 422, "must not be empty"),
    (b'{"name": 5}', 422, "'name' must be a string"),
    (b'{"name": null}', 422, "'name' must be a string"),
    (b'{"name": "x", "description": 7}', 422, "'description' must be a string"),
    (b'{"name": "x", "id": "mine"}', 422, "'id' is assigned by the server"),
    (b'{"name": "x", "_version": "1"}', 422, "reserved"),
    (b'{"name": "x", "": 1}', 422, "must not be empty"),
    (b'{"name": "x", "n": 1e400}', 422, "outside DynamoDB's range"),
    (b'{"name": "x", "n": 1e-131}', 422, "outside DynamoDB's range"),
    (b'{"name": "x", "n": 123456789012345678901234567890123456789}', 422, "significant digits"),
    (b'{"name": "x", "n": NaN}', 400, "malformed JSON"),
    (b'{"name": "x", "n": Infinity}', 400, "malformed JSON"),
    (b'{"name": "x", "n": 01}', 400, "malformed JSON"),
    (b'{"name": "x", "n": 1.}', 400, "malformed JSON"),
    (b'{"name": "x", "n": -}', 400, "malformed JSON"),
    (b'{"name": "x"} trailing', 400, "malformed JSON"),
    (b'{"name": "x"}\x00', 400, "NUL"),
])
def test_create_rejects_bad_bodies(http, api, dynalite, body, status, detail):
    before = len(dynalite.scan_all(TABLE))
    r = http.post(api.url + "/items/", data=body, headers=JSON)
    assert_problem(r, status, detail)
    assert len(dynalite.scan_all(TABLE)) == before


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "application/jsonx", "json"])
def test_create_requires_json_content_type(http, api, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    r = http.post(api.url + "/items/", data=b'{"name": "x"}', headers=headers)
    assert_problem(r, 415, "application/json")


def test_create_accepts_structured_json_suffix(http, api):
    r = http.post(api.url + "/items/", data=b'{"name": "x"}',
                  headers={"Content-Type": "application/vnd.items+json"})
    assert r.status_code == 201


# --- read ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name,description", [
    ("Тест", "Описание на русском"),
    ("emoji 🎉🚀", "surrogate pairs 𝄞 and combining é"),
    ("quotes \" and \\ backslash", "tabs\tand\nnewlines"),
])
def test_utf8_round_trip(http, api, name, description):
    created = create(http, api, {"name": name, "description": description}).json()
    got = http.get(f"{api.url}/items/{created['id']}")
    assert got.status_code == 200
    assert got.headers["Content-Type"] == "application/json"
    assert got.json() == {"id": created["id"], "name": name, "description": description}


def test_get_unknown_id_is_404(http, api):
    assert_problem(http.get(f"{api.url}/items/{uuid.uuid4()}"), 404, "no item")


@pytest.mark.parametrize("path", ["/items/bad!id", "/items/" + "a" * 129, "/items/sp%20ace"])
def test_get_invalid_id_is_400(http, api, path):
    assert_problem(http.get(api.url + path), 400, "invalid item id")


@pytest.mark.parametrize("path", ["/items/a/b", "/items/a/", "/items/a/b/c"])
def test_paths_that_are_not_resources_are_404(http, api, path):
    assert_problem(http.get(api.url + path), 404, "no such resource")


def test_head_mirrors_get(http, api):
    created = create(http, api, {"name": "head"}).json()
    get = http.get(f"{api.url}/items/{created['id']}")
    head = http.head(f"{api.url}/items/{created['id']}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    assert http.head(f"{api.url}/items/?limit=1").status_code == 200


def test_item_created_elsewhere_with_other_types_reads_back(http, api, dynalite):
    dynalite.client().put_item(TableName=TABLE, Item={
        "id": {"S": "external-1"}, "name": {"S": "ext"}, "count": {"N": "42"},
        "ok": {"BOOL": True}, "none": {"NULL": True}, "tags": {"SS": ["a"]},
        "nested": {"M": {"list": {"L": [{"N": "1.5"}, {"S": "x"}]}}}})
    got = http.get(f"{api.url}/items/external-1").json()
    assert got == {"id": "external-1", "name": "ext", "count": 42, "ok": True, "none": None,
                   "tags": ["a"], "nested": {"list": [1.5, "x"]}}


# --- list ----------------------------------------------------------------------------------

def test_list_honours_limit(http, api):
    for i in range(5):
        create(http, api, {"name": f"list {i}"})
    r = http.get(f"{api.url}/items/?limit=3")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    items = r.json()
    assert isinstance(items, list) and len(items) == 3
    assert all({"id", "name"} <= set(i) for i in items)
    one = http.get(f"{api.url}/items?limit=1").json()
    assert len(one) == 1
    # The query is form-encoded: escapes and empty pairs are fine.
    assert len(http.get(f"{api.url}/items/?&limit=%32&").json()) == 2


def test_list_default_and_everything(http, api, dynalite):
    total = len(dynalite.scan_all(TABLE))
    assert total >= 5
    everything = http.get(f"{api.url}/items/?limit=1000").json()
    assert len(everything) == min(total, 1000)
    assert len({i["id"] for i in everything}) == len(everything)
    default = http.get(f"{api.url}/items/").json()
    assert len(default) == min(total, 50)


@pytest.mark.parametrize("query,detail", [
    ("limit=0", "from 1 to 1000"), ("limit=-1", "from 1 to 1000"),
    ("limit=1001", "from 1 to 1000"), ("limit=99999999999999999999", "from 1 to 1000"),
    ("limit=abc", "from 1 to 1000"), ("limit=", "from 1 to 1000"), ("limit", "from 1 to 1000"),
    ("limit=1.5", "from 1 to 1000"), ("limit=1&limit=2", "more than once"),
    ("limit=%00", "%-escape"), ("l%69mit=0", "from 1 to 1000"),
    ("sort=name", "unknown query parameter"), ("cursor=", "'cursor' is empty"),
    ("cursor=x", "not one this server issued"), ("cursor=a&cursor=b", "more than once"),
])
def test_list_rejects_bad_queries(http, api, query, detail):
    assert_problem(http.get(f"{api.url}/items/?{query}"), 400, detail)


# --- methods -------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path,allow", [
    ("DELETE", "/items/", "GET, HEAD, POST, OPTIONS"),
    ("PUT", "/items", "GET, HEAD, POST, OPTIONS"),
    ("PATCH", "/items/", "GET, HEAD, POST, OPTIONS"),
    ("POST", "/items/abc", "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"),
    ("TRACE2", "/items/abc", "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"),
])
def test_other_methods_are_405_with_allow(http, api, method, path, allow):
    r = http.request(method, api.url + path, data=b"{}", headers=JSON)
    assert_problem(r, 405, method)
    assert r.headers["Allow"] == allow


def test_options_lists_methods(http, api):
    r = http.options(api.url + "/items/")
    assert r.status_code == 204 and r.headers["Allow"] == "GET, HEAD, POST, OPTIONS"
    r = http.options(api.url + "/items/some-id")
    assert r.status_code == 204 and r.headers["Allow"] == "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"


# --- connections -----------------------------------------------------------------------------

def test_backend_connections_are_reused(http, api, front):
    before = front.connections
    for i in range(100):
        assert http.get(f"{api.url}/items/{uuid.uuid4()}").status_code == 404
    # Sequential requests: at most one kept-alive connection per httpd child (2 children).
    assert front.connections - before <= 2


def test_server_survives_a_client_that_hangs_up(api, http):
    with socket.create_connection(("127.0.0.1", api.port)) as s:
        s.sendall(b"POST /items/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000\r\n\r\n{\"name\":")
    assert http.get(f"{api.url}/items/?limit=1").status_code == 200


def test_thousands_of_concurrent_requests_reuse_backend_connections(api, front):
    import concurrent.futures
    import requests

    before = front.connections

    def worker(n):
        codes = []
        with requests.Session() as s:
            for i in range(125):
                codes.append(s.get(f"{api.url}/items/{uuid.uuid4()}").status_code)
        return codes

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = [c for batch in pool.map(worker, range(16)) for c in batch]
    assert codes == [404] * 2000
    # Never more backend connections than requests in flight (16 here), per child.
    opened = front.connections - before
    assert opened <= 2 * 16, opened


@pytest.mark.parametrize("path", ["/items/", "/items/abc"])
def test_trace_is_405_problem_with_allow(api, path):
    # TraceEnable off answers before the handler runs; the answer is still ours in form.
    with socket.create_connection(("127.0.0.1", api.port)) as s:
        s.sendall(b"TRACE " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 405 ")
    headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    assert headers[b"Content-Type"] == b"application/problem+json"
    assert b"GET" in headers[b"Allow"]
    assert json.loads(body)["status"] == 405
