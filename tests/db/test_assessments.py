"""The yearly assessment lifecycle on SQLite and PostgreSQL: answers, conflicts, submit."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from assess.assessment import lifecycle as svc
from assess.errors import Conflict, Invalid, Locked, NotFound
from assess.store.models import Answer, Assessment, ScoreRecord, Status
from scoring import NA
from tests.conftest import ROOT
from tests.db import factories

EXAMPLE = json.loads((ROOT / "examples/answers/petrochemicals.json").read_text("utf-8"))["answers"]


def _fill(s, a, answers):
    for qid, value in answers.items():
        svc.save_answer(s, a, qid, value, "", base_version=0, by_user=None)


def test_a_new_assessment_is_pinned_to_the_sectors_current_questionnaire(engine):
    with Session(engine) as s:
        ent = factories.enterprise(s, sector="pharma", cluster="fine_chem")
        a = svc.start_assessment(s, ent, 2019, by_user=None, version=1)
        s.commit()
        spec = svc.spec_of(a)
        assert (a.questionnaire, a.questionnaire_version) == ("pharma", 1)
        assert a.content_hash == spec.content_hash and a.status == Status.draft
        assert [h.to_status for h in svc.history(s, a)] == ["draft"]


def test_one_assessment_per_enterprise_and_year(engine):
    with Session(engine) as s:
        ent = factories.enterprise(s)
        svc.start_assessment(s, ent, 2019, by_user=None, version=1)
        with pytest.raises(Locked) as exc:
            svc.start_assessment(s, ent, 2019, by_user=None, version=1)
        assert exc.value.first.code == "year_taken"
        with pytest.raises(Invalid):
            svc.start_assessment(s, ent, 2009, by_user=None, version=1)


def test_saving_answers_raises_their_version_and_scores_them(engine):
    with Session(engine) as s:
        a = svc.start_assessment(s, factories.enterprise(s), 2020, by_user=None, version=1)
        saved = svc.save_answer(
            s, a, "core.infra.strategy", "C", "见规划", base_version=0, by_user=None
        )
        assert saved.version == 1
        saved = svc.save_answer(s, a, "core.infra.strategy", "D", "", base_version=1, by_user=None)
        s.commit()
        assert saved.version == 2
        row = svc.answers_of(s, a)["core.infra.strategy"]
        assert (row.value, row.comment, row.version) == ("D", "", 2)
        card = svc.card_of(s, a)
        assert card.overall > 0 and "core.infra.strategy" not in card.missing_required


def test_the_values_read_for_scoring_are_the_stored_answers(engine):
    """stored_values (one aggregate row) gives what the answer rows hold, every kind of value."""
    with Session(engine) as s:
        a = svc.start_assessment(s, factories.enterprise(s), 2020, by_user=None, version=1)
        assert svc.stored_values(s, a) == {}
        _fill(s, a, EXAMPLE)
        svc.save_answer(s, a, "core.infra.strategy", None, "", base_version=1, by_user=None)
        svc.save_answer(s, a, "core.rd.digital_share", NA, "", base_version=1, by_user=None)
        s.commit()
        values = svc.stored_values(s, a)
        assert values == svc.raw_answers(svc.answers_of(s, a))
        assert "core.infra.strategy" not in values and values["core.rd.digital_share"] == NA
        kinds = {type(v) for v in values.values()}
        assert {str, list, bool, dict, float}.issubset(kinds), kinds
        assert len(values) == len(EXAMPLE) - 1


def test_a_stale_save_is_refused_with_the_other_value_and_nothing_is_overwritten(engine):
    with Session(engine) as s:
        a = svc.start_assessment(s, factories.enterprise(s), 2020, by_user=None, version=1)
        svc.save_answer(s, a, "core.prod.nc_rate", 40, "", base_version=0, by_user=None)
        svc.save_answer(s, a, "core.prod.nc_rate", 55, "tab B", base_version=1, by_user=None)
        s.commit()
        # Tab A still shows version 1 and saves 60.
        with pytest.raises(Conflict) as exc:
            svc.save_answer(s, a, "core.prod.nc_rate", 60, "tab A", base_version=1, by_user=None)
        assert exc.value.status == 409
        assert (exc.value.current.value, exc.value.current.comment) == (55, "tab B")
        assert exc.value.current.version == 2
        # Tab A never saw any answer and tries to create one.
        with pytest.raises(Conflict):
            svc.save_answer(s, a, "core.prod.nc_rate", 60, "", base_version=0, by_user=None)
        s.rollback()
        assert svc.answers_of(s, a)["core.prod.nc_rate"].value == 55


def test_two_sessions_saving_from_the_same_version_cannot_both_win(engine):
    with Session(engine) as s:
        a = svc.start_assessment(s, factories.enterprise(s), 2020, by_user=None, version=1)
        svc.save_answer(s, a, "core.prod.nc_rate", 40, "", base_version=0, by_user=None)
        s.commit()
        aid = a.id
    with Session(engine) as one:
        svc.save_answer(
            one, one.get(Assessment, aid), "core.prod.nc_rate", 41, "", base_version=1, by_user=None
        )
        one.commit()
    with Session(engine) as two, pytest.raises(Conflict):
        svc.save_answer(
            two, two.get(Assessment, aid), "core.prod.nc_rate", 42, "", base_version=1, by_user=None
        )
    with Session(engine) as s:
        row = s.exec(select(Answer).where(Answer.assessment_id == aid)).one()
        assert (row.value, row.version) == (41, 2)


@pytest.mark.parametrize(
    ("question", "value", "code"),
    [
        ("core.prod.nc_rate", "abc", "wrong_type"),
        ("core.prod.nc_rate", -5, "out_of_range"),
        ("core.prod.nc_rate", 100.5, "out_of_range"),
        ("core.prod.nc_rate", float("nan"), "not_finite"),
        ("core.prod.nc_rate", 1e308 * 10, "not_finite"),
        ("core.ben.productivity", 10**30, "out_of_range"),
        ("core.infra.strategy", "Z", "unknown_option"),
        ("core.infra.strategy", "na", "na_not_allowed"),
        ("core.infra.it_staff", {"numerator": 3, "denominator": 0}, "zero_denominator"),
    ],
)
def test_bad_values_get_a_specific_message_and_are_not_saved(engine, question, value, code):
    with Session(engine) as s:
        a = svc.start_assessment(s, factories.enterprise(s), 2020, by_user=None, version=1)
        with pytest.raises(Invalid) as exc:
            svc.save_answer(s, a, question, value, "", base_version=0, by_user=None)
        p = exc.value.first
        assert exc.value.status == 422 and p.field == question
        assert p.code == code, p
        assert p.zh and p.en
        assert svc.answers_of(s, a) == {}


def test_an_unknown_question_is_not_found(engine):
    with Session(engine) as s:
        a = svc.start_assessment(s, factories.enterprise(s), 2020, by_user=None, version=1)
        with pytest.raises(NotFound):
            svc.save_answer(s, a, "core.nope", "A", "", base_version=0, by_user=None)


def test_a_100_kb_comment_is_refused(engine):
    with Session(engine) as s:
        a = svc.start_assessment(s, factories.enterprise(s), 2020, by_user=None, version=1)
        with pytest.raises(Invalid) as exc:
            svc.save_answer(
                s, a, "core.infra.strategy", "B", "字" * 100_000, base_version=0, by_user=None
            )
        assert exc.value.first.code == "comment_too_long"
        assert svc.answers_of(s, a) == {}


def test_a_script_tag_in_a_text_answer_is_stored_as_typed(engine):
    with Session(engine) as s:
        a = svc.start_assessment(s, factories.enterprise(s), 2020, by_user=None, version=1)
        text = "<script>alert('x')</script> 明年上线 MES"
        svc.save_answer(
            s, a, "core.notes.next_year", text, "<b>注</b>", base_version=0, by_user=None
        )
        s.commit()
        row = svc.answers_of(s, a)["core.notes.next_year"]
        assert (row.value, row.comment) == (text, "<b>注</b>")


def test_submit_needs_the_pledge_and_every_required_answer(engine):
    with Session(engine) as s:
        a = svc.start_assessment(s, factories.enterprise(s), 2020, by_user=None, version=1)
        partial = dict(list(EXAMPLE.items())[:10])
        _fill(s, a, partial)
        with pytest.raises(Invalid) as exc:
            svc.submit(s, a, pledge=False, by_user=None)
        assert {p.code for p in exc.value.problems} == {"pledge", "missing_required"}
        missing = exc.value.detail["missing"]
        assert missing and all(m["zh"] and m["en"] for m in missing)
        assert not {m["question"] for m in missing} & set(partial)
        assert a.status == Status.draft


def test_submitting_locks_the_answers_and_stores_the_scorecard(engine):
    with Session(engine) as s:
        a = svc.start_assessment(s, factories.enterprise(s), 2020, by_user=None, version=1)
        _fill(s, a, EXAMPLE)
        card = svc.submit(s, a, pledge=True, by_user=None)
        s.commit()
        assert a.status == Status.submitted and a.submitted_at is not None
        rec = s.exec(select(ScoreRecord).where(ScoreRecord.assessment_id == a.id)).one()
        assert rec.overall == pytest.approx(card.overall)
        assert rec.stage == card.stage and rec.card["stage"] == card.stage
        with pytest.raises(Locked) as exc:
            svc.save_answer(s, a, "core.infra.strategy", "A", "", base_version=1, by_user=None)
        assert exc.value.first.code == "not_editable"
        with pytest.raises(Locked):
            svc.submit(s, a, pledge=True, by_user=None)
        assert [h.to_status for h in svc.history(s, a)] == ["draft", "submitted"]


def test_withdrawing_reopens_the_answers(engine):
    with Session(engine) as s:
        a = svc.start_assessment(s, factories.enterprise(s), 2020, by_user=None, version=1)
        _fill(s, a, EXAMPLE)
        svc.submit(s, a, pledge=True, by_user=None)
        svc.withdraw(s, a, by_user=None)
        assert a.status == Status.draft
        svc.save_answer(s, a, "core.infra.strategy", "D", "", base_version=1, by_user=None)
        with pytest.raises(Locked):
            svc.withdraw(s, a, by_user=None)
        assert [h.to_status for h in svc.history(s, a)] == ["draft", "submitted", "draft"]


def test_copy_from_last_year_prefills_answers_and_comments(engine):
    with Session(engine) as s:
        ent = factories.enterprise(s)
        old = svc.start_assessment(s, ent, 2019, by_user=None, version=1)
        _fill(s, old, EXAMPLE)
        svc.save_answer(s, old, "core.infra.strategy", "D", "沿用", base_version=1, by_user=None)
        new = svc.start_assessment(s, ent, 2020, by_user=None, copy_last_year=True, version=1)
        s.commit()
        copied = svc.answers_of(s, new)
        assert set(copied) == set(EXAMPLE)
        assert copied["core.infra.strategy"].comment == "沿用"
        assert all(r.version == 1 for r in copied.values())
        assert svc.card_of(s, new).overall == pytest.approx(svc.card_of(s, old).overall)


def test_copy_from_a_version_1_year_carries_same_questions_and_lists_the_rest(engine):
    with Session(engine) as s:
        ent = factories.enterprise(s)
        old = svc.start_assessment(s, ent, 2019, by_user=None, version=1)
        _fill(s, old, EXAMPLE)
        svc.save_answer(s, old, "core.infra.strategy", "D", "沿用", base_version=1, by_user=None)
        new = svc.start_assessment(s, ent, 2020, by_user=None, copy_last_year=True, version=2)
        s.commit()
        assert (new.questionnaire_version, old.questionnaire_version) == (2, 1)
        copied = svc.answers_of(s, new)
        v2 = svc.spec_of(new)
        # Only questions both versions ask under one id, with answers version 2 takes.
        assert set(copied) <= set(EXAMPLE) & set(v2.index)
        assert copied["core.infra.strategy"].value == "D"
        assert copied["core.infra.strategy"].comment == "沿用"
        assert "core.prod.control_system" not in copied  # a five-rung ladder in version 1
        change = svc.version_change(s, new)
        assert change is not None
        assert (change.previous_year, change.previous_version, change.version) == (2019, 1, 2)
        assert change.carried == len(copied)
        for qid in ("core.ctx.production", "core.prod.control_execution", "core.mgmt.erp_system"):
            assert qid in change.to_answer
        assert not set(change.to_answer) & set(copied)
        assert not any(v2.questions[v2.index[q]].formula for q in change.to_answer)
        # Answering one takes it off the list; a year on the same version has no notice.
        svc.save_answer(s, new, "core.ctx.production", "own", "", base_version=0, by_user=None)
        assert "core.ctx.production" not in svc.version_change(s, new).to_answer
        assert svc.version_change(s, old) is None


def test_what_if_scores_proposed_answers_and_saves_nothing(engine):
    from assess.assessment.reports import what_if_of

    with Session(engine) as s:
        ent = factories.enterprise(s, sector="petrochemicals", cluster="fine_chem")
        a = svc.start_assessment(s, ent, 2020, by_user=None, version=1)
        _fill(s, a, EXAMPLE)
        s.commit()
        before = {r.question: (r.value, r.version) for r in s.exec(select(Answer))}
        pct = "core.rd.digital_share"
        better = what_if_of(s, a, {"apply": [pct], f"{pct}.value": ["100"]})
        assert better.changes == {pct: 100.0} and better.problems == []
        assert better.card.links["rd"] > better.now.links["rd"]
        assert better.card.overall > better.now.overall
        # An impossible value is named and left out; the other change is still scored.
        mixed = what_if_of(
            s,
            a,
            {
                "apply": [pct, "core.infra.strategy"],
                f"{pct}.value": ["150"],
                "core.infra.strategy.value": ["D"],
            },
        )
        assert [p.code for p in mixed.problems] == ["out_of_range"]
        assert mixed.changes == {"core.infra.strategy": "D"}
        # Unknown questions are ignored, never scored.
        assert what_if_of(s, a, {"apply": ["no.such.question"]}).changes == {}
        s.rollback()
        assert {r.question: (r.value, r.version) for r in s.exec(select(Answer))} == before
