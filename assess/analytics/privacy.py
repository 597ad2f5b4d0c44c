"""Small groups stay private (k-anonymity): the one rule every page and export asks.

An aggregate (a median, a rate, a quartile, a percentile among peers...) over fewer than
``MIN_GROUP`` firms is shown only to someone who may see each of those firms by name anyway:

- an administrator sees every firm;
- a cluster manager sees the firms of the clusters they manage, by name, and anything else only
  as aggregates of at least ``MIN_GROUP`` firms;
- an enterprise sees itself; its position among its sector's or cluster's firms only when there
  are at least ``MIN_GROUP`` other firms.

A hidden figure is replaced by a ``Hidden`` that says why, in both languages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sqlmodel import Session, col, select

from assess.accounts.access import clusters_of
from assess.analytics.frame import cached
from assess.store.models import Enterprise, Role, User

#: The fewest firms an aggregate may be drawn from for someone who may not see each of them.
MIN_GROUP = 5


@dataclass(frozen=True)
class Viewer:
    """Whom a figure is for: the firms they may see one by one."""

    role: str
    sees_all: bool
    enterprises: frozenset[int]
    clusters: frozenset[int]

    def may_see(self, enterprise_id: int) -> bool:
        return self.sees_all or enterprise_id in self.enterprises

    def visible(self, enterprises: Iterable[int]) -> np.ndarray:
        """A boolean mask: which of these firms the viewer may see by name."""
        ids = np.fromiter((int(e) for e in enterprises), dtype=np.int64)
        if self.sees_all:
            return np.ones(ids.size, dtype=bool)
        return np.isin(ids, np.fromiter(self.enterprises, dtype=np.int64))


def viewer_of(session: Session, user: User) -> Viewer:
    """The viewer a signed-in user is."""
    if user.role == Role.admin:
        return Viewer(user.role, True, frozenset(), frozenset())
    if user.role == Role.cluster_manager:
        clusters = frozenset(clusters_of(session, user))  # read afresh: scope changes count now

        def members() -> frozenset[int]:
            q = select(Enterprise.id).where(col(Enterprise.cluster_id).in_(clusters))
            return frozenset(i for i in session.exec(q) if i is not None)

        # The members of those clusters change only with the data (a firm added or moved).
        return Viewer(user.role, False, cached(session, ("members", clusters), members), clusters)
    if user.role == Role.enterprise and user.enterprise_id is not None:
        return Viewer(user.role, False, frozenset({user.enterprise_id}), frozenset())
    return Viewer(user.role, False, frozenset(), frozenset())


@dataclass(frozen=True)
class Hidden:
    """Why a figure is not shown."""

    n: int
    minimum: int
    zh: str
    en: str


def hidden(firms: Iterable[int] | np.ndarray, viewer: Viewer) -> Hidden | None:
    """None when an aggregate over these firms (enterprise ids; repeats count once) may be
    shown to the viewer; else why not."""
    ids = np.unique(np.asarray(list(firms) if not isinstance(firms, np.ndarray) else firms))
    n = int(ids.size)
    if n == 0:
        return Hidden(0, MIN_GROUP, "没有企业数据", "no firms")
    if viewer.sees_all or n >= MIN_GROUP:
        return None
    if viewer.enterprises and all(int(i) in viewer.enterprises for i in ids):
        return None
    return Hidden(
        n,
        MIN_GROUP,
        f"仅 {n} 家企业，少于 {MIN_GROUP} 家，为保护企业信息不予显示",
        f"only {n} firm(s): fewer than {MIN_GROUP}, hidden so that no firm can be recognised",
    )


def peers_hidden(peer_count: int) -> Hidden | None:
    """For a figure of one firm against its peers (the others): None when there are enough."""
    if peer_count >= MIN_GROUP:
        return None
    return Hidden(
        peer_count,
        MIN_GROUP,
        f"同组其他企业仅 {peer_count} 家，少于 {MIN_GROUP} 家，不予比较",
        f"only {peer_count} other firm(s) in the group: fewer than {MIN_GROUP}, not compared",
    )
