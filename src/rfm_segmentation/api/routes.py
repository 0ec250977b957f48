"""Endpoints. Health routes are open; /api/v1 routes may need the API key.

Every handler answers with ``json_response`` and every error is an HTTPException.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import numpy as np
import orjson
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from rfm_segmentation.history import transitions

from .bodies import BATCH, CUSTOMER, json_body, read_batch, read_customer
from .dependencies import CurrentModel, Store
from .model_store import ModelNotAvailable, ServedModel
from .schemas import (
    BatchResponse,
    CustomerHistory,
    CustomerSegment,
    ErrorResponse,
    MigrationsResponse,
    ModelInfo,
    SegmentResponse,
    SegmentsResponse,
    Status,
    ValidationErrorResponse,
)
from .segment_answers import segment_answer


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


NOT_READY = {503: _error("No model loaded yet; the detail says what to run")}
BODY_ERRORS = {
    400: _error("The body could not be read (not UTF-8, or cut off)"),
    413: _error("The body is larger than RFM_MAX_BODY_BYTES"),
    422: {
        "model": ValidationErrorResponse,
        "description": "The body is not valid JSON of the documented shape; each "
        "problem names its location, type and rule, quoting a short excerpt",
    },
}

API_PREFIX = "/api/v1"  # where the app mounts api_router
SEGMENT_PATH = "/segment"
health_router = APIRouter(tags=["health"])
api_router = APIRouter(tags=["segments"], responses=NOT_READY)


@health_router.get("/health", response_model=Status)
async def health() -> Response:
    """The process is alive."""
    return json_response({"status": "ok", "model_version": None})


@health_router.get("/ready", response_model=Status, responses=NOT_READY)
async def ready(store: Store) -> Response:
    """A release is loaded and requests can be answered."""
    if store.current is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, store.last_error)
    return json_response({"status": "ready", "model_version": store.current.version})


@api_router.post(
    SEGMENT_PATH,
    response_model=SegmentResponse,
    responses=BODY_ERRORS,
    openapi_extra=json_body(CUSTOMER),
)
async def segment(request: Request, model: CurrentModel) -> Response:
    """The segment of one customer's recency, frequency and monetary value."""
    return json_response(segment_answer(read_customer(await request.body()), model))


@api_router.post(
    f"{SEGMENT_PATH}/batch",
    response_model=BatchResponse,
    responses=BODY_ERRORS,
    openapi_extra=json_body(BATCH),
)
async def segment_batch(request: Request, model: CurrentModel) -> Response:
    """Segments of up to RFM_BATCH_MAX customers (10,000 by default), answered in
    request order. A longer batch is refused before any item is validated."""
    batch_max = request.app.state.settings.batch_max
    customers = read_batch(await request.body(), batch_max)["customers"]
    rfm = np.array(
        [(c["recency"], c["frequency"], c["monetary"]) for c in customers], dtype=float
    )
    labels = model.segmenter.predict(rfm).tolist()
    outside = model.segmenter.outside_training_range(rfm).tolist()
    names = model.release.profile.names
    return json_response(
        {
            "model_version": model.version,
            "results": [
                {
                    "customer_id": c.get("customer_id"),
                    "segment_name": names[label],
                    "cluster_label": label,
                    "outside_training_range": out,
                }
                for c, label, out in zip(customers, labels, outside, strict=True)
            ],
        }
    )


@api_router.get("/segments", response_model=SegmentsResponse)
async def segments(model: CurrentModel) -> Response:
    """Every segment: description, strategy, centroid, size and share at training."""
    profile = model.release.profile.model_dump(mode="json")
    return json_response(
        {"model_version": model.version, "segments": profile["segments"]}
    )


@api_router.get(
    "/customers/{customer_id}",
    response_model=CustomerSegment,
    responses={404: _error("Unknown customer")},
)
async def customer(customer_id: str, model: CurrentModel) -> Response:
    """A customer's row of the customer table published with the served model."""
    customers = model.release.customers
    if customer_id not in customers.index:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"Customer {customer_id[:128]!r} is not in the customer table of "
            f"release {model.version} ({len(customers)} customers).",
        )
    (row,) = customers.loc[[customer_id]].to_dict("records")
    return json_response({"customer_id": customer_id, **row})


@api_router.get(
    "/customers/{customer_id}/history",
    response_model=CustomerHistory,
    responses={404: _error("Unknown customer, or no history published")},
)
async def customer_history(customer_id: str, model: CurrentModel) -> Response:
    """The customer's segment at each snapshot, by the served release's model."""
    history = _history(model)
    if customer_id not in history.index:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"Customer {customer_id[:128]!r} is not in the segment history of "
            f"release {model.version}.",
        )
    rows = history.loc[[customer_id]].to_dict("records")
    return json_response(
        {"customer_id": customer_id, "model_version": model.version, "snapshots": rows}
    )


@api_router.get(
    "/migrations",
    response_model=MigrationsResponse,
    responses={404: _error("Not a snapshot date, or no history published")},
)
async def migrations(
    model: CurrentModel,
    start: Annotated[
        date | None,
        Query(alias="from", description="A snapshot (default: the one before `to`)"),
    ] = None,
    end: Annotated[
        date | None,
        Query(alias="to", description="A later snapshot (default: the last)"),
    ] = None,
) -> Response:
    """Customers moving between segments from one snapshot to another: counts and
    shares from each segment (or `entered`) to each segment (or `left`)."""
    history, snapshots = _history(model), model.snapshots
    for name, value in (("from", start), ("to", end)):
        if value is not None and value.isoformat() not in snapshots:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                detail=f"{value} (`{name}`) is not a snapshot of release "
                f"{model.version}; snapshots: {', '.join(snapshots)}.",
            )
    to = end.isoformat() if end else snapshots[-1]
    earlier = [s for s in snapshots if s < to]
    begin = start.isoformat() if start else (earlier[-1] if earlier else None)
    if begin is None or begin >= to:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", "from"),
                    "msg": f"`from` must be a snapshot before `to` ({to})",
                    "input": begin,
                }
            ]
        )
    table = transitions(history.reset_index(), begin, to)
    return json_response(
        {
            "model_version": model.version,
            "from": begin,
            "to": to,
            "snapshots": snapshots,
            "transitions": table.to_dict("records"),
        }
    )


def _history(model: ServedModel):
    if model.history is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=model.history_note)
    return model.history


@api_router.get("/model", response_model=ModelInfo)
async def model_info(model: CurrentModel) -> Response:
    """Release version and time, k, silhouette, training ranges, row counts, how well
    the names fit (rules and unfilled names), outliers, stability, and the newer
    releases that were skipped because they did not verify."""
    return json_response(describe(model))


@api_router.post(
    "/model/reload",
    response_model=ModelInfo,
    responses={503: _error("Reload failed; the current model keeps serving")},
)
async def reload(store: Store) -> Response:
    """Load the newest valid release (or the pinned one) without a restart.

    Requests already running finish with the model they started with; if loading
    fails, the current model keeps serving and the error is returned.
    """
    serving = store.current.version if store.current else None
    try:
        return json_response(describe(await store.reload()))
    except ModelNotAvailable as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"Reload failed: {error} Still serving: {serving}.",
        ) from error


def json_response(payload: dict) -> Response:
    """JSON built by the handler itself, skipping FastAPI's re-validation of the
    response; ``response_model`` still documents it, and the schemathesis test
    checks every response against that documentation."""
    return Response(
        orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY),
        media_type="application/json",
    )


def describe(model: ServedModel) -> dict[str, Any]:
    profile = model.release.profile
    return {
        "version": model.version,
        "trained_at": model.release.created_at,
        "loaded_at": model.loaded_at,
        "n_clusters": profile.n_clusters,
        "silhouette": profile.silhouette,
        "feature_ranges": profile.feature_ranges.model_dump(),
        "n_customers_trained": profile.n_customers,
        "n_customers_segmented": len(model.release.customers),
        **profile.model_dump(mode="json", include={"naming", "outliers", "stability"}),
        "skipped_releases": [
            {"version": s.version, "reason": s.reason} for s in model.skipped
        ],
    }
