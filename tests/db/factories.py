"""Small builders for database tests: the shipped region, an enterprise, a user."""

from __future__ import annotations

import itertools

from sqlmodel import Session, select

from assess.accounts import uscc
from assess.accounts.enterprises import create_enterprise
from assess.questionnaire.compile import shipped_catalog
from assess.questionnaire.region import load_region
from assess.store.models import Cluster, Enterprise

_serial = itertools.count(1)


def region(session: Session) -> dict[str, Cluster]:
    """Load the Jilin City profile; cluster code → row."""
    load_region(session, shipped_catalog().regions["jilin_city"])
    return {c.code: c for c in session.exec(select(Cluster))}


def enterprise(
    session: Session, sector: str = "petrochemicals", cluster: str = "fine_chem", **kw
) -> Enterprise:
    """A valid enterprise in the given sector and cluster."""
    clusters = region(session)
    n = next(_serial)
    data = {
        "name": f"测试企业{n}",
        "uscc": uscc.make(f"91220200{n:08d}"),
        "sector": sector,
        "cluster_id": clusters[cluster].id,
        "staff_band": "300_999",
        **kw,
    }
    return create_enterprise(session, **data)
