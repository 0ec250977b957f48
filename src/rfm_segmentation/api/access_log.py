"""One JSON access-log line per request, with a request id echoed in X-Request-ID;
the API's log lines are written by a ``QueueListener``'s thread, off the requests'
path."""

from __future__ import annotations

import itertools
import logging
import queue
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from logging.handlers import QueueHandler, QueueListener
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
    """The API's log lines for stdout, through the standard library's queue logging:
    a request only puts its line on a queue (the access line as a string, other
    records through a ``QueueHandler``); while ``writing``, a ``QueueListener``'s
    thread writes what has gathered in one write, at most every ``interval``
    seconds, and the rest when it stops."""

    def __init__(self, stream: TextIO | None = None, interval: float = 0.05) -> None:
        self.queue: queue.SimpleQueue[logging.LogRecord | str] = queue.SimpleQueue()
        self.stream, self.interval = stream, interval
        self.put = self.queue.put_nowait

    @contextmanager
    def writing(self) -> Iterator[None]:
        writer = _BatchWriter(self.queue, self.stream or sys.stdout, self.interval)
        writer.start()
        try:
            yield
        finally:
            writer.stop()


class _BatchWriter(QueueListener):
    """A ``QueueListener`` that writes in batches: a busy server wakes its thread
    once per ``interval``, not once per request."""

    def __init__(
        self,
        lines: queue.SimpleQueue[logging.LogRecord | str],
        stream: TextIO,
        interval: float,
    ) -> None:
        super().__init__(lines)
        self.stream, self.interval = stream, interval
        self.batch: list[str] = []

    def dequeue(self, block: bool) -> logging.LogRecord | str:
        try:
            return self.queue.get_nowait()
        except queue.Empty:
            self._write()
            time.sleep(self.interval)  # let the next lines gather
            return self.queue.get(block)

    def handle(self, record: logging.LogRecord | str) -> None:
        # a record's message was formatted by the QueueHandler
        self.batch.append(record if isinstance(record, str) else record.getMessage())

    def stop(self) -> None:
        super().stop()  # every line before the stop is handled
        self._write()

    def _write(self) -> None:
        if self.batch:
            self.stream.write("\n".join(self.batch) + "\n")
            self.stream.flush()
            self.batch.clear()


@contextmanager
def api_logging(lines: LogLines) -> Iterator[None]:
    """The ``rfm_segmentation.api`` logger's records as plain lines among ``lines``,
    written while this lasts; every line is written before it exits."""
    api_logger = logging.getLogger(API_LOGGER)
    handler = QueueHandler(lines.queue)
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

    The line goes straight onto ``lines``' queue, skipping a LogRecord per request; the
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
                self.lines.put(
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
