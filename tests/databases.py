"""Real databases for the tests: a SQLite file per test, and a fresh PostgreSQL database.

PostgreSQL is found at ASSESS_TEST_POSTGRES (default: the machine's server on 127.0.0.1:5432,
database ``test``). Each test that uses it gets a new database, dropped afterwards. Where no
server answers, those tests are skipped with the reason, unless ASSESS_REQUIRE_POSTGRES=1 (as in
CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from assess.store import db

PG_URL = os.environ.get("ASSESS_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


def _postgres_database() -> Iterator[str]:
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"assess_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("ASSESS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but not reachable at {PG_URL}: {exc}")
        pytest.skip(f"no PostgreSQL at {PG_URL} (set ASSESS_TEST_POSTGRES to test it)")
    try:
        yield sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def empty_db_url(request, tmp_path) -> Iterator[str]:
    """The URL of an empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'assess.db'}"
    else:
        yield from _postgres_database()


#: A SQLite file migrated once per test session, copied for each test that needs a migrated
#: database (the migrations themselves are tested on empty databases in test_migrations.py).
_TEMPLATE: dict[str, Path] = {}


def migrate_sqlite(url: str) -> None:
    """Make the SQLite file at ``url`` a freshly migrated database: a copy of one migrated once
    per session, which is the same as running the migrations and far quicker."""
    template = _TEMPLATE.get("sqlite")
    if template is None:
        template = Path(tempfile.mkdtemp(prefix="assess-template-")) / "migrated.db"
        db.upgrade(f"sqlite:///{template}")
        with sqlite3.connect(template) as conn:  # everything in the main file, no -wal beside it
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
        _TEMPLATE["sqlite"] = template
    target = Path(sa.engine.make_url(url).database or "")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)


def migrated(url: str) -> None:
    """Migrate the empty database at ``url`` to the latest revision (a copy on SQLite)."""
    if url.startswith("sqlite"):
        migrate_sqlite(url)
    else:
        db.upgrade(url)


@pytest.fixture
def db_url(empty_db_url) -> str:
    """An empty database of each kind, migrated to the latest revision."""
    migrated(empty_db_url)
    return empty_db_url


@pytest.fixture
def engine(db_url) -> Iterator[sa.Engine]:
    eng = db.make_engine(db_url)
    yield eng
    eng.dispose()
