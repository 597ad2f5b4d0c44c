"""Downloads of the cluster manager's figures: the dashboard and its member table as Excel.

The workbook holds the same view the dashboard page and its JSON twin show (same filters, same
roles, same 404 for a cluster outside the manager's scope), in the page's language.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from assess.analytics import exports, views
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


@router.get("/cluster.xlsx", name="cluster_xlsx")
@reads_only
def cluster_xlsx(request: Request, db: SessionDep, user: Manager) -> Response:
    """The dashboard of the filters in the query (as /cluster takes them), every member with it."""
    f = views.read_filters(dict(request.query_params))
    dash = views.cluster_dashboard(db, user, f)
    members = exports.all_member_rows(db, user, f)
    lang = "en" if i18n.is_en() else "zh"
    body = exports.dashboard_workbook(dash, members, lang)
    return Response(
        body,
        media_type=exports.XLSX_MEDIA_TYPE,
        headers={
            "Content-Disposition": attachment(
                exports.xlsx_filename(dash, lang), exports.xlsx_filename(dash, "en")
            )
        },
    )
