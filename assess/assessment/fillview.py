"""The filling page as plain data: one service per view, read by the HTML page (and any other
rendering of it), so that a route only reads the request, calls one of these and renders.

- ``fill_page``: the whole page of an assessment (questions, progress, preview, history, notes).
- ``question_view``: the same data for one question block as stored now.
- ``saved_view``: what an autosave redraws (status, dependents, progress, preview).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from sqlmodel import Session, select

from assess.assessment import filling
from assess.assessment.lifecycle import (
    FormSave,
    VersionChange,
    answers_of,
    history,
    raw_answers,
    spec_of,
    version_change,
)
from assess.assessment.reports import Names, names_of
from assess.questionnaire.catalog import Questionnaire
from assess.questionnaire.compile import shipped_catalog
from assess.questionnaire.schema import I18n, QuestionBase
from assess.store.models import (
    Answer,
    Assessment,
    Cluster,
    Enterprise,
    Role,
    Status,
    StatusChange,
    User,
)


@dataclass(frozen=True)
class LocalNotes:
    """The notes of the firm's region on this questionnaire version (platforms and brands known
    by name locally): question id → note, and question id → option id → note."""

    region_zh: str = ""
    region_en: str = ""
    questions: dict[str, I18n] = field(default_factory=dict)
    options: dict[str, dict[str, I18n]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.questions or self.options)


NO_NOTES = LocalNotes()


@dataclass
class QuestionsView:
    """What the questions, the progress list and the score preview show, for given answers."""

    a: Assessment
    q: Questionnaire
    states: dict[str, filling.AnswerState]
    empty: filling.AnswerState
    visible: set[str]
    progress: list[filling.SectionProgress]
    preview: filling.Preview
    derived: dict[str, str]
    reasons: dict[str, tuple[str, tuple[str, ...]]]
    withheld: dict[str, set[str]]
    names: Names
    editable: bool
    local: LocalNotes
    current: str | None = None  # the open section: only the whole page knows it

    def as_context(self) -> dict[str, Any]:
        """The fields by name (shallow), for a template."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class FillPage(QuestionsView):
    """The whole filling page."""

    history: list[StatusChange] = field(default_factory=list)
    version_change: VersionChange | None = None
    section_of: dict[str, str] = field(default_factory=dict)


@dataclass
class SavedView(QuestionsView):
    """What an autosave answers with: the saved question's status and what the change moved."""

    question: QuestionBase | None = None
    version: int = 0
    comment_given: bool = False
    dependents: list[QuestionBase] = field(default_factory=list)


def can_edit(a: Assessment, user: User) -> bool:
    """Answers are edited by the enterprise's own users while the assessment is editable."""
    return Status(a.status).editable and user.role == Role.enterprise


def local_notes(session: Session, a: Assessment) -> LocalNotes:
    """The notes of the assessed firm's region on the assessment's questionnaire version."""
    cat = shipped_catalog()
    if not any(v == a.questionnaire_version for _, v in cat.guidance):
        return NO_NOTES  # no region has notes on this version: no query
    region_id = session.exec(
        select(Cluster.region_id)
        .join(Enterprise, Enterprise.cluster_id == Cluster.id)  # type: ignore[arg-type]
        .where(Enterprise.id == a.enterprise_id)
    ).first()
    notes = cat.region_notes(region_id or "", a.questionnaire_version)
    region = cat.regions.get(region_id or "")
    if not notes or region is None:
        return NO_NOTES
    by_question: dict[str, I18n] = {}
    by_option: dict[str, dict[str, I18n]] = {}
    for (qid, option), text in notes.items():
        if option is None:
            by_question[qid] = text
        else:
            by_option.setdefault(qid, {})[option] = text
    return LocalNotes(region.name.zh, region.name.en, by_question, by_option)


def _questions(
    a: Assessment,
    user: User,
    rows: dict[str, Answer],
    raw: dict[str, Any],
    local: LocalNotes,
) -> dict[str, Any]:
    q = filling.questionnaire_of(a)
    b = filling.board(spec_of(a), q, raw)
    return {
        "a": a,
        "q": q,
        "states": {qid: filling.state_of(r) for qid, r in rows.items()},
        "empty": filling.AnswerState(),
        "visible": b.visible,
        "progress": b.progress,
        "preview": b.preview,
        "derived": b.derived,
        "reasons": b.reasons,
        "withheld": b.withheld,
        "names": names_of(a.questionnaire, a.questionnaire_version),
        "editable": can_edit(a, user),
        "local": local,
    }


def question_view(session: Session, a: Assessment, user: User) -> QuestionsView:
    """The questions as stored now (visibility needs every answer)."""
    rows = answers_of(session, a)
    return QuestionsView(**_questions(a, user, rows, raw_answers(rows), local_notes(session, a)))


def fill_page(session: Session, a: Assessment, user: User, section: str | None) -> FillPage:
    """The whole filling page of an assessment, with ``section`` open (or the first one)."""
    rows = answers_of(session, a)
    base = _questions(a, user, rows, raw_answers(rows), local_notes(session, a))
    q = base["q"]
    return FillPage(
        **base,
        current=filling.current_section(q, section),
        history=history(session, a),
        version_change=version_change(session, a),
        section_of=filling.section_of(q),
    )


def saved_view(session: Session, a: Assessment, user: User, done: FormSave) -> SavedView:
    """After a save: the saved question and the questions whose visibility or value it moved.

    The region's notes are looked up only when a redrawn question carries one (a save is the
    busiest request; most redraw nothing that has a note).
    """
    q = filling.questionnaire_of(a)
    deps = [q.by_id[d] for d in done.dependents]
    local = NO_NOTES
    cat = shipped_catalog()
    if deps and any(v == a.questionnaire_version for _, v in cat.guidance):
        local = local_notes(session, a)
    return SavedView(
        **_questions(a, user, done.rows, done.values, local),
        question=q.by_id[done.saved.question],
        version=done.saved.version,
        comment_given=bool(done.saved.comment.strip()),
        dependents=deps,
    )
