"""Fixtures pytest-alembic reads; the database fixtures themselves are in tests/databases.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.config import Config

from assess.store import db


# pytest-alembic reads these two fixtures.
@pytest.fixture
def alembic_config() -> Config:
    return db.alembic_config("sqlite://")  # the URL is replaced by alembic_engine's


@pytest.fixture
def alembic_engine(empty_db_url) -> Iterator[sa.Engine]:
    eng = db.make_engine(empty_db_url)
    yield eng
    eng.dispose()
