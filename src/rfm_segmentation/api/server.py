"""The one way to run the API: ``python -m rfm_segmentation.api`` (``make serve``,
the container) runs uvicorn from the ``RFM_*`` settings, with the HTTP limits below.

uvicorn has a keep-alive timeout and a concurrency limit of its own; its fast
(httptools) parser has no limit on a request head's size and no read timeouts. So
``LimitedHttpToolsProtocol`` adds them to uvicorn's httptools protocol:

- an idle connection is closed after ``RFM_KEEP_ALIVE_SECONDS``, from the moment it
  opens as well as after each answer (uvicorn times only the latter);
- a request head (request line and headers) over ``RFM_MAX_HEADER_BYTES`` is
  answered 431 and the connection closed, counted as it arrives, before it is whole;
- a head not complete ``RFM_HEADER_TIMEOUT_SECONDS`` after its first byte, or a body
  not complete ``RFM_BODY_TIMEOUT_SECONDS`` after its head, is answered 408 and the
  connection closed (or only closed, when an answer is already being written).
"""

from __future__ import annotations

import asyncio
from functools import cache

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .settings import ApiSettings

APP = "rfm_segmentation.api.app:app"
PROTOCOL = f"{__name__}:LimitedHttpToolsProtocol"


@cache
def _settings() -> ApiSettings:
    """Each worker's settings, from the environment it inherited."""
    return ApiSettings.from_env()


class HeadTooLarge(Exception):
    """Raised in a parser callback; the parser error it becomes is answered 431."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a head size limit and head, body and idle
    timeouts (the module's docstring)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        settings = _settings()
        self.max_head = settings.max_header_bytes
        self.head_timeout = settings.header_timeout_seconds
        self.body_timeout = settings.body_timeout_seconds
        self.head_bytes = self.head_reads = 0  # parsed, and read while incomplete
        self.in_head = False
        self.refusal: tuple[int, str] | None = None
        self.read_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_read_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        idle = self.timeout_keep_alive_task
        self.timeout_keep_alive_task = None  # uvicorn cancels it on any bytes
        super().data_received(data)
        if self._idle():
            self.timeout_keep_alive_task = idle  # bytes that begin no request
        elif idle is not None:
            idle.cancel()
        if self.in_head and not self.transport.is_closing():
            # a head still incomplete: count whole reads too (the parser buffers
            # them before any header callback)
            self.head_reads += len(data)
            if self.head_reads > self.max_head:
                self._refuse_head()

    def _idle(self) -> bool:
        return not self.in_head and (self.cycle is None or self.cycle.response_complete)

    # parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head, self.head_bytes, self.head_reads = True, 0, 0
        self._start_read_timer(self.head_timeout, self._head_timed_out)

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.in_head = False
        self._start_read_timer(self.body_timeout, self._body_timed_out)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._stop_read_timer()
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a parser error; 431 when the head was too large."""
        if self.refusal is None:
            super().send_400_response(msg)
        else:
            self._answer_and_close(*self.refusal)

    # the limits
    def _count(self, size: int) -> None:
        self.head_bytes += size
        if self.head_bytes > self.max_head:
            self.refusal = (431, self._head_detail())
            raise HeadTooLarge

    def _head_detail(self) -> str:
        return (
            f"Request head over {self.max_head} bytes: send fewer or shorter "
            "headers, or raise RFM_MAX_HEADER_BYTES."
        )

    def _refuse_head(self) -> None:
        self.logger.warning("Refused a request head over %d bytes", self.max_head)
        self._answer_and_close(431, self._head_detail())

    def _head_timed_out(self) -> None:
        self.read_timer = None
        detail = (
            f"Request head not received within {self.head_timeout:g} s "
            "(RFM_HEADER_TIMEOUT_SECONDS)."
        )
        self.logger.warning(detail)
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # an answer is running: close after it
        else:
            self._answer_and_close(408, detail)

    def _body_timed_out(self) -> None:
        self.read_timer = None
        detail = (
            f"Request body not received within {self.body_timeout:g} s "
            "(RFM_BODY_TIMEOUT_SECONDS)."
        )
        self.logger.warning(detail)
        cycle = self.cycle
        answered = cycle.response_started
        if not cycle.response_complete:
            cycle.disconnected = True  # the app's receive() gets http.disconnect
            cycle.message_event.set()
        if answered:
            self.transport.close()
        else:
            self._answer_and_close(408, detail)

    def _answer_and_close(self, status: int, detail: str) -> None:
        if self.transport.is_closing():
            return
        body = orjson.dumps({"detail": detail})
        reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}
        head = [b"HTTP/1.1 %d %s\r\n" % (status, reason[status])]
        head += [b"%s: %s\r\n" % pair for pair in self.server_state.default_headers]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()

    def _start_read_timer(self, seconds: float, handler) -> None:
        self._stop_read_timer()
        self.read_timer = self.loop.call_later(seconds, handler)

    def _stop_read_timer(self) -> None:
        if self.read_timer is not None:
            self.read_timer.cancel()
            self.read_timer = None


def serve() -> None:
    """uvicorn on ``RFM_HOST``:``RFM_PORT`` with ``RFM_WORKERS`` workers and the
    limits; a bad setting stops it with one line before anything starts."""
    settings = _settings()
    uvicorn.run(
        APP,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        http=PROTOCOL,
        timeout_keep_alive=settings.keep_alive_seconds,
        limit_concurrency=settings.max_connections,
        access_log=False,  # the API writes its own JSON access lines
    )
