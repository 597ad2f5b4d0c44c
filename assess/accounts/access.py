"""Who may see and change what: one place for the scope rules of every role.

- An enterprise user sees and fills in its own enterprise's assessments, and edits its contact
  fields.
- A cluster manager reads the enterprises and reports of the clusters it manages; it changes
  nothing of theirs.
- An admin reads everything, manages users and enterprises, but never answers for a firm.
- A certifier sees the assessments whose certification was asked of its body (and their
  evidence), except those of a firm it has a declared conflict with; it reviews only those
  assigned to it.
- Evidence files are read by their enterprise, the certifiers who may see the assessment, and
  administrators; never by cluster managers.

Objects outside a user's scope are NotFound, never Forbidden, so that an id tells nothing about
what exists. Forbidden means "you may see this, but not do that to it".
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from assess.errors import Forbidden, NotFound, Problem
from assess.store.models import Assessment, Conflict, Enterprise, Review, Role, User, UserCluster

_NO_ENTERPRISE = Problem("not_found", "企业不存在", "no such enterprise")
_NO_ASSESSMENT = Problem("not_found", "评估不存在", "no such assessment")


def clusters_of(session: Session, user: User) -> list[int]:
    """The cluster ids a cluster manager manages (empty for other roles)."""
    if user.role != Role.cluster_manager:
        return []
    q = select(UserCluster.cluster_id).where(UserCluster.user_id == user.id)
    return sorted(session.exec(q).all())


def can_read_enterprise(session: Session, user: User, ent: Enterprise) -> bool:
    """Whether the enterprise is in the user's scope."""
    if user.role == Role.admin:
        return True
    if user.role == Role.enterprise:
        return user.enterprise_id == ent.id
    if user.role == Role.cluster_manager:
        return ent.cluster_id in clusters_of(session, user)
    return False


def readable_enterprise(session: Session, user: User, enterprise_id: int) -> Enterprise:
    """The enterprise if the user may see it; NotFound otherwise."""
    ent = session.get(Enterprise, enterprise_id)
    if ent is None or not can_read_enterprise(session, user, ent):
        raise NotFound(_NO_ENTERPRISE)
    return ent


def review_of(session: Session, assessment_id: int | None) -> Review | None:
    """The certification review of an assessment, if one was asked for."""
    return session.exec(select(Review).where(Review.assessment_id == assessment_id)).first()


def conflict_between(
    session: Session, certifier_id: int | None, enterprise_id: int
) -> Conflict | None:
    """The declared conflict of interest between a certifier and an enterprise, if any."""
    q = select(Conflict).where(
        Conflict.certifier_id == certifier_id, Conflict.enterprise_id == enterprise_id
    )
    return session.exec(q).first()


def certifier_sees(session: Session, user: User, a: Assessment) -> bool:
    """Whether a certifier may see an assessment: its body was asked to certify it, and the
    certifier has no declared conflict with the firm."""
    if user.role != Role.certifier or user.cert_body_id is None:
        return False
    review = review_of(session, a.id)
    if review is None or review.body_id != user.cert_body_id:
        return False
    return conflict_between(session, user.id, a.enterprise_id) is None


def readable_assessment(session: Session, user: User, assessment_id: int) -> Assessment:
    """The assessment if the user may see it; NotFound otherwise."""
    a = session.get(Assessment, assessment_id)
    if a is None:
        raise NotFound(_NO_ASSESSMENT)
    if user.role == Role.certifier:
        if not certifier_sees(session, user, a):
            raise NotFound(_NO_ASSESSMENT)
        return a
    if user.role == Role.enterprise:
        if a.enterprise_id != user.enterprise_id:
            raise NotFound(_NO_ASSESSMENT)
        return a
    ent = session.get(Enterprise, a.enterprise_id)
    if ent is None or not can_read_enterprise(session, user, ent):
        raise NotFound(_NO_ASSESSMENT)
    return a


def fillable_assessment(session: Session, user: User, assessment_id: int) -> Assessment:
    """The assessment if the user may answer, submit or withdraw it; NotFound or Forbidden."""
    a = readable_assessment(session, user, assessment_id)
    if user.role != Role.enterprise:
        raise Forbidden(
            Problem(
                "read_only",
                "只有企业本身可以填写、提交或撤回评估",
                "only the enterprise itself can answer, submit or withdraw its assessment",
            )
        )
    return a


def own_enterprise(session: Session, user: User) -> Enterprise:
    """The enterprise an enterprise user belongs to; Forbidden for other roles."""
    if user.role != Role.enterprise or user.enterprise_id is None:
        raise Forbidden(Problem("enterprise_only", "仅限企业用户", "only for enterprise users"))
    ent = session.get(Enterprise, user.enterprise_id)
    if ent is None:
        raise NotFound(_NO_ENTERPRISE)
    return ent


def enterprises_in_scope(session: Session, user: User) -> list[Enterprise]:
    """The enterprises a user may list, by name."""
    q = select(Enterprise).order_by(col(Enterprise.name))
    if user.role == Role.admin:
        return list(session.exec(q))
    if user.role == Role.enterprise:
        return list(session.exec(q.where(Enterprise.id == user.enterprise_id)))
    if user.role == Role.cluster_manager:
        ids = clusters_of(session, user)
        return list(session.exec(q.where(col(Enterprise.cluster_id).in_(ids))))
    return []


def evidence_readable(session: Session, user: User, assessment_id: int) -> Assessment:
    """The assessment if the user may read its evidence files: its enterprise, a certifier who
    sees it, an administrator. NotFound otherwise (cluster managers included)."""
    a = readable_assessment(session, user, assessment_id)
    if user.role == Role.cluster_manager:
        raise NotFound(_NO_ASSESSMENT)
    return a


def reviewable_assessment(
    session: Session, user: User, assessment_id: int
) -> tuple[Assessment, Review]:
    """The assessment and its review if ``user`` is the certifier it is assigned to (and still
    has no conflict with the firm); NotFound if they may not see it, Forbidden if they may see
    it but it is not theirs to review."""
    a = readable_assessment(session, user, assessment_id)
    review = review_of(session, a.id)
    if user.role != Role.certifier or review is None or review.certifier_id != user.id:
        raise Forbidden(
            Problem(
                "not_assigned",
                "此评估未分配给您评审",
                "this assessment is not assigned to you for review",
            )
        )
    return a, review
