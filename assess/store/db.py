"""Database engines and sessions: SQLite (embedded default) or PostgreSQL, and migrations."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine
from sqlmodel import Session

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: How long a SQLite writer waits for another writer before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 5000


def make_engine(url: str, **kw: Any) -> Engine:
    """An engine for ``url``. A SQLite file is put in WAL mode with a busy timeout."""
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kw
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        _SqliteWriters(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kw)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # BEGIN is issued by _SqliteWriters.begin
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


#: Execution option naming how a SQLite transaction begins: IMMEDIATE (the default) takes the
#: write lock at once; DEFERRED reads a snapshot and takes no lock (for read-only work).
BEGIN_OPTION = "sqlite_begin"


def reading(engine: Engine) -> Engine:
    """``engine`` for read-only work: on SQLite its transactions take no lock.

    A DEFERRED transaction that then writes fails at once (no waiting) if another writer came
    first, so use it only where nothing is written. On PostgreSQL it is the engine itself.
    """
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{BEGIN_OPTION: "DEFERRED"})


#: Execution option for work run where it must never wait (the web app's event loop): on
#: SQLite, a transaction that would have to wait for the write lock raises WriterBusy at once,
#: before anything is written, instead of waiting. Other databases ignore it.
NO_WAIT_OPTION = "sqlite_no_wait"


class WriterBusy(Exception):
    """Another writer holds SQLite's write lock, and this transaction was told not to wait."""


def no_wait(engine: Engine) -> Engine:
    """``engine`` whose SQLite writers fail with WriterBusy rather than wait for the lock."""
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{NO_WAIT_OPTION: True})


def begin_read(session: Session) -> None:
    """Start the session's next transaction as a read that takes no lock (SQLite).

    For a short read before the real work of a writing request (who is signed in): end it with
    a commit before writing. Does nothing when a transaction is already open.
    """
    if not session.in_transaction():
        session.connection(execution_options={BEGIN_OPTION: "DEFERRED"})


class _SqliteWriters:
    """How SQLite transactions begin, and a queue for writers inside this process.

    pysqlite's own transaction handling defers BEGIN; it is taken over so that a transaction
    starts with BEGIN IMMEDIATE: it takes the write lock at once, and waits for it (busy timeout)
    rather than failing halfway. SQLite's wait is a sleep-and-retry with growing naps (up to
    100 ms), which under many concurrent writers makes a few requests wait far longer than the
    work ahead of them. So writers of this process first queue on a lock of their own, handed
    over the moment the previous writer's connection goes back to the pool; SQLite's busy
    timeout still arbitrates between processes. The lock is held per pooled connection, and the
    wait for it is bounded by the busy timeout, so a thread holding two connections gets the
    usual "database is locked" error rather than a deadlock.
    """

    KEY = "assess_writer"

    def __init__(self, engine: Engine) -> None:
        self.lock = threading.Lock()
        sa.event.listen(engine, "begin", self.begin)
        for name in ("checkin", "close", "invalidate"):
            sa.event.listen(engine.pool, name, self.release)

    def begin(self, conn: sa.Connection) -> None:
        options = conn.get_execution_options()
        if options.get(BEGIN_OPTION, "IMMEDIATE") == "DEFERRED":
            conn.exec_driver_sql("BEGIN")
            return
        if options.get(NO_WAIT_OPTION):
            self._begin_at_once(conn)
            return
        if not conn.info.get(self.KEY):
            conn.info[self.KEY] = self.lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    def _begin_at_once(self, conn: sa.Connection) -> None:
        """BEGIN IMMEDIATE if the lock is free in this process and in SQLite; else WriterBusy."""
        if not conn.info.get(self.KEY):
            if not self.lock.acquire(blocking=False):
                raise WriterBusy("another writer of this process holds the lock")
            conn.info[self.KEY] = True
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA busy_timeout=0")
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # SQLITE_BUSY: another process is writing
            raise WriterBusy(str(exc)) from exc
        finally:
            raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")

    def release(self, _dbapi_conn: Any, record: Any, *_: Any) -> None:
        if record is not None and record.info.pop(self.KEY, False):
            self.lock.release()


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as s:
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise


def alembic_config(url: str) -> Config:
    """Alembic configuration for ``url``, independent of the working directory."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
