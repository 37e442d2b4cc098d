# SPDX-License-Identifier: Apache-2.0
"""Real servers for the end-to-end tests: dynalite and httpd loading the built module.

Every server binds 127.0.0.1 on a free port, is polled until it answers, and is
stopped by whoever started it.
"""
import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import boto3
import botocore.config

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("ITEMS_BUILD_DIR", os.path.join(ROOT, "build"))
MODULE = os.path.join(BUILD, ".libs", "mod_items.so")
HTTPD_CONF = os.path.join(ROOT, "conf", "httpd.conf")
HTTPD = shutil.which("apache2", path="/usr/sbin:/usr/bin:" + os.environ.get("PATH", "")) \
    or shutil.which("httpd")
MODULES_DIR = os.environ.get("ITEMS_MODULES_DIR", "/usr/lib/apache2/modules")
DYNALITE = os.path.join(ROOT, "node_modules", ".bin", "dynalite")
# The OpenAPI document and the /docs page (docs/), and Swagger UI's files (npm swagger-ui-dist).
DOCS_DIR = os.path.join(ROOT, "docs")
SWAGGER_UI_DIR = os.path.join(ROOT, "node_modules", "swagger-ui-dist")

# Credentials the module signs with in the tests: a secret with '/' and '+', and a token.
ACCESS_KEY = "AKIAITEMSTEST0000001"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYitemsSECRET"
SESSION_TOKEN = "FwoGZXIvYXdzEItemsTestSessionToken//+/=="
REGION = "eu-west-3"


def problem(resp, status, part=None):
    """Assert resp is a problem+json answer with this status (and part in its detail); its body."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["Content-Type"] == "application/problem+json"
    body = resp.json()
    assert body["status"] == status and body["detail"]
    if part:
        assert part in body["detail"], body["detail"]
    return body


def next_link(resp):
    """The target of a Link: <...>; rel="next" header, None when there is none."""
    link = resp.headers.get("Link")
    if not link:
        return None
    assert link.endswith('>; rel="next"'), link
    return link[1:link.index(">")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc=None, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Dynalite:
    """An in-memory DynamoDB (dynalite) on a free loopback port."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self):
        if not os.path.exists(DYNALITE):
            raise RuntimeError(f"{DYNALITE} is missing: run scripts/deps")
        self.proc = subprocess.Popen(
            [DYNALITE, "--host", "127.0.0.1", "--port", str(self.port), "--createTableMs", "0",
             "--deleteTableMs", "0", "--updateTableMs", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for_port(self.port, self.proc)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def client(self):
        """A real AWS SDK client straight to dynalite (no module, no front)."""
        return boto3.client(
            "dynamodb", endpoint_url=self.url, region_name=REGION,
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            aws_session_token=SESSION_TOKEN,
            config=botocore.config.Config(retries={"max_attempts": 1}))

    def create_table(self, name):
        c = self.client()
        c.create_table(TableName=name,
                       KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST")
        c.get_waiter("table_exists").wait(TableName=name,
                                          WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})

    def scan_all(self, table):
        c = self.client()
        items, kwargs = [], {"TableName": table, "ConsistentRead": True}
        while True:
            page = c.scan(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


_served = {}


def served_docs():
    """docs/ and Swagger UI copied once per session to a directory every user can read:
    httpd's children (www-data) serve them, and the checkout may sit below a directory they
    cannot search (mktemp -d makes 0700)."""
    if not _served:
        top = tempfile.mkdtemp(prefix="items-docs-")
        os.chmod(top, 0o755)
        shutil.copytree(DOCS_DIR, os.path.join(top, "docs"))
        shutil.copytree(SWAGGER_UI_DIR, os.path.join(top, "swagger-ui"))
        _served.update(docs=os.path.join(top, "docs"), ui=os.path.join(top, "swagger-ui"),
                       top=top)
        atexit.register(shutil.rmtree, top, True)
    return _served


# httpds told to stop that reap() still has to wait for (and clean up after).
_stopping = []


def reap():
    """Wait for every httpd stopped without waiting; their stop problems, if any."""
    problems = []
    while _stopping:
        pid, h = _stopping.pop()
        h._wait_gone(pid)
        problems += h.stop_problems
        h.cleanup()
    return problems


# Error-log lines that are part of a normal start and stop.
# AH03092/AH03093: mpm_event, stopped (SIGTERM) while a connection lingers or goes idle,
# cannot poll it any more: a shutdown race of httpd's, harmless.
ROUTINE_LOG = re.compile(
    r"AH00489|AH00094|AH00491|AH00492|AH00493|AH00169|AH00558|AH03092|AH03093|ITEMS0003|"
    r"\[(?:[a-z_]+:)?(?:debug|info|notice|trace\d)\]")


class Httpd:
    """httpd loading the built module from conf/httpd.conf, with the MPM that ITEMS_MPM
    names (worker, as shipped, unless the caller says event: check-sanitizers does)."""

    def __init__(self, env=None, extra_conf="", log_level="warn items:debug",
                 allowed_log=()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.run_dir = tempfile.mkdtemp(prefix="items-httpd-")
        os.chmod(self.run_dir, 0o755)
        self.extra = os.path.join(self.run_dir, "extra.conf")
        with open(self.extra, "w") as f:
            # Short keep-alive: a graceful stop waits for idle connections to time out.
            f.write("KeepAliveTimeout 1\n" + extra_conf)
        self.env = dict(os.environ)
        for k in ("DYNAMODB_TABLE", "AWS_DEFAULT_REGION", "AWS_REGION", "DYNAMODB_ENDPOINT_URL",
                  "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                  "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            self.env.pop(k, None)
        self.env.update({
            "ITEMS_MODULE": MODULE, "ITEMS_MODULES_DIR": MODULES_DIR,
            "ITEMS_LISTEN": f"127.0.0.1:{self.port}", "ITEMS_RUN_DIR": self.run_dir,
            "ITEMS_LOG_LEVEL": log_level, "ITEMS_EXTRA_CONF": self.extra,
            "ITEMS_USER": "www-data", "ITEMS_GROUP": "www-data",
            "ITEMS_MPM": os.environ.get("ITEMS_MPM", "worker"),
            "ITEMS_DOCS_DIR": served_docs()["docs"], "ITEMS_SWAGGER_UI_DIR": served_docs()["ui"],
        })
        # A module built with ASan needs its runtime loaded first (make check-sanitizers).
        preload = os.environ.get("ITEMS_HTTPD_PRELOAD")
        if preload:
            self.env["LD_PRELOAD"] = preload
            self.env["ASAN_OPTIONS"] = f"detect_leaks=0:log_path={self.run_dir}/asan"
            self.env["UBSAN_OPTIONS"] = f"print_stacktrace=1:log_path={self.run_dir}/ubsan"
        self.env.update(env or {})
        self.allowed_log = [re.compile(p) for p in allowed_log]
        self.error_log = os.path.join(self.run_dir, "error.log")
        self.stop_problems = []

    def command(self, *args):
        return [HTTPD, "-f", HTTPD_CONF, *args]

    def configtest(self):
        return subprocess.run(self.command("-t"), env=self.env, capture_output=True, text=True,
                              timeout=30)

    def start(self):
        if not os.path.exists(MODULE):
            raise RuntimeError(f"{MODULE} is missing: run scripts/build")
        res = subprocess.run(self.command("-k", "start"), env=self.env, capture_output=True,
                             text=True, timeout=30)
        if res.returncode != 0:
            raise RuntimeError(f"httpd did not start: {res.stderr}{self.log_text()}")
        wait_for_port(self.port)
        return self

    def pid(self):
        try:
            with open(os.path.join(self.run_dir, "httpd.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self, wait=True):
        """SIGTERM; with wait, until httpd is gone (SIGKILL after 12 s, noted as a problem).
        Without, it finishes stopping in the background and reap() waits for it: httpd
        takes one to two seconds to stop, whatever it was doing."""
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        if not wait:
            _stopping.append((pid, self))
            return
        self._wait_gone(pid)

    def _wait_gone(self, pid, seconds=12):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        self.stop_problems.append(f"httpd {pid} still running {seconds}s after SIGTERM")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log_text(self):
        try:
            with open(self.error_log, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def sanitizer_reports(self):
        out = []
        for name in sorted(os.listdir(self.run_dir)):
            if name.startswith(("asan.", "ubsan.")):
                with open(os.path.join(self.run_dir, name), errors="replace") as f:
                    out.append(f"{name}:\n{f.read()[:4000]}")
        return out

    def unexpected_log_lines(self):
        out = self.sanitizer_reports() + self.stop_problems
        for line in self.log_text().splitlines():
            if not line.strip() or ROUTINE_LOG.search(line):
                continue
            if any(p.search(line) for p in self.allowed_log):
                continue
            out.append(line)
        return out

    def cleanup(self):
        if any(h is self for _, h in _stopping):
            return  # reap() removes it once httpd is gone
        shutil.rmtree(self.run_dir, ignore_errors=True)
