"""The segment profile: what a fitted model means, in one pydantic definition.

The clustering pipeline writes it, the API validates it on load and answers with it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sklearn.pipeline import Pipeline

from .model import n_clusters_of
from .segments import base_segment


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
    """Days from the first purchase to the snapshot date."""

    mean: float
    median: float


class RuleCheckInfo(_Frozen):
    rule: str
    holds: bool | None = Field(description="None: a name it relates is unfilled")
    margin: float | None = Field(
        description="How far the rule holds, in log1p units (negative: broken)"
    )


class NamingInfo(_Frozen):
    """How well the names fit: the rules checked, and the names no cluster meets."""

    unfilled_segments: list[str]
    rules: list[RuleCheckInfo]


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


class SegmentInfo(_Frozen):
    cluster_label: int = Field(ge=0)
    segment_name: str
    description: str
    strategy: str
    centroid: RFMValues = Field(
        description="Cluster centre in days, purchases and money"
    )
    size: int = Field(ge=0, description="Customers in this segment at training time")
    share: float = Field(ge=0, le=1)
    tenure: TenureStats

    @field_validator("segment_name")
    @classmethod
    def _known_name(cls, name: str) -> str:
        try:
            base_segment(name)
        except KeyError as error:
            raise ValueError(error.args[0]) from None
        return name


class SegmentProfile(_Frozen):
    n_clusters: int = Field(ge=2)
    n_customers: int = Field(ge=2)
    silhouette: float = Field(ge=-1, le=1)
    feature_ranges: FeatureRanges
    population_tenure_median: float
    segments: list[SegmentInfo]
    naming: NamingInfo
    outliers: OutlierInfo
    stability: StabilityInfo

    @model_validator(mode="after")
    def _one_segment_per_label(self) -> SegmentProfile:
        labels = [segment.cluster_label for segment in self.segments]
        if labels != list(range(self.n_clusters)):
            raise ValueError(
                f"segments must name cluster labels 0..{self.n_clusters - 1} in order, "
                f"got {labels}"
            )
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """Segment name by cluster label."""
        return tuple(segment.segment_name for segment in self.segments)

    def check_model(self, model: Pipeline) -> None:
        """ValueError unless ``model`` is the fitted model this profile describes."""
        k = n_clusters_of(model)
        if k != self.n_clusters:
            raise ValueError(
                f"the profile names {self.n_clusters} clusters but the model has {k}"
            )
