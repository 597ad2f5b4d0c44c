"""Small groups stay private, on every page and export that shows an aggregate.

A demo population of 60 firms (2013–2020) where one cluster, carbon fibre, has fewer than
MIN_GROUP assessed firms in the last year. A manager of fine chemicals walks every analytics
route (page, JSON and Excel): no firm of another cluster is ever named, the small cluster's
figures are withheld with the reason, and the region-wide figures stay. The walk's list of routes
is checked against the app's own routes, so that a new analytics route must join it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from assess.accounts.users import create_user
from assess.analytics import frame
from assess.analytics.privacy import MIN_GROUP
from assess.demo import build_demo
from assess.settings import Settings
from assess.store import db
from assess.store.models import Assessment, Cluster, Enterprise
from tests.databases import migrated
from tests.web.conftest import FAST, PASSWORD, sign_in
from web import create_app

SMALL = "carbon_fibre"
OWN = "fine_chem"
YEAR = 2020

#: Every analytics route that shows an aggregate or names firms, as the manager of OWN asks it.
WALK = [
    "/cluster",
    "/cluster.json",
    "/cluster.xlsx",
    "/cluster/members.json",
    "/region",
    "/region.json",
    "/region.xlsx",
    "/screening",
    "/screening.json",
    "/screening.xlsx",
    f"/cluster/{OWN}/demonstration",
    f"/cluster/{OWN}/demonstration.json",
    f"/cluster/{OWN}/demonstration.xlsx",
    "/cluster/report",
]
#: Route prefixes of the analytics; every GET route under them must be walked.
ANALYTICS = ("/cluster", "/region", "/screening")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('privacy') / 'privacy.db'}"
    migrated(url)
    eng = db.make_engine(url)
    with Session(eng) as s:
        build_demo(s, enterprises=60, processes=1)
        clusters = {c.code: c.id for c in s.exec(select(Cluster)) if c.id is not None}
        # Keep the small cluster small: at most MIN_GROUP - 2 of its firms counted in YEAR (the
        # others' assessments are back to drafts, which never count).
        firms = s.exec(select(Enterprise.id).where(Enterprise.cluster_id == clusters[SMALL]))
        ids = sorted(i for i in firms if i is not None)
        assert len(ids) >= 2
        s.exec(
            sa.update(Assessment)
            .where(col(Assessment.enterprise_id).in_(ids[MIN_GROUP - 2 :]))
            .where(col(Assessment.year) == YEAR)
            .values(status="draft")
        )
        create_user(
            s,
            username="p-manager",
            password=PASSWORD,
            hasher=FAST,
            role="cluster_manager",
            cluster_ids=[clusters[OWN]],
        )
        create_user(s, username="p-admin", password=PASSWORD, hasher=FAST, role="admin")
        s.commit()
    frame.clear_cache()
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def names(engine: sa.Engine) -> dict[str, set[str]]:
    """Firm names by cluster code."""
    out: dict[str, set[str]] = {}
    with Session(engine) as s:
        for code, name in s.exec(
            select(Cluster.code, Enterprise.name).join(
                Enterprise, col(Enterprise.cluster_id) == col(Cluster.id)
            )
        ):
            out.setdefault(code, set()).add(name)
    return out


def _client(engine: sa.Engine, username: str) -> TestClient:
    app = create_app(Settings(secret_key="privacy-test-secret-key-0123456789abcdef"), engine=engine)
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    sign_in(client, username)
    return client


def _text_of(response: Any) -> str:
    """Everything a response shows: the page, the JSON, or every cell of a workbook."""
    if response.headers.get("content-type", "").startswith("application/vnd.openxmlformats"):
        wb = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
        cells = [
            str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
        ]
        return "\n".join(c for c in cells if c != "None")
    return response.text


def test_the_walk_covers_every_analytics_route(engine: sa.Engine) -> None:
    app = create_app(Settings(secret_key="privacy-test-secret-key-0123456789abcdef"), engine=engine)
    declared = {
        getattr(r, "path", "")
        for r in app.router.routes
        if "GET" in (getattr(r, "methods", None) or set())
    }
    analytics = {p for p in declared if p.startswith(ANALYTICS)}
    walked = {p.replace(f"/{OWN}/", "/{code}/") for p in WALK}
    # The member table's page twin is a fragment of /cluster (walked with it).
    assert analytics - walked <= {"/cluster/members"}, sorted(analytics - walked)


def test_a_manager_never_sees_another_clusters_firm_by_name(engine, names) -> None:
    client = _client(engine, "p-manager")
    others = set().union(*(v for k, v in names.items() if k != OWN))
    own = names[OWN]
    seen_own = False
    for path in WALK:
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        text = _text_of(r)
        leaked = sorted(n for n in others if n in text)
        assert not leaked, (path, leaked[:3])
        seen_own = seen_own or any(n in text for n in own)
    assert seen_own  # the walk does show the manager's own firms by name


def test_a_small_cluster_is_withheld_from_other_managers_with_the_reason(engine) -> None:
    manager = _client(engine, "p-manager").get("/region.json").json()
    admin = _client(engine, "p-admin").get("/region.json").json()
    small = next(r for r in manager["rows"] if r["code"] == SMALL)
    assert small["figures"] is None
    assert small["hidden"]["n"] < MIN_GROUP and small["hidden"]["minimum"] == MIN_GROUP
    assert f"少于 {MIN_GROUP} 家" in small["hidden"]["zh"]
    # An administrator may see every firm: the same cluster's figures are there.
    seen = next(r for r in admin["rows"] if r["code"] == SMALL)
    assert seen["figures"]["n"] == small["hidden"]["n"] and seen["hidden"] is None
    # The region's own figures (many firms) are shown to both.
    assert manager["total"]["n"] == admin["total"]["n"] >= MIN_GROUP
    page = _client(engine, "p-manager").get("/region").text
    assert small["hidden"]["zh"] in page
    book = openpyxl.load_workbook(
        io.BytesIO(_client(engine, "p-manager").get("/region.xlsx").content), read_only=True
    )
    text = "\n".join(
        str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
    )
    assert f"少于{MIN_GROUP}家" in text or f"少于 {MIN_GROUP} 家" in text


def test_no_json_aggregate_of_the_walk_rests_on_fewer_firms_than_allowed(engine) -> None:
    """Every "n" next to a shown figure in the manager's JSON is at least MIN_GROUP, unless
    the figure is over the manager's own firms only (the dashboard is)."""
    data = _client(engine, "p-manager").get("/region.json").json()
    for row in data["rows"]:
        if row["figures"] is not None and not row["own"]:
            assert row["figures"]["n"] >= MIN_GROUP, row["code"]
    dash = _client(engine, "p-manager").get("/cluster.json").json()
    for link in dash["links"]:
        if link["region_median"] is not None:
            assert link["region_n"] >= MIN_GROUP
    json.dumps(dash)  # plain data throughout


def test_each_view_is_one_view_read_as_a_page_or_as_json_at_the_same_url(engine) -> None:
    """Accept: application/json at a page's URL gives what its .json twin gives."""
    client = _client(engine, "p-manager")
    for page, twin in (
        ("/cluster?year=2019", "/cluster.json?year=2019"),
        ("/region", "/region.json"),
        ("/screening", "/screening.json"),
        (f"/cluster/{OWN}/demonstration", f"/cluster/{OWN}/demonstration.json"),
    ):
        as_json = client.get(page, headers={"Accept": "application/json"})
        assert as_json.headers["content-type"].startswith("application/json"), page
        assert as_json.json() == client.get(twin).json(), page
        assert client.get(page).headers["content-type"].startswith("text/html")


def test_a_malformed_filter_is_refused_with_its_message_not_a_server_error(engine) -> None:
    """ "²" is a digit to Python but no number: it is refused like any other bad year or page."""
    client = _client(engine, "p-manager")
    for path, code in (
        ("/cluster.json?year=²", "bad_year"),
        ("/cluster.json?year=1800", "bad_year"),
        ("/region.json?year=２０２０", "bad_year"),
        ("/cluster/members.json?page=²", "bad_page"),
        ("/screening.json?page=0", "bad_page"),
    ):
        r = client.get(path)
        assert r.status_code == 422, (path, r.status_code)
        assert [p["code"] for p in r.json()["problems"]] == [code], path
    page = client.get("/cluster?year=²")
    assert page.status_code == 422 and "年度“²”无效" in page.text
