"""The assessment's state machine, and the certificate's: one home for every status rule.

An assessment moves:

    draft ─submit→ submitted ─start_review→ under_review ─certify→ certified
      ↑               │                        │  │
      └──withdraw─────┘                        │  └─reject→ rejected
                                               └─return→ returned ─resubmit→ resubmitted
                                                                               │
                          under_review ←──────────start_review────────────────┘

For each action the table below says the statuses it starts from, the status it leads to, the
roles that may take it, and what it records besides the status change (the names of the facts
its audit event carries). Who may take it *on this object* (their own firm, the certifier the
review is assigned to) is the access rules' part (``assess.accounts.access``); this module is
the part that depends on the status alone. Pages, services and the analytics ask it, never
compare status names.

A certificate has its own, smaller machine: valid ⇄ suspended, either → revoked; "expired" is
not stored but read from the expiry date (``certificate_status``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Role(StrEnum):
    enterprise = "enterprise"
    certifier = "certifier"
    cluster_manager = "cluster_manager"
    admin = "admin"


class Status(StrEnum):
    """Where an assessment is in its life."""

    draft = "draft"
    submitted = "submitted"
    under_review = "under_review"
    returned = "returned"
    resubmitted = "resubmitted"
    certified = "certified"
    rejected = "rejected"

    @property
    def editable(self) -> bool:
        """Whether its answers may still change (a draft, or returned to the enterprise)."""
        return self in EDITABLE

    @property
    def reported(self) -> bool:
        """Whether its self-assessed ScoreCard is the firm's result for the year: in its
        report, among peers, in member lists and in every analytics figure."""
        return self in REPORTED

    @property
    def withdrawable(self) -> bool:
        """Whether its enterprise may take it back to a draft (until a review starts)."""
        return can(Action.withdraw, self)

    @property
    def in_review(self) -> bool:
        """Whether a certifier's review of it is open (started, returned or resubmitted)."""
        return self in IN_REVIEW

    @property
    def final(self) -> bool:
        """Whether nothing more happens to it (certified or rejected)."""
        return self in FINAL


class Action(StrEnum):
    """What moves an assessment from one status to another."""

    submit = "submit"
    withdraw = "withdraw"
    start_review = "start_review"
    return_ = "return"
    resubmit = "resubmit"
    certify = "certify"
    reject = "reject"


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[Status]
    target: Status
    roles: frozenset[Role]
    records: tuple[str, ...]  # the facts its audit event carries besides the status change
    reason_required: bool = False


def _t(
    action: Action,
    sources: set[Status],
    target: Status,
    roles: set[Role],
    records: tuple[str, ...] = (),
    reason_required: bool = False,
) -> Transition:
    return Transition(
        action, frozenset(sources), target, frozenset(roles), records, reason_required
    )


S = Status
#: Every move an assessment can make. Nothing else changes its status.
TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in (
        _t(Action.submit, {S.draft}, S.submitted, {Role.enterprise}, ("pledge", "overall")),
        # Until a certifier starts the review; after that the firm answers through the review.
        _t(Action.withdraw, {S.submitted}, S.draft, {Role.enterprise}),
        _t(
            Action.start_review,
            {S.submitted, S.resubmitted},
            S.under_review,
            {Role.certifier},
            ("round",),
        ),
        _t(
            Action.return_,
            {S.under_review},
            S.returned,
            {Role.certifier},
            ("round", "items"),
            reason_required=True,
        ),
        _t(Action.resubmit, {S.returned}, S.resubmitted, {Role.enterprise}, ("round", "changed")),
        _t(
            Action.certify,
            {S.under_review},
            S.certified,
            {Role.certifier},
            ("overall", "stage", "adjusted"),
        ),
        _t(
            Action.reject,
            {S.under_review},
            S.rejected,
            {Role.certifier},
            ("round",),
            reason_required=True,
        ),
    )
}

#: The statuses whose answers may change.
EDITABLE = frozenset({S.draft, S.returned})
#: The statuses whose self-assessed ScoreCard counts (everything once submitted). A rejected
#: certification leaves the firm's own submission standing; only its certified score is absent.
REPORTED = frozenset(set(Status) - {S.draft})
#: The statuses of an open review.
IN_REVIEW = frozenset({S.under_review, S.returned, S.resubmitted})
#: The statuses nothing leaves.
FINAL = frozenset({S.certified, S.rejected})


def can(action: Action, status: Status | str) -> bool:
    """Whether ``action`` starts from ``status``."""
    return Status(status) in TRANSITIONS[action].sources


def allowed(action: Action, status: Status | str, role: Role | str) -> bool:
    """Whether a user of ``role`` may take ``action`` on an assessment in ``status`` (before
    the object's own scope is checked)."""
    t = TRANSITIONS[action]
    return Status(status) in t.sources and Role(role) in t.roles


def actions_for(status: Status | str, role: Role | str) -> list[Action]:
    """The actions a user of ``role`` may take on an assessment in ``status``, in table order."""
    return [a for a in TRANSITIONS if allowed(a, status, role)]


# --- Certificates ------------------------------------------------------------------------


class CertificateStatus(StrEnum):
    """A certificate's status. Only the first three are stored; "expired" is read from the date."""

    valid = "valid"
    suspended = "suspended"
    revoked = "revoked"
    expired = "expired"


class CertificateAction(StrEnum):
    suspend = "suspend"
    reinstate = "reinstate"
    revoke = "revoke"


C = CertificateStatus
#: A certificate's moves: (the stored statuses it starts from, the status it leads to). Each needs
#: a reason; a certifier of the issuing body or an administrator takes it.
CERTIFICATE_TRANSITIONS: dict[CertificateAction, tuple[frozenset[CertificateStatus], C]] = {
    CertificateAction.suspend: (frozenset({C.valid}), C.suspended),
    CertificateAction.reinstate: (frozenset({C.suspended}), C.valid),
    CertificateAction.revoke: (frozenset({C.valid, C.suspended}), C.revoked),
}
CERTIFICATE_ROLES = frozenset({Role.certifier, Role.admin})


def certificate_status(stored: str, expires_on: date, today: date) -> CertificateStatus:
    """A certificate's status on ``today``: a revoked one stays revoked; otherwise one past its
    expiry date is expired."""
    status = CertificateStatus(stored)
    if status is C.revoked:
        return status
    if today > expires_on:
        return C.expired
    return status


def certificate_can(action: CertificateAction, stored: str, expires_on: date, today: date) -> bool:
    """Whether ``action`` may be taken on a certificate now (an expired one takes none but
    revocation)."""
    sources, _ = CERTIFICATE_TRANSITIONS[action]
    now = certificate_status(stored, expires_on, today)
    if now is C.expired:
        return action is CertificateAction.revoke and CertificateStatus(stored) in sources
    return now in sources
