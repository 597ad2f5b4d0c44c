"""The names the analytics show, each from its one home: stages, links and aspects from the
latest methodology, sectors from their questionnaires, clusters and parks from the region in the
database, the analytics rules from their file. Everything is a (Chinese, English) pair."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlmodel import Session, select

from assess.analytics.frame import cached
from assess.questionnaire.compile import shipped_catalog
from assess.questionnaire.schema import AnalyticsFile, MethodologyFile
from assess.store.models import Cluster, Park, StaffBand
from scoring import ASPECTS, LINKS, STAGES

Pair = tuple[str, str]

#: Staff size bands in words (the statistical size classes of industrial enterprises).
SIZE_NAMES: dict[str, Pair] = {
    StaffBand.micro.value: ("20人以下", "fewer than 20"),
    StaffBand.small.value: ("20～299人", "20–299"),
    StaffBand.medium.value: ("300～999人", "300–999"),
    StaffBand.large.value: ("1000人及以上", "1,000 or more"),
}
#: Score kinds in words.
KIND_NAMES: dict[str, Pair] = {
    "preferred": ("已认定优先（无认定时用自评）", "certified where there is, else self-reported"),
    "self": ("企业自评", "self-reported"),
    "certified": ("第三方认定", "certified"),
}


@lru_cache(maxsize=1)
def methodology() -> MethodologyFile:
    """The latest published methodology: the names and rules the analytics speak of."""
    cat = shipped_catalog()
    published = [v for v, m in cat.methodologies.items() if not m.draft]
    return cat.methodologies[max(published)]


def analytics_rules() -> AnalyticsFile:
    """The analytics rules in force."""
    return shipped_catalog().analytics_rules()


@dataclass(frozen=True)
class Vocabulary:
    """Every name a dashboard needs, by code."""

    stages: dict[str, Pair]
    links: dict[str, Pair]
    figures: dict[str, Pair]
    sectors: dict[str, Pair]
    clusters: dict[str, Pair]
    parks: dict[str, Pair]
    sizes: dict[str, Pair]
    kinds: dict[str, Pair]
    adoption_rule: Pair


@lru_cache(maxsize=1)
def _fixed() -> tuple[dict[str, Pair], dict[str, Pair], dict[str, Pair], dict[str, Pair], Pair]:
    m = methodology()
    stages: dict[str, Pair] = {s.id: (s.name.zh, s.name.en) for s in m.stages.names}
    links: dict[str, Pair] = {x.id: (x.name.zh, x.name.en) for x in m.links}
    aspects: dict[str, Pair] = {x.id: (x.name.zh, x.name.en) for x in m.aspects}
    figures: dict[str, Pair] = {"overall": ("总体水平", "Overall level")}
    figures.update({f"link.{k}": links[k] for k in LINKS})
    figures.update({f"aspect.{k}": aspects[k] for k in ASPECTS})
    figures.update({f"applied.{k}": links[k] for k in LINKS})
    cat = shipped_catalog()
    sectors: dict[str, Pair] = {}
    for sector in cat.sectors:
        name = cat.modules[sector][max(cat.modules[sector])].sector.name
        sectors[sector] = (name.zh, name.en)
    a = m.it_adoption
    rule = (
        f"信息技术应用企业：至少 {a.min_links} 个适用环节的关键系统进入日常使用"
        + (f"，且该环节得分不低于 {a.min_link_level:g}" if a.min_link_level else ""),
        f"IT adopter: a key system in routine use in at least {a.min_links} of the links that"
        " apply to the firm"
        + (f", each scoring at least {a.min_link_level:g}" if a.min_link_level else ""),
    )
    assert set(stages) >= set(STAGES)
    return stages, links, figures, sectors, rule


def vocabulary(session: Session) -> Vocabulary:
    """The names for this database's region(s) and the shipped library (kept while the data
    is unchanged: clusters and parks are part of it)."""
    return cached(session, ("vocabulary",), lambda: _vocabulary(session))


def _vocabulary(session: Session) -> Vocabulary:
    stages, links, figures, sectors, rule = _fixed()
    clusters = {c.code: (c.name_zh, c.name_en) for c in session.exec(select(Cluster))}
    parks = {p.code: (p.name_zh, p.name_en) for p in session.exec(select(Park))}
    parks[""] = ("不在园区", "no park")
    return Vocabulary(
        stages=stages,
        links=links,
        figures=figures,
        sectors=sectors,
        clusters=clusters,
        parks=parks,
        sizes=SIZE_NAMES,
        kinds=KIND_NAMES,
        adoption_rule=rule,
    )
