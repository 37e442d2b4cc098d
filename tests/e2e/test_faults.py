# SPDX-License-Identifier: Apache-2.0
"""Never lose an item: faults injected between the module and DynamoDB (module -> fault proxy
-> signature-checking front -> dynalite). Each scenario asserts the HTTP answer and the
table's exact contents afterwards."""
import json
import uuid

import pytest

import harness
from conftest import module_env
from fault_proxy import FaultProxy

TABLE = "faults"
JSON = {"Content-Type": "application/json"}
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture(scope="module")
def rig(front, dynalite):
    dynalite.create_table(TABLE)
    proxy = FaultProxy(front.url).start()
    h = harness.Httpd(env=module_env(front, DYNAMODB_TABLE=TABLE, DYNAMODB_ENDPOINT_URL=proxy.url),
                      extra_conf="<Location /items>\nItemsTimeout 1\nItemsDeadline 8\n"
                                 "ItemsRetries 4\n</Location>\n",
                      allowed_log=[r"ITEMS0201: DynamoDB \w+ failed"])
    h.start()
    try:
        yield h, proxy, dynalite
    finally:
        h.stop(wait=False)
        proxy.stop()
        h.cleanup()


@pytest.fixture
def env(rig):
    h, proxy, dynalite = rig
    proxy.clear()
    c = dynalite.client()
    for item in dynalite.scan_all(TABLE):
        c.delete_item(TableName=TABLE, Key={"id": item["id"]})
    proxy.reset_counters()
    return h, proxy, dynalite


def stored(dynalite):
    """The table as {id: plain attributes} (without the module's '_' attributes)."""
    out = {}
    for item in dynalite.scan_all(TABLE):
        plain = {k: list(v.values())[0] for k, v in item.items() if not k.startswith("_")}
        out[plain["id"]] = plain
    return out


def post(http, h, body, **headers):
    return http.post(h.url + "/items/", data=json.dumps(body), headers={**JSON, **headers})


CREATE_FAULTS = [
    ("latency", lambda p: p.latency(0.3, op="PutItem")),
    ("refused connection", lambda p: p.refuse()),
    ("reset before forwarding", lambda p: p.reset_before(op="PutItem")),
    ("reset after forwarding (write done, answer lost)", lambda p: p.reset_after(op="PutItem")),
    ("truncated answer after the write", lambda p: p.truncate(1, op="PutItem")),
    ("garbage answer", lambda p: p.garbage(op="PutItem")),
    ("slow drip", lambda p: p.slow_drip(200, op="PutItem")),
    ("500 twice", lambda p: p.status(500, "InternalServerError", times=2, op="PutItem")),
    ("503 twice", lambda p: p.status(503, "ServiceUnavailable", times=2, op="PutItem")),
    ("throttled three times", lambda p: p.status(400, "ThrottlingException", times=3, op="PutItem")),
    ("provisioned throughput exceeded twice",
     lambda p: p.status(400, "ProvisionedThroughputExceededException", times=2, op="PutItem")),
    ("no answer, then fine", lambda p: p.hang(op="PutItem")),
]


@pytest.mark.parametrize("name,inject", CREATE_FAULTS, ids=[c[0] for c in CREATE_FAULTS])
def test_create_survives(env, http, name, inject):
    h, proxy, dynalite = env
    inject(proxy)
    r = post(http, h, {"name": f"create through {name}"})
    assert r.status_code == 201, r.text
    item = r.json()
    assert stored(dynalite) == {item["id"]: {"id": item["id"], "name": f"create through {name}"}}
    assert http.get(f"{h.url}/items/{item['id']}").json() == item


def test_idempotent_create_with_lost_answer(env, http):
    h, proxy, dynalite = env
    proxy.reset_after(op="PutItem")
    r = post(http, h, {"name": "keyed"}, **{"Idempotency-Key": f"k-{uuid.uuid4()}"})
    assert r.status_code == 201
    assert list(stored(dynalite)) == [r.json()["id"]]


def test_put_with_lost_answer(env, http):
    h, proxy, dynalite = env
    item_id = f"put-{uuid.uuid4()}"
    proxy.reset_after(op="PutItem")
    r = http.put(f"{h.url}/items/{item_id}", data=b'{"name": "put once"}',
                 headers={**JSON, "If-None-Match": "*"})
    assert r.status_code == 201, r.text
    assert stored(dynalite) == {item_id: {"id": item_id, "name": "put once"}}


def test_patch_with_lost_answer(env, http):
    h, proxy, dynalite = env
    created = post(http, h, {"name": "to patch", "n": 1})
    etag = created.headers["ETag"]
    item_id = created.json()["id"]
    proxy.reset_after(op="UpdateItem")
    r = http.patch(f"{h.url}/items/{item_id}", data=b'{"n": 2, "extra": "x"}',
                   headers={**MERGE, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": item_id, "name": "to patch", "n": 2, "extra": "x"}
    assert r.headers["ETag"] != etag
    assert stored(dynalite) == {item_id: {"id": item_id, "name": "to patch", "n": "2", "extra": "x"}}
    assert http.get(f"{h.url}/items/{item_id}").headers["ETag"] == r.headers["ETag"]


def test_delete_with_lost_answer(env, http):
    h, proxy, dynalite = env
    created = post(http, h, {"name": "to delete"})
    proxy.reset_after(op="DeleteItem")
    r = http.delete(f"{h.url}/items/{created.json()['id']}",
                    headers={"If-Match": created.headers["ETag"]})
    assert r.status_code == 204, r.text
    assert stored(dynalite) == {}


def test_read_survives_garbage_and_hang(env, http):
    h, proxy, dynalite = env
    item = post(http, h, {"name": "read me"}).json()
    proxy.garbage(op="GetItem")
    proxy.hang(op="GetItem")
    proxy.truncate(5, op="GetItem")
    r = http.get(f"{h.url}/items/{item['id']}")
    assert r.status_code == 200 and r.json() == item
    assert proxy.ops["GetItem"] == 4


def test_endless_throttling_is_503_and_writes_nothing(env, http):
    h, proxy, dynalite = env
    proxy.status(400, "ThrottlingException", times=None, op="PutItem")
    r = post(http, h, {"name": "never"})
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert r.headers["Content-Type"] == "application/problem+json"
    assert proxy.ops["PutItem"] == 5  # one attempt and ItemsRetries 4
    assert stored(dynalite) == {}


def test_endless_5xx_is_502_and_writes_nothing(env, http):
    h, proxy, dynalite = env
    proxy.status(500, "InternalServerError", times=None, op="PutItem")
    r = post(http, h, {"name": "never"})
    assert r.status_code == 502
    assert stored(dynalite) == {}


def test_validation_and_condition_failures_are_never_retried(env, http):
    h, proxy, dynalite = env
    proxy.status(400, "ValidationException", "no", op="GetItem")
    assert http.get(f"{h.url}/items/abc").status_code == 502
    assert proxy.ops["GetItem"] == 1
    proxy.reset_counters()
    created = post(http, h, {"name": "cond"})
    r = http.put(f"{h.url}/items/{created.json()['id']}", data=b'{"name": "x"}',
                 headers={**JSON, "If-Match": '"0000000000000000"'})
    assert r.status_code == 412
    assert proxy.ops["PutItem"] == 2  # the create, and the conditional PUT once


def test_deadline_bounds_a_hanging_backend(env, http):
    h, proxy, dynalite = env
    proxy.hang(times=None, op="GetItem")
    r = http.get(f"{h.url}/items/abc")
    assert r.status_code == 504
    assert r.elapsed.total_seconds() < 8 + 2
    assert r.headers["Content-Type"] == "application/problem+json"
