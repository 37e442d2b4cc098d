# SPDX-License-Identifier: Apache-2.0
"""The full items resource: any attributes, PUT, PATCH (merge patch), DELETE, ETags and
preconditions, idempotent create, pagination."""
import concurrent.futures
import json
import uuid

import pytest

from harness import next_link, problem
from conftest import TABLE, module_env

JSON = {"Content-Type": "application/json"}
MERGE = {"Content-Type": "application/merge-patch+json"}


def post(http, api, raw, headers=JSON):
    return http.post(api.url + "/items/", data=raw if isinstance(raw, bytes) else json.dumps(raw),
                     headers=headers)


# --- attributes ------------------------------------------------------------------------

def test_any_attributes_round_trip_with_exact_numbers(http, api, dynalite):
    raw = (b'{"name":"rich","description":null,"tags":["a",1,true,null,{"x":[]}],'
           b'"dims":{"w":12.5,"h":-0.000125,"deep":{"deeper":{"n":1E+3}}},"ok":false,'
           b'"big":12345678901234567890123456789012345678,"tiny":1e-130,"huge":9.99E+125,'
           b'"price":19.99,"empty":"","zero":0}')
    r = post(http, api, raw)
    assert r.status_code == 201, r.text
    # The answer repeats the numbers exactly as sent.
    text = r.content.decode()
    for literal in ("12.5", "-0.000125", "1E+3", "12345678901234567890123456789012345678",
                    "1e-130", "9.99E+125", "19.99"):
        assert literal in text
    item_id = r.json()["id"]
    stored = dynalite.client().get_item(TableName=TABLE, Key={"id": {"S": item_id}},
                                        ConsistentRead=True)["Item"]
    assert stored["description"] == {"NULL": True}
    assert stored["ok"] == {"BOOL": False}
    assert stored["tags"]["L"][0] == {"S": "a"} and stored["tags"]["L"][3] == {"NULL": True}
    assert stored["dims"]["M"]["w"] == {"N": "12.5"}
    assert stored["big"] == {"N": "12345678901234567890123456789012345678"}
    got = http.get(f"{api.url}/items/{item_id}")
    assert got.status_code == 200
    # Numbers come back as JSON numbers with their full precision.
    body = json.loads(got.content, parse_float=str, parse_int=str)
    assert body["big"] == "12345678901234567890123456789012345678"
    assert float(body["price"]) == 19.99
    assert body["tags"][4] == {"x": []} and body["empty"] == ""


# --- PUT -------------------------------------------------------------------------------------

def test_put_creates_then_replaces(http, api):
    item_id = f"put-{uuid.uuid4()}"
    url = f"{api.url}/items/{item_id}"
    r = http.put(url, data=json.dumps({"name": "first", "extra": 1}), headers=JSON)
    assert r.status_code == 201 and r.headers["Location"] == f"/items/{item_id}"
    assert r.json() == {"id": item_id, "name": "first", "extra": 1}
    etag1 = r.headers["ETag"]
    r = http.put(url, data=json.dumps({"id": item_id, "name": "second"}), headers=JSON)
    assert r.status_code == 200 and "Location" not in r.headers
    assert r.headers["ETag"] != etag1
    assert http.get(url).json() == {"id": item_id, "name": "second"}


def test_put_preconditions(http, api):
    item_id = f"pre-{uuid.uuid4()}"
    url = f"{api.url}/items/{item_id}"
    body = json.dumps({"name": "v1"})
    # If-Match on an absent item fails; If-None-Match: * creates.
    problem(http.put(url, data=body, headers={**JSON, "If-Match": "*"}), 412)
    r = http.put(url, data=body, headers={**JSON, "If-None-Match": "*"})
    assert r.status_code == 201
    etag = r.headers["ETag"]
    problem(http.put(url, data=body, headers={**JSON, "If-None-Match": "*"}), 412)
    problem(http.put(url, data=body, headers={**JSON, "If-Match": '"0000000000000000"'}), 412)
    problem(http.put(url, data=body, headers={**JSON, "If-Match": "W/" + etag}), 412)
    r = http.put(url, data=json.dumps({"name": "v2"}),
                 headers={**JSON, "If-Match": f'"nope", {etag}'})
    assert r.status_code == 200
    problem(http.put(url, data=body, headers={**JSON, "If-Match": etag}), 412)  # now stale
    assert http.get(url).json()["name"] == "v2"
    problem(http.put(url, data=body, headers={**JSON, "If-Match": "nope"}), 400, "quoted")
    problem(http.put(url, data=body, headers={**JSON, "If-None-Match": '"x"'}), 400, "only '*'")


def test_put_rejects_mismatched_id_and_bad_bodies(http, api):
    url = f"{api.url}/items/put-bad"
    problem(http.put(url, data=json.dumps({"id": "other", "name": "x"}), headers=JSON), 422,
            "must equal the id in the path")
    problem(http.put(url, data=b'{"description": "no name"}', headers=JSON), 422, "'name'")
    problem(http.put(url, data=b'{"name": "x"}', headers={"Content-Type": "text/plain"}), 415)
    problem(http.get(url), 404)


# --- PATCH -------------------------------------------------------------------------------------

def make(http, api, body):
    r = post(http, api, body)
    assert r.status_code == 201, r.text
    return r.json()["id"], r.headers["ETag"]


def test_patch_merges_removes_and_versions(http, api):
    item_id, etag = make(http, api, {"name": "p", "description": "d", "keep": 1,
                                     "meta": {"a": 1, "b": {"c": 2, "d": 3}}})
    url = f"{api.url}/items/{item_id}"
    r = http.patch(url, data=json.dumps({"description": None, "new": [1, 2],
                                         "meta": {"a": None, "b": {"c": 20}, "e": "x"}}),
                   headers=MERGE)
    assert r.status_code == 200, r.text
    expect = {"id": item_id, "name": "p", "keep": 1, "new": [1, 2],
              "meta": {"b": {"c": 20, "d": 3}, "e": "x"}}
    assert r.json() == expect
    assert r.headers["ETag"] != etag
    got = http.get(url)
    assert got.json() == expect and got.headers["ETag"] == r.headers["ETag"]


def test_patch_nested_object_onto_a_scalar_or_missing_member(http, api):
    item_id, _ = make(http, api, {"name": "n", "meta": "not an object"})
    url = f"{api.url}/items/{item_id}"
    r = http.patch(url, data=json.dumps({"meta": {"x": 1, "gone": None}, "fresh": {"y": {"z": 2}}}),
                   headers=MERGE)
    assert r.status_code == 200, r.text
    assert r.json() == {"id": item_id, "name": "n", "meta": {"x": 1}, "fresh": {"y": {"z": 2}}}
    assert http.get(url).json() == r.json()


def test_patch_errors(http, api):
    item_id, etag = make(http, api, {"name": "e"})
    url = f"{api.url}/items/{item_id}"
    problem(http.patch(url, data=b'{"name": null}', headers=MERGE), 422, "cannot be removed")
    problem(http.patch(url, data=b'{"name": ""}', headers=MERGE), 422, "must not be empty")
    problem(http.patch(url, data=b'{"id": "other"}', headers=MERGE), 422, "must equal")
    problem(http.patch(url, data=b'{"_version": "x"}', headers=MERGE), 422, "reserved")
    problem(http.patch(url, data=b'[1]', headers=MERGE), 422, "JSON object")
    problem(http.patch(url, data=b'{"name": "x"}', headers=JSON), 415, "merge-patch")
    problem(http.patch(url, data=b'{"name": "x"}', headers={**MERGE, "If-Match": '"stale"'}), 412)
    problem(http.patch(f"{api.url}/items/{uuid.uuid4()}", data=b'{"a": 1}', headers=MERGE), 404)
    problem(http.patch(f"{api.url}/items/{uuid.uuid4()}", data=b'{"a": 1}',
                       headers={**MERGE, "If-Match": "*"}), 412)
    r = http.patch(url, data=b'{"name": "renamed"}', headers={**MERGE, "If-Match": etag})
    assert r.status_code == 200 and r.json()["name"] == "renamed"


def test_concurrent_patches_lose_nothing(http, api):
    item_id, _ = make(http, api, {"name": "race", "meta": {}})
    url = f"{api.url}/items/{item_id}"

    def patch(i):
        import requests
        body = {f"k{i}": i, "meta": {f"m{i}": i}}
        return requests.patch(url, data=json.dumps(body), headers=MERGE, timeout=30).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(patch, range(32)))
    assert codes == [200] * 32
    final = http.get(url).json()
    assert all(final[f"k{i}"] == i and final["meta"][f"m{i}"] == i for i in range(32))


# --- DELETE and GET preconditions --------------------------------------------------------------

def test_delete(http, api):
    item_id, etag = make(http, api, {"name": "del"})
    url = f"{api.url}/items/{item_id}"
    problem(http.delete(url, headers={"If-Match": '"0000000000000000"'}), 412)
    r = http.delete(url, headers={"If-Match": etag})
    assert r.status_code == 204 and r.content == b""
    problem(http.get(url), 404)
    problem(http.delete(url), 404)
    problem(http.delete(url, headers={"If-Match": "*"}), 412)


def test_get_if_none_match_and_head_etag(http, api):
    item_id, etag = make(http, api, {"name": "cache"})
    url = f"{api.url}/items/{item_id}"
    r = http.get(url, headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b"" and r.headers["ETag"] == etag
    assert http.get(url, headers={"If-None-Match": "W/" + etag}).status_code == 304
    assert http.get(url, headers={"If-None-Match": '"other", ' + etag}).status_code == 304
    assert http.get(url, headers={"If-None-Match": "*"}).status_code == 304
    assert http.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    head = http.head(url)
    assert head.status_code == 200 and head.headers["ETag"] == etag
    problem(http.get(url, headers={"If-None-Match": "garbage"}), 400)


# --- idempotent create ---------------------------------------------------------------------------

def test_idempotency_key_makes_create_repeatable(http, api, dynalite):
    key = f"order-{uuid.uuid4()}"
    body = {"name": "once", "qty": 2}
    first = post(http, api, body, headers={**JSON, "Idempotency-Key": key})
    assert first.status_code == 201
    # Same content with other key order and spacing is the same request.
    again = post(http, api, b'{ "qty": 2,  "name": "once" }', headers={**JSON, "Idempotency-Key": key})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    matches = [i for i in dynalite.scan_all(TABLE) if i["id"]["S"] == first.json()["id"]]
    assert len(matches) == 1
    problem(post(http, api, {"name": "twice"}, headers={**JSON, "Idempotency-Key": key}), 409,
            "different request body")


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "é-non-ascii"])
def test_idempotency_key_must_be_valid(http, api, key):
    headers = {**JSON, "Idempotency-Key": key.encode("utf-8")}
    problem(post(http, api, {"name": "k"}, headers=headers), 400, "Idempotency-Key")


# --- pagination ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paged(front, dynalite):
    """An httpd on a table of 237 items."""
    import harness
    dynalite.create_table("paged")
    c = dynalite.client()
    ids = set()
    for i in range(237):
        item_id = f"p{i:04d}"
        c.put_item(TableName="paged", Item={"id": {"S": item_id}, "name": {"S": f"n{i}"}})
        ids.add(item_id)
    h = harness.Httpd(env=module_env(front, DYNAMODB_TABLE="paged"))
    h.start()
    yield h, ids
    h.stop(wait=False)
    bad = h.unexpected_log_lines()
    h.cleanup()
    assert not bad


@pytest.mark.parametrize("limit", [2, 7, 50, 236, 237, 1000])
def test_following_next_returns_every_item_exactly_once(http, paged, limit):
    h, ids = paged
    seen, url, pages = [], f"{h.url}/items/?limit={limit}", 0
    while url:
        r = http.get(url if url.startswith("http") else h.url + url)
        assert r.status_code == 200
        page = r.json()
        assert isinstance(page, list) and 0 < len(page) <= limit
        seen += [i["id"] for i in page]
        url = next_link(r)
        pages += 1
        assert pages <= 300
    assert len(seen) == len(ids) and set(seen) == ids
    assert pages == -(-len(ids) // limit)


def test_cursor_is_tamper_evident(http, paged, dynalite, front, make_httpd):
    h, _ = paged
    r = http.get(f"{h.url}/items/?limit=5")
    link = next_link(r)
    cursor = link.split("cursor=")[1]
    flipped = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    problem(http.get(f"{h.url}/items/?limit=5&cursor={flipped}"), 400, "cursor")
    problem(http.get(f"{h.url}/items/?limit=5&cursor={cursor[:-1]}"), 400, "cursor")
    problem(http.get(f"{h.url}/items/?limit=5&cursor={'A' * 40}"), 400, "cursor")
    # A cursor is bound to the key (and table) that made it.
    other = make_httpd(env=module_env(front), extra_conf="ItemsCursorSecret 0123456789abcdef-shared\n")
    problem(http.get(f"{other.url}/items/?limit=5&cursor={cursor}"), 400, "cursor")


def test_cursor_secret_makes_cursors_portable(http, front, make_httpd):
    conf = "ItemsCursorSecret 0123456789abcdef-shared\n"
    a = make_httpd(env=module_env(front), extra_conf=conf)
    b = make_httpd(env=module_env(front), extra_conf=conf)
    for i in range(3):
        post(http, a, {"name": f"portable {i}"})
    link = next_link(http.get(f"{a.url}/items/?limit=1"))
    assert link
    assert http.get(b.url + link).status_code == 200


def test_item_over_400kb_is_413(http, front, make_httpd):
    h = make_httpd(env=module_env(front),
                   extra_conf="<Location /items>\nItemsMaxBodySize 1048576\n</Location>\n")
    problem(post(http, h, {"name": "big", "blob": "x" * (401 * 1024)}), 413, "400")
