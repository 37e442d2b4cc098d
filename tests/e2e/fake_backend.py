# SPDX-License-Identifier: Apache-2.0
"""A scripted stand-in for DynamoDB on loopback: answers each request as told
(status and body, garbage, a hang, or a dropped connection)."""
import threading

import loopback


class FakeBackend(loopback.Server):
    def __init__(self, status=200, body=b"{}", mode="answer", content_type="application/x-amz-json-1.0",
                 clock_offset=0):
        self.status, self.body, self.mode, self.content_type = status, body, mode, content_type
        # mode "clock": a server whose clock runs clock_offset seconds ahead and refuses
        # signatures more than 5 minutes off it, as DynamoDB does.
        self.clock_offset = clock_offset
        self.requests = 0
        self.amz_dates = []
        self._conns = []
        super().__init__()

    def stop(self):
        self._stop_listening()
        for c in list(self._conns):
            try:
                c.close()
            except OSError:
                pass

    def _on_conn(self, conn):
        self._conns.append(conn)
        threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _read_request(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        self._dates = []
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
            if name.strip().lower() == b"x-amz-date":
                self._dates.append(value.strip().decode())
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            rest += chunk
        return True

    def _serve(self, conn):
        try:
            while not self._stop.is_set() and self._read_request(conn):
                self.requests += 1
                if self.mode == "hang":
                    self._stop.wait(30)
                    return
                if self.mode == "close":
                    return
                if self.mode == "garbage":
                    conn.sendall(b"\x00\x01 this is not HTTP \r\n\r\n")
                    return
                if self.mode == "clock":
                    self._answer_clock(conn)
                    continue
                reason = {200: "OK", 400: "Bad Request", 500: "Internal Server Error",
                          503: "Service Unavailable"}.get(self.status, "X")
                conn.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                             % (self.status, reason.encode(), self.content_type.encode(),
                                len(self.body)) + self.body)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _answer_clock(self, conn):
        import datetime
        import email.utils
        now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=self.clock_offset)
        self.amz_dates.append(list(self._dates))
        ok = False
        if self._dates:
            signed = datetime.datetime.strptime(self._dates[0], "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc)
            ok = abs((now - signed).total_seconds()) <= 300
        if ok:
            status, body = b"200 OK", b'{"Item": {"id": {"S": "abc"}, "name": {"S": "on time"}}}'
        else:
            status = b"400 Bad Request"
            body = (b'{"__type":"com.amazon.coral.service#InvalidSignatureException",'
                    b'"message":"Signature expired: ' + self._dates[0].encode() +
                    b' is now earlier than ... (+5 min.)"}')
        date = email.utils.format_datetime(now, usegmt=True).encode()
        conn.sendall(b"HTTP/1.1 " + status + b"\r\nDate: " + date +
                     b"\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: %d\r\n\r\n"
                     % len(body) + body)
