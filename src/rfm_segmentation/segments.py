"""The four customer segments: the single source of their names, meaning, strategy
and of the rules a cluster must meet to carry a name.

Reporting, the API and the docs read this module; nothing else restates a segment.
Cluster labels from K-Means are arbitrary numbers, so segments are named from the
fitted centroids: a name goes only to clusters that meet its rules (``RULES``), and
among the namings that meet every rule the one closest to the segments' prototype
corners of (recentness, value) space is chosen.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Segment:
    """A named customer segment and the marketing play that goes with it."""

    name: str
    description: str
    strategy: str
    recent: bool
    high_value: bool
    colour: str  # in every figure; numbered clusters ("Champions 2") get lighter tints

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
    ),
    Segment(
        name="At-Risk",
        description="Used to buy often and spend a lot, but have not bought for a while.",
        strategy=(
            "Win them back before they churn: personalised reactivation emails, "
            "offers on the products they used to buy, a service check-in."
        ),
        recent=False,
        high_value=True,
        colour="#e76f51",
    ),
    Segment(
        name="New Customers",
        description="Bought recently, but only once or twice and for a small amount.",
        strategy=(
            "Build the habit: welcome series, a second-purchase incentive, "
            "recommendations based on the first order."
        ),
        recent=True,
        high_value=False,
        colour="#457b9d",
    ),
    Segment(
        name="Lost Customers",
        description="Bought rarely and little, and not for a long time.",
        strategy=(
            "Spend little: one low-cost win-back campaign, then leave them out of "
            "paid channels."
        ),
        recent=False,
        high_value=False,
        colour="#8d99ae",
    ),
)

SEGMENT_NAMES: tuple[str, ...] = tuple(segment.name for segment in SEGMENTS)
_BY_NAME = {segment.name: segment for segment in SEGMENTS}


_NUMBERED = re.compile(r"(?P<name>.+?)(?: (?P<number>[2-9]|[1-9][0-9]+))?")


def _parse(segment_name: str) -> tuple[Segment, int]:
    """A segment name's segment and number (1 for the plain name)."""
    match = _NUMBERED.fullmatch(segment_name)
    if match is None or match["name"] not in _BY_NAME:
        raise KeyError(f"Unknown segment name {segment_name!r}; known: {SEGMENT_NAMES}")
    return _BY_NAME[match["name"]], int(match["number"] or 1)


def base_segment(segment_name: str) -> Segment:
    """The segment a (possibly numbered, e.g. ``"Champions 2"``) name belongs to."""
    return _parse(segment_name)[0]


def segment_order(segment_names: Iterable[str]) -> list[str]:
    """Names in the order of SEGMENTS, numbered ones after their segment's plain name."""
    rank = {segment.name: i for i, segment in enumerate(SEGMENTS)}
    return sorted(
        segment_names,
        key=lambda name: (rank[_parse(name)[0].name], _parse(name)[1]),
    )


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


def rules_markdown(new_max_tenure_ratio: float, tie_tolerance: float) -> str:
    """The naming rules as a Markdown list, for the README and the docs."""
    lines = [f"- {rule.text}" for rule in RULES]
    lines.append(f"- {tenure_rule_text(new_max_tenure_ratio)}")
    lines.append(
        f"\nA relation between two cluster centres counts as broken only when it is "
        f"the wrong way round by more than {tie_tolerance:g} in log1p units (about "
        f"{np.expm1(tie_tolerance):.0%}): near ties do not contradict a name."
    )
    return "\n".join(lines)


def _listed(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def segments_markdown() -> str:
    """The segments as a Markdown table, for the README and the docs."""
    rows = [
        "| Segment | Who they are | Marketing strategy |",
        "| --- | --- | --- |",
        *(f"| **{s.name}** | {s.description} | {s.strategy} |" for s in SEGMENTS),
    ]
    return "\n".join(rows)
