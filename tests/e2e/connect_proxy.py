# SPDX-License-Identifier: Apache-2.0
"""A small HTTP CONNECT forward proxy on loopback, as an egress proxy a sysadmin would put
between httpd and DynamoDB: `CONNECT host:port HTTP/1.1`, `200 Connection established`, then
bytes relayed both ways until either side closes.

It records every CONNECT target (and the Proxy-Authorization it came with), counts the
tunnels it opened, can require Basic proxy credentials (407 without them) and refuses with
403 the targets it is not allowed to reach. Anything but CONNECT is answered 405: a client
that sends its request to the proxy in plain text instead of tunnelling is seen at once.
"""
import base64
import selectors
import socket
import threading

import loopback

MAX_HEAD = 65536


class ConnectProxy(loopback.Server):
    def __init__(self, allow=None, auth=None, refuse_status=403):
        """allow: None (every target) or a collection of "host:port" targets to tunnel to;
        auth: None or "user:password", then required as Basic Proxy-Authorization."""
        self.allow = None if allow is None else set(allow)
        self.auth = auth
        self.refuse_status = refuse_status
        self.connects = []       # every CONNECT target, in order, allowed or not
        self.proxy_auth = []     # the Proxy-Authorization header of each CONNECT (or None)
        self.refused = []        # (target, status) of every CONNECT answered other than 200
        self.other = []          # request lines that were not CONNECT
        self.tunnels = 0         # tunnels established (200 sent)
        self.closed_tunnels = 0  # tunnels that have ended (either side closed, or stop())
        self._lock = threading.Lock()
        self._open = set()
        self._tunnelled = set()  # the client side of each live tunnel
        self._threads = []
        super().__init__()

    def stop(self):
        self._stop_listening()
        with self._lock:
            socks = list(self._open)
        loopback.shut_down(socks)
        for t in list(self._threads):
            t.join(5)

    def drop_tunnels(self):
        """Close every live tunnel, as a proxy with an idle timeout does; how many."""
        with self._lock:
            socks = list(self._tunnelled)
        loopback.shut_down(socks)
        return len(socks)

    def stats(self):
        with self._lock:
            return {"connects": list(self.connects), "tunnels": self.tunnels,
                    "closed_tunnels": self.closed_tunnels, "refused": list(self.refused),
                    "other": list(self.other)}

    # --- internals -------------------------------------------------------------------

    def _track(self, s):
        with self._lock:
            self._open.add(s)

    def _untrack_close(self, s):
        with self._lock:
            self._open.discard(s)
        try:
            s.close()
        except OSError:
            pass

    def _on_conn(self, conn):
        self._track(conn)
        t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
        self._threads.append(t)
        t.start()

    @staticmethod
    def _read_head(conn):
        data = b""
        while b"\r\n\r\n" not in data:
            if len(data) > MAX_HEAD:
                return None, b""
            chunk = conn.recv(65536)
            if not chunk:
                return None, b""
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        return head.decode("latin-1"), rest

    @staticmethod
    def _answer(conn, status, reason, extra=""):
        conn.sendall(f"HTTP/1.1 {status} {reason}\r\n{extra}Content-Length: 0\r\n"
                     f"Connection: close\r\n\r\n".encode())

    def _authorized(self, value):
        if self.auth is None:
            return True
        if not value:
            return False
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            return base64.b64decode(token.strip(), validate=True).decode() == self.auth
        except (ValueError, UnicodeDecodeError):
            return False

    def _serve(self, conn):
        upstream = None
        try:
            head, rest = self._read_head(conn)
            if head is None:
                return
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if len(parts) != 3 or parts[0] != "CONNECT":
                with self._lock:
                    self.other.append(lines[0])
                self._answer(conn, 405, "Method Not Allowed")
                return
            target = parts[1]
            with self._lock:
                self.connects.append(target)
                self.proxy_auth.append(headers.get("proxy-authorization"))
            if not self._authorized(headers.get("proxy-authorization")):
                with self._lock:
                    self.refused.append((target, 407))
                self._answer(conn, 407, "Proxy Authentication Required",
                             'Proxy-Authenticate: Basic realm="items-test"\r\n')
                return
            if self.allow is not None and target not in self.allow:
                with self._lock:
                    self.refused.append((target, self.refuse_status))
                self._answer(conn, self.refuse_status, "Forbidden")
                return
            host, _, port = target.rpartition(":")
            try:
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
            except (OSError, ValueError):
                with self._lock:
                    self.refused.append((target, 502))
                self._answer(conn, 502, "Bad Gateway")
                return
            upstream.settimeout(None)
            self._track(upstream)
            with self._lock:
                self.tunnels += 1
                self._tunnelled.add(conn)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            self._relay(conn, upstream)
        except OSError:
            pass
        finally:
            if upstream is not None:
                with self._lock:
                    self.closed_tunnels += 1
                    self._tunnelled.discard(conn)
                self._untrack_close(upstream)
            self._untrack_close(conn)

    def _relay(self, a, b):
        """Copy bytes both ways; an end of stream on one side half-closes the other, and the
        tunnel ends when both directions have ended (or on any error)."""
        peer = {a: b, b: a}
        sel = selectors.DefaultSelector()
        try:
            sel.register(a, selectors.EVENT_READ)
            sel.register(b, selectors.EVENT_READ)
            live = 2
            while live and not self._stop.is_set():
                for key, _ in sel.select(timeout=0.2):
                    src = key.fileobj
                    data = src.recv(65536)
                    if data:
                        peer[src].sendall(data)
                        continue
                    sel.unregister(src)
                    live -= 1
                    try:
                        peer[src].shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
        finally:
            sel.close()
