"""The printed cluster report (集群两化融合发展报告): the dashboard of a manager's clusters laid out
as an A4 document, with its charts, every member, the confirmed demonstration enterprises of a
single chosen cluster, and notes on how the figures were made.

The route reads the same filters as the dashboard, calls the dashboard service (and, for one
chosen cluster, the demonstration service) and renders the page; printing is the browser's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from assess.analytics import demonstration, views
from assess.analytics.privacy import MIN_GROUP
from assess.analytics.vocabulary import analytics_rules
from assess.settings import CHINA_TIME
from assess.store.models import Role, User
from web import htmx, i18n
from web.deps import SessionDep, reads_only, require
from web.routes.cluster import chart_data

router = APIRouter()
Manager = Annotated[User, Depends(require(Role.cluster_manager, Role.admin))]


def report_title(d: views.ClusterDashboard) -> str:
    """The running header: the report's name, its clusters and its year."""
    names = i18n.join(i18n.pick(*c.name) for c in d.clusters)
    parts = [i18n.gettext("Cluster integration development report"), names]
    if d.year is not None:
        parts.append(str(d.year))
    return " · ".join(p for p in parts if p)


def print_data(d: views.ClusterDashboard) -> dict[str, Any]:
    """What the report's charts draw (the dashboard's chart data) and the printed pages' running
    header and footer."""
    data = chart_data(d)
    data["printHead"] = report_title(d)
    data["printKind"] = i18n.pick(*d.kind_name)
    data["printDate"] = i18n.gettext("Printed %(date)s")
    data["printPage"] = i18n.gettext("Page %(page)s of %(pages)s")
    return data


@router.get("/cluster/report", name="cluster_report")
@reads_only
def cluster_report(request: Request, db: SessionDep, user: Manager) -> Response:
    """The report of the manager's clusters (or of one), for the filters of the dashboard."""
    f = views.read_filters(dict(request.query_params))
    dash = views.cluster_dashboard(db, user, f)
    shortlist = (
        demonstration.demonstration_view(db, user, f.cluster, dash.year, f.kind)
        if f.cluster is not None
        else None
    )
    rules = analytics_rules()
    ctx = {
        "d": dash,
        "members": views.all_members(db, user, f),
        "shortlist": shortlist,
        "title": report_title(dash),
        "chart": print_data(dash),
        "min_group": MIN_GROUP,
        "rules_version": rules.version,
        "rules_draft": rules.draft,
        "made": datetime.now(CHINA_TIME).strftime("%Y-%m-%d %H:%M"),
    }
    return htmx.render(request, "cluster_report.html", ctx)
