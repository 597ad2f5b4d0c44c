"""The analytics frame, on SQLite and PostgreSQL: what counts, which score, in one query.

A demo population of 40 firms; one assessment gets a certified score as well, one goes back to
draft. The frame must count submitted assessments only, prefer the certified score, carry the
same figures as the stored scores under the product's names, and give the national indicators
the answers give.
"""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from assess.analytics import frame as frames
from assess.analytics.frame import COUNTED, KIND_PREFERENCE, Scope, frame_of, read_frame
from assess.analytics.indicators import FirmAnswers, national_indicators
from assess.analytics.vocabulary import methodology
from assess.demo import build_demo
from assess.store import db
from assess.store.models import Answer, Assessment, ScoreRecord, Status, StatusChange
from scoring import LINKS, STAGES
from scoring import benchmarks as bm


@pytest.fixture
def population(db_url):
    eng = db.make_engine(db_url)
    with Session(eng) as s:
        build_demo(s, enterprises=40, processes=1)
        s.commit()
    frames.clear_cache()
    yield eng
    eng.dispose()


def _two_assessments(s: Session) -> tuple[Assessment, Assessment]:
    done = s.exec(
        select(Assessment).where(Assessment.status == Status.submitted).order_by(col(Assessment.id))
    ).all()
    return done[0], done[1]


def test_the_frame_counts_submitted_scores_and_prefers_the_certified_one(population):
    with Session(population) as s:
        certified, withdrawn = _two_assessments(s)
        certified_id, withdrawn_id = certified.id, withdrawn.id
        own = s.exec(select(ScoreRecord).where(ScoreRecord.assessment_id == certified.id)).one()
        fields = own.model_dump(exclude={"id", "kind"})
        own_overall = own.overall
        s.add(ScoreRecord(**{**fields, "kind": "certified", "overall": 99.0}))
        withdrawn.status = Status.draft
        s.add(withdrawn)
        s.commit()
        counted = s.exec(
            select(sa.func.count())
            .select_from(ScoreRecord)
            .join(Assessment, col(Assessment.id) == ScoreRecord.assessment_id)
            .where(col(Assessment.status).in_(COUNTED), ScoreRecord.kind == "self")
        ).one()
        certified_count = s.exec(
            select(sa.func.count())
            .select_from(ScoreRecord)
            .join(Assessment, col(Assessment.id) == ScoreRecord.assessment_id)
            .where(col(Assessment.status).in_(COUNTED), ScoreRecord.kind == "certified")
        ).one()
        preferred = read_frame(s)
        self_only = read_frame(s, Scope(kind="self"))
        certified_only = read_frame(s, Scope(kind="certified"))
    assert KIND_PREFERENCE[0] == "certified"
    # One row per counted assessment; the draft is out.
    assert len(preferred) == counted and preferred["assessment"].is_unique
    assert withdrawn_id not in set(preferred["assessment"])
    row = preferred[preferred["assessment"] == certified_id].iloc[0]
    assert row["kind"] == "certified" and row["overall"] == 99.0
    assert self_only.loc[self_only["assessment"] == certified_id, "overall"].iloc[0] == own_overall
    # Certified only: the demo's own certifications and this one, nothing self-assessed.
    assert certified_id in set(certified_only["assessment"])
    assert (certified_only["kind"] == "certified").all()
    assert len(certified_only) == certified_count
    # Rows come by enterprise and year.
    keys = list(zip(preferred["enterprise"], preferred["year"], strict=True))
    assert keys == sorted(keys)


def test_the_frame_speaks_the_figure_vocabulary_and_carries_the_stored_figures(population):
    with Session(population) as s:
        frame = read_frame(s)
        records = {
            r.assessment_id: r
            for r in s.exec(select(ScoreRecord).where(ScoreRecord.kind == "self"))
        }
    assert {*bm.FIGURES, *(f"applied.{k}" for k in LINKS)} <= set(frame.columns)
    assert list(frame["stage"].cat.categories) == list(STAGES)
    for r in frame.sample(15, random_state=1).itertuples(index=False):
        rec = records[r.assessment]
        d = r._asdict()
        assert d["overall"] == rec.overall and d["stage"] == rec.stage
        for k in LINKS:
            stored = getattr(rec, f"link_{k}")
            value = frame.loc[frame["assessment"] == r.assessment, f"link.{k}"].iloc[0]
            assert (stored is None and math.isnan(value)) or value == stored, k
            applied = getattr(rec, f"applied_{k}")
            a = frame.loc[frame["assessment"] == r.assessment, f"applied.{k}"].iloc[0]
            assert (applied is None and math.isnan(a)) or a == applied
        assert bool(d["adopter"]) == rec.it_adopter and d["it_links"] == rec.it_links


def test_the_frames_indicators_equal_those_computed_from_the_answers(population):
    """Per-firm values stored at submission, summed in the frame, give what the indicators
    give from the firms' answers: one definition, two paths."""
    with Session(population) as s:
        year_frame = read_frame(s, Scope(first_year=2020, last_year=2020, extras=("indicators",)))
        answers: dict[int, dict] = {}
        for aid, q, v in s.exec(
            select(Answer.assessment_id, Answer.question, Answer.value).where(
                col(Answer.assessment_id).in_([int(a) for a in year_frame["assessment"]])
            )
        ):
            if v is not None:
                answers.setdefault(aid, {})[q] = v
    firms = [
        FirmAnswers(str(r.sector), int(r.version), int(r.year), answers[int(r.assessment)])
        for r in year_frame.itertuples()
    ]
    from_answers = {i.id: i for i in national_indicators(firms)}
    measures = {
        i.id: ("mean" if i.measure == "mean" else "share")
        for i in methodology().national_indicators
    }
    summary = bm.indicator_summary(year_frame, list(measures), measures)
    for iid, ind in from_answers.items():
        assert summary.loc[iid, "n"] == ind.n and summary.loc[iid, "left_out"] == ind.left_out
        assert summary.loc[iid, "value"] == pytest.approx(ind.value, abs=1e-9), iid


def test_a_cached_frame_is_kept_until_a_score_or_status_changes(population):
    with Session(population) as s:
        first = frame_of(s)
        assert frame_of(s) is first
        a, _ = _two_assessments(s)
        a.status = Status.draft
        s.add(a)
        s.add(StatusChange(assessment_id=a.id or 0, from_status="submitted", to_status="draft"))
        s.commit()
        again = frame_of(s)
    assert again is not first and len(again) == len(first) - 1


def test_the_frame_is_read_with_one_query_on_sqlite(tmp_path):
    """Not a query per firm: one statement reads the scores, whatever the population."""
    url = f"sqlite:///{tmp_path / 'one.db'}"
    db.upgrade(url)
    eng = db.make_engine(url)
    try:
        with Session(eng) as s:
            build_demo(s, enterprises=30, processes=1)
            s.commit()
        statements: list[str] = []
        with Session(eng) as s:
            raw = s.connection().connection.driver_connection
            raw.set_trace_callback(statements.append)
            frame = read_frame(s)
            raw.set_trace_callback(None)
        reads = [q for q in statements if "score_record" in q]
        assert len(reads) == 1 and len(frame) > 30 * 5
    finally:
        eng.dispose()
