"""The segment profile: what a fitted model means, in one pydantic definition.

The clustering pipeline writes it, the API validates it on load and answers with it.
``SegmentNaming`` is the part the assignment needs (the clusters' names and the
per-customer thresholds); the profile adds what the assigned customers look like.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from .customer_value import BgNbdFit
from .segments import CustomerThresholds, base_segment

FEATURES = ["recency", "frequency", "monetary"]  # what the model clusters on
TIME_UNITS = {"day": 1, "week": 7}  # the customer-value models' time units, in days


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RFMValues(_Frozen):
    recency: float
    frequency: float
    monetary: float


class FeatureRange(_Frozen):
    min: float
    max: float


class FeatureRanges(_Frozen):
    """Smallest and largest value of each feature the model was trained on."""

    recency: FeatureRange
    frequency: FeatureRange
    monetary: FeatureRange


class TenureStats(_Frozen):
    """Days from the first purchase to the as-of date."""

    mean: float
    median: float


class RuleCheckInfo(_Frozen):
    rule: str
    holds: bool | None = Field(description="None: a name it relates is unfilled")
    margin: float | None = Field(
        description="How far the rule holds, in log1p units (negative: broken)"
    )


def _known_name(name: str) -> str:
    try:
        base_segment(name)
    except KeyError as error:
        raise ValueError(error.args[0]) from None
    return name


SegmentName = Annotated[str, AfterValidator(_known_name)]


class SegmentNaming(_Frozen):
    """What assigning a customer needs besides the model: each cluster's name (by
    its centre rules), the per-customer thresholds and the training ranges."""

    cluster_names: list[SegmentName] = Field(
        description="Segment name by cluster label"
    )
    unfilled_segments: list[str] = Field(
        description="Names no cluster meets the centre rules of"
    )
    rules: list[RuleCheckInfo] = Field(description="The centre rules, checked")
    customer_quantiles: dict[str, float]
    thresholds: CustomerThresholds
    feature_ranges: FeatureRanges
    population_tenure_median: float


class CustomerFit(_Frozen):
    """How well the names fit single customers: who keeps the cluster's name, who
    moved to the nearest segment whose rules they meet, and why."""

    kept_share: float = Field(ge=0, le=1)
    moved: dict[str, int] = Field(description="Customers moved, by reason")
    fifth_name: int = Field(ge=0, description="Customers given the fifth name")


class ClusterInfo(_Frozen):
    cluster_label: int = Field(ge=0)
    segment_name: SegmentName = Field(
        description="The name the cluster's centre carries"
    )
    centroid: RFMValues = Field(
        description="Cluster centre in days, purchases and money"
    )
    size: int = Field(ge=0, description="Customers whose nearest centre it is")
    tenure_median: float


class Revenue(_Frozen):
    total: float = Field(description="Sum of the customers' spend, in `currency`")
    share: float = Field(ge=0, le=1)
    per_customer: float


class SegmentValue(_Frozen):
    """The customer-value models' expectations summed and averaged over the
    segment's customers (docs/customer-value.md)."""

    p_alive_mean: float = Field(ge=0, le=1, description="Mean P(still active)")
    expected_purchases: float = Field(ge=0, description="Total over the horizon")
    expected_purchases_per_customer: float = Field(ge=0)
    expected_value: float | None = Field(
        ge=0, description="Total, in `currency`; None without a Gamma-Gamma fit"
    )
    expected_value_per_customer: float | None = Field(ge=0)


class SegmentInfo(_Frozen):
    segment_name: SegmentName
    description: str
    strategy: str
    colour: str
    customers: int = Field(ge=0, description="Customers carrying the name")
    share: float = Field(ge=0, le=1)
    mean: RFMValues | None = Field(description="Mean recency, frequency, monetary")
    median: RFMValues | None
    tenure: TenureStats | None
    revenue: Revenue
    outliers: int = Field(ge=0, description="Customers beyond an outlier bound")
    moved_in: int = Field(
        ge=0,
        description="Customers carrying the name whose nearest cluster carries another",
    )
    unfilled: bool = Field(description="No cluster meets the name's centre rules")
    value: SegmentValue | None = Field(
        None, description="Expected purchases and value over the horizon"
    )


class OutlierInfo(_Frozen):
    """The model is fitted on features clipped at ``bounds``; customers above a bound
    are still segmented, and flagged ``is_outlier``."""

    quantile: float
    log_iqr_fence: float | None
    bounds: RFMValues
    count: int = Field(ge=0)


class StabilityInfo(_Frozen):
    """Mean adjusted Rand index of the assignments against refits with other seeds
    and on bootstrap resamples (1: identical segmentations)."""

    seeds_ari: float
    bootstrap_ari: float
    runs: int = Field(ge=0)


class BgNbdParams(_Frozen):
    """Purchase rates ~ Gamma(r, rate alpha) per time unit; dropout after each
    purchase ~ Beta(a, b)."""

    r: float = Field(gt=0)
    alpha: float = Field(gt=0)
    a: float = Field(gt=0)
    b: float = Field(gt=0)
    log_likelihood: float


class GammaGammaParams(_Frozen):
    """Purchase values ~ Gamma(p, rate nu), nu ~ Gamma(q, rate v); v in money."""

    p: float = Field(gt=0)
    q: float = Field(gt=1)
    v: float = Field(gt=0)
    log_likelihood: float


class CustomerValueModel(_Frozen):
    """The fitted BG/NBD and Gamma-Gamma models (customer_value_model.json); the
    Gamma-Gamma model is None where the data cannot identify it (``not_estimated``
    says why)."""

    time_unit: Literal["day", "week"]
    horizon: float = Field(ge=0, description="Horizon in time units")
    horizon_days: float = Field(ge=0)
    bg_nbd: BgNbdParams
    gamma_gamma: GammaGammaParams | None
    standard_errors: dict[str, dict[str, float | None]]
    not_estimated: dict[str, str] = Field(
        default_factory=dict, description="Model -> why the data cannot identify it"
    )
    n_customers: int = Field(ge=1)
    n_repeat_buyers: int = Field(ge=1)
    n_fitted: int | None = Field(
        default=None, ge=1, description="Customers fitted on: all, or a seeded sample"
    )

    @property
    def unit_days(self) -> int:
        return TIME_UNITS[self.time_unit]

    def p_alive(
        self, recency: np.ndarray, frequency: np.ndarray, tenure: np.ndarray
    ) -> np.ndarray:
        """P(still active at the as-of date) of customers with these features (days
        and purchases) by the BG/NBD fit; nan where frequency is not whole."""
        params = self.bg_nbd.model_dump(exclude={"log_likelihood"})
        fit = BgNbdFit(
            **params, standard_errors={}, log_likelihood=0, n_customers=self.n_customers
        )
        x = np.asarray(frequency, dtype=float) - 1
        whole = x == np.round(x)
        x = np.where(whole, x, 0)
        t_x = np.where(x > 0, np.asarray(tenure) - recency, 0) / self.unit_days
        alive = fit.p_alive(x, t_x, np.asarray(tenure, dtype=float) / self.unit_days)
        return np.where(whole, alive, np.nan)


class SegmentProfile(_Frozen):
    as_of: date = Field(description="The date recency and tenure are counted to")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    n_clusters: int = Field(ge=2)
    n_customers: int = Field(ge=2)
    n_fitted: int = Field(ge=2, description="Customers the model was fitted on")
    silhouette: float = Field(ge=-1, le=1)
    naming: SegmentNaming
    customer_fit: CustomerFit
    clusters: list[ClusterInfo]
    segments: list[SegmentInfo] = Field(description="Every name, in segment order")
    outliers: OutlierInfo
    stability: StabilityInfo
    customer_value: CustomerValueModel | None = Field(
        None, description="The customer-value models the customer table is scored by"
    )

    @model_validator(mode="after")
    def _one_cluster_per_label(self) -> SegmentProfile:
        labels = [cluster.cluster_label for cluster in self.clusters]
        if labels != list(range(self.n_clusters)) or len(
            self.naming.cluster_names
        ) != len(labels):
            raise ValueError(
                f"clusters must name cluster labels 0..{self.n_clusters - 1} in order, "
                f"got {labels}"
            )
        return self

    @property
    def segment_names(self) -> tuple[str, ...]:
        """Every segment name of the profile, in order (codes in the release)."""
        return tuple(segment.segment_name for segment in self.segments)
