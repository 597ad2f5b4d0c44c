"""Certification bodies, their certifiers and declared conflicts of interest, on both databases:
the rules each change follows, who may be assigned, and the audit events each change leaves."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlmodel import Session, col, select

from assess.accounts import bodies
from assess.accounts.users import create_user, set_active
from assess.errors import Conflict as Stale
from assess.errors import Invalid, NotFound
from assess.store import audit
from assess.store.models import AuditEvent, CertificationBody, Conflict, User
from tests.db import factories

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct-horse-battery"


def _user(s: Session, name: str, **kw) -> User:
    return create_user(s, username=name, password=PASSWORD, hasher=FAST, **kw)


def _codes(exc: pytest.ExceptionInfo) -> list[str]:
    return [p.code for p in exc.value.problems]


def _events(s: Session, prefix: str) -> list[AuditEvent]:
    q = select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(col(AuditEvent.id))
    return list(s.exec(q))


def test_a_body_is_created_with_a_capital_code_and_recorded_with_its_fields(engine):
    with Session(engine) as s:
        boss = _user(s, "boss", role="admin")
        body = bodies.create_body(
            s, name=" 吉林评定中心 ", name_en="Jilin Centre", code="jl01", by=boss
        )
        s.commit()
        assert (body.name, body.code, body.is_active) == ("吉林评定中心", "JL01", True)
        [event] = _events(s, "body.")
        assert event.action == "body.create" and event.subject_id == str(body.id)
        assert event.actor == "boss" and event.actor_id == boss.id
        assert event.before is None
        assert event.after == {
            "name": "吉林评定中心",
            "name_en": "Jilin Centre",
            "code": "JL01",
            "is_active": True,
        }


def test_a_bad_body_is_refused_with_every_problem_at_once_and_nothing_is_written(engine):
    with Session(engine) as s:
        bodies.create_body(s, name="甲机构", code="AA")
        s.commit()
        with pytest.raises(Invalid) as exc:
            bodies.create_body(s, name="甲机构", name_en="x" * 201, code="A-1")
        assert _codes(exc) == ["body_name_taken", "body_name_en", "body_code"]
        assert exc.value.problems[0].zh == "已有名为“甲机构”的评定机构"
        s.rollback()
        for code in ["A", "ABCDEFGHIJK", "中文", "aa"]:
            with pytest.raises(Invalid) as exc:
                bodies.create_body(s, name=f"乙机构{code}", code=code)
            assert _codes(exc) == (["body_code_taken"] if code == "aa" else ["body_code"])
            s.rollback()
        with pytest.raises(Invalid) as exc:
            bodies.create_body(s, name=" ", code="BB")
        assert _codes(exc) == ["body_name"]
        s.rollback()
        assert len(s.exec(select(CertificationBody)).all()) == 1
        assert [e.action for e in _events(s, "body.")] == ["body.create"]


def test_an_edit_records_only_the_fields_that_changed_and_a_stale_form_is_refused(engine):
    with Session(engine) as s:
        body = bodies.create_body(s, name="丙机构", code="CC")
        other = bodies.create_body(s, name="丁机构", code="DD")
        s.commit()
        seen = bodies.body_stamp(body)
        bodies.update_body(s, body, name="丙机构", code="CC2", is_active=False, seen_stamp=seen)
        s.commit()
        update = _events(s, "body.update")[-1]
        assert update.before == {"code": "CC", "is_active": True}
        assert update.after == {"code": "CC2", "is_active": False}
        with pytest.raises(Stale):  # the form showed the body before that edit
            bodies.update_body(s, body, name="丙机构", code="CC3", seen_stamp=seen)
        s.rollback()
        with pytest.raises(Invalid) as exc:
            bodies.update_body(s, body, name="丁机构", code="DD")
        assert _codes(exc) == ["body_name_taken", "body_code_taken"]
        s.rollback()
        # Saving what is stored changes nothing and records nothing.
        s.refresh(body)
        bodies.update_body(s, body, name=body.name, code=body.code, is_active=body.is_active)
        s.commit()
        assert len(_events(s, "body.update")) == 1
        assert s.get(CertificationBody, other.id).code == "DD"


def test_the_body_list_shows_each_body_with_its_certifiers(engine):
    with Session(engine) as s:
        a = bodies.create_body(s, name="一号机构", code="B1")
        b = bodies.create_body(s, name="二号机构", code="B2", is_active=False)
        _user(s, "zhao", role="certifier", cert_body_id=a.id)
        qian = _user(s, "qian", role="certifier", cert_body_id=a.id)
        set_active(s, qian, False)
        s.commit()
        rows = bodies.body_list(s)
        assert [r.body.code for r in rows] == ["B1", "B2"]  # active first
        assert [u.username for u in rows[0].certifiers] == ["qian", "zhao"]
        assert rows[0].active_certifiers == 1
        assert rows[1].certifiers == []
        assert [x.code for x in bodies.choosable_bodies(s)] == ["B1"]
        assert b.id is not None


@pytest.fixture
def firm_and_people(engine):
    """A body with two certifiers, another body with one, an administrator and two firms."""
    with Session(engine, expire_on_commit=False) as s:
        a = bodies.create_body(s, name="一号机构", code="B1")
        b = bodies.create_body(s, name="二号机构", name_en="Body Two", code="B2")
        people = {
            "boss": _user(s, "boss", role="admin"),
            "zhao": _user(s, "zhao", role="certifier", cert_body_id=a.id, display_name="赵评"),
            "qian": _user(s, "qian", role="certifier", cert_body_id=a.id),
            "sun": _user(s, "sun", role="certifier", cert_body_id=b.id),
        }
        firm = factories.enterprise(s, name="甲化工有限公司")
        other = factories.enterprise(s, name="乙化工有限公司")
        s.commit()
        return {"a": a, "b": b, "firm": firm, "other": other, **people}


def test_a_declared_conflict_takes_the_certifier_off_the_firm_and_says_why(engine, firm_and_people):
    w = firm_and_people
    with Session(engine, expire_on_commit=False) as s:
        names = [u.username for u in bodies.eligible_certifiers(s, w["a"].id, w["firm"].id)]
        assert names == ["qian", "zhao"]
        row = bodies.declare_conflict(
            s,
            certifier_id=w["zhao"].id,
            enterprise_id=w["firm"].id,
            kind="consulting",
            note="2019 年为其编制信息化规划",
            by=w["boss"],
        )
        s.commit()
        names = [u.username for u in bodies.eligible_certifiers(s, w["a"].id, w["firm"].id)]
        assert names == ["qian"]
        names = [u.username for u in bodies.eligible_certifiers(s, w["a"].id, w["other"].id)]
        assert names == ["qian", "zhao"]  # only that firm
        why = bodies.why_not(s, s.get(User, w["zhao"].id), w["firm"], w["a"].id)
        assert why is not None and why.code == "conflict_of_interest"
        assert "赵评" in why.zh and "曾为该企业提供咨询" in why.zh and "甲化工有限公司" in why.zh
        assert "advised the firm" in why.en and "2019 年为其编制信息化规划" in why.en
        assert bodies.why_not(s, s.get(User, w["qian"].id), w["firm"], w["a"].id) is None
        [event] = _events(s, "conflict.")
        assert (event.action, event.subject_id, event.actor) == (
            "conflict.declare",
            str(row.id),
            "boss",
        )
        assert event.after["kind"] == "consulting" and event.after["enterprise_id"] == w["firm"].id

        bodies.remove_conflict(s, row.id, by=w["boss"], reason="咨询合同已于 2021 年结束")
        s.commit()
        assert s.get(Conflict, row.id) is None
        names = [u.username for u in bodies.eligible_certifiers(s, w["a"].id, w["firm"].id)]
        assert names == ["qian", "zhao"]
        removed = _events(s, "conflict.remove")[0]
        assert removed.before == event.after and removed.after is None
        assert removed.reason == "咨询合同已于 2021 年结束"
        with pytest.raises(NotFound):
            bodies.remove_conflict(s, row.id, by=w["boss"])


def test_why_not_names_each_other_reason_a_certifier_is_refused(engine, firm_and_people):
    w = firm_and_people
    with Session(engine, expire_on_commit=False) as s:
        firm = w["firm"]
        assert bodies.why_not(s, None, firm).code == "no_certifier"
        assert bodies.why_not(s, s.get(User, w["boss"].id), firm).code == "no_certifier"
        other = bodies.why_not(s, s.get(User, w["sun"].id), firm, w["a"].id)
        assert other.code == "other_body" and "一号机构" in other.zh
        qian = s.get(User, w["qian"].id)
        set_active(s, qian, False, by=s.get(User, w["boss"].id))
        s.commit()
        assert bodies.why_not(s, qian, firm, w["a"].id).code == "certifier_inactive"
        names = [u.username for u in bodies.eligible_certifiers(s, w["a"].id, firm.id)]
        assert names == ["zhao"]
        # The other body's certifier is eligible there and nowhere else.
        assert [u.username for u in bodies.eligible_certifiers(s, w["b"].id, firm.id)] == ["sun"]
        assert bodies.why_not(s, s.get(User, w["sun"].id), firm, w["b"].id) is None


def test_a_bad_or_repeated_declaration_is_refused_with_clear_messages(engine, firm_and_people):
    w = firm_and_people
    with Session(engine, expire_on_commit=False) as s:
        with pytest.raises(Invalid) as exc:
            bodies.declare_conflict(
                s, certifier_id=w["boss"].id, enterprise_id=999999, kind="rivalry"
            )
        assert _codes(exc) == ["certifier_not_found", "enterprise_not_found", "kind"]
        with pytest.raises(Invalid) as exc:
            bodies.declare_conflict(
                s, certifier_id=w["zhao"].id, enterprise_id=w["firm"].id, kind="other", note=" "
            )
        assert _codes(exc) == ["note_required"]
        s.rollback()
        bodies.declare_conflict(
            s, certifier_id=w["zhao"].id, enterprise_id=w["firm"].id, kind="own_firm"
        )
        s.commit()
        with pytest.raises(Invalid) as exc:
            bodies.declare_conflict(
                s, certifier_id=w["zhao"].id, enterprise_id=w["firm"].id, kind="family"
            )
        assert _codes(exc) == ["conflict_exists"]
        problem = exc.value.problems[0]
        assert "zhao" in problem.zh and "甲化工有限公司" in problem.zh
        assert "曾在或正在该企业任职" in problem.zh and "already declared" in problem.en
        s.rollback()
        assert len(s.exec(select(Conflict)).all()) == 1
        assert len(_events(s, "conflict.")) == 1


def test_the_conflict_list_filters_by_certifier_and_by_enterprise(engine, firm_and_people):
    w = firm_and_people
    with Session(engine, expire_on_commit=False) as s:
        for who, firm in [("zhao", "firm"), ("zhao", "other"), ("sun", "firm")]:
            bodies.declare_conflict(
                s, certifier_id=w[who].id, enterprise_id=w[firm].id, kind="financial", by=w["boss"]
            )
        s.commit()
        by_zhao = s.exec(bodies.conflict_list(certifier_id=w["zhao"].id)).all()
        assert {c.enterprise_id for c in by_zhao} == {w["firm"].id, w["other"].id}
        on_firm = s.exec(bodies.conflict_list(enterprise_id=w["firm"].id)).all()
        rows = bodies.conflict_rows(s, on_firm)
        assert sorted(r.certifier.username for r in rows) == ["sun", "zhao"]
        assert all(r.enterprise.name == "甲化工有限公司" for r in rows)
        assert all(r.declared_by.username == "boss" for r in rows)
        assert len(s.exec(bodies.conflict_list()).all()) == 3
    with Session(engine) as s:
        assert audit.verify(s).ok and audit.verify(s).rows == len(s.exec(select(AuditEvent)).all())
