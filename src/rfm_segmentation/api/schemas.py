"""Request and response bodies. Validation lives here, not in the handlers; the
segment profile's own types (rfm_segmentation.profile) describe segments. Request
bodies are TypedDicts: validated from bytes into plain dicts (see ``bodies``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, NotRequired

from pydantic import BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict  # pydantic needs this one on Python 3.11

from rfm_segmentation.profile import (
    ClusterInfo,
    CustomerFit,
    FeatureRanges,
    OutlierInfo,
    SegmentInfo,
    SegmentNaming,
    StabilityInfo,
)
from rfm_segmentation.release import RunInput

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
Tenure = Annotated[
    float,
    Field(
        ge=0,
        allow_inf_nan=False,
        strict=True,
        description="Days since the first purchase (at least recency); without it "
        "the tenure rules are not checked",
    ),
]
CustomerId = Annotated[str, Field(min_length=1, max_length=128)]


@with_config(
    ConfigDict(extra="forbid", json_schema_extra={"examples": [REFERENCE_REQUEST]})
)
class CustomerRFM(TypedDict):
    """One customer's recency, frequency and monetary value, and tenure if known."""

    recency: Recency
    frequency: Frequency
    monetary: Monetary
    tenure: NotRequired[Tenure]


class SegmentAssignment(BaseModel):
    segment_name: str
    cluster_label: int = Field(description="The nearest K-Means centre")
    name_reason: str = Field(
        description="`cluster` (the centre's name), or why the customer's own "
        "numbers moved them to another segment, e.g. `moved: not recent`"
    )
    outside_training_range: bool = Field(
        description="True where a value lies outside the training data's range; the "
        "answer is still the nearest centroid"
    )
    unchecked_rules: list[str] = Field(
        description="The segment's rules that could not be checked (no tenure given)"
    )
    p_alive: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Probability the customer is still active (BG/NBD); null "
        "without tenure, a whole frequency or the customer-value models",
    )


class SegmentResponse(SegmentAssignment):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "segment_name": "New Customers",
                    "cluster_label": 3,
                    "name_reason": "cluster",
                    "outside_training_range": False,
                    "unchecked_rules": ["New Customers: first bought within 124 days"],
                    "p_alive": None,
                    "strategy": "Build the habit: welcome series, ...",
                    "model_version": "2026-11-24T09.03.44.123Z",
                    "as_of": "2011-12-10",
                }
            ]
        }
    )

    strategy: str
    model_version: str
    as_of: date = Field(description="The date the served segmentation is as of")


@with_config(
    ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"customer_id": "17850", **REFERENCE_REQUEST}]},
    )
)
class BatchCustomer(CustomerRFM):
    customer_id: NotRequired[CustomerId | None]


class BatchResult(SegmentAssignment):
    customer_id: str | None


class BatchResponse(BaseModel):
    model_version: str
    as_of: date
    results: list[BatchResult] = Field(
        description="One result per customer, in request order"
    )


@with_config(
    ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"customers": [{"customer_id": "17850", **REFERENCE_REQUEST}]}]
        },
    )
)
class BatchRequest(TypedDict):
    """Up to RFM_BATCH_MAX customers; the length is checked before any item is."""

    customers: Annotated[list[BatchCustomer], Field(min_length=1)]


class SegmentsResponse(BaseModel):
    model_version: str
    as_of: date
    currency: str
    segments: list[SegmentInfo]


class CustomerSegment(BaseModel):
    """A row of the served release's customer table (and the shop's own columns
    carried with it)."""

    model_config = ConfigDict(extra="allow")

    customer_id: str
    recency: float = Field(description="Days from the last purchase to `as_of`")
    frequency: float
    monetary: float
    r_score: int
    f_score: int
    m_score: int
    rfm_score: str
    cluster_label: int
    segment_name: str
    name_reason: str
    tenure: int = Field(description="Days from the first purchase to `as_of`")
    as_of: date
    first_purchase: date
    last_purchase: date
    is_outlier: bool = Field(
        description="A feature lies beyond the model's outlier bounds"
    )
    p_alive: float | None = Field(
        None, description="Probability of still being active (BG/NBD)"
    )
    expected_purchases: float | None = Field(
        None, description="Purchases expected over the customer-value horizon"
    )
    expected_value: float | None = Field(
        None, description="Their expected value (Gamma-Gamma), undiscounted"
    )


class SegmentCustomers(BaseModel):
    """A page of a segment's customers, in customer id order."""

    model_version: str
    as_of: date
    segment_name: str
    customers: int = Field(description="Customers in the segment (every page)")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last"
    )
    items: list[CustomerSegment]


class MoversResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model_version": "2026-11-24T09.03.44.123Z",
                    "from": "2011-11-01",
                    "to": "2011-12-10",
                    "from_segment": "Champions",
                    "to_segment": "At-Risk",
                    "customers": 2,
                    "customer_ids": ["12347", "17850"],
                }
            ]
        }
    )

    model_version: str
    from_: date = Field(alias="from")
    to: date
    from_segment: str = Field(description="A segment, or `entered`")
    to_segment: str
    customers: int
    customer_ids: list[str] = Field(description="In customer id order")


class HistoryPoint(BaseModel):
    snapshot: date = Field(description="Counts the purchases before this date")
    recency: int
    frequency: int
    monetary: float
    tenure: int
    segment_name: str


class CustomerHistory(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "17850",
                    "model_version": "2026-11-24T09.03.44.123Z",
                    "snapshots": [
                        {
                            "snapshot": "2011-11-01",
                            "recency": 30,
                            "frequency": 3,
                            "monetary": 812.4,
                            "tenure": 120,
                            "segment_name": "At-Risk",
                        },
                        {
                            "snapshot": "2011-12-01",
                            "recency": 2,
                            "frequency": 4,
                            "monetary": 1040.0,
                            "tenure": 150,
                            "segment_name": "Champions",
                        },
                    ],
                }
            ]
        }
    )

    customer_id: str
    model_version: str
    as_of: date = Field(description="The last snapshot: the customer table's date")
    snapshots: list[HistoryPoint] = Field(
        description="From the first snapshot after the customer's first purchase"
    )


class Transition(BaseModel):
    from_segment: str = Field(description="A segment, or `entered` (new since)")
    to_segment: str
    customers: int
    share: float = Field(description="Part of the from-segment's customers")


class MigrationsResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model_version": "2026-11-24T09.03.44.123Z",
                    "from": "2011-11-01",
                    "to": "2011-12-01",
                    "snapshots": ["2011-10-01", "2011-11-01", "2011-12-01"],
                    "transitions": [
                        {
                            "from_segment": "Champions",
                            "to_segment": "At-Risk",
                            "customers": 108,
                            "share": 0.2151,
                        }
                    ],
                }
            ]
        }
    )

    model_version: str
    from_: date = Field(alias="from")
    to: date
    snapshots: list[date] = Field(description="Every snapshot of the history")
    transitions: list[Transition]


class SkippedReleaseInfo(BaseModel):
    version: str
    reason: str


class ModelInfo(BaseModel):
    version: str
    trained_at: datetime = Field(description="When the release was published")
    loaded_at: datetime
    as_of: date = Field(description="The date recency and tenure are counted to")
    currency: str
    input: RunInput | None = Field(description="The run's raw input")
    rows: dict[str, int]
    n_clusters: int
    silhouette: float
    feature_ranges: FeatureRanges
    n_customers: int
    n_fitted: int = Field(description="Customers the model was fitted on")
    naming: SegmentNaming
    customer_fit: CustomerFit
    clusters: list[ClusterInfo]
    outliers: OutlierInfo
    stability: StabilityInfo
    skipped_releases: list[SkippedReleaseInfo] = Field(
        description="Newer releases passed over at load time, and why"
    )


class Status(BaseModel):
    status: str
    model_version: str | None = None


class ErrorResponse(BaseModel):
    detail: str


class ValidationProblem(BaseModel):
    type: str = Field(description="The rule broken, e.g. `greater_than_equal`")
    loc: list[str | int] = Field(description="Where: `body`, then keys and indexes")
    msg: str
    input: Any = Field(None, description="The value, or a short excerpt of it")
    ctx: dict[str, Any] | None = Field(None, description="The rule's parameters")


class ValidationErrorResponse(BaseModel):
    detail: list[ValidationProblem]
