"""Certificates on SQLite and PostgreSQL: issue, suspend, reinstate, revoke, who sees which,
and what the public verification tells."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import pytest
from argon2 import PasswordHasher
from sqlmodel import Session, col, func, select

from assess.accounts.users import create_user
from assess.assessment.lifecycle import start_assessment
from assess.certification import certificates as svc
from assess.certification import numbers
from assess.errors import Forbidden, Invalid, Locked, NotFound
from assess.settings import Settings
from assess.store import audit
from assess.store.models import (
    AuditEvent,
    Certificate,
    CertificationBody,
    Conflict,
    Enterprise,
    Review,
    Status,
    User,
)
from assess.store.states import CertificateAction, CertificateStatus
from tests.db import factories

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
TODAY = date(2026, 11, 30)
SETTINGS = Settings(certificate_validity_months=36, surveillance_months=12)
A = CertificateAction


@dataclass
class World:
    ent_a: Enterprise  # fine_chem, in the cluster manager's cluster
    ent_b: Enterprise  # auto
    users: dict[str, User]
    bodies: dict[str, CertificationBody]


def user(s: Session, name: str, role: str, **scope) -> User:
    return create_user(
        s, username=name, password="correct-horse-9", role=role, hasher=FAST, **scope
    )


def build(s: Session) -> World:
    ent_a = factories.enterprise(s, "petrochemicals", "fine_chem", name="甲化工")
    ent_b = factories.enterprise(s, "auto", "auto", name="乙汽车")
    clusters = factories.region(s)
    tb = CertificationBody(name="甲评定机构", name_en="Body T", code="TB")
    xy = CertificationBody(name="乙评定机构", name_en="Body X", code="XY")
    s.add_all([tb, xy])
    s.flush()
    users = {
        "certifier": user(s, "cert-tb", "certifier", cert_body_id=tb.id, display_name="王评定"),
        "certifier_2": user(s, "cert-tb-2", "certifier", cert_body_id=tb.id),
        "other_body": user(s, "cert-xy", "certifier", cert_body_id=xy.id),
        "conflicted": user(s, "cert-tb-c", "certifier", cert_body_id=tb.id),
        "enterprise": user(s, "ent-a", "enterprise", enterprise_id=ent_a.id),
        "enterprise_b": user(s, "ent-b", "enterprise", enterprise_id=ent_b.id),
        "manager": user(s, "mgr", "cluster_manager", cluster_ids=[clusters["fine_chem"].id]),
        "admin": user(s, "adm", "admin"),
    }
    s.add(Conflict(certifier_id=users["conflicted"].id, enterprise_id=ent_a.id, kind="consulting"))
    s.flush()
    return World(ent_a, ent_b, users, {"TB": tb, "XY": xy})


def certified(s: Session, ent: Enterprise, body: CertificationBody, certifier: User, year=2025):
    """A certified assessment and its review, built directly (as the review services would)."""
    a = start_assessment(s, ent, year, by_user=None, version=1)
    a.status = Status.certified
    s.add(a)
    review = Review(
        assessment_id=a.id, body_id=body.id, certifier_id=certifier.id, due_on=date(2026, 6, 30)
    )
    s.add(review)
    s.flush()
    return a, review


def issued(s: Session, w: World, ent=None, body="TB", certifier="certifier", **kw) -> Certificate:
    a, review = certified(s, ent or w.ent_a, w.bodies[body], w.users[certifier], **kw)
    return svc.issue(s, a, review, 71.26, "integration", w.users[certifier], SETTINGS, TODAY)


def events(s: Session, action: str) -> list[AuditEvent]:
    q = select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
    return list(s.exec(q))


def audit_rows(s: Session) -> int:
    return s.exec(select(func.count()).select_from(AuditEvent)).one()


# --- Issue ---------------------------------------------------------------------------------


def test_issuing_gives_a_checked_number_dates_from_settings_and_an_audit_event(engine):
    with Session(engine) as s:
        w = build(s)
        cert = issued(s, w)
        s.commit()
        assert numbers.parse(cert.number) == cert.number
        assert cert.number.startswith("LHTB2026") and len(cert.number) == len("LHTB2026") + 11
        assert (cert.issued_on, cert.expires_on) == (TODAY, date(2029, 11, 29))
        assert cert.status == CertificateStatus.valid and cert.version == 1
        assert (cert.year, cert.stage, cert.overall) == (2025, "integration", 71.26)
        assert cert.body_id == w.bodies["TB"].id and cert.certifier_id == w.users["certifier"].id
        assert svc.surveillance_dates(cert) == [date(2027, 11, 30), date(2028, 11, 30)]
        (event,) = events(s, "certificate.issue")
        assert event.subject_id == str(cert.id) and event.actor == "cert-tb"
        assert event.after["number"] == cert.number
        assert event.after["expires_on"] == "2029-11-29"
        assert audit.verify(s).ok


def test_validity_and_surveillance_come_from_settings(engine):
    with Session(engine) as s:
        w = build(s)
        a, review = certified(s, w.ent_a, w.bodies["TB"], w.users["certifier"])
        short = Settings(certificate_validity_months=24, surveillance_months=6)
        cert = svc.issue(
            s, a, review, 60.0, "initial", w.users["certifier"], short, date(2024, 1, 31)
        )
        assert cert.expires_on == date(2026, 1, 30)
        assert cert.surveillance_months == 6
        # Month ends are kept: 31 January plus six months is 31 July, plus one is 29 February.
        assert svc.surveillance_dates(cert) == [
            date(2024, 7, 31),
            date(2025, 1, 31),
            date(2025, 7, 31),
        ]
        assert svc.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)


def test_a_taken_serial_is_drawn_again(engine):
    with Session(engine) as s:
        w = build(s)
        a1, r1 = certified(s, w.ent_a, w.bodies["TB"], w.users["certifier"])
        a2, r2 = certified(s, w.ent_b, w.bodies["TB"], w.users["certifier"])
        first = svc.issue(
            s,
            a1,
            r1,
            70,
            "integration",
            w.users["certifier"],
            SETTINGS,
            TODAY,
            draw=lambda: "1234567890",
        )
        draws = iter(["1234567890", "1234567890", "5555555555"])
        second = svc.issue(
            s,
            a2,
            r2,
            70,
            "integration",
            w.users["certifier"],
            SETTINGS,
            TODAY,
            draw=lambda: next(draws),
        )
        s.commit()
        assert first.number.startswith("LHTB20261234567890")
        assert second.number.startswith("LHTB20265555555555")


def test_one_certificate_per_assessment_and_only_by_the_reviewing_body(engine):
    with Session(engine) as s:
        w = build(s)
        a, review = certified(s, w.ent_a, w.bodies["TB"], w.users["certifier"])
        svc.issue(s, a, review, 70, "integration", w.users["certifier"], SETTINGS, TODAY)
        s.commit()
        a2, r2 = certified(s, w.ent_b, w.bodies["TB"], w.users["certifier"])
        before = audit_rows(s)
        with pytest.raises(Locked):
            svc.issue(s, a, review, 70, "integration", w.users["certifier"], SETTINGS, TODAY)
        for who in ("other_body", "admin", "enterprise"):
            with pytest.raises(Forbidden):
                svc.issue(s, a2, r2, 70, "integration", w.users[who], SETTINGS, TODAY)
        assert audit_rows(s) == before
        assert s.exec(select(func.count()).select_from(Certificate)).one() == 1


# --- Suspend, reinstate, revoke ------------------------------------------------------------


def test_suspend_reinstate_and_revoke_each_leave_an_audit_event(engine):
    with Session(engine) as s:
        w = build(s)
        cert = issued(s, w)
        s.commit()
        steps = [
            (A.suspend, "certifier", "监督审核未按期进行", "suspended"),
            (A.reinstate, "certifier_2", "已完成监督审核", "valid"),
            (A.revoke, "admin", "提供虚假材料", "revoked"),
        ]
        for n, (action, who, reason, status) in enumerate(steps, start=1):
            done = svc.change_status(
                s, cert.id, action, w.users[who], f"  {reason} ", TODAY, version=n
            )
            s.commit()
            assert done.status == status and done.status_reason == reason
            assert done.version == n + 1 and done.status_changed_at is not None
        history = svc.history_of(s, cert)
        assert [(h.action, h.status_before, h.status_after) for h in history] == [
            ("issue", "", "valid"),
            ("suspend", "valid", "suspended"),
            ("reinstate", "suspended", "valid"),
            ("revoke", "valid", "revoked"),
        ]
        assert [h.actor for h in history] == ["cert-tb", "cert-tb", "cert-tb-2", "adm"]
        assert [h.reason for h in history][1:] == [r for _, _, r, _ in steps]
        (revoked,) = events(s, "certificate.revoke")
        assert (revoked.before, revoked.after) == ({"status": "valid"}, {"status": "revoked"})
        assert audit.verify(s).ok
        # Revoked is final: nothing more.
        for action in A:
            with pytest.raises(Locked):
                svc.change_status(s, cert.id, action, w.users["admin"], "x", TODAY, version=4)


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_a_status_change_needs_a_reason(engine, reason):
    with Session(engine) as s:
        w = build(s)
        cert = issued(s, w)
        s.commit()
        before = audit_rows(s)
        with pytest.raises(Invalid) as exc:
            svc.change_status(s, cert.id, A.suspend, w.users["certifier"], reason, TODAY, version=1)
        assert exc.value.first.field == "reason" and exc.value.first.zh
        s.rollback()
        s.refresh(cert)
        assert (cert.status, cert.version, audit_rows(s)) == ("valid", 1, before)


def test_only_the_moves_the_state_machine_allows(engine):
    with Session(engine) as s:
        w = build(s)
        cert = issued(s, w)
        s.commit()
        with pytest.raises(Locked):  # a valid certificate is not reinstated
            svc.change_status(s, cert.id, A.reinstate, w.users["certifier"], "x", TODAY, version=1)
        svc.change_status(s, cert.id, A.suspend, w.users["certifier"], "x", TODAY, version=1)
        with pytest.raises(Locked):  # nor suspended twice
            svc.change_status(s, cert.id, A.suspend, w.users["certifier"], "x", TODAY, version=2)


def test_an_expired_certificate_can_only_be_revoked(engine):
    with Session(engine) as s:
        w = build(s)
        cert = issued(s, w)
        s.commit()
        later = date(2029, 11, 30)
        assert svc.certificate_view(s, cert, date(2029, 11, 29)).status == "valid"
        assert svc.certificate_view(s, cert, later).status == "expired"
        assert svc.actions_for(w.users["admin"], cert, later) == [A.revoke]
        for action in (A.suspend, A.reinstate):
            with pytest.raises(Locked):
                svc.change_status(s, cert.id, action, w.users["admin"], "x", later, version=1)
        done = svc.change_status(s, cert.id, A.revoke, w.users["admin"], "x", later, version=1)
        assert done.status == "revoked"
        assert svc.certificate_view(s, done, later).status == "revoked"


def test_who_may_change_a_certificates_status(engine):
    with Session(engine) as s:
        w = build(s)
        cert = issued(s, w)
        s.commit()
        before = audit_rows(s)
        for who in ("enterprise", "manager"):  # they see it, but may not change it
            with pytest.raises(Forbidden):
                svc.change_status(s, cert.id, A.suspend, w.users[who], "x", TODAY, version=1)
        for who in ("other_body", "conflicted", "enterprise_b"):  # they do not see it at all
            with pytest.raises(NotFound):
                svc.change_status(s, cert.id, A.suspend, w.users[who], "x", TODAY, version=1)
        with pytest.raises(NotFound):
            svc.change_status(s, 999_999, A.suspend, w.users["admin"], "x", TODAY, version=1)
        assert audit_rows(s) == before
        s.refresh(cert)
        assert cert.status == "valid"


def test_a_change_based_on_an_old_version_is_refused(engine):
    with Session(engine) as s:
        w = build(s)
        cert = issued(s, w)
        s.commit()
        svc.change_status(s, cert.id, A.suspend, w.users["certifier"], "one", TODAY, version=1)
        s.commit()
        with pytest.raises(Locked) as exc:  # a second tab, still showing version 1
            svc.change_status(s, cert.id, A.revoke, w.users["certifier_2"], "two", TODAY, version=1)
        assert exc.value.first.code == "stale"


def test_an_unknown_action_is_invalid():
    with pytest.raises(Invalid):
        svc.read_action("delete")
    assert svc.read_action("revoke") is A.revoke


# --- Scope ---------------------------------------------------------------------------------


def test_each_user_lists_the_certificates_in_their_scope(engine):
    with Session(engine) as s:
        w = build(s)
        a_tb = issued(s, w, w.ent_a, "TB", "certifier", year=2024)
        a_xy = issued(s, w, w.ent_a, "XY", "other_body", year=2025)
        b_tb = issued(s, w, w.ent_b, "TB", "certifier", year=2025)
        s.commit()

        def listed(who: str) -> set[int]:
            return {c.id for c in svc.certificates_for(s, w.users[who])}

        assert listed("admin") == {a_tb.id, a_xy.id, b_tb.id}
        assert listed("enterprise") == {a_tb.id, a_xy.id}
        assert listed("enterprise_b") == {b_tb.id}
        assert listed("certifier") == {a_tb.id, b_tb.id}
        assert listed("other_body") == {a_xy.id}
        assert listed("conflicted") == {b_tb.id}  # not the firm it declared a conflict with
        assert listed("manager") == {a_tb.id, a_xy.id}  # fine_chem's firms only
        for who, cert in [("enterprise_b", a_tb), ("other_body", b_tb), ("manager", b_tb)]:
            with pytest.raises(NotFound):
                svc.readable_certificate(s, w.users[who], cert.id)
        rows = svc.certificate_list(s, w.users["enterprise"], TODAY)
        assert [r.year for r in rows] == [2025, 2024]  # the latest issued first
        assert {r.enterprise for r in rows} == {"甲化工"}


# --- Views ---------------------------------------------------------------------------------


def test_the_certificate_view_has_what_the_page_prints(engine):
    with Session(engine) as s:
        w = build(s)
        cert = issued(s, w)
        s.commit()
        v = svc.certificate_view(s, cert, TODAY)
        assert v.enterprise == "甲化工" and v.uscc == w.ent_a.uscc
        assert v.body == ("甲评定机构", "Body T") and v.certifier == "王评定"
        assert v.stage_name == ("集成提升", "Integration improvement")
        assert v.overall == 71.3 and v.status is CertificateStatus.valid
        assert v.number_printed.replace("-", "") == cert.number
        assert v.verify_path == f"/verify/{cert.number}"


def test_the_public_view_tells_only_name_stage_level_dates_and_status(engine):
    with Session(engine) as s:
        w = build(s)
        cert = issued(s, w)
        s.commit()
        view = svc.public_view(s, numbers.formatted(cert.number).lower(), TODAY)
        assert view is not None
        assert set(asdict(view)) == {
            "number_printed",
            "enterprise",
            "stage_name",
            "level",
            "issued_on",
            "expires_on",
            "status",
        }
        assert (view.enterprise, view.level, view.status) == ("甲化工", 71.3, "valid")
        assert svc.public_view(s, cert.number, date(2030, 1, 1)).status == "expired"
        wrong_check = cert.number[:-1] + ("A" if cert.number[-1] != "A" else "B")
        unknown = numbers.new_number("TB", 2026)
        for text in (wrong_check, unknown, "LH", "", "nonsense", cert.number + "0"):
            assert svc.public_view(s, text, TODAY) is None


def test_a_suspended_certificate_shows_as_suspended_in_public(engine):
    with Session(engine) as s:
        w = build(s)
        cert = issued(s, w)
        svc.change_status(s, cert.id, A.suspend, w.users["certifier"], "内部原因", TODAY, version=1)
        s.commit()
        view = svc.public_view(s, cert.number, TODAY)
        assert view is not None and view.status is CertificateStatus.suspended
        assert "内部原因" not in repr(view)
