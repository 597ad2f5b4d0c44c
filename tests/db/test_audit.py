"""The audit trail on both databases: administrators' changes leave events with before and after;
the database refuses UPDATE and DELETE; a row changed or removed behind the trigger's back is
named by verify; two writers at once keep one chain; the trail filters, pages and exports."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from openpyxl import load_workbook
from sqlmodel import Session, col, select

from assess.accounts import bodies, trail
from assess.accounts.enterprises import update_enterprise
from assess.accounts.users import (
    change_role_and_scope,
    create_user,
    reset_password,
    scope_stamp,
    set_active,
)
from assess.errors import Invalid
from assess.settings import CHINA_TIME
from assess.store import audit
from assess.store.models import AuditEvent, SignInFailure, User
from tests.db import factories

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct-horse-battery"

#: Dropping the append-only triggers: what someone with the database's keys could do.
DROP_TRIGGERS = {
    "sqlite": ["DROP TRIGGER audit_event_no_update", "DROP TRIGGER audit_event_no_delete"],
    "postgresql": [
        "DROP TRIGGER audit_event_no_change ON audit_event",
        "DROP TRIGGER audit_event_no_truncate ON audit_event",
    ],
}


def _events(s: Session) -> list[AuditEvent]:
    return list(s.exec(select(AuditEvent).order_by(col(AuditEvent.id))))


def _history(engine) -> dict[str, int]:
    """A small history written through the services: an administrator, a body, a certifier, a
    firm and its edits, a conflict declared and removed. Returns names → ids."""
    with Session(engine, expire_on_commit=False) as s:
        boss = create_user(s, username="boss", password=PASSWORD, role="admin", hasher=FAST)
        body = bodies.create_body(s, name="一号机构", code="B1", by=boss)
        zhao = create_user(
            s,
            username="zhao",
            password=PASSWORD,
            role="certifier",
            cert_body_id=body.id,
            hasher=FAST,
            by=boss,
        )
        firm = factories.enterprise(s, name="甲化工有限公司")
        change = {"contact_name": "李四"}
        update_enterprise(s, firm, firm.version, change, contact_only=False, by=boss)
        c = bodies.declare_conflict(
            s, certifier_id=zhao.id, enterprise_id=firm.id, kind="own_firm", by=boss
        )
        bodies.remove_conflict(s, c.id or 0, by=boss, reason="离职已满三年")
        s.commit()
        return {
            "boss": boss.id or 0,
            "zhao": zhao.id or 0,
            "firm": firm.id or 0,
            "body": body.id or 0,
        }


def test_administrators_changes_to_users_and_enterprises_leave_events_without_secrets(engine):
    ids = _history(engine)
    with Session(engine, expire_on_commit=False) as s:
        boss = s.get(User, ids["boss"])
        zhao = s.get(User, ids["zhao"])
        set_active(s, zhao, False, by=boss)
        set_active(s, zhao, False, by=boss)  # no change: no event
        set_active(s, zhao, True, by=boss)
        reset_password(s, zhao, "another-long-secret", hasher=FAST, by=boss)
        change_role_and_scope(
            s,
            zhao,
            role="enterprise",
            enterprise_id=ids["firm"],
            cert_body_id=None,
            cluster_ids=[],
            seen_stamp=scope_stamp(s, zhao),
            by=boss,
        )
        s.commit()
        events = _events(s)
        actions = [e.action for e in events]
        assert actions == [
            "user.create",
            "body.create",
            "user.create",
            "enterprise.create",
            "enterprise.update",
            "conflict.declare",
            "conflict.remove",
            "user.deactivate",
            "user.activate",
            "user.password_reset",
            "user.scope",
        ]
        by_action = {e.action: e for e in events}
        made = [e for e in events if e.action == "user.create"][1]
        assert made.actor == "boss" and made.subject_id == str(ids["zhao"])
        assert made.after["role"] == "certifier" and made.after["username"] == "zhao"
        assert events[0].actor == "" and events[0].actor_id is None  # the operator's first account
        assert by_action["enterprise.create"].after["name"] == "甲化工有限公司"
        update = by_action["enterprise.update"]
        assert update.before == {"contact_name": ""} and update.after == {"contact_name": "李四"}
        assert by_action["user.deactivate"].after == {"is_active": False}
        reset = by_action["user.password_reset"]
        assert reset.before == {"must_change_password": False, "locked": False}
        assert reset.after == {"must_change_password": True, "locked": False}
        scope = by_action["user.scope"]
        assert scope.before == {
            "role": "certifier",
            "enterprise_id": None,
            "cert_body_id": ids["body"],
        }
        assert scope.after == {
            "role": "enterprise",
            "enterprise_id": ids["firm"],
            "cert_body_id": None,
        }
        text = " ".join(str(e.before) + str(e.after) for e in events)
        assert "argon2" not in text and PASSWORD not in text and "another-long-secret" not in text
        assert audit.verify(s).ok


def test_the_database_refuses_to_change_or_delete_an_event(engine):
    _history(engine)
    statements = [
        "UPDATE audit_event SET reason = 'nothing happened' WHERE id = 2",
        "DELETE FROM audit_event WHERE id = 2",
    ]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_event")
    for sql in statements:
        with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError) as exc:
            conn.exec_driver_sql(sql)
        assert "append-only" in str(exc.value), sql
    with Session(engine) as s:
        assert len(_events(s)) == 7 and audit.verify(s).ok


def _tamper(engine, *statements: str) -> None:
    with engine.begin() as conn:
        for sql in DROP_TRIGGERS[engine.dialect.name]:
            conn.exec_driver_sql(sql)
        for sql in statements:
            conn.exec_driver_sql(sql)


def test_a_row_changed_behind_the_triggers_back_is_named_by_verify(engine):
    _history(engine)
    with Session(engine) as s:
        assert audit.verify(s).ok
        target = _events(s)[3]  # enterprise.create
    before = sa.text("UPDATE audit_event SET reason = 'x' WHERE id = :i").bindparams(i=target.id)
    with engine.begin() as conn:
        for sql in DROP_TRIGGERS[engine.dialect.name]:
            conn.exec_driver_sql(sql)
        conn.execute(before)
    with Session(engine) as s:
        verdict = audit.verify(s)
    assert not verdict.ok
    assert verdict.broken_id == target.id and verdict.rows == 4
    assert f"第 {target.id} 条记录的内容与其哈希不符" in verdict.problem_zh
    assert f"row {target.id}'s content does not match its hash" in verdict.problem_en


def test_a_changed_actor_is_named_even_when_the_hash_is_left_alone(engine):
    _history(engine)
    _tamper(engine, "UPDATE audit_event SET actor = 'someone' WHERE id = 5")
    with Session(engine) as s:
        assert audit.verify(s).broken_id == 5


def test_a_row_rehashed_after_a_change_breaks_the_next_link(engine):
    _history(engine)
    with Session(engine) as s:
        table = AuditEvent.__table__
        rows = [dict(r._mapping) for r in s.connection().execute(sa.select(table).order_by("id"))]
    forged = {**rows[2], "reason": "forged"}
    new_hash = audit.link(forged["prev_hash"], forged)
    _tamper(
        engine,
        f"UPDATE audit_event SET reason = 'forged', hash = '{new_hash}' WHERE id = {rows[2]['id']}",
    )
    with Session(engine) as s:
        verdict = audit.verify(s)
    assert verdict.broken_id == rows[3]["id"]  # the next row no longer follows it
    assert "前序哈希与上一条记录不符" in verdict.problem_zh


def test_a_middle_row_deleted_behind_the_triggers_back_is_named_by_verify(engine):
    _history(engine)
    _tamper(engine, "DELETE FROM audit_event WHERE id = 4")
    with Session(engine) as s:
        verdict = audit.verify(s)
    assert verdict.broken_id == 5  # the row after the gap no longer follows the one before it
    assert "row 5 does not follow the row before it" in verdict.problem_en


def test_two_writers_at_once_keep_one_unbroken_chain(engine):
    """Two sessions (on PostgreSQL, two connections in two threads) append at the same time;
    every event lands, in one chain with no fork."""
    each = 25
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            start.wait()
            for n in range(each):
                with Session(engine) as s:
                    audit.record(s, "test.write", name, n, actor=None, after={"n": n})
                    s.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    with Session(engine) as s:
        verdict = audit.verify(s)
        events = _events(s)
    assert verdict.ok and verdict.rows == 2 * each == len(events)
    assert [e.id for e in events] == list(range(1, 2 * each + 1))
    assert {e.subject_type for e in events} == {"left", "right"}


def test_a_second_writer_waits_for_the_first_and_follows_its_event(engine):
    """While one transaction has appended and not committed, another's append waits (the
    PostgreSQL advisory lock; SQLite's write lock), then links to the first's event."""
    done = threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with Session(engine) as s:
                audit.record(s, "test.second", "t", 2, actor=None)
                s.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            done.set()

    with Session(engine) as first:
        audit.record(first, "test.first", "t", 1, actor=None)
        other = threading.Thread(target=second)
        other.start()
        assert not done.wait(0.5)  # still waiting for the first transaction
        first.commit()
    other.join(timeout=60)
    assert done.is_set() and not errors, errors
    with Session(engine) as s:
        events = _events(s)
        assert [e.action for e in events] == ["test.first", "test.second"]
        assert events[1].prev_hash == events[0].hash and audit.verify(s).ok


# --- the trail as administrators read it -----------------------------------------------------


def test_the_trail_filters_by_action_actor_subject_and_china_day(engine):
    ids = _history(engine)
    with Session(engine) as s:
        everything = s.exec(trail.trail_query(trail.TrailFilter())).all()
        assert [e.id for e in everything] == list(range(7, 0, -1))  # newest first

        def ids_of(**kw) -> list[int]:
            f = trail.read_filter(kw)
            return [e.id for e in s.exec(trail.trail_query(f))]

        assert ids_of(action="conflict.") == [7, 6]
        assert ids_of(action="user") == [3, 1]
        assert ids_of(action="user%") == []  # % is literal
        assert ids_of(actor="BOSS") == [7, 6, 5, 3, 2]
        assert ids_of(actor="-") == [4, 1]  # the system's own
        assert ids_of(subject_type="enterprise", subject_id=str(ids["firm"])) == [5, 4]
        today = datetime.now(CHINA_TIME).date()
        assert ids_of(since=today.isoformat(), until=today.isoformat()) == list(range(7, 0, -1))
        assert ids_of(until=(today - timedelta(days=1)).isoformat()) == []
        assert ids_of(since=(today + timedelta(days=1)).isoformat()) == []
        assert trail.count_events(s, trail.read_filter({"action": "conflict."})) == 2


def test_a_china_day_begins_at_midnight_china_time_not_utc(engine):
    with Session(engine) as s:
        # 23:30 UTC on 1 March is 07:30 on 2 March in China.
        late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
        audit.append(s, [audit.Event("test.late", "t", 1, at=late)])
        s.commit()
        on_second = trail.TrailFilter(since=date(2026, 3, 2), until=date(2026, 3, 2))
        on_first = trail.TrailFilter(since=date(2026, 3, 1), until=date(2026, 3, 1))
        assert len(s.exec(trail.trail_query(on_second)).all()) == 1
        assert s.exec(trail.trail_query(on_first)).all() == []
        [row] = trail.trail_rows(s.exec(trail.trail_query(on_second)))
        assert row.at.strftime("%Y-%m-%d %H:%M") == "2026-03-02 07:30"


def test_bad_filters_are_refused_with_every_reason():
    with pytest.raises(Invalid) as exc:
        trail.read_filter(
            {"action": "a" * 61, "actor": "bo\x00ss", "since": "2026-02-30", "until": "yesterday"}
        )
    assert [p.code for p in exc.value.problems] == [
        "action_too_long",
        "actor_control_character",
        "since_date",
        "until_date",
    ]
    with pytest.raises(Invalid) as exc:
        trail.read_filter({"since": "2026-03-02", "until": "2026-03-01"})
    assert [p.code for p in exc.value.problems] == ["dates_reversed"]


def test_rows_show_before_and_after_as_short_readable_text(engine):
    with Session(engine) as s:
        audit.record(
            s,
            "test.text",
            "t",
            1,
            actor=None,
            before={"role": "certifier", "cluster_ids": [1, 2], "x": None},
            after={"note": "长" * 400},
            reason="why",
        )
        s.commit()
        [row] = trail.trail_rows(s.exec(trail.trail_query(trail.TrailFilter())))
    assert row.before == "role: certifier; cluster_ids: [1, 2]; x: —"
    assert len(row.after) == trail.SHORT_LENGTH and row.after.endswith("…")
    assert row.hash_prefix == row.hash[:12] and len(row.hash) == 64


def test_the_export_holds_every_matching_row_oldest_first_with_full_hashes(engine):
    _history(engine)
    with Session(engine) as s:
        body = trail.trail_workbook(s, trail.read_filter({"actor": "boss"}), "en")
        stored = {e.id: e for e in _events(s)}
    book = load_workbook(io.BytesIO(body))
    assert book.sheetnames == ["About", "Audit trail"]
    about = {r[0]: r[1] for r in book["About"].iter_rows(min_row=3, values_only=True)}
    assert about["Events"] == 5
    assert about["Filters"] == "actor: boss"
    assert about["Whole chain check"] == "whole: 7 events, no broken link"
    rows = list(book["Audit trail"].iter_rows(values_only=True))
    assert rows[0][0] == "Id" and rows[0][-1] == "Hash"
    assert [r[0] for r in rows[1:]] == [2, 3, 5, 6, 7]
    for r in rows[1:]:
        e = stored[r[0]]
        assert (r[4], r[5], r[11], r[12]) == ("boss", e.action, e.prev_hash, e.hash)
        assert r[2] == audit.stamp(e.at)
        # The exported content recomputes the stored hash: an auditor can check it outside.
        content = {
            "id": r[0],
            "at": e.at,
            "actor_id": r[3],
            "actor": r[4],
            "action": r[5],
            "subject_type": r[6],
            "subject_id": r[7],
            "before": json.loads(r[8]) if r[8] else None,
            "after": json.loads(r[9]) if r[9] else None,
            "reason": r[10] or "",
        }
        assert audit.link(r[11], content) == r[12]
    zh = load_workbook(io.BytesIO(trail_workbook_zh(engine)))
    assert zh.sheetnames == ["说明", "审计日志"]


def trail_workbook_zh(engine) -> bytes:
    with Session(engine) as s:
        return trail.trail_workbook(s, trail.TrailFilter())


def test_a_password_reset_records_that_it_lifted_a_lock_and_nothing_of_the_password(engine):
    ids = _history(engine)
    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as s:
        s.add(
            SignInFailure(
                key="user:zhao", failures=10, first_at=now, locked_until=now + timedelta(minutes=9)
            )
        )
        s.commit()
        zhao = s.get(User, ids["zhao"])
        reset_password(s, zhao, "a-brand-new-secret", hasher=FAST, by=s.get(User, ids["boss"]))
        s.commit()
        [event] = s.exec(select(AuditEvent).where(AuditEvent.action == "user.password_reset"))
        assert event.before == {"must_change_password": False, "locked": True}
        assert event.actor == "boss" and event.subject_id == str(ids["zhao"])
        assert "a-brand-new-secret" not in str(event.after) and "argon2" not in str(event.after)
        assert s.get(SignInFailure, "user:zhao") is None
