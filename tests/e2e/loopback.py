# SPDX-License-Identifier: Apache-2.0
"""The listening half of the tests' small servers (fake_backend, connect_proxy, tls_front):
a socket on a free loopback port, the loop that accepts connections on it, and Server, the
base class that runs it."""
import socket
import threading


def listen():
    """A listening socket on 127.0.0.1, on a port the kernel picks. Its accept() gives up
    every 0.1 s, so that a server's stop() never waits for a connection to arrive."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.settimeout(0.1)
    return sock


def shut_down(socks):
    """Shut each socket down both ways, so that whatever blocks on it returns; sockets
    already closed are passed over."""
    for sock in socks:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def accept_loop(sock, stop, on_conn):
    """Accept until the event stop is set or sock is closed, handing each connection, in
    blocking mode, to on_conn."""
    while not stop.is_set():
        try:
            conn, _ = sock.accept()
        except socket.timeout:
            continue
        except OSError:
            return
        conn.settimeout(None)
        on_conn(conn)


class Server:
    """What the tests' servers share: a listener on loopback (port, url) whose accept loop
    start() runs in a thread, handing each connection to the subclass's _on_conn(conn).
    A subclass's stop() calls _stop_listening() and then ends its own connections."""
    scheme = "http"

    def __init__(self):
        self._stop = threading.Event()
        self._sock = listen()
        self.port = self._sock.getsockname()[1]
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        self._acceptor = threading.Thread(target=accept_loop,
                                          args=(self._sock, self._stop, self._on_conn),
                                          name=f"{type(self).__name__}-accept", daemon=True)

    def start(self):
        self._acceptor.start()
        return self

    def _stop_listening(self):
        self._stop.set()
        self._sock.close()
        self._acceptor.join(5)

    def _on_conn(self, conn):
        raise NotImplementedError

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
