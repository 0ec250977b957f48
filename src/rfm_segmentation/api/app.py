"""The FastAPI application: ``uvicorn rfm_segmentation.api.app:app`` or ``make serve``."""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kedro.framework.startup import bootstrap_project

from rfm_segmentation import __version__

from .access_log import AccessLogMiddleware
from .dependencies import require_api_key
from .model_store import ModelNotAvailable, ModelStore
from .routes import build_api_router, health_router
from .settings import ApiSettings

logger = logging.getLogger(__name__)

DESCRIPTION = """
Segments customers from their Recency, Frequency and Monetary values with the K-Means
model trained by the Kedro pipelines, loaded through the project's data catalog.

When `RFM_API_KEY` is set, every `/api/v1` call needs the header `X-API-Key`.
"""


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings.from_env()
    store = ModelStore(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        bootstrap_project(settings.project_path)  # also sets Kedro's logging up
        _plain_logging()
        try:
            await store.reload()
        except ModelNotAvailable:
            logger.warning(
                "Starting without a model: /ready answers 503 until a reload works"
            )
        yield

    app = FastAPI(
        title="rfm-segmentation",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.store = store
    app.add_middleware(AccessLogMiddleware)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _internal_error)
    app.include_router(health_router)
    app.include_router(
        build_api_router(settings.batch_max),
        prefix="/api/v1",
        # only with a key set, so the OpenAPI schema documents the key exactly then
        dependencies=[Depends(require_api_key(settings.api_key))]
        if settings.api_key
        else [],
    )
    return app


def _plain_logging() -> None:
    """API logs as plain lines on stdout, one per record (Kedro's console wraps them)."""
    api_logger = logging.getLogger("rfm_segmentation.api")
    if not api_logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        api_logger.addHandler(handler)
        api_logger.setLevel(logging.INFO)
        api_logger.propagate = False


async def _validation_error(
    request: Request, error: RequestValidationError
) -> JSONResponse:
    """FastAPI's 422 body, with NaN/Infinity inputs echoed as text (JSON has no such numbers)."""
    errors = jsonable_encoder(error.errors(), custom_encoder={float: _finite_or_text})
    return JSONResponse(status_code=422, content={"detail": errors})


def _finite_or_text(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


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
