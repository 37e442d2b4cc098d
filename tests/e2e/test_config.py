# SPDX-License-Identifier: Apache-2.0
"""Directives, environment fallbacks and `apachectl configtest`."""
import json

import pytest

import harness
from conftest import TABLE, module_env

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("directive,message", [
    ("ItemsEndpoint ftp://example.com", "must be an http:// or https:// URL"),
    ("ItemsEndpoint http://", "has no host name"),
    ("ItemsEndpoint http://h:99999/", "invalid port"),
    ("ItemsEndpoint http://h/?q=1", "query"),
    ("ItemsTable x", "3 to 255 characters"),
    ("ItemsTable bad/name", "3 to 255 characters"),
    ("ItemsRegion US_EAST", "a-z, 0-9"),
    ("ItemsListMax 0", "whole number from 1"),
    ("ItemsListDefault ten", "whole number from 1"),
    ("ItemsMaxBodySize -5", "whole number"),
    ("ItemsTimeout 0", "duration"),
    ("ItemsConnectTimeout forever", "duration"),
    ("ItemsTable", "takes one argument"),
])
def test_configtest_rejects_bad_directives(front, directive, message):
    h = harness.Httpd(env=module_env(front), extra_conf=f"<Location /items>\n{directive}\n</Location>\n")
    try:
        res = h.configtest()
        assert res.returncode != 0
        assert message in res.stderr, res.stderr
        assert directive.split()[0] in res.stderr
    finally:
        h.cleanup()


@pytest.mark.parametrize("var,value,message", [
    ("DYNAMODB_ENDPOINT_URL", "not a url", "must be an http:// or https:// URL"),
    ("AWS_ENDPOINT_URL", "file:///etc/passwd", "must be an http:// or https:// URL"),
    ("DYNAMODB_TABLE", "t", "3 to 255 characters"),
    ("AWS_DEFAULT_REGION", "Mars!", "a-z, 0-9"),
])
def test_configtest_rejects_bad_environment(front, var, value, message):
    env = module_env(front)
    env.pop("DYNAMODB_ENDPOINT_URL")
    env[var] = value
    h = harness.Httpd(env=env)
    try:
        res = h.configtest()
        assert res.returncode != 0
        assert message in res.stderr, res.stderr
    finally:
        h.cleanup()


def test_configtest_accepts_every_directive(front):
    conf = """<Location /items>
    ItemsTable items
    ItemsRegion eu-west-3
    ItemsEndpoint https://dynamodb.eu-west-3.amazonaws.com
    ItemsListDefault 20
    ItemsListMax 200
    ItemsMaxBodySize 1024
    ItemsConnectTimeout 500ms
    ItemsTimeout 5
</Location>
"""
    h = harness.Httpd(env=module_env(front), extra_conf=conf)
    try:
        res = h.configtest()
        assert res.returncode == 0, res.stderr
        assert "Syntax OK" in res.stderr
    finally:
        h.cleanup()


def test_directives_merge_server_location_and_nested(front, dynalite, make_httpd, http):
    dynalite.create_table("merge-server")
    dynalite.create_table("merge-other")
    conf = f"""ItemsTable merge-server
ItemsEndpoint {front.url}
ItemsListMax 3
<Location /other>
    SetHandler items
    Require all granted
    ItemsTable merge-other
</Location>
"""
    # No DYNAMODB_TABLE / endpoint in the environment: the directives alone decide.
    env = module_env(front)
    del env["DYNAMODB_TABLE"], env["DYNAMODB_ENDPOINT_URL"]
    h = make_httpd(env=env, extra_conf=conf)
    a = http.post(h.url + "/items/", data=b'{"name": "server level"}', headers=JSON)
    b = http.post(h.url + "/other/", data=b'{"name": "location level"}', headers=JSON)
    assert a.status_code == 201 and b.status_code == 201
    assert b.headers["Location"] == f"/other/{b.json()['id']}"
    assert [i["id"]["S"] for i in dynalite.scan_all("merge-server")] == [a.json()["id"]]
    assert [i["id"]["S"] for i in dynalite.scan_all("merge-other")] == [b.json()["id"]]
    # ItemsListMax from the server config reaches both locations.
    assert http.get(h.url + "/other/?limit=4").status_code == 400
    assert http.get(h.url + "/other/?limit=3").status_code == 200


def test_list_default_and_body_cap_directives(front, make_httpd, http):
    h = make_httpd(env=module_env(front), extra_conf="""<Location /items>
    ItemsListDefault 2
    ItemsMaxBodySize 64
</Location>
""")
    for i in range(3):
        assert http.post(h.url + "/items/", data=json.dumps({"name": f"d{i}"}),
                         headers=JSON).status_code == 201
    assert len(http.get(h.url + "/items/").json()) == 2
    big = json.dumps({"name": "x" * 100}).encode()
    r = http.post(h.url + "/items/", data=big, headers=JSON)
    assert r.status_code == 413
    assert r.headers["Content-Type"] == "application/problem+json"
    assert "larger than 64 bytes" in r.json()["detail"]

    def chunks():
        for _ in range(10):
            yield b"          "
    r = http.post(h.url + "/items/", data=chunks(), headers=JSON)
    assert r.status_code == 413 and "larger than 64 bytes" in r.json()["detail"]


def test_env_fallbacks_aws_endpoint_url_and_aws_region(front, dynalite, make_httpd, http):
    dynalite.create_table("env-fallback")
    env = module_env(front, DYNAMODB_TABLE="env-fallback", AWS_ENDPOINT_URL=front.url,
                     AWS_REGION=harness.REGION)
    del env["DYNAMODB_ENDPOINT_URL"], env["AWS_DEFAULT_REGION"]
    h = make_httpd(env=env)
    r = http.post(h.url + "/items/", data=b'{"name": "fallback"}', headers=JSON)
    assert r.status_code == 201
    assert [i["id"]["S"] for i in dynalite.scan_all("env-fallback")] == [r.json()["id"]]


def test_table_defaults_to_items(front, dynalite, make_httpd, http):
    env = module_env(front)
    del env["DYNAMODB_TABLE"]
    h = make_httpd(env=env)
    r = http.post(h.url + "/items/", data=b'{"name": "default table"}', headers=JSON)
    assert r.status_code == 201
    ids = {i["id"]["S"] for i in dynalite.scan_all(TABLE)}
    assert r.json()["id"] in ids
