"""A real browser (Debian's Chromium, driven by Playwright) against the app served by uvicorn.

The browser is never downloaded: it is /usr/bin/chromium (or ASSESS_CHROMIUM). Where it is
missing these tests are skipped, unless ASSESS_REQUIRE_BROWSER=1 (as in CI).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
import uvicorn
from sqlmodel import Session, select

from assess.settings import Settings
from assess.store import db
from assess.store.models import Answer
from tests.databases import migrated
from tests.web.conftest import PASSWORD, World, build_world
from web import create_app

CHROMIUM = os.environ.get("ASSESS_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@dataclass
class Live:
    url: str
    world: World
    engine: object

    def stored(self, assessment_id: int, question: str) -> object:
        """The value stored for one answer, read straight from the database."""
        with Session(self.engine) as s:  # type: ignore[arg-type]
            row = s.exec(
                select(Answer).where(
                    Answer.assessment_id == assessment_id, Answer.question == question
                )
            ).one()
        return row.value


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(engine: sa.Engine, folder: Path) -> Iterator[str]:
    """The app on ``engine``, served by uvicorn in a background thread; yields its base URL."""
    settings = Settings(secret_key="browser-test-secret-key-0123456789abcdef", data_dir=folder)
    app = create_app(settings, engine=engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """The app on a fresh SQLite file, served by uvicorn in a background thread."""
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    migrated(url)
    engine = db.make_engine(url)
    world = build_world(engine)
    with serve(engine, tmp_path) as base:
        yield Live(base, world, engine)
    engine.dispose()


@pytest.fixture
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("ASSESS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium is required but missing at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def sign_in_through_the_form(page: object, live: Live, username: str) -> None:
    """Sign ``page`` in as ``username`` (the test password), the way a person does."""
    page.goto(f"{live.url}/signin")  # type: ignore[attr-defined]
    page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit].primary")  # type: ignore[attr-defined]
    page.wait_for_url(lambda url: "/signin" not in url)  # type: ignore[attr-defined]
