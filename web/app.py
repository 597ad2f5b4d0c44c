"""The application factory: every test and every worker builds its app with create_app()."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from assess.errors import ServiceError
from assess.settings import CHINA_TIME, Settings
from assess.store import states
from assess.store.db import make_engine, no_wait, reading
from assess.store.models import Status
from web import errors, i18n, labels
from web.deps import PasswordChangeRequired
from web.routes import (
    account,
    admin,
    admin_certification,
    assessments,
    auth,
    certificates,
    cluster,
    cluster_report,
    demonstration,
    evidence,
    exports,
    home,
    report,
    review,
)
from web.security import BodyLimit, SecurityHeaders, check_csrf
from web.sessions import SessionMiddleware

HERE = Path(__file__).parent
STATIC = HERE / "static"


class LocaleMiddleware:
    """Sets the request's UI language: the session's choice, else the browser's (i18n)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            lang = scope.get("session", {}).get("lang")
            header = Headers(scope=scope).get("accept-language")
            token = i18n.current_locale.set(i18n.request_locale(lang, header))
            try:
                await self.app(scope, receive, send)
            finally:
                i18n.current_locale.reset(token)
        else:
            await self.app(scope, receive, send)


def _static_versions() -> dict[str, str]:
    out = {}
    for p in STATIC.rglob("*"):
        if p.is_file():
            rel = p.relative_to(STATIC).as_posix()
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()[:10]
    return out


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    versions = _static_versions()

    @pass_context
    def url(ctx: Any, name: str, **params: Any) -> str:
        return str(ctx["request"].app.url_path_for(name, **params))

    def static(path: str) -> str:
        return f"/static/{path}?v={versions.get(path, '0')}"

    def num(x: float | None, digits: int = 1) -> str:
        return "—" if x is None else f"{x:.{digits}f}"

    def when(t: datetime | None) -> str:
        if t is None:
            return "—"
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
        return t.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M")

    env.globals.update(
        url=url,
        static=static,
        pick=i18n.pick,
        is_en=i18n.is_en,
        status_label=labels.status,
        status_of=Status,
        may=lambda action, status: states.can(states.Action(action), status),
        role_label=labels.role,
        staff_band_label=labels.staff_band,
        sector_label=labels.sector,
        certificate_status_label=lambda c: labels.label(labels.CERTIFICATE_STATUS, c),
        decision_label=lambda c: labels.label(labels.DECISION, c),
        conflict_label=lambda c: labels.label(labels.CONFLICT_KIND, c),
    )

    def domid(qid: str, prefix: str) -> str:
        # Question ids contain dots, which CSS selectors would read as classes.
        return f"{prefix}-{qid.replace('.', '--')}"

    def qs(base: dict[str, Any], **changes: Any) -> str:
        """A query string: ``base`` with ``changes``, empty values left out."""
        merged = {**base, **changes}
        return urlencode({k: v for k, v in merged.items() if v not in (None, "")})

    env.globals["qs"] = qs
    env.filters.update(num=num, when=when, domid=domid, list_join=i18n.join)
    return env


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Size the handlers' thread pool (see Settings.threads) for this process."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = app.state.settings.threads
    yield


def _pool(settings: Settings) -> dict[str, Any]:
    """A connection for every request-handler thread, kept open: with fewer, the busiest
    moments open and close extra connections, each a new server process on PostgreSQL."""
    if settings.url.startswith("sqlite"):
        return {}
    return {"pool_size": settings.threads + 2, "max_overflow": 10}


def warm_catalog() -> None:
    """Load the shipped questionnaires and compile every version once for this process."""
    from assess.questionnaire.compile import shipped_catalog, spec_for

    for sector, versions in shipped_catalog().versions(drafts=True).items():
        for version in versions:
            spec_for(sector, version)


def create_app(settings: Settings | None = None, *, engine: sa.Engine | None = None) -> FastAPI:
    """A new application on the configured database (or the given engine)."""
    settings = settings or Settings()
    app = FastAPI(
        lifespan=_lifespan,
        title="两化融合评估",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(check_csrf)],
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.url, **_pool(settings))
    app.state.reader = reading(app.state.engine)
    sqlite = app.state.engine.dialect.name == "sqlite"
    app.state.no_wait = no_wait(app.state.engine) if sqlite else None  # see deps.in_session
    app.state.templates = _templates()
    # Read and compile the questionnaires now, not on a worker's first request (about a second).
    warm_catalog()

    app.add_middleware(LocaleMiddleware)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.signing_key(),
        idle_seconds=settings.session_idle_seconds,
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit)
    if settings.trusted_proxies:  # outermost: the client's address and scheme, for all the rest
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)

    app.add_exception_handler(ServiceError, errors.service_error)  # type: ignore[arg-type]
    app.add_exception_handler(errors.NotSignedIn, errors.not_signed_in)  # type: ignore[arg-type]
    app.add_exception_handler(PasswordChangeRequired, account.password_first)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, errors.http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, errors.bad_request)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, errors.server_error)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # cluster_report before demonstration: /cluster/report before /cluster/{code}/...
    routers = [auth, home, account, assessments, report, admin, cluster, cluster_report]
    routers += [demonstration, exports, review, evidence, certificates, admin_certification]
    for module in routers:
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz(request: Request) -> Response:
        with request.app.state.reader.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return JSONResponse({"status": "ok"})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        # Browsers ask for /favicon.ico whatever the page links; the mark is ours (static/).
        return FileResponse(
            STATIC / "favicon.ico",
            media_type="image/x-icon",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/ping", include_in_schema=False)
    async def ping() -> Response:
        return PlainTextResponse("ok")

    return app
