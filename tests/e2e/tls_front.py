# SPDX-License-Identifier: Apache-2.0
"""A TLS terminator for the end-to-end tests, and a throwaway CA to give it a certificate.

TLSFront listens on 127.0.0.1, completes a TLS handshake with each client it accepts and
then relays raw bytes both ways to a plain-TCP upstream (the SigV4 front, dynalite, ...).
It never parses HTTP, so keep-alive, pipelining and every header pass through untouched:
one TLS connection is exactly one upstream connection.

Counters (thread-safe attributes): accepted (TCP connections), handshakes (completed),
failed_handshakes (with the reasons in handshake_errors), idle_closes (connections the
front closed because of idle_close or close_all), bytes_up and bytes_down.

Closing kept-alive connections, as a real server does when it tires of them:
  idle_close=SECONDS   close every connection idle (no byte either way) that long;
  close_all()          close every open connection now, and return how many it closed.
The way a connection ends is close_mode: "close_notify" (a TLS close alert, then FIN),
"fin" (FIN without the alert) or "rst" (a TCP reset).
"""
import os
import select
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time

import loopback

CLOSE_MODES = ("close_notify", "fin", "rst")


class ThrowawayCA:
    """A CA made with the openssl CLI in a directory every user can read (httpd's children
    run as www-data and read ItemsCAFile themselves); certificates it issues live there too."""

    def __init__(self, directory, name="items e2e test CA"):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        os.chmod(directory, 0o755)
        self.name = name
        slug = "".join(c if c.isalnum() else "-" for c in name)
        self.key = os.path.join(directory, f"{slug}.key")
        self.pem = os.path.join(directory, f"{slug}.pem")
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-keyout", self.key, "-out", self.pem, "-days", "2",
                      "-subj", f"/CN={name}",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        os.chmod(self.pem, 0o644)

    @staticmethod
    def _openssl(*args):
        res = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
        if res.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {res.stderr}")
        return res

    def issue(self, stem, cn="127.0.0.1", san="IP:127.0.0.1,DNS:localhost"):
        """A server certificate signed by this CA; returns (cert.pem, key.pem)."""
        key = os.path.join(self.dir, f"{stem}.key")
        csr = os.path.join(self.dir, f"{stem}.csr")
        cert = os.path.join(self.dir, f"{stem}.pem")
        ext = os.path.join(self.dir, f"{stem}.ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={cn}")
        self._openssl("x509", "-req", "-in", csr, "-CA", self.pem, "-CAkey", self.key,
                      "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "2",
                      "-extfile", ext, "-out", cert)
        os.chmod(cert, 0o644)
        return cert, key


def throwaway_dir():
    d = tempfile.mkdtemp(prefix="items-tls-")
    os.chmod(d, 0o755)
    return d


class _Conn:
    def __init__(self, raw):
        self.raw = raw
        self.tls = None
        self.close_now = threading.Event()


class TLSFront(loopback.Server):
    scheme = "https"

    def __init__(self, upstream_port, certfile, keyfile, upstream_host="127.0.0.1",
                 idle_close=None, close_mode="close_notify"):
        if close_mode not in CLOSE_MODES:
            raise ValueError(f"close_mode must be one of {CLOSE_MODES}")
        self.upstream = (upstream_host, upstream_port)
        self.idle_close = idle_close
        self.close_mode = close_mode
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certfile, keyfile)
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(("accepted", "handshakes", "failed_handshakes",
                                      "idle_closes", "bytes_up", "bytes_down"), 0)
        self._errors = []
        self._conns = set()
        self._threads = []
        super().__init__()

    # --- counters -------------------------------------------------------

    def _add(self, name, n=1):
        with self._lock:
            self._counts[name] += n

    def __getattr__(self, name):
        counts = self.__dict__.get("_counts")
        if counts is not None and name in counts:
            with self._lock:
                return counts[name]
        raise AttributeError(name)

    @property
    def handshake_errors(self):
        with self._lock:
            return list(self._errors)

    def wait_for(self, name, at_least, timeout=5.0):
        """The counter, once it reaches at_least (or timeout passes): the server side of a
        handshake may finish just after the client has given up on it."""
        deadline = time.monotonic() + timeout
        while getattr(self, name) < at_least and time.monotonic() < deadline:
            time.sleep(0.01)
        return getattr(self, name)

    def open_connections(self):
        with self._lock:
            return len(self._conns)

    # --- lifecycle ------------------------------------------------------

    def stop(self):
        self._stop_listening()
        for t in list(self._threads):
            t.join(5)
        alive = [t.name for t in self._threads + [self._acceptor] if t.is_alive()]
        if alive:
            raise RuntimeError(f"TLS front threads still running: {alive}")

    def close_all(self, timeout=5.0):
        """Close every open client connection (as close_mode says); returns how many."""
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            c.close_now.set()
        deadline = time.monotonic() + timeout
        while any(c in self._conns for c in conns) and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(conns)

    def _on_conn(self, raw):
        self._add("accepted")
        t = threading.Thread(target=self._serve, args=(_Conn(raw),),
                             name=f"tls-front-conn-{self.accepted}", daemon=True)
        self._threads = [x for x in self._threads if x.is_alive()] + [t]
        t.start()

    # --- one connection -------------------------------------------------

    def _serve(self, c):
        up = None
        try:
            c.raw.settimeout(5)
            try:
                c.tls = self.ctx.wrap_socket(c.raw, server_side=True,
                                             do_handshake_on_connect=False)
                c.tls.do_handshake()
            except (ssl.SSLError, OSError) as e:
                self._add("failed_handshakes")
                with self._lock:
                    self._errors.append(f"{type(e).__name__}: {e}")
                return
            self._add("handshakes")
            up = socket.create_connection(self.upstream, timeout=5)
            with self._lock:
                self._conns.add(c)
            self._relay(c, up)
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.discard(c)
            if up is not None:
                up.close()
            self._close(c)

    def _relay(self, c, up):
        tls = c.tls
        tls.setblocking(False)
        up.setblocking(False)
        last = time.monotonic()
        while not self._stop.is_set():
            if c.close_now.is_set():
                self._add("idle_closes")
                return
            wait = 0.05
            if self.idle_close is not None:
                left = last + self.idle_close - time.monotonic()
                if left <= 0:
                    self._add("idle_closes")
                    return
                wait = min(wait, left)
            ready = [tls] if tls.pending() else select.select([tls, up], [], [], wait)[0]
            for s in ready:
                try:
                    data = s.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    continue
                except (ssl.SSLError, OSError):
                    return
                if not data:
                    return  # that side closed: so does the other
                if s is tls:
                    self._send(up, data)
                    self._add("bytes_up", len(data))
                else:
                    self._send(tls, data)
                    self._add("bytes_down", len(data))
                last = time.monotonic()

    @staticmethod
    def _send(sock, data):
        view = memoryview(data)
        deadline = time.monotonic() + 10
        while view:
            try:
                n = sock.send(view)
                view = view[n:]
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                if time.monotonic() > deadline:
                    raise OSError("send timed out")
                select.select([], [sock], [], 0.05)

    def _close(self, c):
        sock = c.tls or c.raw
        try:
            if self.close_mode == "rst":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif self.close_mode == "close_notify" and c.tls is not None:
                c.tls.setblocking(False)
                try:
                    c.tls.unwrap()  # sends the close_notify alert; the peer's is not awaited
                except (ssl.SSLError, OSError, ValueError):
                    pass
                # unwrap() may hand the raw socket back: close whichever is left open.
        except OSError:
            pass
        for s in (c.tls, c.raw):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
