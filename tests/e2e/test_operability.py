# SPDX-License-Identifier: Apache-2.0
"""Operability: the items-health handler, the mod_status section, per-request notes."""
import json
import os
import re

import harness
from conftest import module_env

HEALTH = """<Location /health>
    SetHandler items-health
    Require all granted
</Location>
"""


def test_health_ok_and_cached(front, make_httpd, http):
    h = make_httpd(env=module_env(front), extra_conf=HEALTH)
    before = front.requests
    r = http.get(h.url + "/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["Cache-Control"] == "no-store"
    for _ in range(5):
        assert http.get(h.url + "/health").status_code == 200
    # Sequential probes land on one or two children; each asks DynamoDB once per few seconds.
    assert 1 <= front.requests - before <= 2
    assert http.head(h.url + "/health").status_code == 200


def test_health_unreachable_is_503_with_reason(front, make_httpd, http):
    port = harness.free_port()
    h = make_httpd(env=module_env(front, DYNAMODB_ENDPOINT_URL=f"http://127.0.0.1:{port}"),
                   extra_conf=HEALTH + "<Location /health>\nItemsRetries 0\n</Location>\n",
                   allowed_log=[r"ITEMS0202: health check failed: .*DescribeTable HTTP 0"])
    r = http.get(h.url + "/health")
    assert r.status_code == 503
    assert r.headers["Content-Type"] == "application/problem+json"
    assert "unreachable" in r.json()["detail"] and r.headers["Retry-After"]
    assert "ITEMS0202" in h.log_text()


def test_health_missing_table_is_503(front, make_httpd, http):
    h = make_httpd(env=module_env(front, DYNAMODB_TABLE="absent-table"), extra_conf=HEALTH,
                   allowed_log=[r"ITEMS0202: .*ResourceNotFoundException"])
    r = http.get(h.url + "/health")
    assert r.status_code == 503 and "error log" in r.json()["detail"]
    assert http.post(h.url + "/health", data=b"{}").status_code == 405


def test_server_status_shows_items_section(front, make_httpd, http):
    conf = """LoadModule status_module "${ITEMS_MODULES_DIR}/mod_status.so"
<Location /server-status>
    SetHandler server-status
    Require all granted
</Location>
"""
    h = make_httpd(env=module_env(front), extra_conf=conf)
    for i in range(6):
        assert http.post(h.url + "/items/", data=json.dumps({"name": f"s{i}"}),
                         headers={"Content-Type": "application/json"}).status_code == 201
    for i in range(4):
        assert http.get(h.url + "/items/nope-" + str(i)).status_code == 404
    text = http.get(h.url + "/server-status?auto").text
    fields = dict(re.findall(r"^(Items\w+): ([\d.]+)$", text, re.M))
    # Counted across all children (shared memory).
    assert int(fields["ItemsRequests"]) == 10
    assert int(fields["ItemsResponses2xx"]) == 6 and int(fields["ItemsResponses4xx"]) == 4
    assert int(fields["ItemsDynamoDBCalls"]) == 10
    assert int(fields["ItemsDynamoDBRetries"]) == 0
    assert float(fields["ItemsDynamoDBAvgMs"]) > 0
    html = http.get(h.url + "/server-status").text
    assert "<h2>mod_items</h2>" in html and "DynamoDB calls: 10" in html


def test_request_notes_in_access_log(front, make_httpd, http):
    conf = ('LogFormat "%r %>s ddb_ms=%{items-ddb-ms}n calls=%{items-ddb-calls}n '
            'retries=%{items-ddb-retries}n" notes\n'
            'CustomLog "${ITEMS_RUN_DIR}/notes.log" notes\n')
    h = make_httpd(env=module_env(front), extra_conf=conf)
    r = http.post(h.url + "/items/", data=b'{"name": "n"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 201
    assert http.get(h.url + "/items/?limit=oops").status_code == 400
    h.stop()
    with open(os.path.join(h.run_dir, "notes.log")) as f:
        lines = f.read().splitlines()
    post = [line for line in lines if line.startswith("POST")][0]
    assert re.search(r" 201 ddb_ms=\d+ calls=1 retries=0$", post), post
    bad = [line for line in lines if "oops" in line][0]
    assert bad.endswith(" 400 ddb_ms=0 calls=0 retries=0"), bad
