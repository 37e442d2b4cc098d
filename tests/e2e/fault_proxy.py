# SPDX-License-Identifier: Apache-2.0
"""A scripted fault-injecting HTTP/1.1 proxy for a DynamoDB endpoint on loopback.

It listens on 127.0.0.1, keeps client connections alive, and forwards each request
to the upstream over one persistent upstream connection per client connection.
Until told otherwise it is a transparent pass-through; a script of rules makes it
misbehave on chosen requests.

Library use::

    proxy = FaultProxy(dynalite.url).start()
    try:
        proxy.status(400, "ThrottlingException", "slow down", op="PutItem", times=2)
        proxy.reset_after(op="PutItem")        # the write happens, the answer is lost
        ...  # point the client (boto3, mod_items) at proxy.url
        assert proxy.faults["status"] == 2
    finally:
        proxy.stop()

Rules
-----
Every rule-adding method returns the `Rule` it appended to the script.  Common
keyword arguments:

``times``  how many matching requests the rule applies to (default 1; ``None``
           means every matching request until `clear()`); once used up the rule
           is dropped and matching requests are forwarded normally.
``op``     which requests match: ``None`` (all), an operation name such as
           ``"PutItem"``, a full ``X-Amz-Target`` (``"DynamoDB_20120810.PutItem"``),
           or a list/tuple/set of those.  The operation is the part of the
           X-Amz-Target header after the last '.'.

For each request, after its head and body have been read, the first rule in the
script (in the order added) that matches its operation and still has uses left
is consumed; at most one rule applies to a request.  ``refuse`` rules are the
exception: see below.

Fault kinds (``Rule.kind``)::

    latency(seconds)      wait `seconds`, then forward normally.
    refuse()              close the client connection without reading, answering or
                          forwarding anything.  Consumed by the next connection
                          accepted (closed right after accept()) or the next request
                          that starts arriving on an open kept-alive connection
                          (closed as soon as its first bytes arrive), whichever comes
                          first.  Takes no `op`: nothing has been read to match.
    reset_before()        read the request, then reset the client connection (TCP RST:
                          SO_LINGER 0 and close).  Not forwarded.
    reset_after()         forward, read the whole upstream answer (so the write
                          happened), then reset the client connection without
                          answering: "write done, answer lost".
    truncate(n)           forward, then send the status line, the headers (with the
                          full Content-Length) and only the first n bytes of the body,
                          then close the connection.  n is capped at the body's length
                          less one, so a non-empty answer is always cut short (a
                          PutItem's "{}" gives at most 1 byte).
    garbage(data=...)     read the request, answer bytes that are not HTTP, close.
                          Not forwarded.
    slow_drip(bps, chunk) forward, then send the (complete, correct) answer `chunk`
                          bytes at a time (default: about a tenth of a second's worth,
                          1 to 64 bytes), sleeping so as to average `bps` bytes/second.
                          The connection stays open.
    status(code, aws_type, message)
                          answer HTTP `code` with a DynamoDB-style JSON error body
                          {"__type": "com.amazonaws.dynamodb.v20120810#<aws_type>",
                           "message": message} (a `aws_type` containing '#' is used
                          as is), Content-Type application/x-amz-json-1.0 and a correct
                          x-amz-crc32.  Not forwarded.  The connection stays open.
    hang()                read the request and never answer, until the client closes
                          the connection or stop() is called.  Not forwarded.

The listener itself: `pause_listening(seconds)` closes the listening socket (new
connections are refused by the kernel: ECONNREFUSED) and re-opens it on the same
port after `seconds` (``None``: until `resume_listening()`).  Connections already
open keep working.

Counters (thread-safe; read as attributes, or all at once with `stats()`)::

    connections           client connections accepted (refused ones included)
    requests              requests read from clients (head and body complete)
    forwarded             requests sent upstream that got a complete answer
    upstream_connections  upstream connections opened
    upstream_errors       forwards that failed (the client then gets 502, or the
                          fault's own ending)
    bad_requests          unparseable client requests (answered 400, closed)
    faults                collections.Counter: faults applied, per kind
    ops                   collections.Counter: requests read, per operation
    forwarded_ops         collections.Counter: requests forwarded, per operation
    log                   list of (operation, action) in order; action is "forward",
                          a fault kind, "upstream_error" or "bad_request"; the
                          operation is None where none was read (refuse).

`clear()` removes every rule; `reset_counters()` zeroes the counters and the log.
`stop()` closes the listener and every client and upstream socket, and joins every
thread the proxy started (a few tenths of a second, hangs and sleeps included).

Run with Debian's /usr/bin/python3 (standard library only).
"""

import collections
import http.client
import json
import select
import socket
import struct
import threading
import time
import urllib.parse
import uuid
import zlib

import loopback

KINDS = ("latency", "refuse", "reset_before", "reset_after", "truncate", "garbage",
         "slow_drip", "status", "hang")
AWS_TYPE_PREFIX = "com.amazonaws.dynamodb.v20120810#"
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
DEFAULT_GARBAGE = b"\x00\x17\xff\xfeNOT HTTP AT ALL \x80\x81\x82 }{\r\n\r\n"
MAX_HEAD = 64 * 1024

# Headers that belong to one hop: never copied from one side to the other.
HOP_BY_HOP = frozenset((
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
    "upgrade", "expect", "content-length",
))


class BadRequest(Exception):
    """A client request the proxy could not parse."""


class _ClientClosed(Exception):
    """The client went away in the middle of a request."""


class Rule:
    """One scripted fault: `kind`, its `params`, which `op` it matches, uses left."""

    def __init__(self, kind, times=1, op=None, **params):
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        if times is not None and (not isinstance(times, int) or isinstance(times, bool)
                                  or times < 1):
            raise ValueError(f"times must be a positive int or None, not {times!r}")
        if kind == "refuse" and op is not None:
            raise ValueError("refuse cannot match an operation: nothing is read before it")
        if isinstance(op, str):
            ops = frozenset((op,))
        elif op is None:
            ops = None
        else:
            ops = frozenset(op)
            if not ops or not all(isinstance(o, str) for o in ops):
                raise ValueError(f"op must be None, a string or strings, not {op!r}")
        self.kind = kind
        self.times = times
        self.remaining = times
        self.op = op
        self._ops = ops
        self.params = params
        self.applied = 0

    def matches(self, operation, target):
        if self._ops is None:
            return True
        return operation in self._ops or target in self._ops

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return (f"Rule({self.kind}({params}), op={self.op!r}, times={self.times!r}, "
                f"remaining={self.remaining!r}, applied={self.applied})")


class _Request:
    __slots__ = ("method", "target", "version", "headers", "body", "operation", "amz_target",
                 "keep_alive")

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default


class _Upstream:
    """One persistent connection to the upstream, owned by one client connection."""

    def __init__(self, proxy):
        self.proxy = proxy
        self.conn = None
        self.used = False

    def forward(self, req):
        """Send `req` upstream; (status, reason, headers, body) of the complete answer."""
        proxy = self.proxy
        path = req.target
        if not path.startswith("/"):
            split = urllib.parse.urlsplit(path)  # absolute-form target
            path = (split.path or "/") + (f"?{split.query}" if split.query else "")
        path = proxy._upstream_prefix + path
        headers = [(k, v) for k, v in req.headers if k.lower() not in HOP_BY_HOP]
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port,
                                                       timeout=proxy.upstream_timeout)
                self.used = False
            conn = self.conn
            reused = self.used
            try:
                if conn.sock is None:
                    conn.connect()
                    reused = False
                    self.used = False
                    proxy._count("upstream_connections")
                    if proxy._stopping.is_set():
                        raise ConnectionAbortedError("proxy stopping")
                conn.putrequest(req.method, path, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    conn.putheader(name, value)
                if req.body or req.method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
                    conn.putheader("Content-Length", str(len(req.body)))
                conn.endheaders(req.body or None)
                self.used = True
                resp = conn.getresponse()
                body = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if reused and attempt == 1 and not proxy._stopping.is_set():
                    continue  # a stale kept-alive upstream connection: once more, fresh
                raise
            except (OSError, http.client.HTTPException):
                self.close()
                raise
            if resp.will_close:
                self.close()
            return resp.status, resp.reason, resp.getheaders(), body
        raise ConnectionError("unreachable")

    def abort(self):
        """From another thread: unblock whatever the owner is doing on the socket."""
        conn = self.conn
        sock = conn.sock if conn is not None else None
        if sock is not None:
            loopback.shut_down([sock])

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class _ClientConnection:
    """A client socket with its read buffer."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _recv(self):
        try:
            return self.sock.recv(65536)
        except ConnectionResetError:
            return b""

    def _fill(self):
        chunk = self._recv()
        if not chunk:
            raise _ClientClosed()
        self.buf += chunk

    def wait_first_bytes(self):
        """Block until a request starts arriving; False if the client closed first."""
        if self.buf:
            return True
        chunk = self._recv()
        if not chunk:
            return False
        self.buf = chunk
        return True

    def drain(self):
        """Read whatever is already there, without blocking."""
        self.sock.setblocking(False)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
        except OSError:
            return
        finally:
            try:
                self.sock.setblocking(True)
            except OSError:
                pass

    def read_request(self):
        """Read one request after wait_first_bytes(); a _Request, or raise."""
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self.buf) > MAX_HEAD:
                raise BadRequest("request head too long")
            self._fill()
        head, self.buf = self.buf[:end], self.buf[end + 4:]
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest(f"bad request line {lines[0]!r}")
        req = _Request()
        req.method, req.target, req.version = parts
        req.headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise BadRequest(f"bad header line {line!r}")
            req.headers.append((name, value.strip()))
        connection = (req.header("Connection") or "").lower()
        if req.version == "HTTP/1.0":
            req.keep_alive = "keep-alive" in connection
        else:
            req.keep_alive = "close" not in connection
        req.amz_target = req.header("X-Amz-Target")
        req.operation = req.amz_target.rsplit(".", 1)[-1] if req.amz_target else None
        expect = (req.header("Expect") or "").lower() == "100-continue"
        if "chunked" in (req.header("Transfer-Encoding") or "").lower():
            if expect:
                self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            req.body = self._read_chunked()
        else:
            try:
                length = int(req.header("Content-Length") or 0)
                if length < 0:
                    raise ValueError(length)
            except ValueError:
                raise BadRequest("bad Content-Length") from None
            if expect and length > len(self.buf):
                self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            while len(self.buf) < length:
                self._fill()
            req.body, self.buf = self.buf[:length], self.buf[length:]
        return req

    def _read_line(self):
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line, self.buf = self.buf[:end], self.buf[end + 2:]
                return line
            if len(self.buf) > MAX_HEAD:
                raise BadRequest("chunk line too long")
            self._fill()

    def _read_chunked(self):
        body = b""
        while True:
            try:
                size = int(self._read_line().split(b";")[0].strip(), 16)
            except ValueError:
                raise BadRequest("bad chunk size") from None
            if size == 0:
                while self._read_line():  # trailers
                    pass
                return body
            while len(self.buf) < size + 2:
                self._fill()
            body += self.buf[:size]
            self.buf = self.buf[size + 2:]


def _response_head(status, reason, headers, body_length, keep_alive):
    lines = [f"HTTP/1.1 {status} {reason or http.client.responses.get(status, 'Unknown')}"]
    lines += [f"{k}: {v}" for k, v in headers if k.lower() not in HOP_BY_HOP]
    lines.append(f"Content-Length: {body_length}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _reset(sock):
    """Close with a TCP RST instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class FaultProxy:
    """See the module docstring."""

    def __init__(self, upstream_url, port=0, upstream_timeout=30.0):
        split = urllib.parse.urlsplit(upstream_url)
        if split.scheme != "http" or not split.hostname:
            raise ValueError(f"upstream must be an http:// URL, not {upstream_url!r}")
        self.upstream_url = upstream_url
        self.upstream_host = split.hostname
        self.upstream_port = split.port or 80
        self._upstream_prefix = split.path.rstrip("/")
        self.upstream_timeout = upstream_timeout
        self.port = port
        self.url = None
        self._lock = threading.Lock()
        self._rules = []
        self._stopping = threading.Event()
        self._lsock = None
        self._reopen_at = None          # monotonic time, while paused with a deadline
        self._pause_request = None      # (seconds,) asked of the accept thread
        self._resume_request = False
        self._listener_changed = threading.Condition(self._lock)
        self._wake_r = self._wake_w = None
        self._accept_thread = None
        self._threads = set()
        self._clients = set()
        self._upstreams = set()
        self._seq = 0
        self.reset_counters()

    # --- lifecycle ------------------------------------------------------

    def start(self):
        if self._accept_thread is not None:
            raise RuntimeError("already started")
        self._lsock = self._listen(self.port)
        self.port = self._lsock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True,
                                               name=f"fault-proxy-{self.port}-accept")
        self._accept_thread.start()
        return self

    def stop(self):
        """Close every socket and join every thread the proxy started."""
        self._stopping.set()
        if self._accept_thread is None:
            return
        self._wake()
        self._accept_thread.join(5)
        with self._lock:
            clients = list(self._clients)
            upstreams = list(self._upstreams)
            threads = list(self._threads)
            self._listener_changed.notify_all()
        loopback.shut_down(clients)
        for up in upstreams:
            up.abort()
        deadline = time.monotonic() + 5
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        if self._lsock is not None:  # the accept thread did not get to it
            self._lsock.close()
            self._lsock = None
        for s in (self._wake_r, self._wake_w):
            if s is not None:
                s.close()
        alive = [t.name for t in threads + [self._accept_thread] if t.is_alive()]
        if alive:
            raise RuntimeError(f"fault proxy threads still running after stop: {alive}")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def threads(self):
        """The proxy's threads still alive (for tests of stop())."""
        with self._lock:
            out = [t for t in self._threads if t.is_alive()]
        if self._accept_thread is not None and self._accept_thread.is_alive():
            out.append(self._accept_thread)
        return out

    # --- the script -----------------------------------------------------

    def add_rule(self, kind, *, times=1, op=None, **params):
        """Append a rule of any kind; the named methods below validate their parameters."""
        rule = Rule(kind, times=times, op=op, **params)
        with self._lock:
            self._rules.append(rule)
        return rule

    def latency(self, seconds, *, times=1, op=None):
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        return self.add_rule("latency", times=times, op=op, seconds=float(seconds))

    def refuse(self, *, times=1):
        return self.add_rule("refuse", times=times)

    def reset_before(self, *, times=1, op=None):
        return self.add_rule("reset_before", times=times, op=op)

    def reset_after(self, *, times=1, op=None):
        return self.add_rule("reset_after", times=times, op=op)

    def truncate(self, n, *, times=1, op=None):
        if not isinstance(n, int) or n < 0:
            raise ValueError("n must be an int >= 0")
        return self.add_rule("truncate", times=times, op=op, n=n)

    def garbage(self, *, data=DEFAULT_GARBAGE, times=1, op=None):
        if not data:
            raise ValueError("data must not be empty")
        return self.add_rule("garbage", times=times, op=op, data=bytes(data))

    def slow_drip(self, bytes_per_second, *, chunk=None, times=1, op=None):
        if bytes_per_second <= 0:
            raise ValueError("bytes_per_second must be > 0")
        if chunk is None:
            chunk = max(1, min(64, int(bytes_per_second / 10)))
        if not isinstance(chunk, int) or chunk < 1:
            raise ValueError("chunk must be an int >= 1")
        return self.add_rule("slow_drip", times=times, op=op,
                             bytes_per_second=float(bytes_per_second), chunk=chunk)

    def status(self, code, aws_type, message=None, *, times=1, op=None):
        if not isinstance(code, int) or not 200 <= code <= 599:
            raise ValueError("code must be an HTTP status from 200 to 599")
        full_type = aws_type if "#" in aws_type else AWS_TYPE_PREFIX + aws_type
        if message is None:
            message = f"{aws_type} injected by fault_proxy"
        return self.add_rule("status", times=times, op=op, code=code, aws_type=full_type,
                             message=message)

    def hang(self, *, times=1, op=None):
        return self.add_rule("hang", times=times, op=op)

    def clear(self):
        """Drop every rule still in the script."""
        with self._lock:
            self._rules.clear()

    def pending(self):
        """The rules still in the script, in order."""
        with self._lock:
            return list(self._rules)

    def _take_rule(self, operation, target, refuse):
        with self._lock:
            for rule in self._rules:
                if (rule.kind == "refuse") != refuse or not rule.matches(operation, target):
                    continue
                rule.applied += 1
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                return rule
        return None

    # --- counters -------------------------------------------------------

    def reset_counters(self):
        with self._lock:
            self.connections = 0
            self.requests = 0
            self.forwarded = 0
            self.upstream_connections = 0
            self.upstream_errors = 0
            self.bad_requests = 0
            self.faults = collections.Counter()
            self.ops = collections.Counter()
            self.forwarded_ops = collections.Counter()
            self.log = []

    def stats(self):
        """A consistent copy of every counter and the log."""
        with self._lock:
            return {
                "connections": self.connections, "requests": self.requests,
                "forwarded": self.forwarded, "upstream_connections": self.upstream_connections,
                "upstream_errors": self.upstream_errors, "bad_requests": self.bad_requests,
                "faults": dict(self.faults), "ops": dict(self.ops),
                "forwarded_ops": dict(self.forwarded_ops), "log": list(self.log),
            }

    def _count(self, name, n=1):
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def _record(self, operation, action, rule=None):
        with self._lock:
            self.log.append((operation, action))
            if rule is not None:
                self.faults[rule.kind] += 1

    # --- the listener ---------------------------------------------------

    @staticmethod
    def _listen(port):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    @property
    def listening(self):
        with self._lock:
            return self._lsock is not None

    def pause_listening(self, seconds=None):
        """Close the listening socket now; re-open it on the same port after `seconds`
        (None: only on resume_listening()).  Returns once new connections are refused."""
        if seconds is not None and seconds < 0:
            raise ValueError("seconds must be >= 0 or None")
        with self._lock:
            self._pause_request = (seconds,)
        self._wake()
        with self._lock:
            if not self._listener_changed.wait_for(
                    lambda: self._pause_request is None or self._stopping.is_set(), 5):
                raise RuntimeError("the accept thread did not close the listener")

    def resume_listening(self, timeout=5.0):
        """Re-open the listening socket now; returns once it accepts connections."""
        with self._lock:
            self._resume_request = True
        self._wake()
        with self._lock:
            if not self._listener_changed.wait_for(
                    lambda: self._lsock is not None or self._stopping.is_set(), timeout):
                raise RuntimeError(f"could not listen on 127.0.0.1:{self.port} again")

    def _wake(self):
        try:
            self._wake_w.send(b"x")
        except (OSError, AttributeError):
            pass

    def _accept_loop(self):
        try:
            while not self._stopping.is_set():
                with self._lock:
                    lsock = self._lsock
                    reopen_at = self._reopen_at
                timeout = 0.5
                if lsock is None:
                    if (self._resume_request
                            or (reopen_at is not None and time.monotonic() >= reopen_at)):
                        self._reopen()
                        continue
                    if reopen_at is not None:
                        timeout = max(0.0, min(timeout, reopen_at - time.monotonic()))
                rlist = [self._wake_r] + ([lsock] if lsock is not None else [])
                ready, _, _ = select.select(rlist, [], [], timeout)
                if self._wake_r in ready:
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except BlockingIOError:
                        pass
                    self._handle_listener_requests()
                    continue
                if lsock is not None and lsock in ready:
                    self._accept(lsock)
        finally:
            with self._lock:
                lsock, self._lsock = self._lsock, None
                self._listener_changed.notify_all()
            if lsock is not None:
                lsock.close()

    def _handle_listener_requests(self):
        with self._lock:
            pause, self._pause_request = self._pause_request, None
            if pause is not None:
                lsock, self._lsock = self._lsock, None
                if lsock is not None:
                    lsock.close()  # under the lock: pause_listening() returns after this
                seconds = pause[0]
                self._reopen_at = None if seconds is None else time.monotonic() + seconds
                self._resume_request = False
            elif self._lsock is not None:
                self._resume_request = False  # a resume while listening: nothing to do
            self._listener_changed.notify_all()

    def _reopen(self):
        try:
            lsock = self._listen(self.port)
        except OSError:
            # Port briefly unavailable: try again shortly.
            with self._lock:
                self._reopen_at = time.monotonic() + 0.05
            self._stopping.wait(0.05)
            return
        with self._lock:
            self._lsock = lsock
            self._reopen_at = None
            self._resume_request = False
            self._listener_changed.notify_all()

    def _accept(self, lsock):
        try:
            sock, _ = lsock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        sock.setblocking(True)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._count("connections")
        rule = self._take_rule(None, None, refuse=True)
        if rule is not None:
            self._record(None, "refuse", rule)
            sock.close()
            return
        with self._lock:
            if self._stopping.is_set():
                sock.close()
                return
            self._seq += 1
            t = threading.Thread(target=self._serve, args=(sock,), daemon=True,
                                 name=f"fault-proxy-{self.port}-conn-{self._seq}")
            self._clients.add(sock)
            self._threads.add(t)
        t.start()

    # --- one client connection --------------------------------------------

    def _serve(self, sock):
        client = _ClientConnection(sock)
        upstream = _Upstream(self)
        with self._lock:
            self._upstreams.add(upstream)
        closed = False
        try:
            while not self._stopping.is_set():
                if not client.wait_first_bytes():
                    break
                if self._take_refuse_on_open_connection():
                    client.drain()
                    break
                try:
                    req = client.read_request()
                except BadRequest:
                    self._count("bad_requests")
                    self._record(None, "bad_request")
                    body = b"bad request\n"
                    sock.sendall(_response_head(400, "Bad Request",
                                                [("Content-Type", "text/plain")],
                                                len(body), False) + body)
                    break
                with self._lock:
                    self.requests += 1
                    self.ops[req.operation] += 1
                rule = self._take_rule(req.operation, req.amz_target, refuse=False)
                keep, closed = self._handle(client, upstream, req, rule)
                if not keep:
                    break
        except (_ClientClosed, OSError):
            pass
        finally:
            with self._lock:
                self._clients.discard(sock)
                self._upstreams.discard(upstream)
                self._threads.discard(threading.current_thread())
            upstream.close()
            if not closed:
                sock.close()

    def _take_refuse_on_open_connection(self):
        rule = self._take_rule(None, None, refuse=True)
        if rule is None:
            return False
        self._record(None, "refuse", rule)
        return True

    def _forward(self, upstream, req):
        """(status, reason, headers, body), or None after counting an upstream error."""
        try:
            answer = upstream.forward(req)
        except (OSError, http.client.HTTPException):
            with self._lock:
                self.upstream_errors += 1
                self.log.append((req.operation, "upstream_error"))
            return None
        with self._lock:
            self.forwarded += 1
            self.forwarded_ops[req.operation] += 1
        return answer

    def _bad_gateway(self, sock):
        body = b'{"__type":"BadGateway","message":"fault_proxy: upstream unreachable"}'
        sock.sendall(_response_head(502, "Bad Gateway", [("Content-Type", JSON_CONTENT_TYPE)],
                                    len(body), False) + body)

    def _handle(self, client, upstream, req, rule):
        """Answer one request; (keep the connection?, socket already closed?)."""
        sock = client.sock
        kind = rule.kind if rule is not None else None
        op = req.operation
        self._record(op, kind or "forward", rule)
        head_only = req.method == "HEAD"

        if kind == "reset_before":
            _reset(sock)
            return False, True
        if kind == "garbage":
            sock.sendall(rule.params["data"])
            return False, False
        if kind == "hang":
            self._hang(sock)
            return False, False
        if kind == "status":
            p = rule.params
            body = json.dumps({"__type": p["aws_type"], "message": p["message"]}).encode()
            headers = [("Content-Type", JSON_CONTENT_TYPE),
                       ("x-amzn-RequestId", uuid.uuid4().hex.upper()),
                       ("x-amz-crc32", str(zlib.crc32(body) & 0xFFFFFFFF))]
            head = _response_head(p["code"], None, headers, len(body), req.keep_alive)
            sock.sendall(head + (b"" if head_only else body))
            return req.keep_alive, False
        if kind == "latency":
            if self._stopping.wait(rule.params["seconds"]):
                return False, False

        answer = self._forward(upstream, req)
        if kind == "reset_after":
            _reset(sock)
            return False, True
        if answer is None:
            self._bad_gateway(sock)
            return False, False
        status, reason, headers, body = answer
        head = _response_head(status, reason, headers, len(body), req.keep_alive)
        if head_only:
            body = b""
        if kind == "truncate":
            sock.sendall(head + body[:min(rule.params["n"], max(len(body) - 1, 0))])
            return False, False
        if kind == "slow_drip":
            data = head + body
            chunk = rule.params["chunk"]
            pause = chunk / rule.params["bytes_per_second"]
            for i in range(0, len(data), chunk):
                if i and self._stopping.wait(pause):
                    return False, False
                sock.sendall(data[i:i + chunk])
            return req.keep_alive, False
        sock.sendall(head + body)
        return req.keep_alive, False

    def _hang(self, sock):
        """Answer nothing until the client closes or the proxy stops."""
        while not self._stopping.is_set():
            ready, _, _ = select.select([sock], [], [], 0.1)
            if ready:
                try:
                    if not sock.recv(65536):
                        return
                except OSError:
                    return
