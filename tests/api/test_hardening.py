"""Requests that used to crash or stall the service, and settings that used to crash
its startup: each now gets a documented, bounded answer."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

REFERENCE = {"recency": 15, "frequency": 2, "monetary": 350.75}
TWENTY_MB = 20 * 1024 * 1024


@pytest.mark.parametrize(
    "request_id", [b"\xff\xfe\xfd", b"a" * 65, b"two words", b"tab\tin"]
)
def test_a_bad_request_id_is_replaced_not_a_500(client, request_id):
    given = set()
    for path in ("/health", "/ready"):
        response = client.get(path, headers={"X-Request-ID": request_id})
        assert response.status_code == 200
        assert re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]+", response.headers["x-request-id"])
        given.add(response.headers["x-request-id"])
    assert len(given) == 2  # a new id for each request


def test_a_good_request_id_is_echoed(client):
    response = client.get("/health", headers={"X-Request-ID": "shop-42:abc"})
    assert response.headers["x-request-id"] == "shop-42:abc"


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(10)
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def _connect(live_server: str) -> socket.socket:
    address = urlsplit(live_server)
    return socket.create_connection((address.hostname, address.port), timeout=10)


HEADERS = b"POST /api/v1/segment/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


@pytest.mark.slow
def test_a_declared_20_mb_body_is_refused_before_it_is_sent(live_server):
    """The server answers 413 after the headers: only 1 KiB of the declared 20 MB is
    ever sent, so the body was never waited for nor read."""
    with _connect(live_server) as sock:
        sock.sendall(HEADERS + b"Content-Length: %d\r\n\r\n" % TWENTY_MB + b"[" * 1024)
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"RFM_MAX_BODY_BYTES" in answer


@pytest.mark.slow
def test_a_chunked_20_mb_body_is_refused_once_past_the_limit(live_server):
    """Without a declared length the server reads up to the limit and no further:
    the client cannot push the 20 MB through."""
    chunk = b" " * 65536
    sent = 0
    with _connect(live_server) as sock:
        sock.sendall(HEADERS + b"Transfer-Encoding: chunked\r\n\r\n")
        sock.settimeout(2)
        try:
            while sent < TWENTY_MB:
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
        except OSError:  # the server answered and stopped reading
            pass
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413")
    assert sent < TWENTY_MB / 2


def test_a_batch_over_the_maximum_is_refused_before_its_items_are_validated(
    client_for, trained_project
):
    client = client_for(trained_project, batch_max=3)
    invalid_items = [{"recency": -1, "frequency": 0, "monetary": "x"}] * 4
    response = client.post("/api/v1/segment/batch", json={"customers": invalid_items})
    assert response.status_code == 422
    (error,) = response.json()["detail"]  # one error: no item was looked at
    assert (error["type"], error["loc"]) == ("too_long", ["body", "customers"])
    assert "RFM_BATCH_MAX" in error["msg"]


def test_a_422_quotes_only_a_short_excerpt_of_the_input(client):
    huge = "9" * 100_000
    response = client.post("/api/v1/segment", json={**REFERENCE, "recency": huge})
    assert response.status_code == 422
    assert len(response.content) < 1000
    (error,) = response.json()["detail"]
    assert error["input"].startswith("999") and len(error["input"]) <= 81
    whole = client.post("/api/v1/segment/batch", json={"customers": huge})
    assert whole.status_code == 422 and len(whole.content) < 1000


def test_a_body_that_is_not_utf8_is_a_documented_4xx(client):
    response = client.post(
        "/api/v1/segment",
        content=b'{"recency": "\xff"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (400, 422)
    assert "detail" in response.json()


def test_answers_never_show_server_paths(client_for, project_factory):
    project = project_factory()
    client = client_for(project)
    for response in (client.get("/ready"), client.post("/api/v1/model/reload")):
        assert response.status_code == 503
        assert str(project) not in response.text
        assert "/" not in response.json()["detail"].replace("`make all`", "")


@pytest.mark.parametrize(
    ("variable", "value", "rule"),
    [
        ("RFM_BATCH_MAX", "abc", "valid integer"),
        ("RFM_BATCH_MAX", "0", "greater than or equal to 1"),
        ("RFM_MAX_BODY_BYTES", "-5", "greater than or equal to 1024"),
        ("RFM_MODEL_VERSION", "latest", "should match pattern"),
        ("RFM_API_KEY", "", "set but empty: set a key, or unset RFM_API_KEY"),
        ("RFM_API_KEY", "  ", "set but empty"),
        ("RFM_HEADER_TIMEOUT_SECONDS", "0", "greater than 0"),
        ("RFM_WORKERS", "many", "valid integer"),
    ],
)
def test_a_bad_setting_stops_startup_with_one_line_naming_it(variable, value, rule):
    result = subprocess.run(
        [sys.executable, "-c", "import rfm_segmentation.api.app"],
        check=False,
        env={**os.environ, variable: value},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"rfm-segmentation API: {variable}={value!r}: ")
    assert rule in line


def test_cors_is_off_by_default_and_allows_only_the_configured_origins(
    client_for, trained_project
):
    preflight = {
        "Origin": "https://shop.example",
        "Access-Control-Request-Method": "POST",
    }
    closed = client_for(trained_project)
    response = closed.options("/api/v1/segment", headers=preflight)
    assert "access-control-allow-origin" not in response.headers
    opened = client_for(
        trained_project, cors_origins="https://shop.example, https://admin.example"
    )
    allowed = opened.options("/api/v1/segment", headers=preflight)
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    other = opened.options(
        "/api/v1/segment", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers


def test_openapi_documents_every_error_a_client_can_get(client_for, trained_project):
    keyed = client_for(trained_project, api_key="k").get("/openapi.json").json()
    segment = keyed["paths"]["/api/v1/segment"]["post"]["responses"]
    assert {"200", "400", "401", "413", "422", "503"} <= set(segment)
    assert segment["413"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
