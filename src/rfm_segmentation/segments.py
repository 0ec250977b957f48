"""The customer segments: the single source of their names, meaning, strategy, of
the rules a cluster must meet to carry a name, and of what each name means for one
customer.

Reporting, the API and the docs read this module; nothing else restates a segment.
Cluster labels from K-Means are arbitrary numbers, so segments are named from the
fitted centroids: a name goes only to clusters that meet its centre rules (``RULES``),
and among the namings that meet every rule the one closest to the segments' prototype
corners of (recentness, value) space is chosen. Each segment also states what its
description means for one customer (``Segment.customer_rules``, over thresholds
learned from the training population); a customer whose own numbers contradict its
cluster's name takes the nearest segment whose rules it meets, or the fifth name,
``RETURNING``, that no cluster carries.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True)
class Condition:
    """One customer's ``feature`` against a threshold learned when the model is fitted
    (``CustomerThresholds``): at most it (``at_most``) or above it."""

    feature: str
    at_most: bool
    threshold: str
    text: str  # the condition in words, ``{}`` standing for the threshold
    failed: str  # why a customer breaks it, for ``name_reason``

    def holds(self, values: np.ndarray, thresholds: CustomerThresholds) -> np.ndarray:
        limit = getattr(thresholds, self.threshold)
        return values <= limit if self.at_most else values > limit


CONDITIONS: dict[str, Condition] = {
    "recent": Condition(
        "recency", True, "recent_days", "bought within {} days", "not recent"
    ),
    "lapsed": Condition(
        "recency", False, "lapsed_days", "last bought over {} days ago", "recent"
    ),
    "new": Condition(
        "tenure", True, "new_tenure_days", "first bought within {} days", "not new"
    ),
    "long_standing": Condition(
        "tenure",
        False,
        "new_tenure_days",
        "first bought over {} days ago",
        "new",
    ),
    "often": Condition(
        "frequency",
        False,
        "few_purchases",
        "more than {} purchases",
        "few purchases",
    ),
    "few": Condition(
        "frequency", True, "few_purchases", "at most {} purchases", "frequent"
    ),
    "repeat": Condition(
        "frequency", False, "one_purchase", "more than one purchase", "bought once"
    ),
    "typical_spend": Condition(
        "monetary",
        False,
        "low_spend",
        "spent more than {}",
        "spent little",
    ),
    "little_spend": Condition(
        "monetary", True, "low_spend", "spent at most {}", "spent a lot"
    ),
    "high_spend": Condition(
        "monetary", False, "high_spend", "spent more than {}", "spent little"
    ),
    "not_high_spend": Condition(
        "monetary", True, "high_spend", "spent at most {}", "spent a lot"
    ),
}


@dataclass(frozen=True)
class Segment:
    """A named customer segment and the marketing play that goes with it.

    ``customer_rules`` is what the description means for one customer: every group
    must hold, and a group holds when any of its conditions (keys of ``CONDITIONS``)
    does."""

    name: str
    description: str
    strategy: str
    recent: bool
    high_value: bool
    colour: str  # in every figure; numbered clusters ("Champions 2") get lighter tints
    customer_rules: tuple[tuple[str, ...], ...]

    @property
    def prototype(self) -> tuple[float, float]:
        """Position in (recentness, value) space, in standard deviations."""
        return (1.0 if self.recent else -1.0, 1.0 if self.high_value else -1.0)


SEGMENTS: tuple[Segment, ...] = (
    Segment(
        name="Champions",
        description="Bought recently, buy often and spend the most.",
        strategy=(
            "Reward and retain: loyalty perks, early access to new products, "
            "referral and review requests. No discounts needed."
        ),
        recent=True,
        high_value=True,
        colour="#2a9d8f",
        customer_rules=(("recent",), ("often",), ("typical_spend",)),
    ),
    Segment(
        name="At-Risk",
        description="Used to buy often or spend a lot, but have not bought for a while.",
        strategy=(
            "Win them back before they churn: personalised reactivation emails, "
            "offers on the products they used to buy, a service check-in."
        ),
        recent=False,
        high_value=True,
        colour="#e76f51",
        customer_rules=(("lapsed",), ("repeat", "high_spend")),
    ),
    Segment(
        name="New Customers",
        description=(
            "First bought not long ago and bought recently, and are not yet "
            "frequent big spenders."
        ),
        strategy=(
            "Build the habit: welcome series, a second-purchase incentive, "
            "recommendations based on the first order."
        ),
        recent=True,
        high_value=False,
        colour="#457b9d",
        customer_rules=(("recent",), ("new",), ("few", "not_high_spend")),
    ),
    Segment(
        name="Lost Customers",
        description="Bought rarely or little, and not for a long time.",
        strategy=(
            "Spend little: one low-cost win-back campaign, then leave them out of "
            "paid channels."
        ),
        recent=False,
        high_value=False,
        colour="#8d99ae",
        customer_rules=(("lapsed",), ("few", "not_high_spend")),
    ),
)
# The fifth name, carried by no cluster: customers whose own numbers fit none of the
# four, typically long-standing customers back after a long gap.
RETURNING = Segment(
    name="Returning Customers",
    description=(
        "Long-standing customers who bought again recently, but not often or not "
        "for much."
    ),
    strategy=(
        "Welcome them back, not welcome them: thank them for returning, remind them "
        "of what they bought before, and a reason to come back soon."
    ),
    recent=True,
    high_value=False,
    colour="#e9c46a",
    customer_rules=(("recent",), ("long_standing",), ("few", "little_spend")),
)

SEGMENT_NAMES: tuple[str, ...] = tuple(segment.name for segment in SEGMENTS)
ALL_SEGMENTS: tuple[Segment, ...] = (*SEGMENTS, RETURNING)
_BY_NAME = {segment.name: segment for segment in ALL_SEGMENTS}


_NUMBERED = re.compile(r"(?P<name>.+?)(?: (?P<number>[2-9]|[1-9][0-9]+))?")


def _parse(segment_name: str) -> tuple[Segment, int]:
    """A segment name's segment and number (1 for the plain name)."""
    match = _NUMBERED.fullmatch(segment_name)
    if match is None or match["name"] not in _BY_NAME:
        raise KeyError(f"Unknown segment name {segment_name!r}; known: {SEGMENT_NAMES}")
    return _BY_NAME[match["name"]], int(match["number"] or 1)


@functools.cache
def base_segment(segment_name: str) -> Segment:
    """The segment a (possibly numbered, e.g. ``"Champions 2"``) name belongs to."""
    return _parse(segment_name)[0]


def segment_order(segment_names: Iterable[str]) -> list[str]:
    """Names in the order of SEGMENTS, numbered ones after their segment's plain name."""
    rank = {segment.name: i for i, segment in enumerate(ALL_SEGMENTS)}
    return sorted(
        segment_names,
        key=lambda name: (rank[_parse(name)[0].name], _parse(name)[1]),
    )


def segment_slug(segment_name: str) -> str:
    """The name as a file name: ``"At-Risk"`` -> ``at_risk``, ``"Champions 2"`` ->
    ``champions_2`` (``entered`` stays ``entered``)."""
    return re.sub(r"[^a-z0-9]+", "_", segment_name.lower()).strip("_")


def segment_colour(segment_name: str) -> str:
    """The segment's colour, tinted towards white for each number after the first."""
    segment, number = _parse(segment_name)
    tint = 1 - 0.7 ** (number - 1)
    channels = (int(segment.colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c + (255 - c) * tint):02x}" for c in channels)


FEATURES = ("recency", "frequency", "monetary")
MAX_CLUSTERS_NAMED = 10  # every naming of k clusters is checked: 4**k of them


@dataclass(frozen=True)
class Rule:
    """``subject``'s cluster centre has a lower (or higher) ``feature`` than that of
    every cluster named ``than``; checked only between clusters that carry the names."""

    subject: str
    feature: str
    lower: bool
    than: tuple[str, ...]

    @property
    def text(self) -> str:
        relation = {
            ("recency", True): "more recent",
            ("recency", False): "less recent",
            ("frequency", True): "less frequent",
            ("frequency", False): "more frequent",
            ("monetary", True): "spend less",
            ("monetary", False): "spend more",
        }[self.feature, self.lower]
        verb = "" if self.feature == "monetary" else "are "
        return f"{self.subject} {verb}{relation} than {_listed(self.than)}"


def _others(name: str) -> tuple[str, ...]:
    return tuple(n for n in SEGMENT_NAMES if n != name)


# What each name means, as relations between cluster centres. Only contrasts the
# descriptions above make are rules: Champions and New Customers are both recent, and
# New and Lost Customers both spend little, so neither pair is ordered.
RULES: tuple[Rule, ...] = (
    Rule("Champions", "recency", True, ("At-Risk", "Lost Customers")),
    Rule("Champions", "frequency", False, _others("Champions")),
    Rule("Champions", "monetary", False, _others("Champions")),
    Rule("At-Risk", "recency", False, ("Champions", "New Customers")),
    Rule("At-Risk", "monetary", False, ("New Customers", "Lost Customers")),
    Rule("New Customers", "recency", True, ("At-Risk", "Lost Customers")),
    Rule("New Customers", "frequency", True, ("Champions", "At-Risk")),
    Rule("Lost Customers", "recency", False, _others("Lost Customers")),
    Rule("Lost Customers", "frequency", True, ("Champions", "At-Risk")),
    Rule("Lost Customers", "monetary", True, ("Champions", "At-Risk")),
)
NEW = "New Customers"


def tenure_rule_text(max_ratio: float) -> str:
    return (
        f"{NEW} have a median tenure at most {max_ratio:g} times the median tenure of "
        "all customers"
    )


@dataclass(frozen=True)
class RuleCheck:
    """A rule and how it came out: ``margin`` is how far it holds in log1p units
    (0.69: twice as large; negative: the wrong way round), ``None`` where a name it
    relates is not given to any cluster. A relation holds unless it is the wrong way
    round by more than the tie tolerance: near ties do not contradict a name."""

    rule: str
    holds: bool | None
    margin: float | None


@dataclass(frozen=True)
class Naming:
    names: list[str]  # segment name by cluster label
    unfilled: list[str]  # segment names no cluster meets the rules of
    checks: list[RuleCheck]


def name_clusters(
    centroids: np.ndarray,
    standardized_centroids: np.ndarray,
    *,
    tenure_medians: np.ndarray,
    population_tenure_median: float,
    new_max_tenure_ratio: float,
    tie_tolerance: float,
) -> Naming:
    """Name K-Means clusters from their centres (in days, purchases and money, and
    standardized) and their customers' median tenure.

    Every assignment of the four names to the clusters is checked against ``RULES``
    and the tenure rule. Among those that break none, the one using the most distinct
    names wins, then the one closest to the segments' prototype corners. A name is
    never given to a cluster that breaks one of its rules: such a cluster takes a name
    it does fit, numbered (``"Lost Customers 2"``), and names no cluster fits are
    reported as unfilled. Clusters sharing a name are numbered by distance to its
    prototype, nearest first.
    """
    logs = np.log1p(np.asarray(centroids, dtype=float))
    k = len(logs)
    if not 1 <= k <= MAX_CLUSTERS_NAMED:
        raise ValueError(f"naming supports 1 to {MAX_CLUSTERS_NAMED} clusters, not {k}")
    candidates = np.array(
        list(itertools.product(range(len(SEGMENTS)), repeat=k)), dtype=np.int8
    )
    too_long_known = np.asarray(tenure_medians) > new_max_tenure_ratio * (
        population_tenure_median
    )
    broken = ((candidates == SEGMENT_NAMES.index(NEW)) & too_long_known).any(axis=1)
    for rule in RULES:
        pairs_broken = (_margins(rule, logs) <= -tie_tolerance).astype(np.float32)
        subject = candidates == SEGMENT_NAMES.index(rule.subject)
        others = np.isin(candidates, [SEGMENT_NAMES.index(n) for n in rule.than])
        broken |= (
            np.einsum(
                "ni,ij,nj->n",
                subject.astype(np.float32),
                pairs_broken,
                others.astype(np.float32),
            )
            > 0
        )
    distances = _prototype_distances(np.asarray(standardized_centroids, dtype=float))
    cost = distances[np.arange(k), candidates].sum(axis=1)
    names_used = (candidates[:, :, None] == np.arange(len(SEGMENTS))).any(axis=1)
    order = np.lexsort((cost, -names_used.sum(axis=1), broken))
    chosen = candidates[order[0]].astype(int)
    checks = _checks(chosen, logs, tie_tolerance)
    checks.append(
        _tenure_check(
            chosen, tenure_medians, population_tenure_median, new_max_tenure_ratio
        )
    )
    unfilled = [n for i, n in enumerate(SEGMENT_NAMES) if i not in set(chosen)]
    return Naming(_numbered(chosen, distances), unfilled, checks)


def _margins(rule: Rule, logs: np.ndarray) -> np.ndarray:
    """(k, k): how far cluster i as the rule's subject meets it against cluster j,
    in log1p units (negative: the wrong way round)."""
    values = logs[:, FEATURES.index(rule.feature)]
    difference = values[None, :] - values[:, None]  # [i, j] = x_j - x_i
    return difference if rule.lower else -difference


def _prototype_distances(standardized: np.ndarray) -> np.ndarray:
    """(k, 4) squared distance of each cluster to each segment's prototype corner."""
    positions = np.column_stack(
        (-standardized[:, 0], standardized[:, 1:3].mean(axis=1))
    )
    prototypes = np.array([segment.prototype for segment in SEGMENTS])
    return ((positions[:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=2)


def _numbered(chosen: np.ndarray, distances: np.ndarray) -> list[str]:
    names = [""] * len(chosen)
    for index, segment in enumerate(SEGMENTS):
        members = [i for i in range(len(chosen)) if chosen[i] == index]
        for rank, i in enumerate(sorted(members, key=lambda i: distances[i, index])):
            names[i] = segment.name if rank == 0 else f"{segment.name} {rank + 1}"
    return names


def _checks(
    chosen: np.ndarray, logs: np.ndarray, tie_tolerance: float
) -> list[RuleCheck]:
    checks = []
    for rule in RULES:
        subjects = chosen == SEGMENT_NAMES.index(rule.subject)
        others = np.isin(chosen, [SEGMENT_NAMES.index(n) for n in rule.than])
        if not subjects.any() or not others.any():
            checks.append(RuleCheck(rule.text, None, None))
            continue
        margin = float(_margins(rule, logs)[np.ix_(subjects, others)].min())
        checks.append(RuleCheck(rule.text, margin > -tie_tolerance, round(margin, 4)))
    return checks


def _tenure_check(
    chosen: np.ndarray,
    tenure_medians: np.ndarray,
    population_tenure_median: float,
    new_max_tenure_ratio: float,
) -> RuleCheck:
    text = tenure_rule_text(new_max_tenure_ratio)
    new = chosen == SEGMENT_NAMES.index(NEW)
    if not new.any():
        return RuleCheck(text, None, None)
    limit = np.log1p(new_max_tenure_ratio * population_tenure_median)
    margin = float(limit - np.log1p(np.asarray(tenure_medians)[new]).max())
    return RuleCheck(text, margin >= 0, round(margin, 4))


def rules_markdown(naming: Mapping[str, Any]) -> str:
    """The centre rules as a Markdown list, with the ``naming`` parameters' values,
    for the README and the docs."""
    new_max_tenure_ratio, tie_tolerance = (
        naming["new_max_tenure_ratio"],
        naming["tie_tolerance"],
    )
    lines = [f"- {rule.text}" for rule in RULES]
    lines.append(f"- {tenure_rule_text(new_max_tenure_ratio)}")
    lines.append(
        f"\nA relation between two cluster centres counts as broken only when it is "
        f"the wrong way round by more than {tie_tolerance:g} in log1p units (about "
        f"{np.expm1(tie_tolerance):.0%}): near ties do not contradict a name."
    )
    return "\n".join(lines)


class CustomerThresholds(BaseModel):
    """What "recent", "new", "often" and "a lot" mean for one customer of this shop:
    learned from the training population when the model is fitted (quantiles in
    ``naming.customer_quantiles``), stored in the profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recent_days: float = Field(description="Bought recently: recency at most this")
    lapsed_days: float = Field(description="Not recent: recency above this")
    new_tenure_days: float = Field(description="New: first purchase at most this ago")
    few_purchases: float = Field(ge=1, description="Often: more purchases than this")
    low_spend: float = Field(description="More than the typical customer's spend")
    high_spend: float = Field(description="A lot: spend above this")
    one_purchase: float = Field(1.0, description="A repeat buyer made more than this")


def learn_thresholds(
    features: Mapping[str, np.ndarray],
    quantiles: Mapping[str, float],
    new_max_tenure_ratio: float,
) -> CustomerThresholds:
    """The per-customer thresholds of a training population (``features``: recency,
    frequency, monetary and tenure arrays): quantiles of its recency, purchases and
    spend, and ``new_max_tenure_ratio`` times its median tenure (the New Customers'
    centre rule, applied to each customer)."""
    recency, frequency, monetary, tenure = (
        features[name] for name in ("recency", "frequency", "monetary", "tenure")
    )
    if not quantiles["lapsed"] <= quantiles["recent"]:
        raise ValueError(
            "naming.customer_quantiles: `lapsed` must be at most `recent` (a customer "
            "who is not recent must have bought longer ago than a recent one)"
        )
    if not quantiles["low_spend"] <= quantiles["high_spend"]:
        raise ValueError(
            "naming.customer_quantiles: `low_spend` must be at most `high_spend`"
        )
    frequent = float(np.quantile(frequency, quantiles["frequent"]))
    return CustomerThresholds(
        recent_days=float(np.quantile(recency, quantiles["recent"])),
        lapsed_days=float(np.quantile(recency, quantiles["lapsed"])),
        new_tenure_days=round(new_max_tenure_ratio * float(np.median(tenure)), 2),
        few_purchases=max(1.0, np.ceil(frequent) - 1),
        low_spend=round(float(np.quantile(monetary, quantiles["low_spend"])), 2),
        high_spend=round(float(np.quantile(monetary, quantiles["high_spend"])), 2),
    )


def customer_rule_groups(
    segment: Segment,
    features: Mapping[str, np.ndarray | None],
    thresholds: CustomerThresholds,
) -> np.ndarray:
    """(n, groups) whether each customer meets each group of ``segment``'s customer
    rules. A feature given as None (the API's tenure, when not sent) is not checked:
    its conditions count as met."""
    n = len(next(v for v in features.values() if v is not None))
    groups = np.ones((n, len(segment.customer_rules)), dtype=bool)
    for g, group in enumerate(segment.customer_rules):
        checked = [CONDITIONS[key] for key in group]
        if any(features[c.feature] is None for c in checked):
            continue
        groups[:, g] = np.logical_or.reduce(
            [c.holds(features[c.feature], thresholds) for c in checked]
        )
    return groups


def first_failed_group(
    segment: Segment,
    features: Mapping[str, float | None],
    thresholds: CustomerThresholds,
) -> int | None:
    """``customer_rule_groups`` for one customer: the first group of ``segment``'s
    customer rules it breaks, None if it meets them all (a feature given as None is
    not checked)."""
    for g, group in enumerate(segment.customer_rules):
        checked = [CONDITIONS[key] for key in group]
        if any(features[c.feature] is None for c in checked):
            continue
        if not any(c.holds(features[c.feature], thresholds) for c in checked):
            return g
    return None


def failed_reason(segment: Segment, failed_group: int) -> str:
    """Why a customer breaks ``segment``'s group ``failed_group``: ``not recent``."""
    group = segment.customer_rules[failed_group]
    return " and ".join(CONDITIONS[key].failed for key in group)


def unchecked_rules(
    segment: Segment, unknown: set[str], thresholds: CustomerThresholds
) -> list[str]:
    """``segment``'s rule groups that involve a feature not given (``unknown``)."""
    return [
        f"{segment.name}: {_group_text(group, thresholds)}"
        for group in segment.customer_rules
        if any(CONDITIONS[key].feature in unknown for key in group)
    ]


# How each threshold is learned, for the docs (quantile keys of
# naming.customer_quantiles, or the tenure ratio).
THRESHOLD_SOURCES = {
    "recent_days": ("recency", "recent"),
    "lapsed_days": ("recency", "lapsed"),
    "few_purchases": ("frequency", "frequent"),
    "low_spend": ("monetary", "low_spend"),
    "high_spend": ("monetary", "high_spend"),
}


def customer_rules_markdown(naming: Mapping[str, Any]) -> str:
    """Each segment's per-customer rules as a Markdown list, and how the thresholds
    are learned with the ``naming`` parameters, for the README and the docs."""
    quantiles = naming["customer_quantiles"]
    lines = [
        f"- **{segment.name}**: "
        + "; ".join(_group_text(group) for group in segment.customer_rules)
        for segment in ALL_SEGMENTS
    ]
    lines.append("\nwhere, over the customers the model is fitted on,")
    for name, (feature, key) in THRESHOLD_SOURCES.items():
        lines.append(
            f"- *{name}* is the {quantiles[key]:g} quantile of {feature}"
            + (", rounded up, less one (at least 1)" if name == "few_purchases" else "")
        )
    lines.append(
        f"- *new_tenure_days* is {naming['new_max_tenure_ratio']:g} times the median "
        "tenure"
    )
    return "\n".join(lines)


def _group_text(
    group: tuple[str, ...], thresholds: CustomerThresholds | None = None
) -> str:
    return " or ".join(_condition_text(CONDITIONS[key], thresholds) for key in group)


def _condition_text(condition: Condition, thresholds: CustomerThresholds | None) -> str:
    """The condition with its threshold: a number, or the threshold's name."""
    if thresholds is None:
        return condition.text.format(f"*{condition.threshold}*")
    value = getattr(thresholds, condition.threshold)
    number = f"{value:,.2f}" if condition.feature == "monetary" else f"{value:g}"
    return condition.text.format(number)


def _listed(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def segments_markdown() -> str:
    """The segments as a Markdown table, for the README and the docs."""
    rows = [
        "| Segment | Who they are | Marketing strategy |",
        "| --- | --- | --- |",
        *(f"| **{s.name}** | {s.description} | {s.strategy} |" for s in ALL_SEGMENTS),
    ]
    return "\n".join(rows)
