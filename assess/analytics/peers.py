"""One firm among its peers: the same year's other counted assessments of its sector, and of its
cluster, read from the analytics frame. Shown only when there are at least ``privacy.MIN_GROUP``
other firms in the group (the firm may not see them one by one)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlmodel import Session

from assess.analytics.frame import Scope, frame_of
from assess.analytics.privacy import MIN_GROUP, Hidden, peers_hidden
from assess.store.models import Cluster, Enterprise
from scoring import LINKS
from scoring import benchmarks as bm


@dataclass(frozen=True)
class Peers:
    """A firm against one group of peers (the others: never itself)."""

    count: int
    shown: bool
    links: dict[str, float | None] = field(default_factory=dict)
    minimum: int = MIN_GROUP  # the fewest peers that may be shown, said on the page
    overall: float | None = None  # the peers' median overall level
    rank: int | None = None  # 1 = best overall, among the peers plus this firm
    percentile: float | None = None  # of this firm's overall among the peers, 0..100
    hidden: Hidden | None = None


@dataclass(frozen=True)
class PeerPosition:
    sector: Peers
    cluster: Peers


def _peers(others: pd.DataFrame, overall: float) -> Peers:
    n = int(others["enterprise"].nunique())
    why = peers_hidden(n)
    if why is not None:
        return Peers(count=n, shown=False, hidden=why)
    scores = others["overall"].to_numpy(dtype=np.float64)
    return Peers(
        count=n,
        shown=True,
        links={
            k: (None if others[f"link.{k}"].isna().all() else float(others[f"link.{k}"].median()))
            for k in LINKS
        },
        overall=float(np.median(scores)),
        rank=1 + int((scores > overall).sum()),
        percentile=round(bm.percentile_of(overall, scores), 1),
    )


def peer_position(
    session: Session, enterprise_id: int, sector: str, year: int, overall: float
) -> PeerPosition:
    """Where a firm's overall level stands in its sector and in its cluster, in one year."""
    ent = session.get(Enterprise, enterprise_id)
    cluster = session.get(Cluster, ent.cluster_id) if ent is not None else None
    if cluster is None or math.isnan(overall):
        empty = Peers(count=0, shown=False, hidden=peers_hidden(0))
        return PeerPosition(empty, empty)
    frame = frame_of(session, Scope(region=cluster.region_id, first_year=year, last_year=year))
    others = frame[(frame["enterprise"] != enterprise_id).to_numpy()]
    in_sector = others[(others["sector"] == sector).to_numpy()]
    in_cluster = others[(others["cluster"] == cluster.code).to_numpy()]
    return PeerPosition(_peers(in_sector, overall), _peers(in_cluster, overall))
