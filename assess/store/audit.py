"""The audit trail: every event that matters, append-only and hash-chained.

Each row carries the hash of the row before it (``prev_hash``; the first row's is
``GENESIS``) and its own ``hash``: the SHA-256 of ``prev_hash`` and the row's canonical content
(``canonical``). Changing, removing or inserting a row anywhere breaks the chain at that row,
and ``verify`` names the first broken link. The database refuses UPDATE and DELETE on the table
(triggers made by migration 0004), so a change takes someone who can drop a trigger, and even
then it shows.

Every writer goes through ``append``: a service recording one event and the demo's bulk loader
recording thousands compute the chain with the same code. Appends are serialised, so the chain
never forks: SQLite writers hold the database's write lock already; on PostgreSQL an advisory
lock is taken for the rest of the transaction. The unique ``prev_hash`` would refuse a fork
anyway.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from assess.store.models import AuditEvent, User, utcnow

GENESIS = "0" * 64
#: The PostgreSQL advisory lock key appends take (any constant works; this one spells "audit").
_LOCK_KEY = 0x6175646974
_TABLE = cast(sa.Table, sa.inspect(AuditEvent).local_table)
#: The columns a row's hash covers, in the canonical content's order (keys are sorted anyway).
CONTENT = (
    "id",
    "at",
    "actor_id",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "before",
    "after",
    "reason",
)


@dataclass(frozen=True)
class Event:
    """One event to record. ``before`` and ``after`` are plain data (dicts of the fields that
    changed, or whatever describes the object); dates, enums and sets are turned to JSON."""

    action: str
    subject_type: str
    subject_id: str | int | None
    before: Any = None
    after: Any = None
    reason: str = ""
    actor_id: int | None = None
    actor: str = ""
    at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # not stored: for the caller's use


def by(user: User | None) -> dict[str, Any]:
    """The actor fields of an event made by ``user`` (None: the system itself)."""
    if user is None:
        return {"actor_id": None, "actor": ""}
    return {"actor_id": user.id, "actor": user.username}


def plain(value: Any) -> Any:
    """``value`` as JSON data: dates as ISO text, enums as their values, sets as sorted lists."""
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, datetime):
        return stamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def stamp(at: datetime) -> str:
    """A time as the canonical content writes it: UTC, microseconds, "Z" (a time read back
    without a zone, as SQLite gives it, is UTC: that is how it was stored)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(row: dict[str, Any]) -> bytes:
    """A row's content as the bytes its hash covers: the CONTENT fields as JSON with sorted
    keys and no spaces, times as ``stamp`` writes them."""
    content = {k: row.get(k) for k in CONTENT}
    content["at"] = stamp(row["at"])
    content["subject_id"] = str(content["subject_id"] or "")
    content["reason"] = content["reason"] or ""
    content["actor"] = content["actor"] or ""
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.encode()


def link(prev_hash: str, row: dict[str, Any]) -> str:
    """The hash of a row that follows ``prev_hash``."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(row)).hexdigest()


def _head(conn: sa.Connection) -> tuple[int, str]:
    """The last row's id and hash (0 and GENESIS for an empty trail), after taking the append
    lock on PostgreSQL."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    last = conn.execute(
        sa.select(_TABLE.c.id, _TABLE.c.hash).order_by(_TABLE.c.id.desc()).limit(1)
    ).first()
    return (0, GENESIS) if last is None else (int(last[0]), str(last[1]))


def append(target: Session | sa.Connection, events: Sequence[Event]) -> list[dict[str, Any]]:
    """Record ``events`` in order at the end of the trail, in the caller's transaction; return
    the rows written. Ids are given here (one more than the last), so that each row's hash can
    cover its own id."""
    if not events:
        return []
    conn = target.connection() if isinstance(target, Session) else target
    last_id, prev = _head(conn)
    rows = []
    now = utcnow()
    for n, e in enumerate(events, start=1):
        row = {
            "id": last_id + n,
            "at": e.at or now,
            "actor_id": e.actor_id,
            "actor": e.actor or "",
            "action": e.action,
            "subject_type": e.subject_type,
            "subject_id": "" if e.subject_id is None else str(e.subject_id),
            "before": plain(e.before),
            "after": plain(e.after),
            "reason": e.reason or "",
            "prev_hash": prev,
        }
        row["hash"] = prev = link(row["prev_hash"], row)
        rows.append(row)
    conn.execute(sa.insert(_TABLE), rows)
    if conn.dialect.name == "postgresql":  # ids were given: move the sequence past them
        conn.execute(
            sa.text("SELECT setval(pg_get_serial_sequence('audit_event', 'id'), :n)"),
            {"n": rows[-1]["id"]},
        )
    return rows


def record(
    session: Session,
    action: str,
    subject_type: str,
    subject_id: str | int | None,
    *,
    actor: User | None,
    before: Any = None,
    after: Any = None,
    reason: str = "",
) -> dict[str, Any]:
    """Record one event made by ``actor`` (None: the system) in the session's transaction."""
    event = Event(action, subject_type, subject_id, before, after, reason, **by(actor))
    return append(session, [event])[0]


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that differ between two views of an object, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


@dataclass(frozen=True)
class Verdict:
    """What ``verify`` found: how many rows it checked, and the first broken link if any."""

    rows: int
    broken_id: int | None = None
    problem_zh: str = ""
    problem_en: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def _rows(conn: sa.Connection, chunk: int) -> Iterator[sa.Row[Any]]:
    after = -1
    while True:
        batch = conn.execute(
            sa.select(_TABLE).where(_TABLE.c.id > after).order_by(_TABLE.c.id).limit(chunk)
        ).all()
        if not batch:
            return
        yield from batch
        after = int(batch[-1].id)


def verify(target: Session | sa.Connection, chunk: int = 5000) -> Verdict:
    """Check the whole chain, oldest row first; name the first row whose link is broken."""
    conn = target.connection() if isinstance(target, Session) else target
    prev = GENESIS
    n = 0
    for row in _rows(conn, chunk):
        n += 1
        data = row._asdict()
        if data["prev_hash"] != prev:
            return Verdict(
                n,
                int(data["id"]),
                f"第 {data['id']} 条记录的前序哈希与上一条记录不符：其前有记录被删除、插入或修改",
                f"row {data['id']} does not follow the row before it: a row before it was "
                "removed, inserted or changed",
            )
        if link(prev, data) != data["hash"]:
            return Verdict(
                n,
                int(data["id"]),
                f"第 {data['id']} 条记录的内容与其哈希不符：该记录已被修改",
                f"row {data['id']}'s content does not match its hash: the row was changed",
            )
        prev = data["hash"]
    return Verdict(n)


def events_of(
    session: Session, subject_type: str, subject_ids: Iterable[str | int]
) -> list[AuditEvent]:
    """The events about some objects of one type, oldest first."""
    ids = [str(i) for i in subject_ids]
    if not ids:
        return []
    q = (
        select(AuditEvent)
        .where(AuditEvent.subject_type == subject_type, col(AuditEvent.subject_id).in_(ids))
        .order_by(col(AuditEvent.id))
    )
    return list(session.exec(q))
