"""The load generator's HTTP/1.1 client: one keep-alive connection, as little work per call as
a correct exchange allows.

The load generator shares the machine's two cores with the server it measures. http.client
parses every answer's headers with the email package and costs about 0.3 ms of CPU a request
here, a tenth of the machine at 500 requests/s, and its threads then compete for their own
process's GIL: time counted as the server's latency. This client sends a request in one write
and reads an answer by its Content-Length, which our OCPI answers always carry.
"""

from __future__ import annotations

import socket

_NO_BODY = {204, 304}


class LoadClientError(RuntimeError):
    """The server answered in a way the load generator does not read (or closed on it)."""


class LoadClient:
    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._sock: socket.socket | None = None
        self._buffer = b""

    def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        """Send one request; (status, headers with lower-case names, body) of its answer."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        sock = self._connected()
        sock.sendall(data)
        status, answer_headers = self._read_head()
        if status in _NO_BODY or method == "HEAD":
            content = b""
        elif b"content-length" in answer_headers:
            content = self._read_exactly(int(answer_headers[b"content-length"]))
        else:
            raise LoadClientError(f"{method} {path}: HTTP {status} answer without Content-Length")
        if answer_headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return status, answer_headers, content

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock, self._buffer = None, b""

    def _connected(self) -> socket.socket:
        if self._sock is None:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            # Each request goes out in one write; Nagle would hold back nothing but the next.
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._sock

    def _receive(self) -> None:
        if self._sock is None:
            raise LoadClientError("the connection was closed")
        chunk = self._sock.recv(65536)
        if not chunk:
            self.close()
            raise LoadClientError("the server closed the connection mid-answer")
        self._buffer += chunk

    def _read_head(self) -> tuple[int, dict[bytes, bytes]]:
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            self._receive()
        head, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
        status_line, *header_lines = head.split(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise LoadClientError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        return int(parts[1]), headers

    def _read_exactly(self, length: int) -> bytes:
        while len(self._buffer) < length:
            self._receive()
        content, self._buffer = self._buffer[:length], self._buffer[length:]
        return content
