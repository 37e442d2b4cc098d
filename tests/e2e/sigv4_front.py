# SPDX-License-Identifier: Apache-2.0
"""A verifying AWS SigV4 front for a local DynamoDB emulator.

dynalite (and most other local DynamoDB emulators) accept any Authorization
header without checking the signature.  This front sits between a client
(mod_items, boto3, curl, ...) and the emulator.  For every POST it reads the
whole body, recomputes the SigV4 signature with botocore's own signer using
the front's configured credentials, and only forwards requests whose
signature, credential scope, signed headers and session token are right.
Anything else is answered the way DynamoDB answers it:

    HTTP 400, Content-Type: application/x-amz-json-1.0
    {"__type": "com.amazon.coral.service#InvalidSignatureException",
     "message": "..."}

Library use (e.g. from a pytest fixture)::

    front = SigV4Front("http://127.0.0.1:4567", "AKID", "secret", "token",
                       "us-east-1")
    front.start()
    try:
        ...  # point the client at front.url
        assert front.mismatches == [] and front.verified > 0
    finally:
        front.stop()

Command line (run with Debian's /usr/bin/python3, which has botocore)::

    /usr/bin/python3 tests/e2e/sigv4_front.py --upstream http://127.0.0.1:4567 \
        --access-key AKID --secret-key SECRET [--session-token TOKEN] \
        --region us-east-1 [--port N]

It prints ``listening on http://127.0.0.1:PORT`` and serves until SIGTERM or
SIGINT.  ``GET /__front/stats`` returns the counters as JSON.
"""

import argparse
import datetime
import hashlib
import hmac
import http.client
import http.server
import json
import re
import signal
import socket
import socketserver
import sys
import threading
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

import loopback

__all__ = ["SigV4Front", "SignatureMismatch", "main"]

JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
INVALID_SIGNATURE = "com.amazon.coral.service#InvalidSignatureException"
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
STATS_PATH = "/__front/stats"

# Headers every signed DynamoDB request must cover.
REQUIRED_SIGNED_HEADERS = ("host", "x-amz-date", "x-amz-target", "content-type")

# Response headers relayed from the upstream (Content-Length is recomputed).
RELAYED_RESPONSE_HEADERS = ("content-type", "x-amzn-requestid", "x-amz-crc32")

# Request headers never forwarded upstream (hop-by-hop, or set by http.client).
NOT_FORWARDED = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "host",
        "content-length",
    )
)

_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 "
    r"Credential=(?P<akid>[^/,\s]+)/(?P<date>[^/,\s]+)/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/(?P<terminator>[^/,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*"
    r"Signature=(?P<signature>[^,\s]+)$"
)


class SignatureMismatch(Exception):
    """A request that must be rejected as InvalidSignatureException."""



class _ListedHeadersSigV4Auth(SigV4Auth):
    """botocore's SigV4Auth, selecting exactly the client's SignedHeaders.

    botocore's own headers_to_sign() signs every header of the request except
    a small blacklist (expect, user-agent, x-amzn-trace-id) and invents a Host
    when there is none.  A verifier must instead use exactly the headers the
    client says it signed, so only that selection is replaced; the canonical
    request, string to sign, key derivation and signature are botocore's.
    """

    def __init__(self, credentials, service_name, region_name, signed_names):
        super().__init__(credentials, service_name, region_name)
        self._signed_names = list(signed_names)

    def headers_to_sign(self, request):
        header_map = HTTPHeaders()
        for name in self._signed_names:
            for value in request.headers.get_all(name, []):
                header_map[name] = value
        return header_map


class _FrontServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """Threaded HTTP server that tracks its open client connections."""

    daemon_threads = False  # server_close() joins the handler threads
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address, handler_cls, front):
        self.front = front
        self.open_sockets = set()
        self.sockets_lock = threading.Lock()
        self.closing = False
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, handler_cls)

    def process_request(self, request, client_address):
        with self.sockets_lock:
            if self.closing:
                self.shutdown_request(request)
                return
            self.open_sockets.add(request)
        self.front._count("connections")
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_client_sockets(self):
        with self.sockets_lock:
            self.closing = True
            sockets = list(self.open_sockets)
        loopback.shut_down(sockets)


class _FrontHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sigv4-front"
    sys_version = ""

    # --- connection lifecycle -------------------------------------------

    def setup(self):
        self.timeout = self.server.front.idle_timeout
        super().setup()
        self._upstream = None
        self._upstream_used = False

    def finish(self):
        try:
            super().finish()
        finally:
            self._close_upstream()

    def log_message(self, fmt, *args):
        if self.server.front.verbose:
            sys.stderr.write("sigv4-front: %s - %s\n" % (self.address_string(), fmt % args))

    # --- request dispatch -----------------------------------------------

    def do_GET(self):
        if urllib.parse.urlsplit(self.path).path == STATS_PATH:
            body = json.dumps(self.server.front.stats()).encode()
            self._send(200, "OK", [("Content-Type", "application/json")], body)
            return
        self._unsupported()

    def _unsupported(self):
        self._discard_body()
        self._send_json(405, {"__type": "MethodNotAllowed", "message": "only POST (and GET %s) is served" % STATS_PATH})

    do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _unsupported

    def do_POST(self):
        front = self.server.front
        body = self._read_body()
        if body is None:
            return
        front._count("requests")
        try:
            front.verify(self.command, self.path, self.headers, body)
        except SignatureMismatch as exc:
            message = str(exc)
            front._record_mismatch(message)
            if front.verbose:
                sys.stderr.write("sigv4-front: rejected: %s\n" % message)
            self._send_json(front.mismatch_status, {"__type": INVALID_SIGNATURE, "message": message})
            return
        front._count("verified")
        self._forward(body)

    # --- body handling --------------------------------------------------

    def _read_body(self):
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._send_json(411, {"__type": "LengthRequired", "message": "chunked bodies are not supported; send Content-Length"})
            return None
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return b""
        try:
            length = int(raw_length)
            if length < 0:
                raise ValueError(raw_length)
        except ValueError:
            self.close_connection = True
            self._send_json(400, {"__type": "BadRequest", "message": "invalid Content-Length"})
            return None
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            return None
        return body

    def _discard_body(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > 0:
            self.rfile.read(length)

    # --- upstream -------------------------------------------------------

    def _close_upstream(self):
        if self._upstream is not None:
            self._upstream.close()
            self._upstream = None

    def _forward(self, body):
        front = self.server.front
        target = front.upstream_prefix + self.path
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in NOT_FORWARDED]
        for attempt in (1, 2):
            if self._upstream is None:
                self._upstream = http.client.HTTPConnection(
                    front.upstream_host, front.upstream_port, timeout=front.upstream_timeout
                )
                self._upstream_used = False
            reused = self._upstream_used
            conn = self._upstream
            try:
                if conn.sock is None:
                    conn.connect()
                    front._count("upstream_connects")
                conn.putrequest(self.command, target, skip_accept_encoding=True)
                for name, value in headers:
                    conn.putheader(name, value)
                conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body)
                self._upstream_used = True
                resp = conn.getresponse()
                resp_body = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self._close_upstream()
                if reused and attempt == 1:
                    continue  # stale keep-alive connection: retry once on a fresh one
                return self._bad_gateway(exc)
            except (OSError, http.client.HTTPException) as exc:
                self._close_upstream()
                return self._bad_gateway(exc)
            if resp.will_close:
                self._close_upstream()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() in RELAYED_RESPONSE_HEADERS]
            self._send(resp.status, resp.reason, out, resp_body)
            return None
        return None

    def _bad_gateway(self, exc):
        front = self.server.front
        front._count("upstream_errors")
        message = "upstream %s unreachable: %s" % (front.upstream_url, exc.__class__.__name__)
        if str(exc):
            message += ": %s" % exc
        self._send_json(502, {"__type": "BadGateway", "message": message})

    # --- responses ------------------------------------------------------

    def _send_json(self, status, obj):
        body = json.dumps(obj).encode("utf-8")
        self._send(status, None, [("Content-Type", JSON_CONTENT_TYPE)], body)

    def _send(self, status, reason, headers, body):
        self.send_response(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()


class SigV4Front:
    """HTTP front that verifies SigV4 signatures and forwards good requests.

    Counters (thread-safe; read them as attributes):
      requests     POST requests received (stats GETs are not counted)
      verified     requests whose signature checked out (all are forwarded)
      mismatches   list of short strings, one per rejected request
      connections  TCP connections accepted from clients
      upstream_connects  TCP connections opened to the upstream
      upstream_errors    requests answered 502
    """

    def __init__(
        self,
        upstream_url,
        access_key,
        secret_key,
        session_token,
        region,
        service="dynamodb",
        listen_host="127.0.0.1",
        listen_port=0,
        max_skew_seconds=900,
        mismatch_status=400,
        upstream_timeout=30.0,
        idle_timeout=120.0,
        absent_signed_headers=(),
        verbose=False,
    ):
        parts = urllib.parse.urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError("upstream_url must be http://host[:port][/prefix]: %r" % upstream_url)
        self.upstream_url = upstream_url
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.upstream_prefix = parts.path.rstrip("/")
        self.access_key = access_key
        self.secret_key = secret_key
        self.session_token = session_token or None
        self.region = region
        self.service = service
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.max_skew_seconds = max_skew_seconds  # None or 0 disables the check
        self.mismatch_status = mismatch_status
        self.upstream_timeout = upstream_timeout
        self.idle_timeout = idle_timeout
        # Lowercase names that may appear in SignedHeaders without being sent;
        # they are canonicalized with an empty value.  Strict (empty) by
        # default: libcurl < 8.3 signs "expect" when told "Expect:" (remove
        # the header), which some AWS services reject as
        # IncompleteSignatureException.
        self.absent_signed_headers = frozenset(h.lower() for h in absent_signed_headers)
        self.verbose = verbose
        self._credentials = Credentials(access_key, secret_key, self.session_token)
        self._lock = threading.Lock()
        self._counters = {}
        self._mismatches = []
        self.reset_counters()
        self._server = None
        self._thread = None

    # --- counters -------------------------------------------------------

    def reset_counters(self):
        with self._lock:
            self._counters = dict.fromkeys(
                ("requests", "verified", "connections", "upstream_connects", "upstream_errors"), 0
            )
            self._mismatches = []

    def _count(self, name):
        with self._lock:
            self._counters[name] += 1

    def _record_mismatch(self, message):
        with self._lock:
            self._mismatches.append(message)

    def _get(self, name):
        with self._lock:
            return self._counters[name]

    requests = property(lambda self: self._get("requests"))
    verified = property(lambda self: self._get("verified"))
    connections = property(lambda self: self._get("connections"))
    upstream_connects = property(lambda self: self._get("upstream_connects"))
    upstream_errors = property(lambda self: self._get("upstream_errors"))

    @property
    def mismatches(self):
        with self._lock:
            return list(self._mismatches)

    def stats(self):
        with self._lock:
            out = dict(self._counters)
            out["mismatches"] = list(self._mismatches)
        return out

    # --- lifecycle ------------------------------------------------------

    @property
    def port(self):
        if self._server is None:
            raise RuntimeError("front not started")
        return self._server.server_address[1]

    @property
    def url(self):
        host = self.listen_host
        if ":" in host:
            host = "[%s]" % host
        return "http://%s:%d" % (host, self.port)

    def start(self):
        if self._server is not None:
            raise RuntimeError("front already started")
        self._server = _FrontServer((self.listen_host, self.listen_port), _FrontHandler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
            name="sigv4-front", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()  # stop accepting
        thread.join()
        server.close_client_sockets()  # wake handlers blocked on keep-alive reads
        server.server_close()  # close the listener, join handler threads
        self._server = None
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- verification ---------------------------------------------------

    def verify(self, method, path, headers, body):
        """Raise SignatureMismatch describing the first problem, else return None.

        headers is an email.message.Message-like object (get/get_all).
        """
        auth_values = headers.get_all("Authorization") or []
        if len(auth_values) != 1:
            raise SignatureMismatch("expected exactly one Authorization header, got %d" % len(auth_values))
        m = _AUTH_RE.match(auth_values[0].strip())
        if not m:
            raise SignatureMismatch("Authorization header is not 'AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=..., Signature=...'")
        if m["terminator"] != "aws4_request":
            raise SignatureMismatch("credential scope must end in aws4_request, got %r" % m["terminator"])
        if m["akid"] != self.access_key:
            raise SignatureMismatch("access key id %r is not the configured one" % m["akid"])
        if not re.fullmatch(r"[0-9a-f]{64}", m["signature"]):
            raise SignatureMismatch("Signature is not 64 lowercase hex digits")

        amz_dates = headers.get_all("X-Amz-Date") or []
        if len(amz_dates) != 1:
            raise SignatureMismatch("expected exactly one X-Amz-Date header, got %d" % len(amz_dates))
        amz_date = amz_dates[0].strip()
        try:
            when = datetime.datetime.strptime(amz_date, SIGV4_TIMESTAMP)
        except ValueError:
            raise SignatureMismatch("X-Amz-Date %r is not YYYYMMDDTHHMMSSZ" % amz_date) from None
        if m["date"] != amz_date[:8]:
            raise SignatureMismatch("credential scope date %s differs from X-Amz-Date day %s" % (m["date"], amz_date[:8]))
        if m["region"] != self.region:
            raise SignatureMismatch("credential scope region %r, expected %r" % (m["region"], self.region))
        if m["service"] != self.service:
            raise SignatureMismatch("credential scope service %r, expected %r" % (m["service"], self.service))
        if self.max_skew_seconds:
            now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
            skew = abs((now - when).total_seconds())
            if skew > self.max_skew_seconds:
                raise SignatureMismatch("signature expired: X-Amz-Date %s is %ds from now (limit %ds)" % (amz_date, skew, self.max_skew_seconds))

        signed_list = m["signed"]
        signed_names = signed_list.split(";")
        for name in signed_names:
            if not name or name != name.lower() or name != name.strip():
                raise SignatureMismatch("SignedHeaders %r has an empty or non-lowercase name" % signed_list)
            if headers.get(name) is None and name not in self.absent_signed_headers:
                raise SignatureMismatch("%r is named in SignedHeaders but is not in the request" % name)
        required = list(REQUIRED_SIGNED_HEADERS)
        if self.session_token is not None:
            required.append("x-amz-security-token")
        missing = [h for h in required if h not in signed_names]
        if missing:
            raise SignatureMismatch("SignedHeaders %r lacks %s" % (signed_list, ", ".join(missing)))

        tokens = headers.get_all("X-Amz-Security-Token") or []
        if self.session_token is not None:
            if len(tokens) != 1:
                raise SignatureMismatch("expected exactly one X-Amz-Security-Token header, got %d" % len(tokens))
            if not hmac.compare_digest(tokens[0].strip().encode(), self.session_token.encode()):
                raise SignatureMismatch("X-Amz-Security-Token differs from the configured session token")
        elif tokens:
            raise SignatureMismatch("X-Amz-Security-Token sent but the front has no session token")

        content_sha = headers.get("X-Amz-Content-SHA256")
        if content_sha is not None and "x-amz-content-sha256" in signed_names:
            if content_sha.strip() != hashlib.sha256(body).hexdigest():
                raise SignatureMismatch("X-Amz-Content-SHA256 is not the SHA-256 of the body")

        if not path.startswith("/"):
            raise SignatureMismatch("request target %r is not an origin-form path" % path)

        # botocore builds the canonical request from the URL's path and query;
        # the host comes from the signed Host header, so the URL's host is a
        # placeholder that never enters the computation.
        request = AWSRequest(method=method, url="http://sigv4-front.invalid" + path, data=body)
        for name in signed_names:
            for value in headers.get_all(name) or [""]:
                request.headers[name] = value
        request.context["timestamp"] = amz_date
        signer = _ListedHeadersSigV4Auth(self._credentials, self.service, self.region, signed_names)
        if signer.signed_headers(signer.headers_to_sign(request)) != signed_list:
            raise SignatureMismatch("SignedHeaders %r is not sorted/unique" % signed_list)
        canonical_request = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical_request)
        expected = signer.signature(string_to_sign, request)
        if not hmac.compare_digest(expected, m["signature"]):
            if self.verbose:
                sys.stderr.write(
                    "sigv4-front: CanonicalRequest:\n%s\nsigv4-front: StringToSign:\n%s\n"
                    % (canonical_request, string_to_sign)
                )
            raise SignatureMismatch(
                "signature does not match (got %s..., botocore computed %s...; signed headers %s)"
                % (m["signature"][:12], expected[:12], signed_list)
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verifying SigV4 front for a local DynamoDB emulator")
    parser.add_argument("--upstream", required=True, help="upstream URL, e.g. http://127.0.0.1:4567")
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--session-token", default=None)
    parser.add_argument("--region", required=True)
    parser.add_argument("--service", default="dynamodb")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="listen port (default: any free port)")
    parser.add_argument("--max-skew", type=int, default=900, help="allowed X-Amz-Date skew in seconds; 0 disables")
    parser.add_argument("--mismatch-status", type=int, default=400)
    parser.add_argument(
        "--allow-absent-signed-header", action="append", default=[], metavar="NAME",
        help="accept NAME in SignedHeaders although the request lacks it (signed as empty); "
        "e.g. 'expect' for libcurl < 8.3 given 'Expect:'; repeatable",
    )
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args(argv)

    front = SigV4Front(
        args.upstream, args.access_key, args.secret_key, args.session_token, args.region,
        service=args.service, listen_host=args.host, listen_port=args.port,
        max_skew_seconds=args.max_skew or None, mismatch_status=args.mismatch_status,
        absent_signed_headers=args.allow_absent_signed_header,
        verbose=args.verbose,
    )
    done = threading.Event()

    def on_signal(signum, frame):
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    front.start()
    try:
        print("listening on %s" % front.url, flush=True)
        while not done.wait(1.0):
            pass
    finally:
        front.stop()
    if args.verbose:
        sys.stderr.write("sigv4-front: %s\n" % json.dumps(front.stats()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
