"""A cluster's demonstration enterprises (示范企业): the shortlist page, its JSON and Excel
twins, and the manager's decisions on it.

Each route reads the request, calls one service of ``assess.analytics.demonstration`` and
renders what it returns; refusals are the services' errors, rendered by the app's handlers.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from assess.analytics import demonstration as demo
from assess.analytics import views
from assess.store.models import Role, User
from web import htmx
from web.deps import FormFields, SessionDep, reads_only, require
from web.errors import wants_json
from web.routes.exports import xlsx_response

router = APIRouter()
Reader = Annotated[User, Depends(require(Role.cluster_manager, Role.admin))]


def _view(request: Request, db: SessionDep, user: User, code: str) -> demo.DemonstrationView:
    f = views.read_filters(dict(request.query_params))
    return demo.demonstration_view(db, user, code, f.year, f.kind)


def _page(request: Request, view: demo.DemonstrationView) -> Response:
    return htmx.render(request, "demonstration.html", {"v": view}, blocks=["demonstration"])


@router.get("/cluster/{code}/demonstration", name="demonstration")
@router.get("/cluster/{code}/demonstration.json", name="demonstration_json")
@reads_only
def demonstration_page(request: Request, code: str, db: SessionDep, user: Reader) -> Response:
    view = _view(request, db, user, code)
    if wants_json(request):
        return JSONResponse(jsonable_encoder(views.plain(view)))
    return _page(request, view)


@router.get("/cluster/{code}/demonstration.xlsx", name="demonstration_xlsx")
@reads_only
def demonstration_xlsx(request: Request, code: str, db: SessionDep, user: Reader) -> Response:
    view = _view(request, db, user, code)
    fallback = f"demonstration_{view.cluster}_{view.year or 'none'}.xlsx"
    return xlsx_response(demo.workbook(view), demo.export_name(view), fallback)


@router.post("/cluster/{code}/demonstration/decisions", name="demonstration_decide")
def demonstration_decide(
    request: Request, code: str, db: SessionDep, user: Reader, fields: FormFields
) -> Response:
    form = demo.read_decision(fields)
    demo.decide(db, user, code, form.year, form.enterprise, form.decision, form.reason, form.kind)
    db.commit()
    query: dict[str, Any] = {"year": form.year}
    if form.kind != "preferred":
        query["kind"] = form.kind
    if htmx.is_htmx(request):
        view = demo.demonstration_view(db, user, code, form.year, form.kind)
        return htmx.render_fragment(request, "demonstration.html", ["demonstration"], {"v": view})
    url = request.app.url_path_for("demonstration", code=code)
    return htmx.redirect(request, f"{url}?{urlencode(query)}")
