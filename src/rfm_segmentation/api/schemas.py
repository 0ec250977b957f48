"""Request and response bodies. Validation lives here, not in the handlers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

REFERENCE_REQUEST = {"recency": 15, "frequency": 2, "monetary": 350.75}

Recency = Annotated[
    float,
    Field(
        ge=0,
        allow_inf_nan=False,
        strict=True,
        description="Days since the last purchase",
    ),
]
Frequency = Annotated[
    float,
    Field(ge=1, allow_inf_nan=False, strict=True, description="Number of purchases"),
]
Monetary = Annotated[
    float,
    Field(ge=0, allow_inf_nan=False, strict=True, description="Total spend"),
]
CustomerId = Annotated[str, Field(min_length=1, max_length=128)]


class CustomerRFM(BaseModel):
    """One customer's recency, frequency and monetary value."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [REFERENCE_REQUEST]}
    )

    recency: Recency
    frequency: Frequency
    monetary: Monetary


class SegmentAssignment(BaseModel):
    segment_name: str
    cluster_label: int
    outside_training_range: bool = Field(
        description="True where a value lies outside the training data's range; the "
        "answer is still the nearest centroid"
    )


class SegmentResponse(SegmentAssignment):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "segment_name": "New Customers",
                    "cluster_label": 3,
                    "outside_training_range": False,
                    "strategy": "Build the habit: welcome series, ...",
                    "model_version": "2026-11-24T09.03.44.123Z",
                }
            ]
        }
    )

    strategy: str
    model_version: str


class BatchCustomer(CustomerRFM):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"customer_id": "17850", **REFERENCE_REQUEST}]},
    )

    customer_id: CustomerId | None = None


class BatchResult(SegmentAssignment):
    customer_id: str | None


class BatchResponse(BaseModel):
    model_version: str
    results: list[BatchResult] = Field(
        description="One result per customer, in request order"
    )


def batch_request_model(max_customers: int) -> type[BaseModel]:
    """The batch body, bounded by the configured maximum (shown in the OpenAPI schema)."""

    class BatchRequest(BaseModel):
        model_config = ConfigDict(
            extra="forbid",
            json_schema_extra={
                "examples": [
                    {"customers": [{"customer_id": "17850", **REFERENCE_REQUEST}]}
                ]
            },
        )

        customers: list[BatchCustomer] = Field(min_length=1, max_length=max_customers)

    return BatchRequest


class RFMValues(BaseModel):
    recency: float
    frequency: float
    monetary: float


class SegmentInfo(BaseModel):
    cluster_label: int
    segment_name: str
    description: str
    strategy: str
    centroid: RFMValues = Field(
        description="Cluster centre in days, purchases and money"
    )
    size: int = Field(description="Customers in this segment at training time")
    share: float


class SegmentsResponse(BaseModel):
    model_version: str
    segments: list[SegmentInfo]


class CustomerSegment(BaseModel):
    customer_id: str
    recency: float
    frequency: float
    monetary: float
    r_score: int
    f_score: int
    m_score: int
    rfm_score: str
    cluster_label: int
    segment_name: str


class FeatureRange(BaseModel):
    min: float
    max: float


class ModelInfo(BaseModel):
    version: str
    trained_at: datetime | None
    loaded_at: datetime
    n_clusters: int
    silhouette: float
    feature_ranges: dict[str, FeatureRange]
    n_customers_trained: int
    n_customers_segmented: int


class Status(BaseModel):
    status: str
    model_version: str | None = None


class ErrorResponse(BaseModel):
    detail: str
