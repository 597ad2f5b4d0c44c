"""The demonstration-enterprise shortlist over HTTP: ranking, the manager's decisions, scope,
and the Excel export, on a real SQLite database.

The fine-chemicals cluster gets eight firms with chosen scores over 2018–2020 (stored directly
as submitted assessments with score records: the shortlist reads only the score columns). Three
meet the rule; each of the other five fails one condition of it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, col, select
from starlette.routing import NoMatchFound

from assess.accounts.users import create_user
from assess.store.models import (
    Assessment,
    Cluster,
    DemonstrationDecision,
    Enterprise,
    ScoreRecord,
    Status,
)
from tests.db import factories
from tests.web.conftest import FAST, PASSWORD, World, make_client, sign_in
from web.routes import demonstration

PAGE = "/cluster/fine_chem/demonstration"
DECIDE = f"{PAGE}/decisions"


def _score(
    s: Session,
    a: Assessment,
    overall: float,
    *,
    stage: str = "integration",
    flags: int = 0,
    kind: str = "self",
) -> None:
    figures: dict[str, Any] = {
        f"link_{k}": overall for k in ("rd", "production", "management", "marketing")
    }
    figures |= {
        f"aspect_{k}": overall
        for k in ("infrastructure", "single_app", "integration", "collaboration", "competitiveness")
    }
    figures |= {f"applied_{k}": 1 for k in ("rd", "production", "management", "marketing")}
    s.add(
        ScoreRecord(
            assessment_id=a.id or 0,
            kind=kind,
            content_hash="test",
            overall=overall,
            stage=stage,
            it_adopter=True,
            it_links=4,
            it_needed=3,
            missing_required=0,
            flags=flags,
            digest=f"{a.id:064x}",
            indicators={},
            card={},
            **figures,
        )
    )


def _submitted(s: Session, ent: Enterprise, year: int, overall: float, **kw: object) -> Assessment:
    a = Assessment(
        enterprise_id=ent.id or 0,
        year=year,
        questionnaire=ent.sector,
        questionnaire_version=1,
        content_hash="test",
        status=Status.submitted,
        submitted_at=datetime(year + 1, 3, 1, tzinfo=UTC),
    )
    s.add(a)
    s.flush()
    _score(s, a, overall, **kw)  # type: ignore[arg-type]
    return a


@dataclass
class Firms:
    """The cluster's firms by nickname (enterprise ids), and the clients by role."""

    ids: dict[str, int]
    names: dict[str, str]


#: nickname → (name, {year: overall}, stage in 2020, failed checks in 2020)
PLAN: dict[str, tuple[str, dict[int, float], str, int]] = {
    "certified": ("一号认定化工有限公司", {2018: 66, 2019: 68, 2020: 69}, "integration", 0),
    "best": ("二号精细化工有限公司", {2018: 80, 2019: 82, 2020: 85.04}, "innovation", 0),
    "third": ("三号助剂有限公司", {2018: 75, 2019: 76, 2020: 78}, "integration", 0),
    "low_stage": ("四号材料有限公司", {2018: 70, 2019: 71, 2020: 72}, "single_coverage", 0),
    "new": ("五号新材料有限公司", {2020: 90}, "innovation", 0),
    "fell": ("六号化学有限公司", {2018: 70, 2019: 60, 2020: 72}, "integration", 0),
    "flagged": ("七号涂料有限公司", {2018: 74, 2019: 75, 2020: 76}, "integration", 1),
    "weak": ("八号塑料有限公司", {2018: 50, 2019: 52, 2020: 55}, "integration", 0),
}


def build_firms(engine: sa.Engine) -> Firms:
    with Session(engine, expire_on_commit=False) as s:
        clusters = {c.code: c for c in s.exec(select(Cluster))}
        ids, names = {}, {}
        for nick, (name, years, stage, flags) in PLAN.items():
            ent = factories.enterprise(s, "petrochemicals", "fine_chem", name=name)
            for year, overall in years.items():
                last = year == 2020
                a = _submitted(
                    s,
                    ent,
                    year,
                    overall,
                    stage=stage if last else "integration",
                    flags=flags if last else 0,
                )
                if nick == "certified" and last:  # a certifier confirmed it a point higher
                    _score(s, a, 70.0, stage=stage, kind="certified")
            ids[nick], names[nick] = ent.id or 0, name
        create_user(
            s,
            username="user-auto-manager",
            password=PASSWORD,
            hasher=FAST,
            role="cluster_manager",
            cluster_ids=[clusters["auto"].id or 0],
        )
        create_user(
            s,
            username="user-second-chem-manager",
            display_name="王经理",
            password=PASSWORD,
            hasher=FAST,
            role="cluster_manager",
            cluster_ids=[clusters["fine_chem"].id or 0],
        )
        s.commit()
    return Firms(ids, names)


def _client(engine: sa.Engine, username: str | None) -> tuple[TestClient, str]:
    c = make_client(engine)
    try:  # the app may not carry the routes yet: include them in this test's app
        c.app.url_path_for("demonstration", code="x")  # type: ignore[attr-defined]
    except NoMatchFound:
        c.app.include_router(demonstration.router)  # type: ignore[attr-defined]
    token = sign_in(c, username) if username else ""
    return c, token


@pytest.fixture
def firms(sqlite_engine, world: World) -> Firms:
    return build_firms(sqlite_engine)


@pytest.fixture
def as_manager(sqlite_engine, world: World, firms: Firms) -> Iterator[tuple[TestClient, str]]:
    c, token = _client(sqlite_engine, world.users["cluster_manager"])
    with c:
        yield c, token


def _post(
    client: TestClient, token: str, enterprise: int, decision: str, reason: str = "", **extra: str
):
    data = {
        "year": "2020",
        "enterprise": str(enterprise),
        "decision": decision,
        "reason": reason,
        "csrf_token": token,
        **extra,
    }
    return client.post(DECIDE, data=data)


def _json(client: TestClient, query: str = "") -> dict:
    r = client.get(f"{PAGE}.json{query}")
    assert r.status_code == 200, r.text
    return r.json()


def _decisions(engine: sa.Engine) -> list[DemonstrationDecision]:
    with Session(engine) as s:
        return list(s.exec(select(DemonstrationDecision).order_by(col(DemonstrationDecision.id))))


def test_candidates_are_ranked_certified_first_then_by_overall_level(as_manager, firms):
    client, _ = as_manager
    view = _json(client)
    assert view["year"] == 2020
    ranked = [(c["rank"], c["enterprise"]) for c in view["candidates"]]
    assert ranked == [(1, firms.ids["certified"]), (2, firms.ids["best"]), (3, firms.ids["third"])]
    first, second = view["candidates"][:2]
    assert (first["kind"], first["overall"], first["gain"], first["years"]) == (
        "certified",
        70.0,
        4.0,
        3,
    )
    assert (second["overall"], second["stage"]) == (85.0, "innovation")
    # Every other assessed member is listed with the one condition it fails.
    failed = {o["enterprise"]: o["failed"] for o in view["others"]}
    assert failed == {
        firms.ids["low_stage"]: ["stage_ok"],
        firms.ids["new"]: ["gain_ok"],
        firms.ids["fell"]: ["fall_ok"],
        firms.ids["flagged"]: ["flags_ok"],
        firms.ids["weak"]: ["overall_ok"],
    }
    # The region wants 5 to 8 per cluster: none confirmed is below the minimum.
    assert view["counts"]["confirmed"] == 0
    assert (view["target_min"], view["target_max"], view["rule"]["size"]) == (5, 8, 8)
    assert "少于" in view["counts"]["note"][0]
    page = client.get(PAGE)
    assert page.status_code == 200
    text = page.text
    order = [text.index(firms.names[n]) for n in ("certified", "best", "third")]
    assert order == sorted(order)
    assert "候选示范企业须同时满足" in text  # the rule in words, from the rules file
    assert text.count("✗</span></td>") == 5  # one failed condition for each other firm


def test_confirming_a_candidate_records_who_and_when_and_lists_it_as_confirmed(
    sqlite_engine, firms, world
):
    client, token = _client(sqlite_engine, "user-second-chem-manager")
    with client:
        before = datetime.now(UTC)
        r = _post(client, token, firms.ids["best"], "confirmed")
        assert r.status_code == 303, r.text
        assert r.headers["location"] == f"{PAGE}?year=2020"
        (row,) = _decisions(sqlite_engine)
        assert (row.decision, row.enterprise_id, row.year, row.reason) == (
            "confirmed",
            firms.ids["best"],
            2020,
            "",
        )
        assert row.at.replace(tzinfo=row.at.tzinfo or UTC) >= before.replace(microsecond=0)
        view = _json(client)
        (confirmed,) = view["confirmed"]
        assert confirmed["enterprise"] == firms.ids["best"]
        assert confirmed["decision"]["by"] == "王经理"
        assert confirmed["decision"]["at"]
        assert view["counts"]["confirmed"] == 1
        # It stays on the candidate list, marked, and cannot be confirmed twice.
        best = next(c for c in view["candidates"] if c["enterprise"] == firms.ids["best"])
        assert best["decision"]["decision"] == "confirmed"
        again = _post(client, token, firms.ids["best"], "confirmed")
        assert again.status_code == 422
        assert "已确认" in again.text
        assert "王经理" in client.get(PAGE).text


def test_excluding_needs_a_reason_and_takes_the_firm_off_the_candidates(
    sqlite_engine, as_manager, firms
):
    client, token = as_manager
    r = _post(client, token, firms.ids["certified"], "excluded", "  ")
    assert r.status_code == 422
    assert "排除候选企业须填写理由" in r.text
    bad = _post(client, token, firms.ids["certified"], "excluded", "环保\x00处罚")
    assert bad.status_code == 422 and "控制字符" in bad.text
    too_long = _post(client, token, firms.ids["certified"], "excluded", "长" * 501)
    assert too_long.status_code == 422
    assert _decisions(sqlite_engine) == []
    r = _post(client, token, firms.ids["certified"], "excluded", "当年发生环保处罚")
    assert r.status_code == 303
    view = _json(client)
    assert [c["enterprise"] for c in view["candidates"]] == [firms.ids["best"], firms.ids["third"]]
    assert [c["rank"] for c in view["candidates"]] == [1, 2]
    (ex,) = view["excluded"]
    assert (ex["enterprise"], ex["decision"]["reason"]) == (
        firms.ids["certified"],
        "当年发生环保处罚",
    )
    assert firms.ids["certified"] not in {o["enterprise"] for o in view["others"]}
    # An excluded firm is no candidate: it cannot be confirmed until it is reopened.
    r = _post(client, token, firms.ids["certified"], "confirmed")
    assert r.status_code == 422
    assert "不是当前候选示范企业" in r.text


def test_reopening_needs_a_reason_and_puts_the_firm_back_among_the_candidates(
    sqlite_engine, as_manager, firms
):
    client, token = as_manager
    assert _post(client, token, firms.ids["third"], "excluded", "数据待核实").status_code == 303
    assert _post(client, token, firms.ids["best"], "confirmed", "行业龙头").status_code == 303
    r = _post(client, token, firms.ids["third"], "reopened")
    assert r.status_code == 422
    assert "重新审议须填写理由" in r.text
    nothing = _post(client, token, firms.ids["certified"], "reopened", "误操作")
    assert nothing.status_code == 422
    for nick in ("third", "best"):
        assert _post(client, token, firms.ids[nick], "reopened", "已核实").status_code == 303
    view = _json(client)
    assert [c["enterprise"] for c in view["candidates"]] == [
        firms.ids["certified"],
        firms.ids["best"],
        firms.ids["third"],
    ]
    assert all(c["decision"] is None for c in view["candidates"])
    assert view["confirmed"] == [] and view["excluded"] == []
    kinds = [d.decision for d in _decisions(sqlite_engine)]
    assert kinds == ["excluded", "confirmed", "reopened", "reopened"]  # history is kept


def test_an_htmx_decision_answers_with_the_page_block_only(as_manager, firms):
    client, token = as_manager
    r = client.post(
        DECIDE,
        data={"year": "2020", "enterprise": str(firms.ids["third"]), "decision": "confirmed"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<div id="demonstration">')
    assert "<html" not in r.text
    assert firms.names["third"] in r.text


def test_a_manager_of_another_cluster_finds_nothing(sqlite_engine, firms, world):
    client, token = _client(sqlite_engine, "user-auto-manager")
    with client:
        for path in (PAGE, f"{PAGE}.json", f"{PAGE}.xlsx"):
            r = client.get(path)
            assert r.status_code == 404, path
            assert firms.names["best"] not in r.text
        r = _post(client, token, firms.ids["best"], "confirmed")
        assert r.status_code == 404
        assert "集群不存在或不在您的管理范围内" in r.text
        assert _decisions(sqlite_engine) == []
        assert client.get("/cluster/no_such/demonstration").status_code == 404


def test_an_administrator_reads_the_list_but_cannot_decide(sqlite_engine, firms, world):
    client, token = _client(sqlite_engine, world.users["admin"])
    with client:
        assert client.get(PAGE).status_code == 200
        view = _json(client)
        assert len(view["candidates"]) == 3 and view["may_decide"] is False
        assert 'name="decision"' not in client.get(PAGE).text  # no forms to decide with
        r = _post(client, token, firms.ids["best"], "confirmed")
        assert r.status_code == 403
        assert "系统管理员只能查看" in r.text
        assert _decisions(sqlite_engine) == []


def test_other_roles_are_refused(sqlite_engine, firms, world):
    client, _ = _client(sqlite_engine, world.users["enterprise"])
    with client:
        for path in (PAGE, f"{PAGE}.json", f"{PAGE}.xlsx"):
            assert client.get(path).status_code == 403


def test_a_firm_that_is_no_candidate_cannot_be_confirmed(sqlite_engine, as_manager, firms, world):
    client, token = as_manager
    for nick in ("low_stage", "new", "fell", "flagged", "weak"):
        r = _post(client, token, firms.ids[nick], "confirmed")
        assert r.status_code == 422, nick
        assert "不是当前候选示范企业" in r.text
    # Enterprise A's 2020 assessment is a draft: nothing counted to decide on.
    r = _post(client, token, world.ent_a.id or 0, "confirmed")
    assert r.status_code == 422 and "没有已提交的评估" in r.text
    # Enterprise B is in another cluster.
    r = _post(client, token, world.ent_b.id or 0, "excluded", "不属于本集群")
    assert r.status_code == 404
    r = _post(client, token, firms.ids["best"], "promoted")
    assert r.status_code == 422 and "决定“promoted”无效" in r.text
    assert _decisions(sqlite_engine) == []


def test_the_workbook_reads_back_with_the_numbers_of_the_json(sqlite_engine, as_manager, firms):
    client, token = as_manager
    assert _post(client, token, firms.ids["best"], "confirmed", "行业龙头").status_code == 303
    assert _post(client, token, firms.ids["third"], "confirmed").status_code == 303
    view = _json(client, "?year=2020")
    r = client.get(f"{PAGE}.xlsx?year=2020")
    assert r.status_code == 200
    assert r.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    encoded = disposition.split("filename*=UTF-8''")[1]
    assert unquote(encoded) == f"示范企业_{view['cluster_name'][0]}_2020.xlsx"
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["说明", "已确认", "候选"]
    cover = {row[0]: row[1] for row in wb["说明"].iter_rows(values_only=True)}
    assert cover["年度"] == 2020
    assert cover["集群"] == view["cluster_name"][0]
    assert cover["遴选规则"] == view["rule_summary"][0]
    assert cover["分析规则版本"].startswith(f"v{view['rules_version']}")
    datetime.strptime(cover["导出时间（北京时间）"], "%Y-%m-%d %H:%M")

    def sheet(name: str) -> list[dict]:
        rows = list(wb[name].iter_rows(values_only=True))
        return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]

    candidates = sheet("候选")
    assert [
        (r["排名"], r["企业编号"], r["总体水平"], r["窗口内提升（分）"]) for r in candidates
    ] == [(c["rank"], c["enterprise"], c["overall"], c["gain"]) for c in view["candidates"]]
    numbers = [
        r[k] for r in candidates for k in ("排名", "总体水平", "窗口内提升（分）", "有数据年数")
    ]
    assert all(isinstance(x, int | float) for x in numbers)  # stored as numbers, not text
    confirmed = sheet("已确认")
    assert [(r["企业名称"], r["总体水平"], r["理由"] or "") for r in confirmed] == [
        (c["name"], c["overall"], c["decision"]["reason"]) for c in view["confirmed"]
    ]
    assert [r["决定"] for r in confirmed] == ["已确认", "已确认"]


def test_a_decision_without_the_csrf_token_is_refused(sqlite_engine, as_manager, firms):
    client, _ = as_manager
    r = _post(client, "not-the-token", firms.ids["best"], "confirmed")
    assert r.status_code == 403
    assert "CSRF" in r.text
    assert _decisions(sqlite_engine) == []


def test_an_earlier_year_is_judged_on_its_own_window(as_manager, firms):
    client, _ = as_manager
    view = _json(client, "?year=2019")
    assert view["year"] == 2019 and view["years"] == [2018, 2019, 2020]
    # 2018–2019: nobody is certified yet, and the flags and the low stage were only in 2020.
    assert [c["enterprise"] for c in view["candidates"]] == [
        firms.ids[n] for n in ("best", "third", "flagged", "low_stage", "certified")
    ]
    assert {o["enterprise"] for o in view["others"]} == {firms.ids["fell"], firms.ids["weak"]}
    empty = _json(client, "?year=2015")
    assert (empty["candidates"], empty["others"], empty["confirmed"]) == ([], [], [])
