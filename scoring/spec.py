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

SINGLE, MULTI, PERCENT, NUMBER, RATIO, YESNO, TEXT, EVIDENCE, DERIVED = (
    "single_choice",
    "multiple_choice",
    "percentage",
    "number",
    "ratio",
    "yes_no",
    "text",
    "evidence",
    "derived",
)
#: Kinds a respondent types a number into.
NUMERIC_KINDS = (PERCENT, NUMBER, RATIO)
#: Kinds scored through a piecewise-linear curve: the typed numbers and derived values.
CURVE_KINDS = (*NUMERIC_KINDS, DERIVED)
#: Metrics a stage rule may test, in the column order of the metrics matrix.
METRICS: tuple[str, ...] = (
    "overall",
    *(f"link.{k}" for k in LINKS),
    *(f"aspect.{a}" for a in ASPECTS),
    "min_link",
    "it_links",
    "missing_required",
    "applicable_links",
    "links_without_it",
)


@dataclass(frozen=True, slots=True)
class Clause:
    """One show_if test on an earlier column. ``options`` are option indices."""

    column: int
    test: str  # equals | any_of | includes | at_least | at_most
    options: tuple[int, ...] = ()
    flag: bool | None = None
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class Formula:
    """A derived value's formula: ``op`` over ``operands``, each a column or a nested formula.

    ratio: operands[0] / operands[1] × scale (empty when the denominator is 0); sum, min, max:
    over every operand (empty when one is empty); mean: over the answered operands.
    """

    op: str
    operands: tuple[int | Formula, ...]
    scale: float = 1.0

    def columns(self) -> tuple[int, ...]:
        out: list[int] = []
        for x in self.operands:
            out.extend([x] if isinstance(x, int) else x.columns())
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Check:
    """Answers that must agree: when every ``when`` clause holds, every ``expect`` clause on an
    answered, shown question must hold, or the check fails. ``key_column`` is set when a failed
    check means that key system does not count as in use."""

    id: str
    when: tuple[Clause, ...]
    expect: tuple[Clause, ...]
    key_column: int | None
    message_zh: str
    message_en: str


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
    formula: Formula | None = None
    #: Options not offered in the assessment year this spec is for (valid from a later year).
    withheld: tuple[int, ...] = ()


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
    checks: tuple[Check, ...] = ()
    #: A key system counts as in use only in a link scoring at least this much.
    min_link_level: float = 0.0
    #: The assessment years this spec scores (the questionnaire's items valid in them), as
    #: (first, last); None for no limit.
    years: tuple[int | None, int | None] = (None, None)
    #: N/A answers and exemptions need a reason and are listed for the reviewer.
    reasons_required: bool = False
    #: Context questions that decide whether a link applies.
    link_gates: tuple[int, ...] = ()

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
class Block:
    """Scored questions of one answer kind, normalised together.

    ``membership`` holds the block's rows of the (I, G) weight matrix, so a block's normalised
    answers times ``membership`` are its contribution to the group sums.
    """

    cols: np.ndarray  # (B,) columns, in questionnaire order
    membership: np.ndarray  # (B, G)


@dataclass(frozen=True)
class LookupBlock(Block):
    """Single choice and yes/no: the score is read from one flat table.

    Column b's scores start at ``offsets[b]``; the slot just before them holds 0 and is where an
    unanswered cell (NaN, clipped up to ``offsets[b] - 1``) lands.
    """

    offsets: np.ndarray  # (B,) float
    slots: np.ndarray  # (B,) float, offsets - 1
    table: np.ndarray


@dataclass(frozen=True)
class NumericBlock(Block):
    """Percentages, numbers and ratios: piecewise-linear curves, as sums of clipped segments.

    A curve through (x_0, y_0) … (x_K, y_K) equals y_0 + Σ_s slope_s · clip(x − x_s, 0, w_s),
    with w_s = x_{s+1} − x_s. All segments of all columns are laid side by side, and their
    slopes times the column weights form ``seg_membership``, so one clip and one matrix
    product give the block's group sums. ``y0_membership`` adds y_0 for answered cells.
    """

    seg_cols: np.ndarray  # (S,) the column each segment reads
    seg_knots: np.ndarray  # (S,) x_s
    seg_widths: np.ndarray  # (S,) w_s
    seg_membership: np.ndarray  # (S, G) slope_s · weight of the column in its group
    y0_membership: np.ndarray  # (B, G) y_0 · weight of the column in its group


@dataclass(frozen=True)
class MultiBlock(Block):
    """Multiple choice: the capped score of every subset of options, indexed by the bit mask.

    A question with too many options for a table (``None``) sums its option scores bit by bit.
    """

    tables: tuple[np.ndarray | None, ...]
    option_scores: tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class SpecArrays:
    """Column groups and weight matrices derived from a spec."""

    n: int
    weight: np.ndarray  # (I,) 0 for unscored
    scored: np.ndarray  # (I,) bool
    required: np.ndarray  # (I,) bool
    required_f: np.ndarray  # (I,) 1.0 where required
    membership: np.ndarray  # (I, G) weight of each column in each group
    lookup: LookupBlock
    numeric: NumericBlock
    multi: MultiBlock
    gated_cols: tuple[int, ...]
    gated_scored: tuple[int, ...]  # scored questions with show_if
    derived: tuple[int, ...]  # derived columns, in questionnaire order (inputs come first)
    derived_gated: bool  # some derived value reads a question that may be hidden
    derived_gates: bool  # some show_if clause reads a derived value
    key_cols: np.ndarray
    key_thresholds: np.ndarray
    key_links: np.ndarray  # (K, 4) float, 1 where key system k belongs to link l
    link_weights: np.ndarray
    aspect_weights: np.ndarray

    @property
    def blocks(self) -> tuple[Block, ...]:
        return (self.lookup, self.numeric, self.multi)

    @classmethod
    def build(cls, spec: Spec) -> SpecArrays:
        qs = spec.questions
        n = len(qs)
        weight = np.array([q.weight if q.scored else 0.0 for q in qs])
        scored = np.array([q.scored for q in qs], dtype=bool)
        required = np.array([q.required for q in qs], dtype=bool)
        membership = np.zeros((n, len(GROUPS)))
        for i, q in enumerate(qs):
            if q.scored and q.group is not None:
                membership[i, GROUPS.index(q.group)] = q.weight

        def cols(kinds: tuple[str, ...]) -> np.ndarray:
            return np.array([i for i, q in enumerate(qs) if q.scored and q.kind in kinds], np.intp)

        lookup_cols = cols((SINGLE, YESNO))
        offsets: list[int] = []
        flat: list[float] = []
        for i in lookup_cols:
            q = qs[i]
            flat.append(0.0)
            offsets.append(len(flat))
            flat.extend(q.option_scores if q.kind == SINGLE else (q.score_no, q.score_yes))
        off = np.array(offsets, dtype=float)
        lookup = LookupBlock(lookup_cols, membership[lookup_cols], off, off - 1.0, np.array(flat))
        numeric_cols = cols(CURVE_KINDS)
        seg_cols, knots, widths, seg_rows = [], [], [], []
        for i in numeric_cols:
            cx, cy = qs[i].curve_x, qs[i].curve_y
            for s in range(len(cx) - 1):
                seg_cols.append(i)
                knots.append(cx[s])
                widths.append(cx[s + 1] - cx[s])
                seg_rows.append(membership[i] * ((cy[s + 1] - cy[s]) / (cx[s + 1] - cx[s])))
        numeric = NumericBlock(
            numeric_cols,
            membership[numeric_cols],
            seg_cols=np.array(seg_cols, dtype=np.intp),
            seg_knots=np.array(knots, dtype=float),
            seg_widths=np.array(widths, dtype=float),
            seg_membership=np.array(seg_rows).reshape(len(seg_rows), len(GROUPS)),
            y0_membership=np.array(
                [membership[i] * qs[i].curve_y[0] for i in numeric_cols]
            ).reshape(len(numeric_cols), len(GROUPS)),
        )
        multi_cols = cols((MULTI,))
        multi = MultiBlock(
            multi_cols,
            membership[multi_cols],
            tuple(_subset_sums(qs[i]) for i in multi_cols),
            tuple(qs[i].option_scores for i in multi_cols),
        )
        # A question is gated by its show_if clauses; a derived value also when every input is
        # gated: it is shown only while one of them is (see engine._shown).
        gated: set[int] = set()
        for i, q in enumerate(qs):
            if q.show_if or (q.formula is not None and set(q.formula.columns()) <= gated):
                gated.add(i)
        keys = [i for i, q in enumerate(qs) if q.key_in_use is not None]
        key_links = np.zeros((len(keys), len(LINKS)))
        for k, i in enumerate(keys):
            key_links[k, LINKS.index(qs[i].group or "")] = 1.0
        return cls(
            n=n,
            weight=weight,
            scored=scored,
            required=required,
            required_f=required.astype(float),
            membership=membership,
            lookup=lookup,
            numeric=numeric,
            multi=multi,
            gated_cols=tuple(i for i in range(n) if i in gated),
            gated_scored=tuple(i for i in range(n) if i in gated and qs[i].scored),
            derived=tuple(i for i, q in enumerate(qs) if q.formula is not None),
            derived_gated=any(
                c in gated for q in qs if q.formula is not None for c in q.formula.columns()
            ),
            derived_gates=any(qs[c.column].formula is not None for q in qs for c in q.show_if),
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
