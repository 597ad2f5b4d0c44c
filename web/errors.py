"""What a refused or failed request gets: a page, an htmx fragment or JSON, never a trace."""

from __future__ import annotations

import logging
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from assess.errors import Problem, ServiceError
from web import htmx
from web.deps import NotSignedIn

log = logging.getLogger("web")

_HTTP = {
    404: Problem("not_found", "页面不存在", "page not found"),
    405: Problem("method_not_allowed", "不支持该请求方式", "method not allowed"),
    413: Problem("too_large", "提交的内容过大", "the request is too large"),
}


def wants_json(request: Request) -> bool:
    """Whether the client asked for JSON rather than a page: by its Accept header, or by the
    ``.json`` twin of a page's URL."""
    if request.url.path.endswith(".json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def problem_response(request: Request, status: int, problems: list[Problem]) -> Response:
    """Render problems for whoever asked: JSON, an htmx flash fragment, or a page."""
    if wants_json(request):
        return JSONResponse({"problems": [p.as_dict() for p in problems]}, status_code=status)
    ctx = {"status": status, "problems": problems}
    if htmx.is_htmx(request):
        resp = htmx.render_fragment(request, "error.html", ["problems"], ctx, status=status)
        return htmx.retarget(resp, "#flash")
    return htmx.render(request, "error.html", ctx, status=status)


async def service_error(request: Request, exc: ServiceError) -> Response:
    return problem_response(request, exc.status, exc.problems)


async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
    problem = (
        Problem(
            "session_expired", "登录已过期，请重新登录", "your session has expired; sign in again"
        )
        if exc.expired
        else Problem("sign_in", "请先登录", "please sign in")
    )
    if wants_json(request):
        return JSONResponse({"problems": [problem.as_dict()]}, status_code=401)
    if htmx.is_htmx(request):
        # The page stays as it is (typed values included); a banner asks to sign in again.
        ctx = {"expired": exc.expired, "next": request.headers.get("hx-current-url", "/")}
        resp = htmx.render_fragment(request, "auth.html", ["session_alert"], ctx, status=401)
        return htmx.retarget(resp, "#session-alert")
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        suffix = "&expired=1" if exc.expired else ""
        return RedirectResponse(f"/signin?next={quote(target)}{suffix}", status_code=303)
    return problem_response(request, 401, [problem])


async def http_error(request: Request, exc: HTTPException) -> Response:
    problem = _HTTP.get(exc.status_code, Problem("error", "请求无法处理", "the request failed"))
    return problem_response(request, exc.status_code, [problem])


async def bad_request(request: Request, exc: RequestValidationError) -> Response:
    # Malformed path or query values (an id that is not a number) name nothing that exists.
    if any(e.get("loc", ("",))[0] == "path" for e in exc.errors()):
        return problem_response(request, 404, [_HTTP[404]])
    return problem_response(
        request,
        422,
        [Problem("bad_request", "请求参数有误", "the request's parameters are not valid")],
    )


def _database_busy(exc: Exception) -> bool:
    """SQLite's "database is locked": another writer held the file past the busy timeout."""
    return isinstance(exc, sa.exc.OperationalError) and "database is locked" in str(exc.orig)


async def server_error(request: Request, exc: Exception) -> Response:
    if _database_busy(exc):
        log.warning("database busy on %s %s", request.method, request.url.path)
        resp = problem_response(
            request,
            503,
            [
                Problem(
                    "database_busy",
                    "数据库正忙，本次未保存；请稍后重试",
                    "the database is busy and nothing was saved; try again in a moment",
                )
            ],
        )
        resp.headers["Retry-After"] = "2"
        return resp
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        request,
        500,
        [
            Problem(
                "server_error",
                "服务器内部错误，已记录；请稍后重试或联系管理员",
                "something went wrong on the server; it has been logged. Try again later or "
                "contact your administrator",
            )
        ],
    )
