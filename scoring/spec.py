"""The scoring spec: a questionnaire compiled into plain values and numpy arrays.

The spec is built once per questionnaire version and shared by the single and the batch path,
so both compute from the same arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

LINKS: tuple[str, ...] = ("rd", "production", "management", "marketing")
ASPECTS: tuple[str, ...] = (
    "infrastructure",
    "single_app",
    "integration",
    "collaboration",
    "competitiveness",
)
NON_LINK_ASPECTS: tuple[str, ...] = (
    "infrastructure",
    "integration",
    "collaboration",
    "competitiveness",
)
#: Score groups: the four links, then the aspects that are not made of links.
GROUPS: tuple[str, ...] = LINKS + NON_LINK_ASPECTS
STAGES: tuple[str, ...] = (
    "undetermined",
    "initial",
    "single_coverage",
    "integration",
    "innovation",
)

SINGLE, MULTI, PERCENT, NUMBER, RATIO, YESNO, TEXT, EVIDENCE = (
    "single_choice",
    "multiple_choice",
    "percentage",
    "number",
    "ratio",
    "yes_no",
    "text",
    "evidence",
)
NUMERIC_KINDS = (PERCENT, NUMBER, RATIO)
#: Metrics a stage rule may test, in the column order of the metrics matrix.
METRICS: tuple[str, ...] = (
    "overall",
    *(f"link.{k}" for k in LINKS),
    *(f"aspect.{a}" for a in ASPECTS),
    "min_link",
    "it_links",
    "missing_required",
)


@dataclass(frozen=True, slots=True)
class Clause:
    """One show_if test on an earlier column. ``options`` are option indices."""

    column: int
    test: str  # equals | any_of | includes | at_least
    options: tuple[int, ...] = ()
    flag: bool | None = None
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class Question:
    """Everything the engine needs about one question."""

    id: str
    kind: str
    text_zh: str
    text_en: str
    group: str | None
    scored: bool
    weight: float
    required: bool
    allow_na: bool
    options: tuple[str, ...] = ()
    option_scores: tuple[float, ...] = ()
    exclusive: tuple[bool, ...] = ()
    lower: float | None = None
    upper: float | None = None
    curve_x: tuple[float, ...] = ()
    curve_y: tuple[float, ...] = ()
    scale: float = 1.0
    max_length: int = 0
    key_in_use: int | None = None
    show_if: tuple[Clause, ...] = ()
    score_yes: float = 1.0
    score_no: float = 0.0


@dataclass(frozen=True, slots=True)
class Condition:
    metric: str
    op: str
    value: float


@dataclass(frozen=True, slots=True)
class StageRule:
    stage: str
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Spec:
    """A compiled questionnaire: questions, weights, curves, stage rules and adoption rule."""

    questionnaire: str
    version: int
    content_hash: str
    questions: tuple[Question, ...]
    link_weights: tuple[float, float, float, float]
    aspect_weights: tuple[float, float, float, float, float]
    adoption_min_links: int
    stage_rules: tuple[StageRule, ...]
    stage_ladder: tuple[str, ...]
    stage_names: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("question ids must be unique")
        for rule in self.stage_rules:
            for c in rule.conditions:
                if c.metric not in METRICS:
                    raise ValueError(f"unknown metric {c.metric!r}")

    @cached_property
    def index(self) -> dict[str, int]:
        """Question id → column."""
        return {q.id: i for i, q in enumerate(self.questions)}

    @cached_property
    def arrays(self) -> SpecArrays:
        return SpecArrays.build(self)

    def stage_rank(self, stage: str) -> int:
        """Position on the ladder; undetermined ranks below everything."""
        return self.stage_ladder.index(stage) if stage in self.stage_ladder else -1


@dataclass(frozen=True)
class SpecArrays:
    """Column groups and weight matrices derived from a spec."""

    n: int
    weight: np.ndarray  # (I,) 0 for unscored
    scored: np.ndarray  # (I,) bool
    required: np.ndarray  # (I,) bool
    membership: np.ndarray  # (I, G) weight of each column in each group
    lookup_cols: np.ndarray
    lookup_offsets: np.ndarray
    lookup_flat: np.ndarray
    multi_cols: tuple[int, ...]
    multi_tables: tuple[np.ndarray | None, ...]
    numeric_cols: tuple[int, ...]
    gated_cols: tuple[int, ...]
    key_cols: np.ndarray
    key_thresholds: np.ndarray
    key_links: np.ndarray  # (K, 4) bool
    link_weights: np.ndarray
    aspect_weights: np.ndarray

    @classmethod
    def build(cls, spec: Spec) -> SpecArrays:
        qs = spec.questions
        n = len(qs)
        weight = np.array([q.weight if q.scored else 0.0 for q in qs])
        scored = np.array([q.scored for q in qs], dtype=bool)
        membership = np.zeros((n, len(GROUPS)))
        for i, q in enumerate(qs):
            if q.scored and q.group is not None:
                membership[i, GROUPS.index(q.group)] = q.weight
        # Single choice and yes/no share one lookup table. Each column's block starts with a 0
        # for "unanswered": its encoded NaN is clipped to -1 and lands on that slot.
        lookup = [i for i, q in enumerate(qs) if q.kind in (SINGLE, YESNO) and q.scored]
        offsets: list[int] = []
        flat: list[float] = []
        for i in lookup:
            q = qs[i]
            flat.append(0.0)
            offsets.append(len(flat))
            flat.extend(q.option_scores if q.kind == SINGLE else (q.score_no, q.score_yes))
        multi = [i for i, q in enumerate(qs) if q.kind == MULTI and q.scored]
        keys = [i for i, q in enumerate(qs) if q.key_in_use is not None]
        key_links = np.zeros((len(keys), len(LINKS)), dtype=bool)
        for k, i in enumerate(keys):
            key_links[k, LINKS.index(qs[i].group or "")] = True
        return cls(
            n=n,
            weight=weight,
            scored=scored,
            required=np.array([q.required for q in qs], dtype=bool),
            membership=membership,
            lookup_cols=np.array(lookup, dtype=np.intp),
            lookup_offsets=np.array(offsets, dtype=np.intp),
            lookup_flat=np.array(flat, dtype=float),
            multi_cols=tuple(multi),
            multi_tables=tuple(_subset_sums(qs[i]) for i in multi),
            numeric_cols=tuple(i for i, q in enumerate(qs) if q.kind in NUMERIC_KINDS and q.scored),
            gated_cols=tuple(i for i, q in enumerate(qs) if q.show_if),
            key_cols=np.array(keys, dtype=np.intp),
            key_thresholds=np.array([qs[i].key_in_use for i in keys], dtype=float),
            key_links=key_links,
            link_weights=np.array(spec.link_weights, dtype=float),
            aspect_weights=np.array(spec.aspect_weights, dtype=float),
        )


def _subset_sums(q: Question, max_options: int = 12) -> np.ndarray | None:
    """Capped score of every subset of a multiple choice's options, indexed by bit mask."""
    k = len(q.options)
    if k > max_options:
        return None
    masks = np.arange(1 << k)
    bits = (masks[:, None] >> np.arange(k)) & 1
    return np.minimum(bits @ np.array(q.option_scores, dtype=float), 1.0)
