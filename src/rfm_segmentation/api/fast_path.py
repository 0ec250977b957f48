"""The hot request, answered without FastAPI's routing and dependency machinery.

A well-formed ``POST /api/v1/segment`` (the right API key when one is set, a loaded
model, a body that validates as ``CustomerRFM``) is answered here by the same
function as the route in ``routes``. Anything else (a wrong key, no model, a body
that does not validate, another path) goes on to the FastAPI route, which answers it
as documented. So the route stays the one definition of the endpoint, its docs and
its errors; this only skips the per-request work FastAPI does around it.
"""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .bodies import read_customer
from .dependencies import key_matches
from .model_store import ModelStore
from .routes import json_bytes
from .segment_answers import segment_answer

JSON_HEADERS = [(b"content-type", b"application/json")]


class FastSegmentPath:
    def __init__(
        self, app: ASGIApp, path: str, store: ModelStore, api_key: bytes
    ) -> None:
        self.app, self.path, self.store, self.api_key = app, path, store, api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        release = self.store.current
        if (
            scope["type"] != "http"
            or scope["path"] != self.path
            or scope["method"] != "POST"
            or release is None
            or (self.api_key and not self._key_matches(scope))
        ):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        try:
            customer = read_customer(body)
        except RequestValidationError:
            replay = iter(messages)

            async def replayed() -> Message:
                return next(replay, None) or await receive()

            await self.app(scope, replayed, send)
            return
        answer = json_bytes(segment_answer(customer, release))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    *JSON_HEADERS,
                    (b"content-length", str(len(answer)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    def _key_matches(self, scope: Scope) -> bool:
        sent = next((v for k, v in scope["headers"] if k == b"x-api-key"), None)
        return key_matches(sent, self.api_key)
