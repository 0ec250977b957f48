"""The FastAPI application, served by ``python -m rfm_segmentation.api`` (``make serve``)."""

from __future__ import annotations

import asyncio
import gc
import logging
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.requests import ClientDisconnect

from rfm_segmentation import __version__

from .access_log import AccessLogMiddleware, LogLines, api_logging
from .bodies import body_schemas
from .body_limit import BodyLimitMiddleware
from .dependencies import require_api_key
from .docs_pages import SWAGGER_UI_PARAMETERS, DocsPagePolicy
from .model_store import FollowReloads, ModelNotAvailable, ModelStore
from .routes import (
    API_PREFIX,
    ErrorResponse,
    api_router,
    health_router,
    report_router,
)
from .settings import ApiSettings

logger = logging.getLogger(__name__)

DESCRIPTION = """
Segments customers from their Recency, Frequency and Monetary values (and tenure)
with the K-Means model trained by the Kedro pipelines, each name checked against the
customer's own numbers. The model, its segment profile, the customer table, the
segment history and the migrations are served from one verified release, read
through the project's data catalog.

`GET /report` is the release's report page. When `RFM_API_KEY` is set, every
`/api/v1` call and `/report` need the header `X-API-Key`.
"""
CLIENT_GONE = 499  # nginx's "client closed request", for the access line
EXCERPT_CHARS = 80  # how much of a rejected input a 422 answer quotes


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings.from_env()
    store = ModelStore(settings)
    lines = LogLines()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with api_logging(lines):
            try:
                await store.reload()
            except ModelNotAvailable:
                logger.warning(
                    "Starting without a model: /ready answers 503 until a reload works"
                )
            # what startup built (modules, the catalog, the release) lives as long
            # as the worker: frozen out of the collector's reach (its garbage
            # collected first), a full collection under load walks only what
            # requests left (a 40-70 ms pause otherwise)
            gc.collect()
            gc.freeze()
            watching = asyncio.create_task(store.watch())
            try:
                yield
            finally:
                watching.cancel()

    app = FastAPIOffline(
        title="rfm-segmentation",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )
    app.state.settings, app.state.store = settings, store
    app.state.api_key = (
        settings.api_key.get_secret_value().encode() if settings.api_key else b""
    )
    app.add_middleware(DocsPagePolicy)
    app.add_middleware(FollowReloads, store=store)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.body_limit)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(AccessLogMiddleware, lines=lines)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _internal_error)
    app.include_router(health_router)
    # the key's dependency and 401 only when a key is set, so the OpenAPI schema
    # documents the key exactly then
    keyed = settings.api_key is not None
    for router, prefix in ((api_router, API_PREFIX), (report_router, "")):
        app.include_router(
            router,
            prefix=prefix,
            dependencies=[Depends(require_api_key)] if keyed else [],
            responses={
                401: {"model": ErrorResponse, "description": "Missing or wrong API key"}
            }
            if keyed
            else {},
        )
    app.openapi = _with_request_bodies(app.openapi, settings.batch_max)
    return app


def _with_request_bodies(
    openapi: Callable[[], dict[str, Any]], batch_max: int
) -> Callable[[], dict[str, Any]]:
    """The OpenAPI schema with the request bodies' schemas, which the routes read
    themselves (see ``bodies``), and the configured batch maximum on BatchRequest."""

    def schema() -> dict[str, Any]:
        document = openapi()
        if "BatchRequest" not in document["components"]["schemas"]:  # cached
            document["components"]["schemas"].update(body_schemas())
            customers = document["components"]["schemas"]["BatchRequest"]
            customers["properties"]["customers"]["maxItems"] = batch_max
        return document

    return schema


async def _validation_error(
    request: Request, error: RequestValidationError
) -> JSONResponse:
    """FastAPI's 422 body, quoting at most a short excerpt of each rejected input."""
    errors = [
        {**problem, "input": _excerpt(problem.get("input"))}
        for problem in error.errors()
    ]
    for problem in errors:
        problem.pop("url", None)
        if "ctx" in problem:
            problem["ctx"] = {key: _excerpt(v) for key, v in problem["ctx"].items()}
    return JSONResponse(status_code=422, content={"detail": errors})


def _excerpt(value: Any) -> Any:
    """Short numbers, booleans and text as they are; anything else as a JSON excerpt."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    text = value if isinstance(value, str) else _json_text(value)
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:
        return str(value)


async def _client_gone(request: Request, error: ClientDisconnect) -> Response:
    """The client left (or the server timed it out) before its body was whole:
    nobody to answer; the access line says 499, as nginx does, and no traceback."""
    return Response(status_code=CLIENT_GONE)


async def _internal_error(request: Request, error: Exception) -> JSONResponse:
    """Log the traceback; tell the client only that it failed, and the request id."""
    request_id = request.scope.get("state", {}).get("request_id")
    logger.exception("Unhandled error in request %s", request_id, exc_info=error)
    return JSONResponse(
        status_code=500,
        content={
            "detail": f"Internal error (request id {request_id}); see the server log."
        },
    )


app = create_app()
