"""``/docs`` and ``/redoc`` that work without internet: Swagger UI and ReDoc from the
assets ``fastapi-offline`` ships (served by the app), and a Content-Security-Policy
that keeps the browser from loading anything from another host (ReDoc's bundle
would fetch its footer logo from Redocly's CDN)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCS_PATHS = frozenset({"/docs", "/redoc"})
# the pages' own inline script (Swagger UI's setup) and styles (ReDoc's
# styled-components); ReDoc's search runs in a worker made from a blob
POLICY = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; "
    b"style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    b"worker-src 'self' blob:; base-uri 'none'; frame-ancestors 'none'"
)
# Swagger UI's online validator badge would call validator.swagger.io
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


class DocsPagePolicy:
    """ASGI: the policy header on the docs pages' answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in DOCS_PATHS:
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"content-security-policy", POLICY),
                ]
            await send(message)

        await self.app(scope, receive, send_with_policy)
