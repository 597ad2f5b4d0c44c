"""Downloads of the cluster manager's figures as Excel: the dashboard and its member table, the
region view (every cluster side by side) and the whole screening list.

Each workbook holds the same view its page and JSON twin show (same query parameters, same roles,
same 404 for a cluster outside the manager's scope), in the page's language.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from assess.analytics import exports, region_view, views
from assess.store.models import Role, User
from web import i18n
from web.deps import SessionDep, reads_only, require

router = APIRouter()
Manager = Annotated[User, Depends(require(Role.cluster_manager, Role.admin))]


def attachment(filename: str, fallback: str) -> str:
    """A Content-Disposition header offering a download under ``filename`` (any characters),
    with ``fallback`` made plain ASCII for clients that do not read the UTF-8 name."""
    plain = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in fallback)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def xlsx_response(body: bytes, filename: str, fallback: str) -> Response:
    """A workbook as a download offered under ``filename`` (``fallback``: its English name)."""
    return Response(
        body,
        media_type=exports.XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": attachment(filename, fallback)},
    )


@router.get("/cluster.xlsx", name="cluster_xlsx")
@reads_only
def clusterxlsx_response(request: Request, db: SessionDep, user: Manager) -> Response:
    """The dashboard of the filters in the query (as /cluster takes them), every member with it."""
    f = views.read_filters(dict(request.query_params))
    dash = views.cluster_dashboard(db, user, f)
    members = views.all_members(db, user, f)
    lang = "en" if i18n.is_en() else "zh"
    return xlsx_response(
        exports.dashboard_workbook(dash, members, lang),
        exports.xlsx_filename(dash, lang),
        exports.xlsx_filename(dash, "en"),
    )


@router.get("/region.xlsx", name="region_xlsx")
@reads_only
def regionxlsx_response(request: Request, db: SessionDep, user: Manager) -> Response:
    """Every cluster of the region side by side, for the filters in the query (as /region)."""
    f = views.read_filters(dict(request.query_params))
    view = region_view.region_view(db, user, f)
    lang = "en" if i18n.is_en() else "zh"
    return xlsx_response(
        exports.region_workbook(view, lang),
        exports.region_filename(view, lang),
        exports.region_filename(view, "en"),
    )


@router.get("/screening.xlsx", name="screening_xlsx")
@reads_only
def screeningxlsx_response(request: Request, db: SessionDep, user: Manager) -> Response:
    """The whole screening list (every page) for the year and cluster in the query (as
    /screening takes them; a page number is ignored)."""
    f = views.read_filters(dict(request.query_params))
    view = exports.all_screen_rows(db, user, f.year, f.cluster, f.kind)
    lang = "en" if i18n.is_en() else "zh"
    return xlsx_response(
        exports.screening_workbook(view, lang),
        exports.screening_filename(view, lang),
        exports.screening_filename(view, "en"),
    )
