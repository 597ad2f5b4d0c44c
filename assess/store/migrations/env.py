"""Alembic environment: the URL comes from the config or the settings, never from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection, Engine

from assess.settings import Settings
from assess.store import models
from assess.store.db import make_engine

config = context.config
target_metadata = models.SQLModel.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings().url


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given = config.attributes.get("connection")  # a Connection or an Engine, from tests
    if isinstance(given, Connection):
        _run(given)
    elif isinstance(given, Engine):
        with given.begin() as conn:
            _run(conn)
    else:
        engine = make_engine(_url())
        with engine.begin() as conn:
            _run(conn)
        engine.dispose()


def _run(conn) -> None:
    # render_as_batch: SQLite cannot ALTER most things, so changes are made by copying tables.
    context.configure(
        connection=conn, target_metadata=target_metadata, render_as_batch=True, compare_type=True
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
