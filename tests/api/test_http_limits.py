"""The server's HTTP limits (``python -m rfm_segmentation.api``), each through its
``RFM_`` variable, on real sockets: a huge head, idle and slow connections, a body
shorter than its Content-Length, more connections than allowed."""

from __future__ import annotations

import socket
import time
from contextlib import ExitStack
from urllib.parse import urlsplit

import httpx
import pytest

pytestmark = pytest.mark.slow

SHORT = {
    "RFM_KEEP_ALIVE_SECONDS": "1",
    "RFM_HEADER_TIMEOUT_SECONDS": "1",
    "RFM_BODY_TIMEOUT_SECONDS": "1",
}
SEGMENT = (
    b"POST /api/v1/segment HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
)


def connect(url: str) -> socket.socket:
    address = urlsplit(url)
    return socket.create_connection((address.hostname, address.port), timeout=10)


def until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    started, answer = time.monotonic(), b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    return answer, time.monotonic() - started


def test_a_64_mb_header_is_refused_with_431_long_before_it_is_sent(live_server):
    """The default limit (32 KiB): the server answers and closes while the client
    is still sending, so the 64 MB never reach it."""
    sent = 0
    with connect(live_server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
        try:
            while sent < 64 * 1024 * 1024:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except OSError:  # the server closed the connection
            pass
        answer, _ = until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b"RFM_MAX_HEADER_BYTES" in answer
    assert sent < 16 * 1024 * 1024


def test_a_head_over_the_limit_is_refused_and_one_under_it_answered(live_servers):
    url = live_servers(RFM_MAX_HEADER_BYTES="4096")
    assert httpx.get(f"{url}/health", headers={"X-Pad": "a" * 3000}).status_code == 200
    refused = httpx.get(f"{url}/health", headers={"X-Pad": "a" * 5000})
    assert refused.status_code == 431
    assert refused.headers["connection"] == "close"


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(live_servers):
    url = live_servers(**SHORT)
    with connect(url) as never_asked:  # nothing sent at all
        answer, waited = until_closed(never_asked)
    assert answer == b"" and 0.8 < waited < 3
    with connect(url) as answered:  # idle after an answer
        answered.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer, waited = until_closed(answered)
    assert answer.startswith(b"HTTP/1.1 200 ") and 0.8 < waited < 3


def test_bytes_that_begin_no_request_do_not_keep_a_connection_open(live_servers):
    url = live_servers(**SHORT)
    started = time.monotonic()
    with connect(url) as sock:
        try:
            for _ in range(30):
                sock.sendall(b"\r\n")
                time.sleep(0.2)
        except OSError:
            pass
        until_closed(sock)
    assert time.monotonic() - started < 3


def test_a_slow_head_is_answered_408_within_the_header_timeout(live_servers):
    url = live_servers(**SHORT)
    with connect(url) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        try:
            for number in range(30):  # a header line every 0.2 s, never the end
                sock.sendall(b"X-Slow-%d: a\r\n" % number)
                time.sleep(0.2)
        except OSError:
            pass
        answer, _ = until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"RFM_HEADER_TIMEOUT_SECONDS" in answer
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("path", [b"/api/v1/segment", b"/api/v1/segment/batch"])
def test_a_body_shorter_than_its_length_is_answered_408_within_the_body_timeout(
    live_servers, path
):
    url = live_servers(**SHORT)
    with connect(url) as sock:
        head = SEGMENT.replace(b"/api/v1/segment", path)
        sock.sendall(head + b'Content-Length: 100\r\n\r\n{"recency": 1')
        answer, waited = until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"RFM_BODY_TIMEOUT_SECONDS" in answer
    assert 0.8 < waited < 3
    assert httpx.get(f"{url}/health").status_code == 200  # the worker is fine


def test_past_the_connection_cap_requests_are_answered_503(live_servers):
    url = live_servers(RFM_MAX_CONNECTIONS="3", RFM_KEEP_ALIVE_SECONDS="30")
    with ExitStack() as stack:
        for _ in range(3):
            stack.enter_context(connect(url))
        time.sleep(0.3)  # the server has accepted them
        assert httpx.get(f"{url}/health").status_code == 503
    time.sleep(0.3)
    assert httpx.get(f"{url}/health").status_code == 200
