"""The benchmarks' HTTP client reads answers as HTTP/1.1 frames them, or refuses them.

A load generator that misread a frame would count half-read answers as fast ones; these run it
against a scripted server on loopback that sends bytes exactly as written here.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from bench.load_client import LoadClient, LoadClientError


class ScriptedServer:
    """Accepts connections; answers each request with the next scripted answer, sent in the
    given pieces (a short pause between pieces, so the client sees them as separate reads).
    An empty piece closes the connection there."""

    def __init__(self, answers: list[list[bytes]]) -> None:
        self.answers = list(answers)
        self.requests: list[bytes] = []
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while self.answers:
            conn, _ = self.listener.accept()
            self.connections += 1
            with conn:
                buffer = b""
                while self.answers:
                    while b"\r\n\r\n" not in buffer:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        buffer += chunk
                    if b"\r\n\r\n" not in buffer:
                        break  # the client closed: take the next connection
                    head, _, buffer = buffer.partition(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.lower() == b"content-length":
                            length = int(value)
                    while len(buffer) < length:
                        buffer += conn.recv(65536)
                    self.requests.append(head + b"\r\n\r\n" + buffer[:length])
                    buffer = buffer[length:]
                    pieces = self.answers.pop(0)
                    for piece in pieces:
                        conn.sendall(piece)
                        time.sleep(0.01)
                    if b"Connection: close" in pieces[0] or not pieces[-1]:
                        break


def answer(status: str, body: bytes, *extra: str) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def test_two_answers_on_one_connection_each_read_to_its_length():
    first = answer("200 OK", b'{"status_code": 1000}', "X-Request-ID: r1")
    server = ScriptedServer(
        [[first[:10], first[10:30], first[30:]], [answer("404 Not Found", b"{}")]]
    )
    client = LoadClient("127.0.0.1", server.port)

    status, headers, body = client.request(
        "POST", "/ocpi/x?type=RFID", b'{"a": 1}', {"Authorization": "Token abc"}
    )
    assert (status, body, headers[b"x-request-id"]) == (200, b'{"status_code": 1000}', b"r1")
    assert client.request("GET", "/ocpi/y", None, {})[::2] == (404, b"{}")
    assert server.connections == 1  # kept alive
    sent = server.requests[0]
    assert sent.startswith(b"POST /ocpi/x?type=RFID HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Token abc\r\n" in sent
    assert b"\r\nContent-Length: 8\r\n" in sent
    assert sent.endswith(b'\r\n\r\n{"a": 1}')
    assert b"Content-Length" not in server.requests[1]  # a GET sends no body length


def test_connection_close_reconnects_for_the_next_request():
    server = ScriptedServer(
        [[answer("200 OK", b"one", "Connection: close")], [answer("200 OK", b"two")]]
    )
    client = LoadClient("127.0.0.1", server.port)
    assert client.request("GET", "/a", None, {})[2] == b"one"
    assert client.request("GET", "/b", None, {})[2] == b"two"
    assert server.connections == 2


def test_an_answer_without_content_length_is_refused():
    server = ScriptedServer(
        [[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"]]
    )
    with pytest.raises(LoadClientError, match="without Content-Length"):
        LoadClient("127.0.0.1", server.port).request("GET", "/", None, {})


def test_a_connection_closed_mid_answer_is_an_error_not_a_short_body():
    server = ScriptedServer([[b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", b""]])
    with pytest.raises(LoadClientError, match="closed"):
        LoadClient("127.0.0.1", server.port).request("GET", "/", None, {})


def test_a_204_has_no_body_to_wait_for():
    server = ScriptedServer([[b"HTTP/1.1 204 No Content\r\n\r\n"]])
    assert LoadClient("127.0.0.1", server.port).request("DELETE", "/x", None, {})[::2] == (204, b"")
