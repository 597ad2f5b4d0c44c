"""Region profiles in the database: the region, its clusters and parks, loaded from YAML."""

from __future__ import annotations

import hashlib
import json

from sqlmodel import Session, select

from assess.questionnaire.schema import RegionFile
from assess.store.models import Cluster, Park, Region


def profile_hash(region: RegionFile) -> str:
    """sha256 of the parsed profile, so that reloading an unchanged file changes nothing."""
    data = json.dumps(region.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(data.encode()).hexdigest()


def load_region(session: Session, region: RegionFile) -> Region:
    """Create or update a region with its clusters, parks and targets (clusters and parks by code);
    safe to run again.

    Clusters and parks that the file no longer lists are kept: enterprises may refer to them.
    """
    row = session.get(Region, region.id)
    digest = profile_hash(region)
    if row is None:
        row = Region(id=region.id, name_zh=region.name.zh, name_en=region.name.en, content_hash="")
        session.add(row)
    row.name_zh, row.name_en, row.content_hash = region.name.zh, region.name.en, digest
    row.targets = region.targets.model_dump(mode="json")
    clusters = {
        c.code: c for c in session.exec(select(Cluster).where(Cluster.region_id == region.id))
    }
    for c in region.clusters:
        crow = clusters.get(c.id)
        if crow is None:
            crow = Cluster(
                region_id=region.id,
                code=c.id,
                name_zh=c.name.zh,
                name_en=c.name.en,
                default_sector=c.default_sector,
            )
        crow.name_zh, crow.name_en, crow.default_sector = c.name.zh, c.name.en, c.default_sector
        session.add(crow)
    parks = {p.code: p for p in session.exec(select(Park).where(Park.region_id == region.id))}
    for p in region.parks:
        prow = parks.get(p.id)
        if prow is None:
            prow = Park(region_id=region.id, code=p.id, name_zh=p.name.zh, name_en=p.name.en)
        prow.name_zh, prow.name_en = p.name.zh, p.name.en
        session.add(prow)
    session.flush()
    return row
