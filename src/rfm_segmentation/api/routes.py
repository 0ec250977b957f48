"""Endpoints. Health routes are open; /api/v1 routes may need the API key."""

import numpy as np
import orjson
from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse, Response

from rfm_segmentation.pipelines.clustering.model import FEATURES
from rfm_segmentation.segments import base_segment

from .dependencies import CurrentModel, Store
from .model_store import ModelNotAvailable, ServedModel
from .schemas import (
    BatchResponse,
    CustomerRFM,
    CustomerSegment,
    ErrorResponse,
    ModelInfo,
    SegmentResponse,
    SegmentsResponse,
    Status,
    batch_request_model,
)

NOT_READY = {503: {"model": ErrorResponse, "description": "No model loaded yet"}}

health_router = APIRouter(tags=["health"])


@health_router.get("/health", response_model=Status)
async def health() -> Status:
    """The process is alive."""
    return Status(status="ok")


@health_router.get("/ready", response_model=Status, responses=NOT_READY)
async def ready(store: Store) -> Status | JSONResponse:
    """A model is loaded and requests can be answered."""
    if store.current is None:
        return JSONResponse(status_code=503, content={"detail": store.last_error})
    return Status(status="ready", model_version=store.current.version)


def build_api_router(batch_max: int) -> APIRouter:
    router = APIRouter(tags=["segments"], responses=NOT_READY)
    batch_request = batch_request_model(batch_max)

    @router.post("/segment", response_model=SegmentResponse)
    async def segment(customer: CustomerRFM, model: CurrentModel) -> Response:
        """The segment of one customer's recency, frequency and monetary value."""
        rfm = np.array([[customer.recency, customer.frequency, customer.monetary]])
        label = int(model.segmenter.predict(rfm)[0])
        name = model.segmenter.names[label]
        return json_response(
            {
                "segment_name": name,
                "cluster_label": label,
                "outside_training_range": bool(
                    model.segmenter.outside_training_range(rfm)[0]
                ),
                "strategy": base_segment(name).strategy,
                "model_version": model.version,
            }
        )

    @router.post(
        "/segment/batch",
        response_model=BatchResponse,
        description=f"Segments of up to {batch_max} customers (RFM_BATCH_MAX), answered "
        "in request order.",
    )
    async def segment_batch(
        body: batch_request,
        model: CurrentModel,  # type: ignore[valid-type]
    ) -> Response:
        customers = body.customers
        rfm = np.array(
            [[c.recency, c.frequency, c.monetary] for c in customers], dtype=float
        )
        labels = model.segmenter.predict(rfm).tolist()
        outside = model.segmenter.outside_training_range(rfm).tolist()
        names = model.segmenter.names
        return json_response(
            {
                "model_version": model.version,
                "results": [
                    {
                        "customer_id": c.customer_id,
                        "segment_name": names[label],
                        "cluster_label": label,
                        "outside_training_range": out,
                    }
                    for c, label, out in zip(customers, labels, outside, strict=True)
                ],
            }
        )

    @router.get("/segments", response_model=SegmentsResponse)
    async def segments(model: CurrentModel) -> dict:
        """Every segment: description, strategy, centroid, size and share at training."""
        return {"model_version": model.version, "segments": model.profile["segments"]}

    @router.get(
        "/customers/{customer_id}",
        response_model=CustomerSegment,
        responses={404: {"model": ErrorResponse, "description": "Unknown customer"}},
    )
    async def customer(customer_id: str, model: CurrentModel) -> dict:
        """A customer's row of the latest customer_segments output."""
        if customer_id not in model.customers.index:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                detail=f"Customer {customer_id!r} is not in customer_segments "
                f"({len(model.customers)} customers, model version {model.version}).",
            )
        row = model.customers.loc[customer_id]
        return {"customer_id": customer_id, **row.to_dict()}

    @router.get("/model", response_model=ModelInfo)
    async def model_info(model: CurrentModel) -> dict:
        """Version, training time, k, silhouette, training ranges and row counts."""
        return describe(model)

    @router.post(
        "/model/reload",
        response_model=ModelInfo,
        responses={503: {"model": ErrorResponse, "description": "Reload failed"}},
    )
    async def reload(store: Store) -> dict | JSONResponse:
        """Load the newest model version (or the pinned one) without a restart.

        Requests already running finish with the model they started with; if loading
        fails, the current model keeps serving and the error is returned.
        """
        serving = store.current.version if store.current else None
        try:
            return describe(await store.reload())
        except ModelNotAvailable as error:
            return JSONResponse(
                status_code=503,
                content={"detail": f"Reload failed: {error} Still serving: {serving}."},
            )

    return router


def json_response(payload: dict) -> Response:
    """JSON built by the handler itself, skipping FastAPI's re-validation of the
    response; ``response_model`` still documents it, and the schemathesis test
    checks every response against that documentation."""
    return Response(orjson.dumps(payload), media_type="application/json")


def describe(model: ServedModel) -> dict:
    profile = model.profile
    return {
        "version": model.version,
        "trained_at": model.trained_at,
        "loaded_at": model.loaded_at,
        "n_clusters": profile["n_clusters"],
        "silhouette": profile["silhouette"],
        "feature_ranges": {f: profile["feature_ranges"][f] for f in FEATURES},
        "n_customers_trained": profile["n_customers"],
        "n_customers_segmented": len(model.customers),
    }
