"""The cluster manager's pages: the dashboard of their clusters, its member table, every cluster
of the region side by side, and the screening of submissions that look wrong.

Each route reads the request, calls one assess service and renders its view as a page (or, for
an htmx request, the blocks it swaps) or as JSON: at the same URL with ``Accept:
application/json``, or at the ``.json`` twin.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from assess.analytics import region_view, screen, views
from assess.analytics.privacy import MIN_GROUP
from assess.store.models import Role, User
from scoring import STAGES
from web import htmx, i18n
from web.deps import SessionDep, reads_only, require
from web.errors import wants_json

router = APIRouter()
Manager = Annotated[User, Depends(require(Role.cluster_manager, Role.admin))]


def _json(view: Any) -> Response:
    return JSONResponse(views.plain(view))


@router.get("/cluster", name="cluster_home")
@router.get("/cluster.json", name="cluster_home_json")
@reads_only
def cluster_home(request: Request, db: SessionDep, user: Manager) -> Response:
    params = dict(request.query_params)
    f = views.read_filters(params)
    dash = views.cluster_dashboard(db, user, f)
    if wants_json(request):
        return _json(dash)
    members = views.member_page(db, user, f, views.read_member_query(params))
    ctx = {"d": dash, "m": members, "chart": chart_data(dash)}
    return htmx.render(request, "cluster.html", ctx, blocks=["dashboard"])


@router.get("/cluster/members", name="cluster_members")
@router.get("/cluster/members.json", name="cluster_members_json")
@reads_only
def cluster_members(request: Request, db: SessionDep, user: Manager) -> Response:
    params = dict(request.query_params)
    page = views.member_page(db, user, views.read_filters(params), views.read_member_query(params))
    if wants_json(request):
        return _json(page)
    if not htmx.is_htmx(request):  # a plain link (no script): the whole dashboard at that page
        return RedirectResponse(f"{request.url_for('cluster_home')}?{request.url.query}", 303)
    return htmx.render_fragment(request, "cluster.html", ["members"], {"m": page})


@router.get("/region", name="region")
@router.get("/region.json", name="region_json")
@reads_only
def region(request: Request, db: SessionDep, user: Manager) -> Response:
    """Every cluster of the region side by side (a manager sees aggregates only)."""
    f = views.read_filters(dict(request.query_params))
    view = region_view.region_view(db, user, f)
    if wants_json(request):
        return _json(view)
    ctx = {"v": view, "chart": region_chart(view), "min_group": MIN_GROUP}
    return htmx.render(request, "region.html", ctx)


def region_chart(v: region_view.RegionView) -> dict[str, Any]:
    """The heatmaps' data: clusters × years (adoption rate) and clusters × links (median)."""
    shown = [r for r in v.rows if r.figures is not None]
    years = [y for y in v.years if v.year is None or y <= v.year]
    return {
        "clusters": [i18n.pick(*r.name) for r in shown],
        "years": [str(y) for y in years],
        "links": [i18n.pick(*o.name) for o in v.links],
        "rates": [
            [j, i, r.figures.rates.get(y)]
            for i, r in enumerate(shown)
            if r.figures is not None
            for j, y in enumerate(years)
        ],
        "medians": [
            [j, i, r.figures.links.get(o.code)]
            for i, r in enumerate(shown)
            if r.figures is not None
            for j, o in enumerate(v.links)
        ],
        "labels": {"rate": i18n.gettext("IT adoption rate"), "median": i18n.gettext("Median")},
    }


@router.get("/screening", name="screening")
@router.get("/screening.json", name="screening_json")
@reads_only
def screening(request: Request, db: SessionDep, user: Manager) -> Response:
    """The ranked list of submissions that look wrong, in the viewer's scope, for one year."""
    params = dict(request.query_params)
    f = views.read_filters(params)
    page = views.read_member_query({"page": params.get("page", "1")}).page
    view = screen.screening_view(db, user, f.year, f.cluster, f.kind, page)
    if wants_json(request):
        return _json(view)
    return htmx.render(request, "screening.html", {"v": view, "f": f})


def chart_data(d: views.ClusterDashboard) -> dict[str, Any]:
    """What the page's charts draw: the view's figures (already rounded) and their labels."""
    stages = [s for s in STAGES if s != "undetermined"] + ["undetermined"]
    return views.plain(
        {
            "trajectory": d.trajectory,
            "boxes": d.boxes,
            "links": d.links,
            "stageIds": stages,
            "stageNames": [i18n.pick(*d.stage_names[s]) for s in stages],
            "linkNames": [i18n.pick(*link.name) for link in d.links],
            "labels": {
                "rate": i18n.gettext("IT adoption rate"),
                "goal": i18n.gettext("Planned path to the goal"),
                "trend": i18n.gettext("Trend"),
                "band": i18n.gettext("Projection band"),
                "level": i18n.gettext("Overall level"),
                "mine": i18n.gettext("These clusters"),
                "region": i18n.gettext("Region"),
                "hidden": i18n.gettext("hidden: too few firms"),
                "newVersion": i18n.gettext("new questionnaire version"),
            },
        }
    )
