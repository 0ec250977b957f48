"""The baseline of the API benchmark: a seed-style service, as K-Means-on-RFM projects
usually serve their model. Synchronous endpoints (run in FastAPI's thread pool), one
pydantic object per customer, the fitted scikit-learn ``Pipeline.predict`` per request,
responses validated and serialised by FastAPI. It serves the same release as the API.

    uvicorn --factory benchmarks.seed_service:create_app
"""

from __future__ import annotations

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

from rfm_segmentation.api.model_store import ModelStore
from rfm_segmentation.api.settings import ApiSettings


class Customer(BaseModel):
    customer_id: str | None = None
    recency: float
    frequency: float
    monetary: float


class Segment(BaseModel):
    customer_id: str | None = None
    segment_name: str
    cluster_label: int


class Batch(BaseModel):
    customers: list[Customer]


class BatchSegments(BaseModel):
    results: list[Segment]


def create_app() -> FastAPI:
    release, _ = ModelStore(ApiSettings.from_env()).releases.newest_valid(
        with_model=True
    )
    model, names = release.model, release.profile.naming.cluster_names
    app = FastAPI()

    @app.post("/segment")
    def segment(customer: Customer) -> Segment:
        label = int(
            model.predict(
                np.array([[customer.recency, customer.frequency, customer.monetary]])
            )[0]
        )
        return Segment(segment_name=names[label], cluster_label=label)

    @app.post("/segment/batch")
    def segment_batch(batch: Batch) -> BatchSegments:
        rfm = np.array([[c.recency, c.frequency, c.monetary] for c in batch.customers])
        labels = model.predict(rfm).tolist()
        return BatchSegments(
            results=[
                Segment(
                    customer_id=c.customer_id,
                    segment_name=names[label],
                    cluster_label=label,
                )
                for c, label in zip(batch.customers, labels, strict=True)
            ]
        )

    return app
