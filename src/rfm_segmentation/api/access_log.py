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


class AccessLogMiddleware:
    """Pure ASGI (no per-request task or body buffering, unlike BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
            logger.info(
                orjson.dumps(
                    {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
                    }
                ).decode()
            )


class _LineBuffer(logging.Handler):
    """Appends each record's line to a deque, which wakes no thread; a writer thread
    empties it every ``interval`` seconds in one write, and once more on ``close``."""

    def __init__(self, stream: TextIO, interval: float) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))
        self.lines: deque[str] = deque()
        self.stream, self.interval = stream, interval
        self.closing = threading.Event()
        self.writer = threading.Thread(
            target=self._write_until_closed, name="api-log-writer", daemon=True
        )
        self.writer.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:
            self.handleError(record)

    def _write_until_closed(self) -> None:
        while not self.closing.wait(self.interval):
            self._write_waiting()
        self._write_waiting()

    def _write_waiting(self) -> None:
        batch = []
        while self.lines:
            batch.append(self.lines.popleft())
        if batch:
            self.stream.write("\n".join(batch) + "\n")
            self.stream.flush()

    def close(self) -> None:
        self.closing.set()
        self.writer.join()
        super().close()


@contextmanager
def api_logging(stream: TextIO | None = None, interval: float = 0.05) -> Iterator[None]:
    """The API's records as plain lines on stdout, one per record. A request only
    appends its line to a buffer; a background thread writes what has gathered every
    ``interval`` seconds. Every line is written before this exits."""
    api_logger = logging.getLogger(API_LOGGER)
    handler = _LineBuffer(stream or sys.stdout, interval)
    propagate, level = api_logger.propagate, api_logger.level
    api_logger.addHandler(handler)
    api_logger.setLevel(logging.INFO)
    api_logger.propagate = False
    try:
        yield
    finally:
        api_logger.removeHandler(handler)
        api_logger.propagate, api_logger.level = propagate, level
        handler.close()
