# SPDX-License-Identifier: Apache-2.0
"""The listening half of the tests' small servers (fake_backend, connect_proxy, tls_front):
a socket on a free loopback port, and the loop that accepts connections on it."""
import socket


def listen():
    """A listening socket on 127.0.0.1, on a port the kernel picks. Its accept() gives up
    every 0.1 s, so that a server's stop() never waits for a connection to arrive."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.settimeout(0.1)
    return sock


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
