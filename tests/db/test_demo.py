"""The demo population on SQLite and PostgreSQL: its shape, its scores, its accounts, reruns."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from assess.accounts.enterprises import update_enterprise
from assess.accounts.users import authenticate, check_password_policy
from assess.analytics.indicators import FirmAnswers, national_indicators
from assess.assessment import lifecycle as svc
from assess.demo import (
    CERTIFICATION_BODY,
    DEMO_PASSWORD,
    LAST_YEAR,
    V2_FROM,
    DemoSummary,
    build_demo,
)
from assess.questionnaire.compile import shipped_catalog, spec_for
from assess.store import db
from assess.store.models import (
    Answer,
    Assessment,
    Certificate,
    CertificationBody,
    Cluster,
    Enterprise,
    Park,
    Role,
    ScoreRecord,
    Status,
    StatusChange,
    User,
    UserCluster,
)
from scoring import LINKS, encode_answers, score

SMALL = 24  # firms, where the size of the population is not the point
TABLES = (
    Cluster,
    Park,
    CertificationBody,
    Enterprise,
    Assessment,
    Answer,
    ScoreRecord,
    StatusChange,
    User,
    UserCluster,
)


def _build(engine: sa.Engine, **kw) -> DemoSummary:
    with Session(engine) as s:
        summary = build_demo(s, **kw)
        s.commit()
    return summary


def _counts(s: Session) -> dict[str, int]:
    return {t.__name__: s.exec(select(func.count()).select_from(t)).one() for t in TABLES}


# The full-size population takes a while to build; its shape does not depend on the database.
@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
def test_the_default_demo_covers_every_cluster_and_questionnaire_and_tells_the_adoption_story(
    engine,
):
    summary = _build(engine)
    assert summary.created and summary.enterprises >= 400
    with Session(engine) as s:
        firms = s.exec(select(Enterprise)).all()
        clusters = {c.id: c.code for c in s.exec(select(Cluster))}
        assert len(firms) == summary.enterprises
        assert {clusters[f.cluster_id] for f in firms} == set(clusters.values())
        assert {f.sector for f in firms} == set(shipped_catalog().versions())
        per_sector = Counter(f.sector for f in firms)
        assert per_sector["pharma"] >= 5
        # Most firms keep their cluster's questionnaire; a few do not.
        defaults = {c.id: c.default_sector for c in s.exec(select(Cluster))}
        off = sum(f.sector != defaults[f.cluster_id] for f in firms)
        assert 0.03 * len(firms) < off < 0.15 * len(firms)
        assert {f.staff_band for f in firms} == {"lt20", "20_299", "300_999", "ge1000"}
        assert len({f.name for f in firms}) == len(firms)

        years = s.exec(select(Assessment.enterprise_id, Assessment.year)).all()
        first = defaultdict(lambda: 9999)
        for ent, year in years:
            first[ent] = min(first[ent], year)
        assert len(years) == summary.assessments
        assert {y for _, y in years} == set(range(2013, 2021))
        late = [e for e, y in first.items() if y >= 2015]
        assert 0 < len(late) < 0.2 * len(firms)

        rows = s.exec(
            select(Cluster.code, Assessment.year, ScoreRecord.it_adopter, ScoreRecord.stage)
            .join(Enterprise, col(Enterprise.cluster_id) == col(Cluster.id))
            .join(Assessment, col(Assessment.enterprise_id) == col(Enterprise.id))
            .join(ScoreRecord, col(ScoreRecord.assessment_id) == col(Assessment.id))
        ).all()
    rates = summary.adoption
    assert sorted(rates) == list(range(2013, 2021))
    assert 0.45 <= rates[2013] <= 0.55
    assert all(rates[y] < rates[y + 1] for y in range(2013, 2020))
    by_cluster: dict[str, list[bool]] = defaultdict(list)
    for code, year, adopter, _ in rows:
        if year == 2020:
            by_cluster[code].append(adopter)
    share = {k: sum(v) / len(v) for k, v in by_cluster.items()}
    assert any(v > 0.70 for v in share.values()), share
    assert any(v < 0.70 for v in share.values()), share
    stages_2020 = Counter(stage for _, year, _, stage in rows if year == 2020)
    assert {"initial", "single_coverage", "integration", "innovation"} <= set(stages_2020)
    assert "undetermined" not in {stage for *_, stage in rows}
    # The last year's cluster rates spread around the plan's 70% goal, as a real region's do.
    assert all(0.5 <= v <= 0.9 for v in share.values()), share
    assert 0.6 <= sum(share.values()) / len(share) <= 0.8, share

    with Session(engine) as s:
        population = _assessments(s)
    _versions_by_year(population)
    _levels_grow_like_the_national_series(population)
    _firms_without_a_shop_answer_like_it(population)
    _context_answers_stay_put(population)
    _indicators_track_the_national_series(population)
    _stages_order_the_levels(population)


def _stages_order_the_levels(population: list[_Assessed]) -> None:
    """On each version, a stage's median level is above the median of the stage below, and
    few firms of a stage lie below the median of the one beneath (docs/methodology.md §10.1)."""
    ladder = ("initial", "single_coverage", "integration", "innovation")
    for version in (1, 2):
        levels: dict[str, list[float]] = defaultdict(list)
        for a in population:
            if a.version == version:
                levels[a.card["stage"]].append(a.overall)
        medians = [statistics.median(levels[s]) for s in ladder]
        assert medians == sorted(medians) and len(set(medians)) == 4, (version, medians)
        for low, high, median in zip(ladder, ladder[1:], medians, strict=False):
            below = sum(x < median for x in levels[high]) / len(levels[high])
            assert below <= 0.05, (version, low, high, below)


@dataclass
class _Assessed:
    firm: int
    cluster: str
    sector: str
    year: int
    version: int
    overall: float
    card: dict
    answers: dict
    copied: bool = False  # a planted copy of another firm's answers (assess.demo._PLANTED)


def _assessments(s: Session) -> list[_Assessed]:
    from assess.demo import _plan

    firms = s.exec(select(Enterprise.uscc)).all()
    copiers = {f.uscc for f in _plan(2014, len(firms), {}) if f.planted == "copy"}
    rows = s.exec(
        select(Assessment, ScoreRecord, Enterprise, Cluster)
        .join(Enterprise, col(Enterprise.id) == col(Assessment.enterprise_id))
        .join(Cluster, col(Cluster.id) == col(Enterprise.cluster_id))
        .join(ScoreRecord, col(ScoreRecord.assessment_id) == col(Assessment.id))
        .where(ScoreRecord.kind == "self")  # the firms' own scores (some are certified too)
    ).all()
    answers: dict[int, dict] = defaultdict(dict)
    for aid, qid, value in s.exec(select(Answer.assessment_id, Answer.question, Answer.value)):
        answers[aid][qid] = value
    return [
        _Assessed(
            firm.id or 0,
            cluster.code,
            firm.sector,
            a.year,
            a.questionnaire_version,
            rec.overall,
            rec.card,
            answers[a.id or 0],
            firm.uscc in copiers and a.year == LAST_YEAR,
        )
        for a, rec, firm, cluster in rows
    ]


def _versions_by_year(population: list[_Assessed]) -> None:
    """2013–2019 on questionnaire version 1, the last demo year on version 2: both appear."""
    assert V2_FROM == 2020
    for a in population:
        assert a.version == (2 if a.year >= V2_FROM else 1), (a.year, a.version)
        assert a.card["version"] == a.version


def _levels_grow_like_the_national_series(population: list[_Assessed]) -> None:
    """The mean level grows about 2–3 points a year (nationally 2–3), never by leaps."""
    by_year: dict[int, list[float]] = defaultdict(list)
    for a in population:
        by_year[a.year].append(a.overall)
    mean = {y: sum(v) / len(v) for y, v in sorted(by_year.items())}
    years = sorted(mean)
    growth = (mean[years[-1]] - mean[years[0]]) / (years[-1] - years[0])
    assert 1.5 <= growth <= 3.5, mean
    for y in years[1:]:
        # Version 1 years grow steadily. The change of version adds a step of its own, on the
        # same standing of the firms: version 2 scores the key systems' in-use rung like the
        # same rung elsewhere, and no longer counts a production link against firms that have
        # no shop.
        top = 6.0 if y == V2_FROM else 3.5
        assert 0.5 <= mean[y] - mean[y - 1] <= top, (y, mean)


def _firms_without_a_shop_answer_like_it(population: list[_Assessed]) -> None:
    """Software firms have no shop: on version 2 they say so; on version 1 they never answer a
    DCS, NC or MES in routine use (bottom rungs, N/A where allowed)."""
    shop = {a.firm: a.answers["core.ctx.production"] for a in population if a.version == 2}
    # (Firms whose last year is still a draft have no score there: judged on version 1 only.)
    assert shop and set(shop.values()) <= {"own", "outsourced", "none"}
    software = {a.firm for a in population if a.answers.get("general.ctx.business") == "SOFT"}
    assert len(software) >= 20
    assert all(shop[f] == "none" for f in software if f in shop)
    assert sum(f in shop for f in software) >= 0.8 * len(software)
    in_cluster = [a.firm for a in population if a.cluster == "software_cloud" and a.version == 2]
    assert sum(shop[f] != "own" for f in in_cluster) > 0.7 * len(in_cluster)
    without = {f for f, v in shop.items() if v != "own"}
    for a in population:
        if a.firm not in without:
            continue
        if a.version == 1:
            assert a.answers["core.prod.control_system"] in ("A", "B"), a.answers
            assert a.answers["core.prod.mes"] in ("A", "B")
            assert a.answers["core.prod.nc_rate"] in (0, "na")
        else:  # the production link does not apply: not asked, not scored
            assert not [q for q in a.answers if q.startswith("core.prod.")]
            assert a.card["links"]["production"] is None


def _context_answers_stay_put(population: list[_Assessed]) -> None:
    """A firm's answers about itself (cold chain, major hazard, fibre form, …) never change."""
    context = {
        q.id
        for sector in shipped_catalog().versions()
        for version in (1, 2)
        for q in spec_for(sector, version, 2020).questions
        if not q.scored and q.kind in ("single_choice", "multiple_choice", "yes_no")
    }
    seen: dict[tuple[int, str], object] = {}
    for a in population:
        if a.copied:
            continue  # a planted copy: its last year is another firm's answers (screening's case)
        for qid, value in a.answers.items():
            if qid in context:
                assert seen.setdefault((a.firm, qid), value) == value, (a.firm, qid)
    assert len(seen) > 400


def _indicators_track_the_national_series(population: list[_Assessed]) -> None:
    """The national headline indicators, on the methodology's definitions, follow the national
    series within their calibers (DOMAIN §5): digital management about 50–55% in 2013 and near
    70% at the end; key-process NC rate (firms with a shop) about 25–30% in 2013 rising towards
    50%; industrial-internet platforms only from 2017; digital R&D tools towards 70–75%."""
    shop = {a.firm: a.answers["core.ctx.production"] for a in population if a.version == 2}
    # (Firms whose last year is still a draft have no score there: judged on version 1 only.)
    by_year: dict[int, list[_Assessed]] = defaultdict(list)
    for a in population:
        by_year[a.year].append(a)
    value: dict[int, dict[str, float | None]] = {}
    for year, group in sorted(by_year.items()):
        firms = [FirmAnswers(a.sector, a.version, a.year, a.answers) for a in group]
        value[year] = {i.id: i.value for i in national_indicators(firms)}
        with_shop = [f for f, a in zip(firms, group, strict=True) if shop.get(a.firm) == "own"]
        nc = {i.id: i for i in national_indicators(with_shop)}["key_process_nc_rate"]
        value[year]["nc"] = nc.value
        platform = sum(a.answers.get("core.col.platform") in ("C", "D") for a in group) / len(group)
        if year < 2017:
            assert platform == 0, year
    first, last = min(value), max(value)
    v = {k: {y: value[y][k] or 0.0 for y in value} for k in value[first]}
    assert 45 <= v["digital_management"][first] <= 60, v["digital_management"]
    assert 60 <= v["digital_management"][last] <= 78, v["digital_management"]
    assert 22 <= v["nc"][first] <= 33, v["nc"]
    assert 42 <= v["nc"][last] <= 58, v["nc"]
    assert v["industrial_internet_platform"][2016] == 0
    assert 0 < v["industrial_internet_platform"][2017] < v["industrial_internet_platform"][last]
    assert v["industrial_internet_platform"][last] <= 40
    assert 45 <= v["digital_rd_tools"][first] <= 62, v["digital_rd_tools"]
    assert 65 <= v["digital_rd_tools"][last] <= 82, v["digital_rd_tools"]
    for k in ("digital_management", "nc", "digital_rd_tools"):
        assert v[k][last] - v[k][first] >= 10, (k, v[k])
    # Firms mostly answer consistently: few key systems the module's own answers contradict.
    flagged = [a for a in by_year[last] if any(f["key_system"] for f in a.card.get("flags", []))]
    assert len(flagged) <= 0.1 * len(by_year[last])


def test_firms_sit_in_their_clusters_lead_park_and_pass_the_enterprise_checks(engine):
    _build(engine, enterprises=SMALL)
    region = shipped_catalog().regions["jilin_city"]
    lead = {c: p.id for p in region.parks for c in p.lead_clusters}
    with Session(engine) as s:
        clusters = {c.id: c.code for c in s.exec(select(Cluster))}
        parks = {p.id: p.code for p in s.exec(select(Park))}
        for ent in s.exec(select(Enterprise)).all():
            code = clusters[ent.cluster_id]
            assert ent.park_id is None or parks[ent.park_id] == lead.get(code)
            assert ent.name.startswith("吉林") and ent.name.endswith("公司")
            assert ent.contact_name and ent.contact_phone
            fields = (
                "name",
                "uscc",
                "sector",
                "cluster_id",
                "park_id",
                "staff_band",
                "contact_name",
                "contact_phone",
                "contact_email",
            )
            # The service refuses anything invalid (credit code, phone, band, park, sector).
            update_enterprise(
                s,
                ent,
                ent.version,
                {k: getattr(ent, k) for k in fields},
                contact_only=False,
            )
            assert ent.uscc.startswith("91220200")
        s.rollback()


def test_running_it_again_creates_nothing_and_reports_the_same_population(engine):
    first = _build(engine, enterprises=SMALL)
    with Session(engine) as s:
        before = _counts(s)
    again = _build(engine, enterprises=SMALL)
    with Session(engine) as s:
        assert _counts(s) == before
    assert first.created and not again.created
    assert (again.enterprises, again.assessments) == (first.enterprises, first.assessments)
    assert again.accounts == first.accounts and again.adoption == first.adoption
    assert before["User"] == 5 and before["Enterprise"] == SMALL


def test_a_larger_demo_adds_only_the_new_firms(engine):
    small = _build(engine, enterprises=8)
    with Session(engine) as s:
        kept = {e.uscc: e.id for e in s.exec(select(Enterprise))}
    larger = _build(engine, enterprises=12)
    with Session(engine) as s:
        now = {e.uscc: e.id for e in s.exec(select(Enterprise))}
    assert larger.created and larger.enterprises == 12 and len(now) == 12
    assert {k: now[k] for k in kept} == kept
    assert larger.assessments > small.assessments
    assert not _build(engine, enterprises=12).created


def test_a_demo_needs_at_least_one_firm(engine):
    with Session(engine) as s, pytest.raises(ValueError):
        build_demo(s, enterprises=0)


def test_missing_demo_accounts_are_created_again_and_nothing_else(engine):
    _build(engine, enterprises=SMALL)
    with Session(engine) as s:
        admin = s.exec(select(User).where(User.username == "demo-admin")).one()
        s.delete(admin)
        s.commit()
        before = _counts(s)
    summary = _build(engine, enterprises=SMALL)
    with Session(engine) as s:
        after = _counts(s)
    assert not summary.created
    assert after == {**before, "User": before["User"] + 1}
    assert [a.username for a in summary.accounts] == [
        "demo-enterprise",
        "demo-certifier",
        "demo-certifier2",
        "demo-cluster",
        "demo-admin",
    ]


def _population(engine: sa.Engine) -> list[tuple]:
    with Session(engine) as s:
        q = (
            select(Enterprise.uscc, Enterprise.name, Enterprise.sector, Assessment.year)
            .add_columns(Answer.question, Answer.value)
            .join(Assessment, col(Assessment.enterprise_id) == col(Enterprise.id))
            .join(Answer, col(Answer.assessment_id) == col(Assessment.id))
        )
        # Values compare with ==: SQLite hands a stored 30.0 back as 30 (NUMERIC affinity).
        return sorted((tuple(r) for r in s.exec(q).all()), key=lambda r: r[:5])


def test_the_same_seed_gives_the_same_population_and_another_seed_a_new_one(engine, tmp_path: Path):
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    db.upgrade(other_url)
    other = db.make_engine(other_url)
    try:
        a = _build(engine, seed=7, enterprises=12)
        b = _build(other, seed=7, enterprises=12)
        assert _population(engine) == _population(other)
        assert (a.assessments, a.adoption) == (b.assessments, b.adoption)
        c = _build(engine, seed=8, enterprises=12)
        assert c.created and c.enterprises == 12
        with Session(engine) as s:
            assert s.exec(select(func.count()).select_from(Enterprise)).one() == 24
    finally:
        other.dispose()


def test_every_stored_card_equals_a_fresh_score_of_the_stored_answers(engine):
    _build(engine, enterprises=SMALL)
    with Session(engine) as s:
        done = s.exec(
            select(Assessment).where(Assessment.status == "submitted").order_by(col(Assessment.id))
        ).all()
        assert done
        for a in done[::3]:
            rec = s.exec(select(ScoreRecord).where(ScoreRecord.assessment_id == a.id)).one()
            card = score(svc.spec_of(a), svc.raw_answers(svc.answers_of(s, a)))
            assert rec.card == card.model_dump(mode="json")
            assert rec.kind == "self" and rec.content_hash == card.content_hash
            assert (rec.overall, rec.stage, rec.it_adopter) == (
                card.overall,
                card.stage,
                card.it_adopter,
            )
            assert rec.it_links == len(card.it_links) and rec.missing_required == 0
            assert [getattr(rec, f"link_{k}") for k in LINKS] == [card.links[k] for k in LINKS]
            assert {k: getattr(rec, f"aspect_{k}") for k in card.aspects} == card.aspects


def test_every_assessment_is_submitted_complete_and_pinned_like_a_service_created_one(engine):
    _build(engine, enterprises=SMALL)
    with Session(engine) as s:
        sectors = {e.id: e.sector for e in s.exec(select(Enterprise))}
        history: dict[int, list[tuple]] = defaultdict(list)
        for h in s.exec(select(StatusChange).order_by(col(StatusChange.id))):
            history[h.assessment_id].append((h.from_status, h.to_status, h.by_user))
        overall = []
        drafts = 0
        firms = len(sectors)
        for a in s.exec(select(Assessment)).all():
            # Pinned to the version its answers were scored with: 2 in the last demo year.
            spec = spec_for(a.questionnaire, a.questionnaire_version, a.year)
            assert a.questionnaire == sectors[a.enterprise_id]
            assert a.questionnaire_version == (2 if a.year >= V2_FROM else 1)
            assert a.content_hash == spec.content_hash == svc.spec_of(a).content_hash
            assert a.created_at.year == a.year
            answers = svc.raw_answers(svc.answers_of(s, a))
            if a.status == Status.draft:
                # A few firms are still filling in the last year: a draft with no score.
                assert a.year == LAST_YEAR and a.version == 1 and a.submitted_at is None
                assert history[a.id] == [(None, "draft", None)]
                assert (
                    s.exec(select(ScoreRecord).where(ScoreRecord.assessment_id == a.id)).first()
                    is None
                )
                drafts += 1
                continue
            assert a.submitted_at is not None and a.created_at < a.submitted_at
            assert history[a.id][:2] == [(None, "draft", None), ("draft", "submitted", None)]
            if a.status == Status.certified:
                # Certified by a certifier of a demo body: its review, certified score and
                # certificate are there.
                assert a.version == 4 and [h[1] for h in history[a.id][2:]] == [
                    "under_review",
                    "certified",
                ]
                assert s.exec(select(Certificate).where(Certificate.assessment_id == a.id)).one()
                kinds = s.exec(
                    select(ScoreRecord.kind).where(ScoreRecord.assessment_id == a.id)
                ).all()
                assert sorted(kinds) == ["certified", "self"]
            else:
                assert (a.status, a.version) == (Status.submitted, 2)
                assert len(history[a.id]) == 2
            encode_answers(spec, answers)  # raises on any invalid answer
            card = svc.card_of(s, a)
            assert card.missing_required == [] and card.stage != "undetermined"
            # Every N/A and exemption carries a reason (version 2 asks for one).
            assert svc.missing_reasons(s, a, card) == []
            overall.append(round(card.overall))
        assert len(set(overall)) > 15  # scores spread out, not one template
        assert 0 < drafts < 0.2 * firms  # most of the last year is submitted, not all


def test_each_demo_account_signs_in_with_the_demo_password_and_sees_its_scope(engine):
    summary = _build(engine, enterprises=SMALL)
    by_name = {a.username: a for a in summary.accounts}
    assert sorted(by_name) == [
        "demo-admin",
        "demo-certifier",
        "demo-certifier2",
        "demo-cluster",
        "demo-enterprise",
    ]
    with Session(engine) as s:
        for account in summary.accounts:
            assert account.password == DEMO_PASSWORD
            assert check_password_policy(DEMO_PASSWORD, account.username) == []
            result = authenticate(s, account.username, DEMO_PASSWORD, "127.0.0.1")
            assert result.ok and result.user is not None
            assert result.user.role == account.role
        s.commit()

        users = {u.username: u for u in s.exec(select(User))}
        firm = s.get(Enterprise, users["demo-enterprise"].enterprise_id)
        assert firm is not None and firm.sector == "petrochemicals"
        cluster = s.get(Cluster, firm.cluster_id)
        assert cluster is not None and cluster.code == "fine_chem"
        assert by_name["demo-enterprise"].scope_zh == firm.name
        own = svc.assessments_of(s, firm.id or 0)
        assert sorted(a.year for a in own) == list(range(2013, 2021))

        body = s.get(CertificationBody, users["demo-certifier"].cert_body_id)
        assert body is not None and body.name == CERTIFICATION_BODY
        assert users["demo-certifier"].role == Role.certifier

        managed = s.exec(
            select(Cluster.code)
            .join(UserCluster, col(UserCluster.cluster_id) == col(Cluster.id))
            .where(UserCluster.user_id == users["demo-cluster"].id)
        ).all()
        assert 2 <= len(managed) <= 3
        for code in managed:
            name = s.exec(select(Cluster.name_zh).where(Cluster.code == code)).one()
            assert name in by_name["demo-cluster"].scope_zh

        admin = users["demo-admin"]
        assert admin.role == Role.admin and admin.enterprise_id is None
        assert admin.cert_body_id is None


def test_the_demo_enterprise_can_start_2021_from_its_2020_answers(engine):
    _build(engine, enterprises=SMALL)
    with Session(engine) as s:
        user = s.exec(select(User).where(User.username == "demo-enterprise")).one()
        firm = s.get(Enterprise, user.enterprise_id)
        assert firm is not None
        last = next(a for a in svc.assessments_of(s, firm.id or 0) if a.year == 2020)
        assert last.questionnaire_version == 2
        new = svc.start_assessment(s, firm, 2021, by_user=user.id, copy_last_year=True)
        # A new assessment starts on the sector's current published version, never on an older
        # one than the year before: here 2020's version 2, and every answer carries over.
        version = max(shipped_catalog().versions()[firm.sector][-1], last.questionnaire_version)
        assert (new.questionnaire, new.questionnaire_version) == (last.questionnaire, version)
        assert new.questionnaire_version == 2
        before = svc.raw_answers(svc.answers_of(s, last))
        copied = svc.raw_answers(svc.answers_of(s, new))
        assert new.content_hash == last.content_hash and copied == before
        assert svc.version_change(s, new) is None
        card = svc.submit(s, new, pledge=True, by_user=user.id)
        assert card.missing_required == []
        s.commit()


def test_a_demo_made_with_an_earlier_draft_is_refused_not_served(engine):
    from assess.demo import stale_assessments

    _build(engine, enterprises=3, processes=1)
    with Session(engine) as s:
        assert stale_assessments(s) == 0
        latest = s.exec(select(Assessment).where(Assessment.questionnaire_version == 2)).all()
        assert latest, "the latest demo year is on version 2"
        latest[0].content_hash = "sha256:" + "0" * 64  # as if made with an earlier draft
        s.add(latest[0])
        s.commit()
        assert stale_assessments(s) == 1


def test_the_demo_plants_a_few_anomalies_for_the_screening_to_find(engine):
    """Firms with a planted anomaly (see assess.demo._PLANTED) are among those the screening
    flags for it: a year that leaps (and falls back), a key system given up within one
    questionnaire version, identical answers; most firms are not flagged at all."""
    from assess.analytics import frame
    from assess.analytics.frame import Scope, read_frame
    from assess.analytics.screen import screen_frame
    from assess.demo import _PLANTED, _plan

    size = 100  # the first firm of each anomaly has index 13, 41 or 71
    _build(engine, enterprises=size)
    frame.clear_cache()
    planted = {f.uscc: f.planted for f in _plan(2014, size, {}) if f.planted}
    assert set(planted.values()) == {"jump", "key_back", "copy"}
    with Session(engine) as s:
        uscc = {e.id: e.uscc for e in s.exec(select(Enterprise))}
        data = read_frame(s, Scope(extras=("digest",)))
        found: dict[str, set[str]] = defaultdict(set)
        flagged = set()
        for year in (LAST_YEAR - 1, LAST_YEAR):
            screen = screen_frame(data, year)
            for row in screen.flags.itertuples():
                found[uscc[int(row.enterprise)]].add(str(row.rule))
            flagged |= {int(e) for e in screen.flags["enterprise"]}
    expected = {"jump": "jump", "key_back": "key_system_back", "copy": "copied"}
    for code, kind in planted.items():
        assert expected[kind] in found[code], (kind, found[code])
    assert len(flagged) < 0.35 * len(uscc)  # the screen picks out a minority
    assert set(_PLANTED.values()) == set(expected)


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
def test_the_demo_certification_history_queues_and_audit_trail(engine):
    """Past years certified with certificates (expired by now, one revoked), some of the last
    year certified lately (valid); each body's queue of last year's submissions, a flagged one
    first; the demo firm's certification with an adjusted answer; the whole history in one
    audit chain that verifies."""
    from datetime import date

    from assess.certification.views import queue_view
    from assess.store import audit
    from assess.store.models import CertificateStatus, Conflict, Review, ReviewItem
    from assess.store.states import certificate_status

    _build(engine, enterprises=100)
    today = date.today()
    with Session(engine) as s:
        certs = s.exec(select(Certificate)).all()
        status = [certificate_status(c.status, c.expires_on, today) for c in certs]
        assert status.count(CertificateStatus.revoked) == 1
        assert CertificateStatus.expired in status and CertificateStatus.valid in status
        assert {c.year for c in certs} >= {2015, 2019, LAST_YEAR}
        users = {u.username: u for u in s.exec(select(User))}
        firm = users["demo-enterprise"].enterprise_id
        adjusted = s.exec(
            select(ReviewItem, Assessment)
            .join(Review, col(Review.id) == col(ReviewItem.review_id))
            .join(Assessment, col(Assessment.id) == col(Review.assessment_id))
            .where(Assessment.enterprise_id == firm)
        ).all()
        assert adjusted and all(i.reason and i.decision == "adjusted" for i, _ in adjusted)
        recs = {
            r.kind: r.overall
            for r in s.exec(
                select(ScoreRecord).where(ScoreRecord.assessment_id == adjusted[0][1].id)
            )
        }
        assert recs["certified"] < recs["self"]  # the adjustment lowered the certified level

        mine = queue_view(s, users["demo-certifier"], today)
        assert mine.rows and all(r.year == LAST_YEAR for r in mine.rows)
        assert mine.rows[0].reasons  # the screening's flagged submission comes first
        assert mine.counts["mine"] == 3 and any(r.overdue for r in mine.rows)
        # The demo certifier declared a conflict with one waiting firm: it does not see it.
        conflicts = s.exec(select(Conflict)).all()
        assert [c.certifier_id for c in conflicts] == [users["demo-certifier"].id]
        everyone = queue_view(s, users["demo-admin"], today)

        def firms(rows: list) -> set[int]:
            return {s.get(Assessment, r.assessment).enterprise_id for r in rows}

        assert conflicts[0].enterprise_id in firms(everyone.rows) - firms(mine.rows)
        other = queue_view(s, users["demo-certifier2"], today)
        assert other.rows and not {r.assessment for r in other.rows} & {
            r.assessment for r in mine.rows
        }
        verdict = audit.verify(s)
        assert (
            verdict.ok
            and verdict.rows > s.exec(select(func.count()).select_from(StatusChange)).one()
        )
