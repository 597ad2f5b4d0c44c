"""The certification review through its services, on SQLite and PostgreSQL: ask a body, assign,
review answer by answer, return, resubmit, certify or refuse; conflicts of interest; the audit
trail of it all stays whole."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import Session, select

from assess.accounts.users import create_user
from assess.assessment import lifecycle as svc
from assess.certification import review as rv
from assess.certification import views
from assess.errors import Conflict, Forbidden, Invalid, Locked
from assess.store import audit
from assess.store.models import (
    AuditEvent,
    CertificationBody,
    Decision,
    ScoreKind,
    ScoreRecord,
    Status,
    User,
)
from assess.store.models import Conflict as ConflictRow
from tests.conftest import ROOT
from tests.db import factories
from tests.web.conftest import FAST

EXAMPLE = json.loads((ROOT / "examples/answers/petrochemicals.json").read_text("utf-8"))["answers"]
TODAY = date(2021, 3, 1)


def _user(s: Session, name: str, **kw) -> User:
    return create_user(s, username=name, password="correct-horse-battery", hasher=FAST, **kw)


def _world(s: Session):
    ent = factories.enterprise(s)
    body = CertificationBody(name="甲评定机构", code="JA")
    other = CertificationBody(name="乙评定机构", code="YI")
    s.add_all([body, other])
    s.flush()
    users = {
        "firm": _user(s, "firm", role="enterprise", enterprise_id=ent.id),
        "cert": _user(s, "cert", role="certifier", cert_body_id=body.id),
        "colleague": _user(s, "colleague", role="certifier", cert_body_id=body.id),
        "stranger": _user(s, "stranger", role="certifier", cert_body_id=other.id),
        "admin": _user(s, "admin", role="admin"),
    }
    a = svc.start_assessment(s, ent, 2020, by_user=users["firm"].id, version=1)
    for qid, value in EXAMPLE.items():
        svc.save_answer(s, a, qid, value, "", base_version=0, by_user=users["firm"].id)
    svc.submit(s, a, pledge=True, by_user=users["firm"].id)
    return ent, body, other, users, a


def test_the_whole_loop_ends_in_a_locked_certified_score(engine):
    with Session(engine, expire_on_commit=False) as s:
        _, body, _, u, a = _world(s)
        review = rv.request_certification(s, a, body.id, u["firm"], review_days=30, today=TODAY)
        assert review.due_on == date(2021, 3, 31)
        rv.assign(s, review, u["cert"].id, u["colleague"])
        with pytest.raises(Forbidden):  # not theirs to start
            rv.start_review(s, a, review, u["colleague"])
        rv.start_review(s, a, review, u["cert"])
        assert a.status == Status.under_review
        with pytest.raises(Locked):  # a review has started: no withdrawal any more
            svc.withdraw(s, a, by_user=u["firm"].id)

        # Ask for evidence on one answer, adjust another (the firm's answer is kept).
        rv.decide(
            s,
            a,
            review,
            u["cert"],
            "core.infra.network",
            Decision.evidence,
            reason="请提供网络拓扑图",
            base_version=0,
        )
        with pytest.raises(Invalid) as exc:  # an adjustment needs a reason
            rv.decide(
                s,
                a,
                review,
                u["cert"],
                "core.infra.strategy",
                Decision.adjusted,
                value="B",
                base_version=0,
            )
        assert exc.value.first.code == "reason"
        with pytest.raises(Invalid) as exc:  # ...and a value other than the firm's own
            rv.decide(
                s,
                a,
                review,
                u["cert"],
                "core.infra.strategy",
                Decision.adjusted,
                value="C",
                reason="x",
                base_version=0,
            )
        assert exc.value.first.code == "same_value"
        rv.decide(
            s,
            a,
            review,
            u["cert"],
            "core.infra.strategy",
            Decision.adjusted,
            value="B",
            reason="战略文件未经董事会批准",
            base_version=0,
        )
        with pytest.raises(Conflict):  # a second tab deciding from the same base
            rv.decide(
                s, a, review, u["cert"], "core.infra.strategy", Decision.accepted, base_version=0
            )
        own = views.workspace_view(s, a, review, u["cert"])
        assert own.reviewed.overall < own.own.overall  # the live preview follows the adjustment
        with pytest.raises(Invalid) as exc:  # an evidence request is open
            rv.certify(s, a, review, u["cert"])
        assert exc.value.first.code == "evidence_open"

        rv.return_to_enterprise(s, a, review, u["cert"], "请补充材料")
        assert a.status == Status.returned
        asked = views.to_act_on(s, a)
        assert asked is not None and [i.qid for i in asked.items] == [
            "core.infra.strategy",  # 1.1 before 1.6: in the questionnaire's order
            "core.infra.network",
        ]
        # The firm answers: a changed answer and a comment.
        row = svc.answers_of(s, a)["core.infra.network"]
        svc.save_answer(
            s,
            a,
            "core.infra.network",
            "C",
            "拓扑图见附件",
            base_version=row.version,
            by_user=u["firm"].id,
        )
        rv.resubmit(s, a, review, u["firm"])
        assert a.status == Status.resubmitted and review.round == 2
        rv.start_review(s, a, review, u["cert"])
        changes = views.workspace_view(s, a, review, u["cert"]).changes
        assert [(c.question, c.before, c.after) for c in changes] == [
            ("core.infra.network", "D", "C")
        ]
        with pytest.raises(Invalid) as exc:  # decisions on a changed answer are stale
            rv.certify(s, a, review, u["cert"])
        assert {p.code for p in exc.value.problems} == {"evidence_open", "stale_decisions"}
        item = rv.items_of(s, review)["core.infra.network"]
        rv.decide(
            s,
            a,
            review,
            u["cert"],
            "core.infra.network",
            Decision.accepted,
            base_version=item.version,
        )
        done = rv.certify(s, a, review, u["cert"])
        s.commit()
        assert a.status == Status.certified and done.adjusted == 1
        recs = {
            r.kind: r for r in s.exec(select(ScoreRecord).where(ScoreRecord.assessment_id == a.id))
        }
        assert recs[ScoreKind.certified].overall == pytest.approx(done.card.overall)
        assert recs[ScoreKind.certified].overall < recs[ScoreKind.self_reported].overall
        with pytest.raises(Locked):  # certified is final
            rv.certify(s, a, review, u["cert"])
        side = views.certified_view(s, a)
        assert side is not None and [x.qid for x in side.adjustments] == ["core.infra.strategy"]
        assert side.adjustments[0].reason == "战略文件未经董事会批准"

        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))]
        for wanted in (
            "assessment.submit",
            "review.request",
            "review.assign",
            "assessment.start_review",
            "review.decide",
            "assessment.return",
            "assessment.resubmit",
            "assessment.certify",
        ):
            assert wanted in actions
        assert audit.verify(s).ok


def test_a_declared_conflict_refuses_the_assignment_and_hides_the_firm(engine):
    with Session(engine, expire_on_commit=False) as s:
        ent, body, _, u, a = _world(s)
        review = rv.request_certification(s, a, body.id, u["firm"], review_days=30, today=TODAY)
        s.add(ConflictRow(certifier_id=u["cert"].id, enterprise_id=ent.id, kind="consulting"))
        s.flush()
        with pytest.raises(Invalid) as exc:
            rv.assign(s, review, u["cert"].id, u["admin"])
        assert exc.value.first.code == "conflict_of_interest"
        with pytest.raises(Invalid) as exc:
            rv.assign(s, review, u["stranger"].id, u["admin"])
        assert exc.value.first.code == "other_body"
        with pytest.raises(Forbidden):  # a certifier of another body assigns nothing here
            rv.assign(s, review, u["colleague"].id, u["stranger"])
        assert [r.assessment for r in views.queue_view(s, u["colleague"], TODAY).rows] == [a.id]
        # A conflict declared after the assignment: colleagues are told to reassign.
        rv.assign(s, review, u["colleague"].id, u["admin"])
        s.add(ConflictRow(certifier_id=u["colleague"].id, enterprise_id=ent.id, kind="family"))
        s.flush()
        row = views.queue_view(s, u["admin"], TODAY).rows[0]
        assert row.certifier_conflicted
        assert views.queue_view(s, u["cert"], TODAY).rows == []  # the conflicted one sees nothing
        assert views.queue_view(s, u["colleague"], TODAY).rows == []
        assert views.queue_view(s, u["stranger"], TODAY).rows == []  # another body's


def test_a_refusal_needs_reasons_and_leaves_the_own_submission_standing(engine):
    with Session(engine, expire_on_commit=False) as s:
        _, body, _, u, a = _world(s)
        review = rv.request_certification(s, a, body.id, u["firm"], review_days=30, today=TODAY)
        rv.assign(s, review, u["cert"].id, u["cert"])
        rv.start_review(s, a, review, u["cert"])
        with pytest.raises(Invalid):
            rv.reject(s, a, review, u["cert"], "  ")
        rv.reject(s, a, review, u["cert"], "证明材料与答案严重不符")
        s.commit()
        assert a.status == Status.rejected and Status(a.status).reported
        side = views.certified_view(s, a)
        assert side is not None and side.certified is None and side.own is not None
        assert side.rejection == "证明材料与答案严重不符"


def test_certification_is_asked_only_once_of_an_active_body(engine):
    with Session(engine, expire_on_commit=False) as s:
        _, body, other, u, a = _world(s)
        other.is_active = False
        s.add(other)
        s.flush()
        with pytest.raises(Invalid):
            rv.request_certification(s, a, other.id, u["firm"], review_days=30, today=TODAY)
        rv.request_certification(s, a, body.id, u["firm"], review_days=30, today=TODAY)
        with pytest.raises(Locked):
            rv.request_certification(s, a, body.id, u["firm"], review_days=30, today=TODAY)
