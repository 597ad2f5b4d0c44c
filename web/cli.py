"""The ``assess`` command with its web commands: ``demo`` (one command to a working product)
and ``serve`` (the application on the configured database, for real deployments)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError
from sqlmodel import Session

from assess import migrate
from assess.cli import app
from assess.cli import main as _assess_main
from assess.demo import build_demo, stale_assessments
from assess.settings import SecretKeyFileError, Settings
from assess.store import db
from web.app import create_app

Host = Annotated[str, typer.Option("--host", help="Address to listen on.")]
Port = Annotated[int, typer.Option("--port", help="Port to listen on.")]


def _settings(**overrides: object) -> Settings:
    """The environment's settings, or a plain message and exit status 2 when they are wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # refuses production without a key
    except ValidationError as exc:
        for err in exc.errors():
            typer.echo(str(err.get("ctx", {}).get("error") or err["msg"]), err=True)
        raise typer.Exit(2) from None


def _check_signing_key(settings: Settings) -> None:
    """Make (or read) the session key before serving, so that a data directory that cannot
    hold it stops the start with a plain message, not every worker with a traceback."""
    try:
        settings.signing_key()
    except SecretKeyFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@app.command("demo")
def demo(
    port: Port = 8000,
    host: Host = "127.0.0.1",
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Folder of the demo's SQLite file.")
    ] = Path("data/demo"),
    serve_it: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve after preparing the data.")
    ] = True,
) -> None:
    """Prepare a demo database (Jilin City, synthetic firms 2013–2020) and serve it."""
    if _settings().environment == "production":
        typer.echo("生产环境不能运行演示 / the demo does not run in production", err=True)
        raise typer.Exit(2)
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(data_dir / 'assess.db').resolve()}"
    started = time.perf_counter()
    typer.echo(f"数据库 / database: {url}")
    migrate.upgrade(url)
    engine = db.make_engine(url)
    with Session(engine) as session:
        stale = stale_assessments(session)
        if stale:
            typer.echo(
                f"该演示数据库中有 {stale} 份评估所依据的问卷草稿已更新，无法继续使用；"
                f"请删除 {data_dir} 后重新运行 assess demo\n"
                f"{stale} assessments in this demo database were made with an earlier draft of a"
                f" questionnaire; delete {data_dir} and run assess demo again",
                err=True,
            )
            raise typer.Exit(2)
        summary = build_demo(session)
        session.commit()
    took = time.perf_counter() - started
    what = "已生成 / generated" if summary.created else "已存在 / already present"
    typer.echo(
        f"演示数据{what}: {summary.enterprises} 家企业 enterprises, "
        f"{summary.assessments} 份评估 assessments ({took:.1f} s)"
    )
    rates = " ".join(f"{y}:{r:.0%}" for y, r in sorted(summary.adoption.items()))
    typer.echo(f"两化融合应用普及率 IT adoption by year: {rates}")
    typer.echo("")
    typer.echo("演示账户 / demo accounts:")
    for acc in summary.accounts:
        typer.echo(f"  {acc.username:<18} {acc.password:<16} {acc.role:<16} {acc.scope_zh}")
    typer.echo("")
    if not serve_it:
        engine.dispose()
        return
    settings = _settings(data_dir=data_dir, database_url=url)
    _check_signing_key(settings)
    typer.echo(f"打开 / open http://{host}:{port}/  (Ctrl+C 停止 / to stop)")
    uvicorn.run(create_app(settings, engine=engine), host=host, port=port, log_level="warning")


@app.command("serve")
def serve(
    port: Port = 8000,
    host: Host = "127.0.0.1",
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.")] = 1,
) -> None:
    """Serve the application on the database ASSESS_DATABASE_URL names (migrate it first)."""
    settings = _settings()
    _check_signing_key(settings)  # made once here, before the workers start
    migrate.upgrade(settings.url)
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # Forwarded headers are believed only from ASSESS_TRUSTED_PROXIES, by the app itself
        # (create_app), not from whatever uvicorn trusts by default (127.0.0.1).
        proxy_headers=False,
        log_level="info",
    )


def main() -> None:
    """Entry point of the ``assess`` command (all commands, the web ones included)."""
    _assess_main()
