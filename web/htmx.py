"""Everything about htmx requests in one place: reading HX-* headers, rendering the whole page
or some of its blocks from the same template, and redirecting the way each kind of request
expects.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment
from jinja2_fragments import render_block

from web import i18n
from web.security import csrf_token


def is_htmx(request: Request) -> bool:
    """An htmx request that wants a fragment (a history restore wants the whole page)."""
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def _env(request: Request) -> Environment:
    env: Environment = request.app.state.templates
    return env


def context(request: Request, extra: dict[str, Any]) -> dict[str, Any]:
    """The context every template sees, plus ``extra``."""
    return {
        "request": request,
        "user": getattr(request.state, "user", None),
        "csrf": csrf_token(request),
        "locale": i18n.current_locale.get(),
        "lang_attr": i18n.LANG_ATTR[i18n.current_locale.get()],
        **extra,
    }


def render(
    request: Request,
    template: str,
    ctx: dict[str, Any] | None = None,
    *,
    blocks: Iterable[str] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The page, or for an htmx request the named blocks of the same template, in order."""
    env = _env(request)
    full = context(request, ctx or {})
    if blocks is not None and is_htmx(request):
        body = "".join(render_block(env, template, b, **full) for b in blocks)
    else:
        body = env.get_template(template).render(full)
    resp = HTMLResponse(body, status_code=status, headers=headers)
    resp.headers["Vary"] = "HX-Request"
    return resp


def render_fragment(
    request: Request,
    template: str,
    blocks: Iterable[str],
    ctx: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Only the named blocks, whatever kind of request asked."""
    env = _env(request)
    full = context(request, ctx or {})
    body = "".join(render_block(env, template, b, **full) for b in blocks)
    resp = HTMLResponse(body, status_code=status, headers=headers)
    resp.headers["Vary"] = "HX-Request"
    return resp


def partial(
    request: Request, template: str, ctx: dict[str, Any], *, status: int = 200
) -> HTMLResponse:
    """A partial template (``_name.html``): a fragment for htmx, never a whole page."""
    body = _env(request).get_template(template).render(context(request, ctx))
    resp = HTMLResponse(body, status_code=status)
    resp.headers["Vary"] = "HX-Request"
    return resp


def redirect(request: Request, url: str) -> Response:
    """After a successful POST: 303 for a plain form, HX-Redirect for htmx."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url, "Vary": "HX-Request"})
    return RedirectResponse(url, status_code=303)


def retarget(response: Response, target: str, swap: str = "innerHTML") -> Response:
    """Send an htmx response somewhere other than the element that asked."""
    response.headers["HX-Retarget"] = target
    response.headers["HX-Reswap"] = swap
    return response
