"""Pydantic models for the questionnaire, methodology and region files.

Files are validated strictly (``extra="forbid"``); question types form a discriminated union on
``type``. Rules that span a whole file (unique ids, show_if references, score ranges) live in one
model validator per file so every problem is reported with a path.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from scoring.benchmarks import FIGURES
from scoring.spec import (
    ASPECTS,
    DERIVED,
    EVIDENCE,
    LINKS,
    MULTI,
    NUMBER,
    PERCENT,
    RATIO,
    SINGLE,
    STAGES,
    TEXT,
    YESNO,
)

# The engine's vocabulary is the one the files are checked against.
QUESTION_TYPES = (SINGLE, MULTI, PERCENT, NUMBER, RATIO, YESNO, TEXT, EVIDENCE, DERIVED)
#: Years an assessment can be about; ``valid_from`` years lie in this range.
FIRST_YEAR, LAST_YEAR = 2000, 2100
ValidFrom = Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)]

Link = Literal["rd", "production", "management", "marketing"]
Aspect = Literal["infrastructure", "integration", "collaboration", "competitiveness"]
StageId = Literal["undetermined", "initial", "single_coverage", "integration", "innovation"]
# The sectors are the module folders that exist (see assess.questionnaire.catalog); a sector id
# only has to be safe to use as a folder name, a URL part and a database code (Enterprise.sector
# is 40 long).
SECTOR_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
SectorId = Annotated[str, Field(pattern=SECTOR_ID_RE.pattern, max_length=40)]
#: The link_weights key that applies to every sector the methodology does not name.
DEFAULT_WEIGHTS = "default"

ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
OPTION_ID_RE = re.compile(r"^[A-Za-z0-9_]+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class I18n(Strict):
    """A text in Chinese and English."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Option(Strict):
    id: str
    text: I18n
    score: float = Field(default=0.0, ge=0, le=1)
    exclusive: bool = False
    # The first assessment year this rung can be chosen in (it describes something that did not
    # exist before); for earlier years it is not offered and the ladder is rescaled to the best
    # rung offered then.
    valid_from: ValidFrom | None = None

    @field_validator("id")
    @classmethod
    def _option_id(cls, v: str) -> str:
        if not OPTION_ID_RE.match(v):
            raise ValueError("option id must be letters, digits or underscores")
        return v


class Condition(Strict):
    """One show_if clause on an earlier question; all clauses of a question must hold."""

    question: str
    equals: str | bool | None = None
    any_of: list[str] | None = None
    includes: str | None = None
    at_least: float | None = None
    at_most: float | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        given = [k for k in CONDITION_TESTS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a condition needs exactly one of equals, any_of, includes, at_least, at_most"
            )
        return self


CONDITION_TESTS = ("equals", "any_of", "includes", "at_least", "at_most")


class KeySystem(Strict):
    """Marks a link's key-system question; IT is applied from option ``in_use_at`` upwards."""

    in_use_at: str


class Curve(Strict):
    """Piecewise-linear normalisation: x strictly increasing, y in [0, 1], monotone."""

    points: list[tuple[float, float]] = Field(min_length=2)

    @model_validator(mode="after")
    def _shape(self) -> Curve:
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        if any(b <= a for a, b in pairwise(xs)):
            raise ValueError("curve x values must be strictly increasing")
        if any(y < 0 or y > 1 for y in ys):
            raise ValueError("curve y values must lie in [0, 1]")
        up = all(b >= a for a, b in pairwise(ys))
        down = all(b <= a for a, b in pairwise(ys))
        if not (up or down):
            raise ValueError("curve must be monotone (only rising or only falling)")
        if min(ys) != 0 or max(ys) != 1:
            raise ValueError("curve must reach 0 and 1")
        return self


class Operand(Strict):
    label: I18n
    unit: I18n


class QuestionBase(Strict):
    id: str
    text: I18n
    help: I18n
    # Where the question comes from, e.g. "2017年全国问卷，基础建设第6项", so that an assessor can
    # compare it with the national item. Optional: a file that leaves it out keeps its hash.
    source: I18n | None = Field(
        default=None,
        description="Where the question comes from, e.g. 2017年全国问卷，基础建设第6项",
    )
    link: Link | None = None
    aspect: Aspect | None = None
    required: bool = True
    allow_na: bool = False
    scored: bool = True
    weight: float = Field(default=1.0, gt=0)
    show_if: list[Condition] = Field(default_factory=list)
    # The first assessment year the question is asked in; earlier years neither ask nor score it.
    valid_from: ValidFrom | None = None

    @field_validator("id")
    @classmethod
    def _question_id(cls, v: str) -> str:
        if not ID_RE.match(v):
            raise ValueError(
                "question id must be lower-case words joined by dots, e.g. core.rd.cad"
            )
        return v

    @model_validator(mode="after")
    def _placement(self) -> QuestionBase:
        if self.link and self.aspect:
            raise ValueError("a question has a link or an aspect, not both")
        if self.is_scored and not (self.link or self.aspect):
            raise ValueError("a scored question needs a link or an aspect")
        return self

    @property
    def is_scored(self) -> bool:
        return self.scored

    @property
    def group(self) -> str | None:
        return self.link or self.aspect


class SingleChoice(QuestionBase):
    type: Literal["single_choice"]
    options: list[Option] = Field(min_length=2)
    key_system: KeySystem | None = None

    @model_validator(mode="after")
    def _ladder(self) -> SingleChoice:
        _check_option_ids(self.options)
        if any(o.exclusive for o in self.options):
            raise ValueError("exclusive options only make sense in multiple choice")
        scores = [o.score for o in self.options]
        if self.scored and (min(scores) != 0 or max(scores) != 1):
            raise ValueError("a scored ladder needs a worst option scoring 0 and a best scoring 1")
        _check_valid_from(self.options, self.scored)
        if self.key_system is not None:
            if any(o.valid_from for o in self.options):
                raise ValueError("a key-system ladder offers every rung in every year")
            if not self.link:
                raise ValueError("a key-system question belongs to a link")
            if not self.scored:
                raise ValueError("a key-system question must be scored")
            if self.allow_na or self.show_if:
                raise ValueError("a key-system question is always asked: no N/A, no show_if")
            if any(b < a for a, b in pairwise(scores)):
                raise ValueError("a key-system ladder must not fall from one option to the next")
            if self.key_system.in_use_at not in {o.id for o in self.options}:
                raise ValueError(f"key_system.in_use_at {self.key_system.in_use_at!r} is no option")
        return self


class MultipleChoice(QuestionBase):
    type: Literal["multiple_choice"]
    options: list[Option] = Field(min_length=2)

    @model_validator(mode="after")
    def _options(self) -> MultipleChoice:
        _check_option_ids(self.options)
        if self.scored:
            total = sum(o.score for o in self.options if not o.exclusive)
            if total < 1:
                raise ValueError("option scores must add up to at least 1 (the sum is capped at 1)")
        if any(o.exclusive and o.score != 0 for o in self.options):
            raise ValueError("an exclusive option ('none of these') scores 0")
        _check_valid_from(self.options, self.scored)
        return self


class Percentage(QuestionBase):
    type: Literal["percentage"]
    curve: Curve = Curve(points=[(0.0, 0.0), (100.0, 1.0)])

    @model_validator(mode="after")
    def _domain(self) -> Percentage:
        xs = [p[0] for p in self.curve.points]
        if xs[0] < 0 or xs[-1] > 100:
            raise ValueError("a percentage curve lies within 0..100")
        return self


class Number(QuestionBase):
    type: Literal["number"]
    unit: I18n
    min: float = 0.0
    max: float
    curve: Curve

    @model_validator(mode="after")
    def _bounds(self) -> Number:
        if self.max <= self.min:
            raise ValueError("max must be greater than min")
        return self


class Ratio(QuestionBase):
    """Two entered numbers; the scored value is numerator / denominator × scale."""

    type: Literal["ratio"]
    numerator: Operand
    denominator: Operand
    scale: float = Field(default=1.0, gt=0)
    unit: I18n
    max: float = Field(gt=0)
    curve: Curve


class YesNo(QuestionBase):
    type: Literal["yes_no"]
    score_yes: float = Field(default=1.0, ge=0, le=1)
    score_no: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _span(self) -> YesNo:
        if self.scored and {self.score_yes, self.score_no} != {0.0, 1.0}:
            raise ValueError("a scored yes/no question scores 0 and 1")
        return self


class Text(QuestionBase):
    type: Literal["text"]
    scored: bool = False
    max_length: int = Field(default=2000, gt=0, le=20000)

    @model_validator(mode="after")
    def _unscored(self) -> Text:
        if self.scored:
            raise ValueError("free text is never scored")
        return self


class Evidence(QuestionBase):
    type: Literal["evidence"]
    scored: bool = False
    required: bool = False

    @model_validator(mode="after")
    def _unscored(self) -> Evidence:
        if self.scored:
            raise ValueError("evidence is never scored")
        return self


class Formula(Strict):
    """How a derived value is computed from earlier answers: exactly one of the forms below.

    Operands are question ids (of number, percentage, ratio or derived questions) or nested
    formulas. ``ratio`` is [numerator, denominator] times ``scale``; ``mean`` averages the
    operands that are answered; the others need every operand.
    """

    ratio: list[str | Formula] | None = Field(default=None, min_length=2, max_length=2)
    scale: float = Field(default=1.0, gt=0)
    sum: list[str | Formula] | None = Field(default=None, min_length=2)
    mean: list[str | Formula] | None = Field(default=None, min_length=2)
    min: list[str | Formula] | None = Field(default=None, min_length=2)
    max: list[str | Formula] | None = Field(default=None, min_length=2)

    @model_validator(mode="after")
    def _one_form(self) -> Formula:
        given = [k for k in FORMULA_OPS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a formula needs exactly one of ratio, sum, mean, min, max")
        if self.scale != 1.0 and given[0] != "ratio":
            raise ValueError("scale belongs to a ratio")
        return self

    @property
    def op(self) -> str:
        return next(k for k in FORMULA_OPS if getattr(self, k) is not None)

    @property
    def operands(self) -> list[str | Formula]:
        return list(getattr(self, self.op))

    def inputs(self) -> list[str]:
        """Every question id the formula reads, nested formulas included."""
        out: list[str] = []
        for x in self.operands:
            out.extend([x] if isinstance(x, str) else x.inputs())
        return out


FORMULA_OPS = ("ratio", "sum", "mean", "min", "max")


class Derived(QuestionBase):
    """A value computed from other answers (a sum, a ratio …), shown read only, scored once."""

    type: Literal["derived"]
    formula: Formula
    unit: I18n
    curve: Curve | None = None

    @model_validator(mode="after")
    def _derived(self) -> Derived:
        if self.allow_na:
            raise ValueError("a derived value is never N/A itself: its inputs may be")
        if self.scored and self.curve is None:
            raise ValueError("a scored derived value needs a curve")
        return self


Question = Annotated[
    SingleChoice | MultipleChoice | Percentage | Number | Ratio | YesNo | Text | Evidence | Derived,
    Field(discriminator="type"),
]


def _check_valid_from(options: list[Option], scored: bool) -> None:
    if not scored or not any(o.valid_from for o in options):
        return
    if not any(o.score > 0 for o in options if o.valid_from is None):
        raise ValueError(
            "an option scoring more than 0 must be offered in every year (valid_from on the rest)"
        )


def _check_option_ids(options: list[Option]) -> None:
    ids = [o.id for o in options]
    if len(set(ids)) != len(ids):
        raise ValueError("option ids must be unique within a question")


class Section(Strict):
    id: str
    title: I18n
    questions: list[Question] = Field(min_length=1)


class Check(Strict):
    """Answers that must agree. When every ``when`` clause holds, every ``expect`` clause on an
    answered, shown question must hold too; otherwise the check fails and raises a flag for the
    reviewer. With ``confirms_key`` the ``when`` question is a key system, and a failed check
    means that key system does not count as in use."""

    id: str
    when: list[Condition] = Field(min_length=1)
    expect: list[Condition] = Field(min_length=1)
    confirms_key: bool = False
    message: I18n

    @field_validator("id")
    @classmethod
    def _check_id(cls, v: str) -> str:
        if not ID_RE.match(v):
            raise ValueError("check id must be lower-case words joined by dots")
        return v


class CoreFile(Strict):
    """The shared core every sector questionnaire starts from."""

    kind: Literal["core"]
    id: Literal["core"]
    version: int = Field(ge=1)
    # A draft is being written: it need not be locked and no new assessment starts on it.
    draft: bool = False
    title: I18n
    sections: list[Section] = Field(min_length=1)
    # Answers of the core that must agree (plausibility), as in a module's checks.
    checks: list[Check] = Field(default_factory=list)

    @model_validator(mode="after")
    def _whole(self) -> CoreFile:
        check_questions(self.sections)
        return self


class SectorInfo(Strict):
    """The sector a module belongs to; its id names the module's folder."""

    id: SectorId
    name: I18n

    @field_validator("id")
    @classmethod
    def _not_default(cls, v: str) -> str:
        if v == DEFAULT_WEIGHTS:
            raise ValueError(f"{DEFAULT_WEIGHTS!r} names the methodology's fallback weights")
        return v


class Replacement(Strict):
    """A core question this sector asks in its own, more specific way and so leaves out."""

    core: str
    by: str | None = None
    reason: I18n


class ModuleFile(Strict):
    """A sector module: pins the core and methodology versions it composes with."""

    kind: Literal["module"]
    sector: SectorInfo
    version: int = Field(ge=1)
    draft: bool = False
    core_version: int = Field(ge=1)
    methodology_version: int = Field(ge=1)
    title: I18n
    replaces_core: list[Replacement] = Field(default_factory=list)
    sections: list[Section] = Field(min_length=1)
    checks: list[Check] = Field(default_factory=list)

    @model_validator(mode="after")
    def _whole(self) -> ModuleFile:
        # References to core questions are checked once the module is composed with its core.
        check_questions(self.sections, external_refs=True)
        ids = [c.id for c in self.checks]
        if len(set(ids)) != len(ids):
            raise ValueError("check ids must be unique")
        cores = [r.core for r in self.replaces_core]
        if len(set(cores)) != len(cores):
            raise ValueError("a core question is replaced once")
        return self


def iter_questions(sections: list[Section]) -> list[QuestionBase]:
    """All questions of the sections, in order."""
    return [q for s in sections for q in s.questions]


def check_questions(sections: list[Section], external_refs: bool = False) -> None:
    """Whole-questionnaire rules: unique ids, valid show_if references.

    With ``external_refs`` a reference to a question outside these sections is left for the
    composed questionnaire to check.
    """
    problems: list[str] = []
    seen: dict[str, QuestionBase] = {}
    local_ids = {q.id for s in sections for q in s.questions}
    section_ids: set[str] = set()
    for s in sections:
        if s.id in section_ids:
            problems.append(f"section id {s.id!r} is used twice")
        section_ids.add(s.id)
        for q in s.questions:
            if q.id in seen:
                problems.append(f"question id {q.id!r} is used twice")
            for c in q.show_if:
                if external_refs and c.question not in seen and c.question not in local_ids:
                    continue
                problems.extend(_check_condition(q, c, seen))
            if isinstance(q, Derived):
                for ref in q.formula.inputs():
                    if external_refs and ref not in seen and ref not in local_ids:
                        continue
                    problems.extend(_check_operand(q, ref, seen))
            seen[q.id] = q
    if problems:
        raise ValueError("; ".join(problems))


NUMERIC_TYPES = ("percentage", "number", "ratio", "derived")


def _check_operand(q: Derived, ref_id: str, earlier: dict[str, QuestionBase]) -> list[str]:
    ref = earlier.get(ref_id)
    if ref is None:
        return [f"{q.id}: the formula reads {ref_id!r}, which is not an earlier question"]
    if getattr(ref, "type", "") not in NUMERIC_TYPES:
        return [f"{q.id}: the formula reads {ref_id}, which is not a number"]
    if q.is_scored and ref.is_scored:
        return [
            f"{q.id}: reads the scored {ref_id}; a thing is scored once (make the input unscored)"
        ]
    return []


def _check_condition(
    q: QuestionBase, c: Condition, earlier: dict[str, QuestionBase], *, gate: bool = True
) -> list[str]:
    ref = earlier.get(c.question)
    if ref is None:
        return [f"{q.id}: show_if refers to {c.question!r}, which is not an earlier question"]
    out: list[str] = []
    if gate and q.is_scored and ref.is_scored:
        # A scored answer must never change which other scored questions count; otherwise
        # raising one answer could lower the level by bringing new zeros into the denominator.
        out.append(f"{q.id}: a scored question may only depend on unscored (context) questions")
    kind = getattr(ref, "type", "")
    option_ids = {o.id for o in getattr(ref, "options", [])}
    if c.equals is not None:
        if kind == "yes_no" and not isinstance(c.equals, bool):
            out.append(f"{q.id}: show_if on yes/no question {ref.id} needs true or false")
        elif kind == "single_choice" and c.equals not in option_ids:
            out.append(f"{q.id}: show_if option {c.equals!r} is not offered by {ref.id}")
        elif kind not in ("yes_no", "single_choice"):
            out.append(f"{q.id}: 'equals' works on yes/no and single choice, not {kind}")
    if c.any_of is not None:
        if kind != "single_choice":
            out.append(f"{q.id}: 'any_of' works on single choice, not {kind}")
        elif not set(c.any_of) <= option_ids:
            out.append(f"{q.id}: show_if any_of names options {ref.id} does not offer")
    if c.includes is not None and (kind != "multiple_choice" or c.includes not in option_ids):
        out.append(f"{q.id}: 'includes' needs a multiple-choice question and one of its options")
    for test in ("at_least", "at_most"):
        if getattr(c, test) is not None and kind not in NUMERIC_TYPES:
            out.append(f"{q.id}: '{test}' works on numeric questions, not {kind}")
    return out


# ---------------------------------------------------------------------------- methodology


class AspectDef(Strict):
    id: Literal["infrastructure", "single_app", "integration", "collaboration", "competitiveness"]
    name: I18n
    weight: float = Field(gt=0)


class LinkDef(Strict):
    id: Link
    name: I18n
    # The link applies to a firm only when all these clauses on (unscored) context questions
    # hold; otherwise none of its questions is asked or scored and the stage and adoption rules
    # count the links that apply.
    applies_if: list[Condition] = Field(default_factory=list)


class LinkWeights(Strict):
    rd: float = Field(gt=0)
    production: float = Field(gt=0)
    management: float = Field(gt=0)
    marketing: float = Field(gt=0)


Metric = str
METRIC_RE = re.compile(
    r"^(overall|min_link|it_links|missing_required|applicable_links|links_without_it|"
    r"link\.(rd|production|management|marketing)|"
    r"aspect\.(infrastructure|single_app|integration|collaboration|competitiveness))$"
)


class RuleCondition(Strict):
    metric: Metric
    op: Literal[">=", ">", "<=", "<", "=="]
    value: float

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        if not METRIC_RE.match(v):
            raise ValueError(
                "metric must be overall, min_link, it_links, missing_required, "
                "applicable_links, links_without_it, link.<link id> or aspect.<aspect id>"
            )
        return v


class StageRule(Strict):
    stage: StageId
    all: list[RuleCondition] = Field(default_factory=list)


class StageDef(Strict):
    id: StageId
    name: I18n


class StageConfig(Strict):
    ladder: list[StageId]
    names: list[StageDef]
    rules: list[StageRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _rules(self) -> StageConfig:
        if self.rules[-1].all:
            raise ValueError("the last stage rule is the fallback and has no conditions")
        if set(self.ladder) | {"undetermined"} != set(STAGES):
            raise ValueError("the ladder lists every stage but undetermined, lowest first")
        if {n.id for n in self.names} != set(STAGES):
            raise ValueError("names must name every stage")
        if len({r.stage for r in self.rules}) != len(self.rules):
            raise ValueError("each stage has one rule")
        return self


class Adoption(Strict):
    min_links: int = Field(ge=1, le=4)
    # A key system counts as in use only in a link scoring at least this much: a system in
    # routine use in a link whose other answers are at the bottom is not credible.
    min_link_level: float = Field(default=0.0, ge=0, le=100)


class Reference(Strict):
    value: float
    unit: str
    caliber: I18n
    date: str
    source: str


class NationalIndicator(Strict):
    """A national headline indicator, computed over a group of firms from one question."""

    id: str
    name: I18n
    question: str
    measure: Literal["share_at_least", "share_yes", "share_includes", "share_all", "mean"]
    threshold: str | None = None
    # share_all: the options that must all be chosen (a multiple choice).
    all_of: list[str] | None = None
    # What the indicator means, where the definition comes from, and which firms it covers
    # (``link``: only firms to which that link applies, e.g. production for NC rates).
    definition: I18n | None = None
    source: str | None = None
    link: Link | None = None
    # Which firms the indicator covers, as clauses on context questions (e.g. only industrial
    # firms, as the national caliber 全部工业企业 is): the others are left out of it.
    firms: list[Condition] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)

    @model_validator(mode="after")
    def _threshold(self) -> NationalIndicator:
        needs = self.measure in ("share_at_least", "share_includes")
        if needs != (self.threshold is not None):
            raise ValueError(f"measure {self.measure} {'needs' if needs else 'takes no'} threshold")
        if (self.measure == "share_all") != bool(self.all_of):
            raise ValueError("all_of goes with (and only with) measure share_all")
        return self


class MethodologyFile(Strict):
    kind: Literal["methodology"]
    id: str
    version: int = Field(ge=1)
    draft: bool = False
    title: I18n
    note: I18n
    aspects: list[AspectDef]
    links: list[LinkDef]
    # Keys are sector ids or "default"; that they name existing sectors is checked with the
    # whole catalog (assess.questionnaire.catalog), since the sectors are the module folders.
    link_weights: dict[SectorId, LinkWeights]
    it_adoption: Adoption
    # N/A answers, and context answers that leave scored questions out (a "no" that hides them,
    # a link that does not apply), need a reason and are listed for the certifier.
    reasons_required: bool = False
    stages: StageConfig
    national_indicators: list[NationalIndicator] = Field(default_factory=list)
    # The national level (发展水平) and this product's level are on different calibers: these
    # figures are shown as context with their caliber, never drawn on this product's scale.
    level_references: list[Reference] = Field(default_factory=list)

    @model_validator(mode="after")
    def _whole(self) -> MethodologyFile:
        if tuple(a.id for a in self.aspects) != ASPECTS:
            raise ValueError(f"aspects must be listed in this order: {', '.join(ASPECTS)}")
        if tuple(lk.id for lk in self.links) != LINKS:
            raise ValueError(f"links must be listed in this order: {', '.join(LINKS)}")
        if abs(sum(a.weight for a in self.aspects) - 1) > 1e-9:
            raise ValueError("aspect weights must add up to 1")
        if DEFAULT_WEIGHTS not in self.link_weights:
            raise ValueError(f"link_weights needs {DEFAULT_WEIGHTS!r}")
        for key, lw in self.link_weights.items():
            if abs(lw.rd + lw.production + lw.management + lw.marketing - 1) > 1e-9:
                raise ValueError(f"link_weights.{key} must add up to 1")
        return self


# ---------------------------------------------------------------------------- region


class Cluster(Strict):
    id: str
    name: I18n
    default_sector: SectorId


class Park(Strict):
    id: str
    name: I18n
    lead_clusters: list[str]
    note: I18n | None = None


class RateTarget(Strict):
    year: int
    rate: float = Field(ge=0, le=1)


class Targets(Strict):
    adoption_baseline: RateTarget
    adoption_goal: RateTarget
    demo_enterprises_per_cluster_min: int = Field(ge=1)
    demo_enterprises_per_cluster_max: int = Field(ge=1)
    key_projects_per_year: int = Field(ge=0)


class RegionFile(Strict):
    kind: Literal["region"]
    id: str
    name: I18n
    source: str
    period_start: int
    period_end: int
    clusters: list[Cluster] = Field(min_length=1)
    parks: list[Park] = Field(default_factory=list)
    targets: Targets

    @model_validator(mode="after")
    def _whole(self) -> RegionFile:
        ids = [c.id for c in self.clusters]
        if len(set(ids)) != len(ids):
            raise ValueError("cluster ids must be unique")
        for p in self.parks:
            missing = set(p.lead_clusters) - set(ids)
            if missing:
                raise ValueError(f"park {p.id} leads unknown clusters: {sorted(missing)}")
        t = self.targets
        if t.demo_enterprises_per_cluster_min > t.demo_enterprises_per_cluster_max:
            raise ValueError("demonstration enterprise minimum exceeds the maximum")
        if t.adoption_goal.year <= t.adoption_baseline.year:
            raise ValueError("the adoption goal year must follow the baseline year")
        return self


class GuidanceNote(Strict):
    """A local pointer beside one question (or one option of it): a regional platform, brand or
    rule that firms of the region know by name. It helps a firm answer; it never changes a score."""

    question: str = Field(min_length=1)
    option: str | None = None
    text: I18n


class RegionGuidanceFile(Strict):
    """Notes of one region on one version of the questionnaires (``regions/<id>/v<N>.yaml``).

    The region profile stays as published; its local notes follow the questionnaire version whose
    question ids they name, and are locked when that version is published.
    """

    kind: Literal["region_guidance"]
    region: str
    version: int = Field(ge=1)  # the questionnaire version (core and modules) the notes annotate
    draft: bool = False
    source: str = Field(min_length=1)
    notes: list[GuidanceNote] = Field(min_length=1)

    @model_validator(mode="after")
    def _whole(self) -> RegionGuidanceFile:
        keys = [(n.question, n.option) for n in self.notes]
        if len(set(keys)) != len(keys):
            raise ValueError("one note per question (or per option of a question)")
        return self


# --- Analytics rules (``analytics/v<N>.yaml``) ----------------------------------------------------

#: The figures the analytics compare (the frame's vocabulary: ``link.rd``, ``aspect.integration``).
ANALYTIC_FIGURES = FIGURES
_PLACEHOLDER_RE = re.compile(r"{(\w*)}")


def _placeholders_ok(text: I18n, allowed: set[str], where: str) -> None:
    for lang in (text.zh, text.en):
        unknown = set(_PLACEHOLDER_RE.findall(lang)) - allowed
        if unknown:
            raise ValueError(
                f"{where}: unknown placeholder(s) {sorted(unknown)}; use {sorted(allowed)}"
            )


class ShortlistRuleFile(Strict):
    """Who may be shortlisted as a demonstration enterprise, and in which order."""

    min_stage: StageId
    min_overall: float = Field(ge=0, le=100)
    improvement_years: int = Field(ge=2, le=10)
    min_gain: float = Field(ge=-100, le=100)
    max_fall: float = Field(ge=0, le=100)
    max_flags: int = Field(ge=0)
    prefer_certified: bool
    summary: I18n  # the rule in words, shown beside the shortlist


class ScreenRuleFile(Strict):
    """One rule check on submissions, with its reason in words."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: Literal["jump", "key_system_back", "copied", "engine_checks"]
    weight: float = Field(ge=0)
    max_change: float = Field(default=25.0, gt=0, le=100)
    max_change_across_versions: float = Field(default=35.0, gt=0, le=100)
    max_gap: int = Field(default=2, ge=1, le=10)
    # key_system_back: compare two years scored on different questionnaire versions at all.
    across_versions: bool = True
    figures: list[str] = Field(default_factory=list)
    name: I18n
    reason: I18n

    @model_validator(mode="after")
    def _whole(self) -> ScreenRuleFile:
        unknown = set(self.figures) - set(ANALYTIC_FIGURES)
        if unknown:
            raise ValueError(f"unknown figures {sorted(unknown)}")
        if self.kind == "jump" and not self.figures:
            raise ValueError("a jump rule watches at least one figure")
        allowed = {
            "jump": {"figure", "before", "after", "change", "limit"},
            "key_system_back": {"figure"},
            "copied": {"count"},
            "engine_checks": {"after"},
        }[self.kind]
        _placeholders_ok(self.reason, allowed, f"rule {self.id}")
        return self


class OutlierRuleFile(Strict):
    """The outlier score: which figures, how many firms a sector needs, when it flags."""

    features: list[str] = Field(min_length=2)
    min_group: int = Field(ge=5)
    threshold: float = Field(gt=0, lt=1)
    weight: float = Field(ge=0)
    name: I18n
    reason: I18n

    @model_validator(mode="after")
    def _whole(self) -> OutlierRuleFile:
        unknown = set(self.features) - set(ANALYTIC_FIGURES)
        if unknown:
            raise ValueError(f"unknown features {sorted(unknown)}")
        _placeholders_ok(self.reason, {"score", "top"}, "outliers")
        return self


class ScreeningFile(Strict):
    rules: list[ScreenRuleFile] = Field(min_length=1)
    outliers: OutlierRuleFile

    @model_validator(mode="after")
    def _whole(self) -> ScreeningFile:
        ids = [r.id for r in self.rules]
        if len(set(ids)) != len(ids):
            raise ValueError("rule ids must be unique")
        return self


class ProjectionFile(Strict):
    """How the adoption trend is projected: the band's level, the fewest years to fit, how far."""

    level: float = Field(gt=0, lt=1)
    min_years: int = Field(ge=3)
    horizon_years: int = Field(ge=1, le=50)


class AnalyticsFile(Strict):
    """The analytics rules (``analytics/v<N>.yaml``): they read stored scores of every
    questionnaire version, so they are versioned on their own."""

    kind: Literal["analytics"]
    version: int = Field(ge=1)
    draft: bool = False
    source: str = Field(min_length=1)
    shortlist: ShortlistRuleFile
    screening: ScreeningFile
    projection: ProjectionFile
