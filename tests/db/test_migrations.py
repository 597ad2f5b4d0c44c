"""The migrations, on SQLite and PostgreSQL: one head, upgrade from empty, models match DDL."""

from __future__ import annotations

import sqlalchemy as sa
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

from assess.store import db

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]


def test_upgrade_twice_is_harmless_and_reports_the_head(empty_db_url):
    db.upgrade(empty_db_url)
    db.upgrade(empty_db_url)
    engine = db.make_engine(empty_db_url)
    try:
        assert db.current_revision(engine) == "0004"
        names = set(sa.inspect(engine).get_table_names())
        assert {"enterprise", "app_user", "assessment", "answer", "score_record"} <= names
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_sqlite_writers_queue_and_readers_take_no_lock(tmp_path):
    """Many threads increment one counter at once: none fails, none is lost; a reader sees the
    last committed value while a writer holds the lock (a reader that needed the lock would
    wait out the busy timeout here and fail with "database is locked")."""
    import threading

    engine = db.make_engine(f"sqlite:///{tmp_path / 'w.db'}", pool_size=8, max_overflow=8)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE counter (n INTEGER NOT NULL)")
            conn.exec_driver_sql("INSERT INTO counter VALUES (0)")
        errors: list[BaseException] = []

        def bump() -> None:
            try:
                for _ in range(25):
                    with engine.begin() as conn:
                        n = conn.exec_driver_sql("SELECT n FROM counter").scalar()
                        conn.exec_driver_sql("UPDATE counter SET n = ?", (n + 1,))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=bump) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        reader = db.reading(engine)
        with engine.begin() as writer:  # holds the write lock (BEGIN IMMEDIATE)
            writer.exec_driver_sql("UPDATE counter SET n = -1")
            with reader.connect() as conn:
                assert conn.exec_driver_sql("SELECT n FROM counter").scalar() == 12 * 25
        with reader.connect() as conn:
            assert conn.exec_driver_sql("SELECT n FROM counter").scalar() == -1
    finally:
        engine.dispose()


def test_a_sqlite_writer_told_not_to_wait_stops_before_writing(tmp_path):
    """On a no_wait engine a transaction that would wait for the write lock raises WriterBusy
    at once, whether a writer of this process or another process holds the lock; nothing of
    it is written, and the connection waits as usual again afterwards."""
    import sqlite3

    import pytest

    path = tmp_path / "n.db"
    engine = db.make_engine(f"sqlite:///{path}", pool_size=1, max_overflow=1)
    hurry = db.no_wait(engine)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE counter (n INTEGER NOT NULL)")
            conn.exec_driver_sql("INSERT INTO counter VALUES (0)")
        with engine.begin() as writer:  # a writer of this process holds the lock
            writer.exec_driver_sql("UPDATE counter SET n = 1")
            with pytest.raises(db.WriterBusy), hurry.begin() as conn:
                conn.exec_driver_sql("UPDATE counter SET n = 100")
        with hurry.begin() as conn:  # free again: no waiting needed
            conn.exec_driver_sql("UPDATE counter SET n = n + 10")

        other = sqlite3.connect(path, isolation_level=None)  # another process, as SQLite sees it
        try:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(db.WriterBusy), hurry.begin() as conn:
                conn.exec_driver_sql("UPDATE counter SET n = 100")
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert engine.pool.checkedin() == 1  # type: ignore[attr-defined]
        with engine.connect() as conn:  # the one that failed: its busy timeout is back
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        with hurry.begin() as conn:
            conn.exec_driver_sql("UPDATE counter SET n = n + 100")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT n FROM counter").scalar() == 111
    finally:
        engine.dispose()


def test_the_cli_migrates_and_creates_a_user_and_refuses_a_weak_password(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from assess.cli import app

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade", "--url", url]).exit_code == 0
    monkeypatch.setenv("ASSESS_NEW_PASSWORD", "short")
    bad = runner.invoke(app, ["users", "create", "boss", "--role", "admin", "--url", url])
    assert bad.exit_code == 1 and "password_too_short" in bad.output
    monkeypatch.setenv("ASSESS_NEW_PASSWORD", "a-long-enough-secret")
    ok = runner.invoke(app, ["users", "create", "boss", "--role", "admin", "--url", url])
    assert ok.exit_code == 0, ok.output
    assert "created user boss (admin)" in ok.output
    again = runner.invoke(app, ["users", "create", "BOSS", "--role", "admin", "--url", url])
    assert again.exit_code == 1 and "username_taken" in again.output


def test_scores_stored_before_the_analytics_columns_get_them_on_upgrade(empty_db_url, catalog):
    """A database at revision 0002 with one submitted, scored assessment: after `upgrade` its
    score has per-link adoption and the flag count (from the card) and the digest and indicator
    values (from the answers), equal to what storing the card today would give."""
    from assess import migrate
    from assess.analytics.derived import derived_fields
    from assess.questionnaire.compile import compile_spec
    from scoring import score
    from tests.conftest import extreme_answers

    spec = compile_spec(catalog.compose("general", 2))
    answers = extreme_answers(spec, best=True)
    answers["core.ctx.production"] = "none"  # a firm without a shop: production does not apply
    card = score(spec, answers)
    assert card.applicable_links is not None and "production" not in card.applicable_links
    db.upgrade(empty_db_url, "0002")
    engine = db.make_engine(empty_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO region (id, name_zh, name_en, content_hash) VALUES"
                    " ('r', '区', 'R', 'h');"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO cluster (region_id, code, name_zh, name_en, default_sector)"
                    " VALUES ('r', 'c', '群', 'C', 'general')"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO enterprise (name, uscc, sector, cluster_id, staff_band,"
                    " contact_name, contact_phone, contact_email, version, created_at,"
                    " updated_at) VALUES ('甲', '91220200MA0000001X', 'general', 1, '20_299',"
                    " '', '', '', 1, :t, :t)"
                ),
                {"t": "2026-01-01 00:00:00+00:00"},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO assessment (enterprise_id, year, questionnaire,"
                    " questionnaire_version, content_hash, status, version, created_at,"
                    " updated_at) VALUES (1, 2021, 'general', 2, :h, 'submitted', 2, :t, :t)"
                ),
                {"h": card.content_hash, "t": "2026-01-01 00:00:00+00:00"},
            )
            answer = sa.table(
                "answer",
                *(sa.column(c) for c in ("assessment_id", "question", "comment", "version")),
                sa.column("value", sa.JSON),
                sa.column("updated_at", sa.DateTime(timezone=True)),
            )
            from datetime import UTC, datetime

            now = datetime(2026, 1, 1, tzinfo=UTC)
            conn.execute(
                sa.insert(answer),
                [
                    {
                        "assessment_id": 1,
                        "question": q,
                        "value": v,
                        "comment": "",
                        "version": 1,
                        "updated_at": now,
                    }
                    for q, v in answers.items()
                ],
            )
            record = sa.table(
                "score_record",
                *(
                    sa.column(c)
                    for c in (
                        "assessment_id",
                        "kind",
                        "content_hash",
                        "overall",
                        "stage",
                        "it_adopter",
                        "it_links",
                        "missing_required",
                        "computed_at",
                    )
                ),
                sa.column("card", sa.JSON),
            )
            conn.execute(
                sa.insert(record),
                {
                    "assessment_id": 1,
                    "kind": "self",
                    "content_hash": card.content_hash,
                    "overall": card.overall,
                    "stage": card.stage,
                    "it_adopter": card.it_adopter,
                    "it_links": len(card.it_links),
                    "missing_required": 0,
                    "computed_at": now,
                    "card": card.model_dump(mode="json"),
                },
            )
        filled = migrate.upgrade(empty_db_url)
        assert filled == 1
        assert migrate.upgrade(empty_db_url) == 0  # nothing left to fill
        expected = derived_fields(card, 2021, answers)
        with engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT it_needed, applied_rd, applied_production, applied_management,"
                    " applied_marketing, flags, digest, indicators FROM score_record"
                )
            ).one()
        got = dict(
            zip(
                [
                    "it_needed",
                    "applied_rd",
                    "applied_production",
                    "applied_management",
                    "applied_marketing",
                    "flags",
                    "digest",
                    "indicators",
                ],
                row,
                strict=True,
            )
        )
        if isinstance(got["indicators"], str):
            import json

            got["indicators"] = json.loads(got["indicators"])
        assert got["applied_production"] is None  # the link does not apply to this firm
        assert got["applied_rd"] == 1  # best answers: R&D design systems in routine use
        assert got == expected
    finally:
        engine.dispose()
