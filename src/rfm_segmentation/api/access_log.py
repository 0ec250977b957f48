"""One JSON access-log line per request, with a request id echoed in X-Request-ID;
the API's log lines are written by a background thread, off the requests' path."""

from __future__ import annotations

import itertools
import logging
import re
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_LOGGER = "rfm_segmentation.api"
logger = logging.getLogger(f"{API_LOGGER}.access")

# New ids: this process's random prefix and a counter, unique without a syscall each.
_PROCESS_ID = uuid.uuid4().hex[:16]
_request_numbers = itertools.count(1)
# Printable ASCII without spaces, 1 to 64 characters; anything else is replaced.
_GOOD_REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,64}")


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's X-Request-ID when it is a sane token, else a new one."""
    for name, value in headers:
        if name == b"x-request-id":
            if _GOOD_REQUEST_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return f"{_PROCESS_ID}-{next(_request_numbers):x}"


class LogLines:
    """Lines for stdout: appending one wakes nothing; while ``writing``, a thread
    writes what has gathered every ``interval`` seconds in one write, and the rest
    when it stops."""

    def __init__(self, stream: TextIO | None = None, interval: float = 0.05) -> None:
        self.lines: deque[str] = deque(maxlen=1_000_000)  # bounded if never written
        self.stream, self.interval = stream, interval
        self.append = self.lines.append

    @contextmanager
    def writing(self) -> Iterator[None]:
        stop = threading.Event()
        writer = threading.Thread(
            target=self._write_until, args=(stop,), name="api-log-writer", daemon=True
        )
        writer.start()
        try:
            yield
        finally:
            stop.set()
            writer.join()

    def _write_until(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            self._write_waiting()
        self._write_waiting()

    def _write_waiting(self) -> None:
        batch = []
        while self.lines:
            batch.append(self.lines.popleft())
        if batch:
            stream = self.stream or sys.stdout
            stream.write("\n".join(batch) + "\n")
            stream.flush()


class _LinesHandler(logging.Handler):
    def __init__(self, lines: LogLines) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:
            self.handleError(record)


@contextmanager
def api_logging(lines: LogLines) -> Iterator[None]:
    """The ``rfm_segmentation.api`` logger's records as plain lines among ``lines``,
    written while this lasts; every line is written before it exits."""
    api_logger = logging.getLogger(API_LOGGER)
    handler = _LinesHandler(lines)
    propagate, level = api_logger.propagate, api_logger.level
    api_logger.addHandler(handler)
    api_logger.setLevel(logging.INFO)
    api_logger.propagate = False
    try:
        with lines.writing():
            yield
    finally:
        api_logger.removeHandler(handler)
        api_logger.propagate, api_logger.level = propagate, level


class AccessLogMiddleware:
    """Pure ASGI (no per-request task or body buffering, unlike BaseHTTPMiddleware).

    The line goes straight to ``lines``, skipping a LogRecord per request; the
    ``rfm_segmentation.api.access`` logger's level still switches it off."""

    def __init__(self, app: ASGIApp, lines: LogLines) -> None:
        self.app, self.lines = app, lines

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope["headers"])
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if logger.isEnabledFor(logging.INFO):
                self.lines.append(
                    orjson.dumps(
                        {
                            "request_id": request_id,
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status,
                            "latency_ms": round(
                                (time.perf_counter() - started) * 1000, 3
                            ),
                        }
                    ).decode()
                )
