"""Who may see and change what: one place for the scope rules of every role.

- An enterprise user sees and fills in its own enterprise's assessments, and edits its contact
  fields.
- A cluster manager reads the enterprises and reports of the clusters it manages; it changes
  nothing of theirs.
- An admin reads everything, manages users and enterprises, but never answers for a firm.
- A certifier sees the assessments assigned to its certification body; assignments arrive with
  the review workflow, so today it sees none.

Objects outside a user's scope are NotFound, never Forbidden, so that an id tells nothing about
what exists. Forbidden means "you may see this, but not do that to it".
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from assess.errors import Forbidden, NotFound, Problem
from assess.store.models import Assessment, Enterprise, Role, User, UserCluster

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


def readable_assessment(session: Session, user: User, assessment_id: int) -> Assessment:
    """The assessment if the user may see it; NotFound otherwise."""
    a = session.get(Assessment, assessment_id)
    if a is None:
        raise NotFound(_NO_ASSESSMENT)
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
