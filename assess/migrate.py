"""Bring a database up to date: apply the migrations, then fill what a migration cannot compute
(values that need the questionnaires, such as the analytics columns of scores stored earlier)."""

from __future__ import annotations

from sqlmodel import Session

from assess.analytics.derived import refresh_derived
from assess.store import db


def upgrade(url: str) -> int:
    """Migrate the database at ``url`` to the head and fill stored scores' derived columns;
    returns how many scores were filled (0 when none needed it). Safe to run again."""
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            filled = refresh_derived(session)
            session.commit()
        return filled
    finally:
        engine.dispose()
