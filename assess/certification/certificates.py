"""Certificates: issued on a certified assessment, suspended, reinstated or revoked with a
reason, and verified by anyone from their number.

A certificate is valid from its issue date through the day before the same date
``certificate_validity_months`` later (all dates in China time), with a surveillance audit due
every ``surveillance_months`` within that time (both from settings, kept on the certificate as
issued). Its stored status is valid, suspended or revoked; "expired" is read from the date
(assess.store.states).

Who sees which certificates: an enterprise its own, a certifier its body's (less the firms it
has a declared conflict with), a cluster manager its clusters' firms', an administrator all.
Outside that a certificate is not found. Suspending, reinstating and revoking are for
administrators and the issuing body's certifiers.

The public verification view tells only the firm's name, the stage, the level, the dates and
the status, and answers the same None for a malformed number, a wrong check character and a
number nobody was given.

Every function takes a Session and leaves committing to the caller; each check runs before the
first change, so a refused request writes nothing. Each change is an audit event.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from assess.accounts.access import clusters_of
from assess.assessment.reports import names_of
from assess.certification import numbers
from assess.errors import Forbidden, Invalid, Locked, NotFound, Problem
from assess.settings import Settings
from assess.store import audit
from assess.store.models import (
    Assessment,
    Certificate,
    CertificationBody,
    Conflict,
    Enterprise,
    Review,
    Role,
    User,
    utcnow,
)
from assess.store.states import (
    CERTIFICATE_ROLES,
    CERTIFICATE_TRANSITIONS,
    CertificateAction,
    CertificateStatus,
    certificate_can,
    certificate_status,
)

#: The public verification page of a number (the web app serves it at this path).
VERIFY_PATH = "/verify/{number}"
#: How often a new serial is drawn when the one drawn is taken (with ten random digits, a
#: second draw is already a once-in-billions event).
_DRAWS = 5
MAX_REASON = 2000

_NO_CERTIFICATE = Problem("not_found", "证书不存在", "no such certificate")
_ACTION_NAMES = {
    CertificateAction.suspend: ("暂停", "suspend"),
    CertificateAction.reinstate: ("恢复", "reinstate"),
    CertificateAction.revoke: ("撤销", "revoke"),
}


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; the month's last day where that month is shorter."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def verify_path(number: str) -> str:
    """The path of a number's public verification page."""
    return VERIFY_PATH.format(number=number)


# --- Issue ---------------------------------------------------------------------------------


def issue(
    session: Session,
    a: Assessment,
    review: Review,
    overall: float,
    stage: str,
    certifier: User,
    settings: Settings,
    today: date,
    *,
    draw: Callable[[], str] = numbers.random_serial,
) -> Certificate:
    """Issue the certificate of a certified assessment, valid from ``today`` for the configured
    months, by a certifier of the reviewing body; record "certificate.issue"."""
    if review.assessment_id != a.id:
        raise Invalid(
            Problem("wrong_review", "评审与评估不符", "the review is not this assessment's")
        )
    body = session.get(CertificationBody, review.body_id)
    if body is None:
        raise NotFound(Problem("not_found", "评定机构不存在", "no such certification body"))
    if Role(certifier.role) is not Role.certifier or certifier.cert_body_id != body.id:
        raise Forbidden(
            Problem(
                "not_of_body",
                "只有评审机构的评定人员可以颁发证书",
                "only a certifier of the reviewing body can issue its certificate",
            )
        )
    taken = session.exec(select(Certificate.id).where(Certificate.assessment_id == a.id)).first()
    if taken is not None:
        raise Locked(
            Problem(
                "certificate_exists",
                "此评估已颁发证书",
                "a certificate has already been issued for this assessment",
            )
        )
    cert = Certificate(
        number=_free_number(session, body.code, today.year, draw),
        assessment_id=a.id or 0,
        enterprise_id=a.enterprise_id,
        body_id=body.id or 0,
        certifier_id=certifier.id,
        year=a.year,
        stage=stage,
        overall=float(overall),
        issued_on=today,
        expires_on=add_months(today, settings.certificate_validity_months) - timedelta(days=1),
        surveillance_months=settings.surveillance_months,
        status=CertificateStatus.valid,
    )
    session.add(cert)
    session.flush()
    audit.record(
        session,
        "certificate.issue",
        "certificate",
        cert.id,
        actor=certifier,
        after={
            "number": cert.number,
            "assessment_id": cert.assessment_id,
            "enterprise_id": cert.enterprise_id,
            "body_id": cert.body_id,
            "certifier_id": cert.certifier_id,
            "year": cert.year,
            "stage": cert.stage,
            "overall": cert.overall,
            "issued_on": cert.issued_on,
            "expires_on": cert.expires_on,
            "surveillance_months": cert.surveillance_months,
            "status": cert.status,
        },
    )
    return cert


def _free_number(session: Session, body_code: str, year: int, draw: Callable[[], str]) -> str:
    """A new number nobody has yet (drawn again on the rare collision)."""
    for _ in range(_DRAWS):
        number = numbers.new_number(body_code, year, draw)
        if session.exec(select(Certificate.id).where(Certificate.number == number)).first() is None:
            return number
    raise Locked(
        Problem(
            "no_free_number",
            "未能生成未被占用的证书编号，请重试",
            "no unused certificate number could be drawn; try again",
        )
    )


# --- Scope ---------------------------------------------------------------------------------


def _in_scope(session: Session, user: User, q: SelectOfScalar[Any]) -> SelectOfScalar[Any]:
    """``q`` (over Certificate) narrowed to what ``user`` may see (nothing for unknown roles)."""
    role = Role(user.role)
    if role is Role.admin:
        return q
    if role is Role.enterprise:
        return q.where(Certificate.enterprise_id == user.enterprise_id)
    if role is Role.certifier:
        conflicted = select(Conflict.enterprise_id).where(Conflict.certifier_id == user.id)
        return q.where(
            Certificate.body_id == user.cert_body_id,
            col(Certificate.enterprise_id).not_in(conflicted),
        )
    if role is Role.cluster_manager:
        firms = select(Enterprise.id).where(
            col(Enterprise.cluster_id).in_(clusters_of(session, user))
        )
        return q.where(col(Certificate.enterprise_id).in_(firms))
    return q.where(sa.false())


def certificates_for(session: Session, user: User) -> list[Certificate]:
    """The certificates ``user`` may list, the latest issued first."""
    q = select(Certificate).order_by(col(Certificate.issued_on).desc(), col(Certificate.id).desc())
    return list(session.exec(_in_scope(session, user, q)))


def readable_certificate(session: Session, user: User, certificate_id: int) -> Certificate:
    """The certificate if ``user`` may see it; NotFound otherwise."""
    q = select(Certificate).where(Certificate.id == certificate_id)
    cert = session.exec(_in_scope(session, user, q)).first()
    if cert is None:
        raise NotFound(_NO_CERTIFICATE)
    return cert


def may_change(user: User) -> bool:
    """Whether ``user``'s role may suspend, reinstate or revoke the certificates it sees."""
    return Role(user.role) in CERTIFICATE_ROLES


def actions_for(user: User, cert: Certificate, today: date) -> list[CertificateAction]:
    """The actions ``user`` (who sees ``cert``) may take on it now, in table order."""
    if not may_change(user):
        return []
    return [
        action
        for action in CERTIFICATE_TRANSITIONS
        if certificate_can(action, cert.status, cert.expires_on, today)
    ]


# --- Suspend, reinstate, revoke ------------------------------------------------------------


def read_action(text: str) -> CertificateAction:
    """A certificate action from a form's text; Invalid for anything else."""
    try:
        return CertificateAction(text)
    except ValueError:
        raise Invalid(
            Problem("action", "未知的证书操作", "unknown certificate action", "action")
        ) from None


def change_status(
    session: Session,
    certificate_id: int,
    action: CertificateAction,
    user: User,
    reason: str,
    today: date,
    *,
    version: int,
) -> Certificate:
    """Suspend, reinstate or revoke a certificate, with a reason, as an administrator or a
    certifier of the issuing body; ``version`` is the one the user saw. Records
    "certificate.<action>" with the status before and after."""
    cert = readable_certificate(session, user, certificate_id)
    if not may_change(user):
        raise Forbidden(
            Problem(
                "role",
                "只有管理员或发证机构的评定人员可以变更证书状态",
                "only an administrator or a certifier of the issuing body can change a "
                "certificate's status",
            )
        )
    reason = reason.strip()
    if not reason:
        raise Invalid(Problem("reason", "请填写理由", "give the reason", "reason"))
    if len(reason) > MAX_REASON:
        raise Invalid(
            Problem(
                "reason_too_long",
                f"理由不能超过 {MAX_REASON} 个字符",
                f"the reason may have at most {MAX_REASON} characters",
                "reason",
            )
        )
    if cert.version != version:
        raise Locked(_STALE)
    if not certificate_can(action, cert.status, cert.expires_on, today):
        zh, en = _ACTION_NAMES[action]
        now = certificate_status(cert.status, cert.expires_on, today)
        raise Locked(
            Problem(
                "not_allowed",
                f"此证书当前状态下不能{zh}",
                f"a certificate that is {now.value} cannot be given the action “{en}”",
            )
        )
    before = cert.status
    _, target = CERTIFICATE_TRANSITIONS[action]
    result = session.execute(
        sa.update(Certificate)
        .where(col(Certificate.id) == cert.id, col(Certificate.version) == version)
        .values(
            status=target.value,
            status_reason=reason,
            status_changed_at=utcnow(),
            version=version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Locked(_STALE)
    session.refresh(cert)
    audit.record(
        session,
        f"certificate.{action.value}",
        "certificate",
        cert.id,
        actor=user,
        before={"status": before},
        after={"status": target},
        reason=reason,
    )
    return cert


_STALE = Problem(
    "stale",
    "证书已被他人更改，请刷新页面后重试",
    "the certificate was changed meanwhile; reload the page and try again",
)


# --- Views ---------------------------------------------------------------------------------


def surveillance_dates(cert: Certificate) -> list[date]:
    """The dates surveillance audits fall due within the certificate's validity."""
    out = []
    n = 1
    while (due := add_months(cert.issued_on, n * cert.surveillance_months)) <= cert.expires_on:
        out.append(due)
        n += 1
    return out


@dataclass(frozen=True)
class CertificateView:
    """What the certificate page and its JSON show."""

    id: int
    number: str
    number_printed: str
    enterprise: str
    uscc: str
    body: tuple[str, str]  # (zh, en)
    certifier: str
    year: int
    stage: str
    stage_name: tuple[str, str]
    overall: float
    issued_on: date
    expires_on: date
    status: CertificateStatus  # as of today: expired read from the date
    status_reason: str
    status_changed_at: datetime | None
    surveillance: list[date]
    verify_path: str
    version: int


def _stage_name(session: Session, assessment_id: int, stage: str) -> tuple[str, str]:
    a = session.get(Assessment, assessment_id)
    if a is None:
        return (stage, stage)
    return names_of(a.questionnaire, a.questionnaire_version).stages.get(stage, (stage, stage))


def certificate_view(session: Session, cert: Certificate, today: date) -> CertificateView:
    """A certificate as plain data for its page and JSON."""
    ent = session.get(Enterprise, cert.enterprise_id)
    body = session.get(CertificationBody, cert.body_id)
    certifier = session.get(User, cert.certifier_id) if cert.certifier_id else None
    return CertificateView(
        id=cert.id or 0,
        number=cert.number,
        number_printed=numbers.formatted(cert.number),
        enterprise=ent.name if ent else "",
        uscc=ent.uscc if ent else "",
        body=(body.name, body.name_en or body.name) if body else ("", ""),
        certifier=(certifier.display_name or certifier.username) if certifier else "",
        year=cert.year,
        stage=cert.stage,
        stage_name=_stage_name(session, cert.assessment_id, cert.stage),
        overall=round(cert.overall, 1),
        issued_on=cert.issued_on,
        expires_on=cert.expires_on,
        status=certificate_status(cert.status, cert.expires_on, today),
        status_reason=cert.status_reason,
        status_changed_at=cert.status_changed_at,
        surveillance=surveillance_dates(cert),
        verify_path=verify_path(cert.number),
        version=cert.version,
    )


@dataclass(frozen=True)
class HistoryLine:
    """One event in a certificate's life, from the audit trail."""

    at: datetime
    actor: str
    action: str  # issue | suspend | reinstate | revoke
    status_before: str
    status_after: str
    reason: str


def history_of(session: Session, cert: Certificate) -> list[HistoryLine]:
    """A certificate's issue and status changes, oldest first."""
    out = []
    for e in audit.events_of(session, "certificate", [cert.id or 0]):
        before = e.before if isinstance(e.before, dict) else {}
        after = e.after if isinstance(e.after, dict) else {}
        out.append(
            HistoryLine(
                at=e.at,
                actor=e.actor,
                action=e.action.removeprefix("certificate."),
                status_before=str(before.get("status", "")),
                status_after=str(after.get("status", "")),
                reason=e.reason,
            )
        )
    return out


@dataclass(frozen=True)
class CertificatePage:
    """The certificate page: the certificate, what the viewer may do to it, its history."""

    certificate: CertificateView
    actions: list[CertificateAction]
    history: list[HistoryLine]


def certificate_page(
    session: Session, user: User, certificate_id: int, today: date
) -> CertificatePage:
    """The certificate page's data, if ``user`` may see the certificate; NotFound otherwise."""
    cert = readable_certificate(session, user, certificate_id)
    return CertificatePage(
        certificate_view(session, cert, today),
        actions_for(user, cert, today),
        history_of(session, cert),
    )


@dataclass(frozen=True)
class CertificateRow:
    """One line of the certificate list."""

    id: int
    number_printed: str
    enterprise: str
    year: int
    stage_name: tuple[str, str]
    overall: float
    issued_on: date
    expires_on: date
    status: CertificateStatus


def certificate_list(session: Session, user: User, today: date) -> list[CertificateRow]:
    """The certificates ``user`` may see, as the list shows them, the latest issued first."""
    certs = certificates_for(session, user)
    firms = {e.id: e.name for e in _by_ids(session, Enterprise, {c.enterprise_id for c in certs})}
    return [
        CertificateRow(
            id=c.id or 0,
            number_printed=numbers.formatted(c.number),
            enterprise=firms.get(c.enterprise_id, ""),
            year=c.year,
            stage_name=_stage_name(session, c.assessment_id, c.stage),
            overall=round(c.overall, 1),
            issued_on=c.issued_on,
            expires_on=c.expires_on,
            status=certificate_status(c.status, c.expires_on, today),
        )
        for c in certs
    ]


def _by_ids(session: Session, model: Any, ids: set[int]) -> list[Any]:
    if not ids:
        return []
    return list(session.exec(select(model).where(col(model.id).in_(sorted(ids)))))


@dataclass(frozen=True)
class PublicView:
    """What the public verification page says about a number: nothing more than this."""

    number_printed: str
    enterprise: str
    stage_name: tuple[str, str]
    level: float
    issued_on: date
    expires_on: date
    status: CertificateStatus


def public_view(session: Session, number_text: str, today: date) -> PublicView | None:
    """What anyone may learn from a certificate number, or None alike for a malformed number,
    a wrong check character and a number never issued."""
    number = numbers.parse(number_text)
    if number is None:
        return None
    row = session.exec(
        select(Certificate, Enterprise.name)
        .join(Enterprise, col(Enterprise.id) == Certificate.enterprise_id)
        .where(Certificate.number == number)
    ).first()
    if row is None:
        return None
    cert, name = row
    return PublicView(
        number_printed=numbers.formatted(cert.number),
        enterprise=name,
        stage_name=_stage_name(session, cert.assessment_id, cert.stage),
        level=round(cert.overall, 1),
        issued_on=cert.issued_on,
        expires_on=cert.expires_on,
        status=certificate_status(cert.status, cert.expires_on, today),
    )
