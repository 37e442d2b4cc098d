# SPDX-License-Identifier: Apache-2.0
"""Fixtures: one dynalite and one signature-verifying front for the session; httpd per module
or per test. Every DynamoDB request the module sends goes through the front, which
recomputes its SigV4 signature with botocore; the session fails on any mismatch."""
import contextlib
import os
import sys

import pytest
import requests

sys.path.insert(0, os.path.dirname(__file__))

import harness  # noqa: E402
import openapi_check  # noqa: E402
from sigv4_front import SigV4Front  # noqa: E402

TABLE = "items"


@pytest.fixture(scope="session", autouse=True)
def reap_httpds():
    """httpds stop in the background; the session waits for every one at its end."""
    yield
    problems = harness.reap()
    assert not problems, problems


@pytest.fixture(scope="session")
def dynalite():
    d = harness.Dynalite().start()
    try:
        d.create_table(TABLE)
        yield d
    finally:
        d.stop()


@contextlib.contextmanager
def verifying_front(dynalite):
    """A signature-checking front to dynalite with the module's credentials, stopped after use;
    any signature the AWS SDK signer rejected fails the caller."""
    f = SigV4Front(dynalite.url, harness.ACCESS_KEY, harness.SECRET_KEY, harness.SESSION_TOKEN,
                   harness.REGION)
    f.start()
    try:
        yield f
    finally:
        f.stop()
    assert f.mismatches == [], f"signatures the AWS SDK signer rejected: {f.mismatches}"


@pytest.fixture(scope="session")
def front(dynalite):
    # Tests that provoke mismatches on purpose use a front of their own.
    with verifying_front(dynalite) as f:
        yield f
    if f.requests:
        assert f.verified > 0


def module_env(front, **extra):
    """The environment a normal deployment gives the module: everything through env vars."""
    env = {
        "DYNAMODB_TABLE": TABLE,
        "AWS_DEFAULT_REGION": harness.REGION,
        "DYNAMODB_ENDPOINT_URL": front.url,
        "AWS_ACCESS_KEY_ID": harness.ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": harness.SECRET_KEY,
        "AWS_SESSION_TOKEN": harness.SESSION_TOKEN,
    }
    env.update(extra)
    return env


@pytest.fixture
def make_httpd():
    """Start httpd instances for one test; stops them and checks their error logs after."""
    started = []

    def start(env=None, extra_conf="", allowed_log=(), start=True):
        h = harness.Httpd(env=env, extra_conf=extra_conf, allowed_log=allowed_log)
        started.append(h)
        return h.start() if start else h

    yield start
    problems = []
    for h in started:
        h.stop(wait=False)
        bad = h.unexpected_log_lines()
        if bad:
            problems.append(f"{h.error_log}:\n" + "\n".join(bad))
        h.cleanup()
    assert not problems, "unexpected error-log lines:\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def api(front):
    """The API as a deployment serves it: conf/httpd.conf, settings from the environment."""
    h = harness.Httpd(env=module_env(front))
    h.start()
    try:
        yield h
    finally:
        h.stop(wait=False)
        bad = h.unexpected_log_lines()
        h.cleanup()
    assert not bad, "unexpected error-log lines:\n" + "\n".join(bad)


@pytest.fixture(scope="session", autouse=True)
def openapi_checked():
    """Every answer of the items API that a test gets through requests (the `http` fixture, or
    any other session or call) is checked against docs/openapi.json: an undocumented status,
    header or body fails the test at the call that got it (tests/e2e/openapi_check.py)."""
    undo = openapi_check.patch_requests()
    yield openapi_check.checker()
    undo()


@pytest.fixture
def http(openapi_checked):
    """A requests session; its answers from the items API are checked against the OpenAPI
    document (see openapi_checked)."""
    with requests.Session() as s:
        yield s
