"""The stored records: region, enterprises, people and their scope, assessments and answers.

Every table is plain SQLModel over SQLAlchemy Core types that mean the same on SQLite and
PostgreSQL. Schema changes go through Alembic migrations in ``assess/store/migrations``; a test
checks that these models and the migrations agree.

Scope, in one place:

* an ``enterprise`` user belongs to one enterprise;
* a ``certifier`` belongs to one certification body;
* a ``cluster_manager`` is given one or more clusters (``UserCluster``);
* an ``admin`` has no scope limit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# The status rules' one home; imported here so that every table module speaks of them.
from assess.store.states import (  # noqa: F401
    EDITABLE,
    REPORTED,
    CertificateStatus,
    Role,
    Status,
)

# Constraint names that are the same on every database, so migrations can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _time(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), **kw)


class StaffBand(StrEnum):
    """Staff size bands, after the statistical size classes for industrial enterprises."""

    micro = "lt20"  # fewer than 20
    small = "20_299"
    medium = "300_999"
    large = "ge1000"


class Region(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=40)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    content_hash: str = Field(max_length=80)  # of the profile file it was loaded from
    # The region's targets as loaded from its profile (adoption baseline and goal, the range of
    # demonstration enterprises per cluster, key projects a year): the analytics read them here.
    targets: Any = Field(default=None, sa_type=sa.JSON, nullable=True)


class Cluster(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("region_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: str = Field(foreign_key="region.id", max_length=40)
    code: str = Field(max_length=40)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    default_sector: str = Field(max_length=40)


class Park(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("region_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: str = Field(foreign_key="region.id", max_length=40)
    code: str = Field(max_length=40)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)


class CertificationBody(SQLModel, table=True):
    """A certification body (评定机构). Its ``code`` begins the numbers of its certificates."""

    __tablename__ = "certification_body"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    name_en: str = Field(default="", max_length=200)
    code: str = Field(max_length=10, unique=True)  # A–Z and 0–9
    is_active: bool = Field(default=True)  # an inactive body takes no new assessments
    created_at: datetime = _time()


class Enterprise(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    uscc: str = Field(max_length=18, unique=True)  # 统一社会信用代码, checked on the way in
    sector: str = Field(max_length=40)  # the questionnaire id
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    park_id: int | None = Field(default=None, foreign_key="park.id")
    staff_band: str = Field(max_length=10)
    contact_name: str = Field(default="", max_length=100)
    contact_phone: str = Field(default="", max_length=40)
    contact_email: str = Field(default="", max_length=200)
    version: int = Field(default=1)  # raised on every edit, for optimistic concurrency
    created_at: datetime = _time()
    # Indexed: the analytics read its latest value on every request (assess.analytics.frame).
    updated_at: datetime = _time(index=True)


class User(SQLModel, table=True):
    __tablename__ = "app_user"  # "user" is reserved on PostgreSQL
    __table_args__ = (
        sa.CheckConstraint(
            "(role = 'enterprise') = (enterprise_id IS NOT NULL)", name="enterprise_scope"
        ),
        sa.CheckConstraint("(role = 'certifier') = (cert_body_id IS NOT NULL)", name="body_scope"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(default="", max_length=100)
    password_hash: str = Field(max_length=200)
    role: str = Field(max_length=20)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    cert_body_id: int | None = Field(default=None, foreign_key="certification_body.id")
    locale: str = Field(default="zh_CN", max_length=10)
    is_active: bool = Field(default=True)
    created_at: datetime = _time()
    password_changed_at: datetime = _time()
    # Set when an administrator chose the password: its user must pick their own before
    # anything else (see assess.accounts.users.require_password_change).
    must_change_password: bool = Field(default=False)


class UserCluster(SQLModel, table=True):
    """The clusters a cluster manager may see."""

    __tablename__ = "user_cluster"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", primary_key=True)


class UserSession(SQLModel, table=True):
    """One signed-in browser. Its cookie carries a random token; the row keeps only the token's
    SHA-256, so a copy of the database signs nobody in. Deleting the row ends the session on
    every worker at its next request."""

    __tablename__ = "user_session"

    id: str = Field(primary_key=True, max_length=64)  # hex SHA-256 of the cookie's token
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = _time()
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)


class SignInFailure(SQLModel, table=True):
    """Recent failed sign-ins per account and per address, for throttling.

    Kept in the database so that several workers agree on who is locked out.
    """

    __tablename__ = "sign_in_failure"

    key: str = Field(primary_key=True, max_length=200)  # "user:<name>" or "addr:<ip>"
    failures: int = Field(default=0)
    first_at: datetime = _time()
    locked_until: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class Assessment(SQLModel, table=True):
    """One enterprise's assessment for one year, pinned to one questionnaire version."""

    __table_args__ = (sa.UniqueConstraint("enterprise_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    year: int
    questionnaire: str = Field(max_length=40)
    questionnaire_version: int
    content_hash: str = Field(max_length=80)
    status: str = Field(default=Status.draft, max_length=20, index=True)
    version: int = Field(default=1)  # raised on every status change
    pledged_by: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = _time()
    updated_at: datetime = _time()
    submitted_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class Answer(SQLModel, table=True):
    """One answer as the enterprise gave it (the raw JSON value), with its comment.

    ``version`` starts at 1 and rises on every change; a save names the version it was based
    on, and a stale one is refused rather than overwriting another tab's change.
    """

    __table_args__ = (sa.UniqueConstraint("assessment_id", "question"),)

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    question: str = Field(max_length=120)
    value: Any = Field(default=None, sa_type=sa.JSON)
    comment: str = Field(default="", max_length=2000)
    version: int = Field(default=1)
    updated_by: int | None = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime = _time()


class ScoreKind(StrEnum):
    """Whose score a ScoreRecord is: the enterprise's own, or the one a certifier confirmed."""

    self_reported = "self"
    certified = "certified"


class ScoreRecord(SQLModel, table=True):
    """The ScoreCard of an assessment, with its headline figures as columns for comparison.

    ``kind`` is "self" for the enterprise's own answers; certified scores get their own kind.
    The ``applied_*`` columns say per link whether IT counts as applied (1), not (0) or whether
    the link does not apply to the firm (NULL); ``indicators`` holds the firm's contribution to
    each national indicator (1/0 for a share, the number for a mean, null when left out), and
    ``digest`` the SHA-256 of its answers, so that copied submissions can be found.
    """

    __tablename__ = "score_record"
    __table_args__ = (sa.UniqueConstraint("assessment_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    kind: str = Field(default="self", max_length=20)
    content_hash: str = Field(max_length=80)
    overall: float
    link_rd: float | None = None
    link_production: float | None = None
    link_management: float | None = None
    link_marketing: float | None = None
    aspect_infrastructure: float | None = None
    aspect_single_app: float | None = None
    aspect_integration: float | None = None
    aspect_collaboration: float | None = None
    aspect_competitiveness: float | None = None
    stage: str = Field(max_length=20)
    it_adopter: bool
    it_links: int
    it_needed: int = 3  # links the adoption rule asks for
    applied_rd: int | None = Field(default=None, sa_type=sa.SmallInteger)
    applied_production: int | None = Field(default=None, sa_type=sa.SmallInteger)
    applied_management: int | None = Field(default=None, sa_type=sa.SmallInteger)
    applied_marketing: int | None = Field(default=None, sa_type=sa.SmallInteger)
    missing_required: int
    flags: int = 0  # the card's failed consistency checks
    digest: str = Field(default="", max_length=64)
    indicators: Any = Field(default=None, sa_type=sa.JSON, nullable=True)
    card: Any = Field(sa_type=sa.JSON)  # the whole ScoreCard, as JSON
    computed_at: datetime = _time()


class StatusChange(SQLModel, table=True):
    """Append-only history of an assessment's status."""

    __tablename__ = "status_change"

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    by_user: int | None = Field(default=None, foreign_key="app_user.id")
    note: str = Field(default="", max_length=500)
    at: datetime = _time()


class DemonstrationDecision(SQLModel, table=True):
    """A cluster manager's decision on a demonstration-enterprise candidate (append-only: the
    latest row per cluster, enterprise and year is the decision in force)."""

    __tablename__ = "demonstration_decision"

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id")
    year: int
    decision: str = Field(max_length=20)  # confirmed | excluded | reopened
    reason: str = Field(default="", max_length=500)
    by_user: int | None = Field(default=None, foreign_key="app_user.id")
    at: datetime = _time()


class ConflictKind(StrEnum):
    """Why a certifier may not review a firm."""

    own_firm = "own_firm"  # works, or worked, for it
    consulting = "consulting"  # advised it on the matters assessed
    financial = "financial"  # holds shares or another financial interest
    family = "family"  # a close relative works there in a senior post
    other = "other"


class Conflict(SQLModel, table=True):
    """A declared conflict of interest between a certifier and an enterprise (administrators
    manage them). While it stands, the certifier is never assigned to, and never reviews, that
    enterprise."""

    __tablename__ = "conflict_of_interest"
    __table_args__ = (sa.UniqueConstraint("certifier_id", "enterprise_id"),)

    id: int | None = Field(default=None, primary_key=True)
    certifier_id: int = Field(foreign_key="app_user.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    kind: str = Field(max_length=20)
    note: str = Field(default="", max_length=500)
    declared_by: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = _time()


class Review(SQLModel, table=True):
    """The certification of one assessment: the body the enterprise chose (or an administrator
    assigned), the certifier the body assigned, and where the review stands.

    ``round`` counts the reviews: 1 for the first, one more after each resubmission.
    """

    __table_args__ = (sa.UniqueConstraint("assessment_id"),)

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id")
    body_id: int = Field(foreign_key="certification_body.id", index=True)
    certifier_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    requested_by: int | None = Field(default=None, foreign_key="app_user.id")
    requested_at: datetime = _time()
    due_on: date
    round: int = Field(default=1)
    started_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    decided_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    reason: str = Field(default="", max_length=2000)  # of a rejection
    version: int = Field(default=1)  # raised on every change, for optimistic concurrency


class Decision(StrEnum):
    """A certifier's decision on one answer."""

    accepted = "accepted"
    adjusted = "adjusted"  # a new value, with a reason; the enterprise's answer is kept
    evidence = "evidence"  # evidence requested, with a note


class ReviewItem(SQLModel, table=True):
    """The decision in force on one answer of a review. Earlier decisions are in the audit
    trail; ``answer_version`` is the version of the answer decided on, so a decision on an
    answer the enterprise changed since is seen to be stale."""

    __tablename__ = "review_item"
    __table_args__ = (sa.UniqueConstraint("review_id", "question"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="review.id", index=True)
    question: str = Field(max_length=120)
    decision: str = Field(max_length=20)
    value: Any = Field(default=None, sa_type=sa.JSON, nullable=True)  # the adjusted value
    reason: str = Field(default="", max_length=2000)  # the adjustment's reason or the request
    answer_version: int = 0  # 0: the question had no stored answer
    round: int = 1
    by_user: int | None = Field(default=None, foreign_key="app_user.id")
    at: datetime = _time()
    version: int = Field(default=1)


class ReviewRound(SQLModel, table=True):
    """One return to the enterprise: what it was asked to act on, and its answers as they
    stood, so that the next round shows what changed."""

    __tablename__ = "review_round"
    __table_args__ = (sa.UniqueConstraint("review_id", "round"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="review.id", index=True)
    round: int
    note: str = Field(default="", max_length=2000)
    items: Any = Field(sa_type=sa.JSON)  # [{question, decision, reason}]
    answers: Any = Field(sa_type=sa.JSON)  # {question: [value, comment, version]}
    returned_by: int | None = Field(default=None, foreign_key="app_user.id")
    returned_at: datetime = _time()
    resubmitted_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class Evidence(SQLModel, table=True):
    """One evidence file uploaded for one answer. The bytes are kept once per content hash in
    the evidence store (``assess.certification.evidence``); a new upload adds a row and never
    replaces an older one."""

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    question: str = Field(max_length=120)
    sha256: str = Field(max_length=64)
    size: int
    media_type: str = Field(max_length=100)  # as sniffed from the content
    filename: str = Field(max_length=200)  # cleaned, for display and the download's name
    uploaded_by: int | None = Field(default=None, foreign_key="app_user.id")
    uploaded_at: datetime = _time()


class Certificate(SQLModel, table=True):
    """A certificate issued on a certified assessment. ``status`` stores valid, suspended or
    revoked; whether it has expired is read from ``expires_on`` (assess.store.states)."""

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=40, unique=True)
    assessment_id: int = Field(foreign_key="assessment.id", unique=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    body_id: int = Field(foreign_key="certification_body.id", index=True)
    certifier_id: int | None = Field(default=None, foreign_key="app_user.id")
    year: int
    stage: str = Field(max_length=20)
    overall: float
    issued_on: date
    expires_on: date
    surveillance_months: int  # the interval of surveillance audits when it was issued
    status: str = Field(default=CertificateStatus.valid, max_length=20)
    status_reason: str = Field(default="", max_length=2000)
    status_changed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    version: int = Field(default=1)


class AuditEvent(SQLModel, table=True):
    """The audit trail: append-only (the database refuses UPDATE and DELETE on it) and
    hash-chained: each row carries the hash of the row before and the hash of its own canonical
    content with that one (assess.store.audit)."""

    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_subject", "subject_type", "subject_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _time(index=True)
    actor_id: int | None = Field(default=None, index=True)  # no foreign key: history outlives
    actor: str = Field(default="", max_length=64)  # the username then ("" for the system)
    action: str = Field(max_length=60, index=True)
    subject_type: str = Field(max_length=40)
    subject_id: str = Field(default="", max_length=40)
    before: Any = Field(default=None, sa_type=sa.JSON, nullable=True)
    after: Any = Field(default=None, sa_type=sa.JSON, nullable=True)
    reason: str = Field(default="", max_length=2000)
    prev_hash: str = Field(max_length=64, unique=True)  # unique: the chain never forks
    hash: str = Field(max_length=64, unique=True)
