"""One JSON access-log line per request, with a request id echoed in X-Request-ID."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("rfm_segmentation.api.access")

# Printable ASCII without spaces, 1 to 64 characters; anything else is replaced.
_GOOD_REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,64}")


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's X-Request-ID when it is a sane token, else a new one."""
    for name, value in headers:
        if name == b"x-request-id":
            if _GOOD_REQUEST_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return uuid.uuid4().hex


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
                json.dumps(
                    {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
                    }
                )
            )
