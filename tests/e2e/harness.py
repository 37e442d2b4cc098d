# SPDX-License-Identifier: Apache-2.0
"""Real servers for the end-to-end tests: dynalite and httpd loading the built module.

Every server binds 127.0.0.1 on a free port, is polled until it answers, and is
stopped by whoever started it.
"""
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
        """Graceful stop (a hard one races lingering closes in mpm_event, AH03092); if
        httpd has not gone after a while, SIGTERM, then SIGKILL, noted as a problem."""
        pid = self.pid()
        if pid is None:
            return
        for sig, wait in ((signal.SIGWINCH, 12), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.05)
            self.stop_problems.append(f"httpd {pid} still running {wait}s after signal {sig}")

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
        shutil.rmtree(self.run_dir, ignore_errors=True)
