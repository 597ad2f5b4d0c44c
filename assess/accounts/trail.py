"""The audit trail as administrators and auditors read it: filtered, newest first, a page at a
time, and exported whole to Excel.

The filters: an action prefix ("user." for every change to accounts), the actor's username, the
subject's type and id, and a first and last day, in China time like every time shown. A page
shows each event as plain text (before and after shortened); the export carries every matching
row oldest first, in the chain's order, with the full hashes and the exact JSON of before and
after, so that an auditor can check the chain outside the product.
"""

from __future__ import annotations

import io
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from assess.errors import Invalid, Problem
from assess.settings import CHINA_TIME
from assess.store import audit
from assess.store.models import AuditEvent

#: Shown before/after texts are cut to this many characters.
SHORT_LENGTH = 160
#: How many characters of a hash a page shows.
HASH_PREFIX = 12
#: The longest text each filter takes (the columns' own lengths).
_LIMITS = {"action": 60, "actor": 64, "subject_type": 40, "subject_id": 40}
_FILTER_NAMES = {
    "action": ("操作", "action"),
    "actor": ("操作人", "actor"),
    "subject_type": ("对象类型", "subject type"),
    "subject_id": ("对象编号", "subject id"),
    "since": ("起始日期", "first day"),
    "until": ("截止日期", "last day"),
}


@dataclass(frozen=True)
class TrailFilter:
    """Which events to show. Empty text and None match everything; dates are China dates and
    both ends are included."""

    action: str = ""  # a prefix of the action
    actor: str = ""  # a username, any case; "-" for the system itself
    subject_type: str = ""
    subject_id: str = ""
    since: date | None = None
    until: date | None = None

    def as_query(self) -> dict[str, str]:
        """The filter as query parameters (only those set), for links and the pager."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value:
                out[f.name] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    @property
    def any(self) -> bool:
        """Whether any filter is set."""
        return bool(self.as_query())


def _date(raw: str, name: str) -> tuple[date | None, Problem | None]:
    text = raw.strip()
    if not text:
        return None, None
    try:
        return date.fromisoformat(text), None
    except ValueError:
        zh, en = _FILTER_NAMES[name]
        return None, Problem(
            f"{name}_date",
            f"{zh}应为 年-月-日 格式的日期，例如 2026-11-30",
            f"the {en} must be a date written year-month-day, e.g. 2026-11-30",
            name,
        )


def read_filter(params: Mapping[str, str]) -> TrailFilter:
    """The filter a query asks for; Invalid lists every value refused (text too long or with
    control characters, a date that is no date, a first day after the last)."""
    problems: list[Problem] = []
    text: dict[str, str] = {}
    for name, limit in _LIMITS.items():
        value = str(params.get(name) or "").strip()
        zh, en = _FILTER_NAMES[name]
        if any(unicodedata.category(c) == "Cc" for c in value):
            problems.append(
                Problem(
                    f"{name}_control_character",
                    f"{zh}不能包含控制字符",
                    f"the {en} must not contain control characters",
                    name,
                )
            )
            value = ""
        elif len(value) > limit:
            problems.append(
                Problem(
                    f"{name}_too_long",
                    f"{zh}不超过 {limit} 个字符",
                    f"the {en} may have at most {limit} characters",
                    name,
                )
            )
            value = ""
        text[name] = value
    since, p1 = _date(str(params.get("since") or ""), "since")
    until, p2 = _date(str(params.get("until") or ""), "until")
    problems += [p for p in (p1, p2) if p is not None]
    if since is not None and until is not None and since > until:
        problems.append(
            Problem(
                "dates_reversed",
                "起始日期不能晚于截止日期",
                "the first day must not be after the last day",
                "since",
            )
        )
    if problems:
        raise Invalid(problems)
    return TrailFilter(since=since, until=until, **text)


def _start_of(day: date) -> datetime:
    """The UTC instant a China day begins (times are stored in UTC)."""
    return datetime.combine(day, time.min, CHINA_TIME).astimezone(UTC)


def trail_query(f: TrailFilter, *, newest_first: bool = True) -> SelectOfScalar[AuditEvent]:
    """The events the filter matches, newest first (or in the chain's order)."""
    order = col(AuditEvent.id).desc() if newest_first else col(AuditEvent.id)
    q = select(AuditEvent).order_by(order)
    if f.action:
        q = q.where(col(AuditEvent.action).startswith(f.action, autoescape=True))
    if f.actor == "-":
        q = q.where(col(AuditEvent.actor_id).is_(None))
    elif f.actor:
        q = q.where(sa.func.lower(col(AuditEvent.actor)) == f.actor.lower())
    if f.subject_type:
        q = q.where(AuditEvent.subject_type == f.subject_type)
    if f.subject_id:
        q = q.where(AuditEvent.subject_id == f.subject_id)
    if f.since is not None:
        q = q.where(col(AuditEvent.at) >= _start_of(f.since))
    if f.until is not None:
        q = q.where(col(AuditEvent.at) < _start_of(f.until + timedelta(days=1)))
    return q


def count_events(session: Session, f: TrailFilter) -> int:
    """How many events the filter matches."""
    counted: Any = sa.select(sa.func.count()).select_from(trail_query(f).order_by(None).subquery())
    return int(session.execute(counted).scalar_one())


def china_time(at: datetime) -> datetime:
    """A stored time in China time (SQLite gives stored times back without a zone: UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(CHINA_TIME)


def _value_text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def readable(value: Any, limit: int = SHORT_LENGTH) -> str:
    """A before or after value as short readable text: ``field: value; …`` for the fields of
    an object, cut to ``limit`` characters with an ellipsis; "" for nothing."""
    if value is None or value == {}:
        return ""
    if isinstance(value, dict):
        text = "; ".join(f"{k}: {_value_text(v)}" for k, v in value.items())
    else:
        text = _value_text(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class TrailRow:
    """One event as a page shows it."""

    id: int
    at: datetime  # China time
    actor: str  # "" for the system
    action: str
    subject_type: str
    subject_id: str
    before: str
    after: str
    reason: str
    hash: str

    @property
    def hash_prefix(self) -> str:
        return self.hash[:HASH_PREFIX]


def trail_rows(events: Iterable[AuditEvent]) -> list[TrailRow]:
    """Events as plain rows for a page."""
    return [
        TrailRow(
            id=e.id or 0,
            at=china_time(e.at),
            actor=e.actor,
            action=e.action,
            subject_type=e.subject_type,
            subject_id=e.subject_id,
            before=readable(e.before),
            after=readable(e.after),
            reason=e.reason,
            hash=e.hash,
        )
        for e in events
    ]


# --- the export ------------------------------------------------------------------------------

#: The export's words as (Chinese, English).
_WORDS: dict[str, tuple[str, str]] = {
    "sheet.about": ("说明", "About"),
    "sheet.events": ("审计日志", "Audit trail"),
    "title": ("审计日志导出", "Audit trail export"),
    "item": ("项目", "Item"),
    "content": ("内容", "Content"),
    "exported": ("导出时间（北京时间）", "Exported at (China time)"),
    "filters": ("筛选条件", "Filters"),
    "no_filters": ("无（全部记录）", "none (every event)"),
    "rows": ("记录数", "Events"),
    "chain": ("整条链校验", "Whole chain check"),
    "order": ("顺序", "Order"),
    "order_text": (
        "按编号从旧到新（即哈希链的顺序）",
        "by id, oldest first (the order of the hash chain)",
    ),
    "hash_rule": ("哈希的计算", "How each hash is made"),
    "hash_text": (
        "SHA-256（前序哈希 + 换行 + 本条规范内容）；规范内容为编号、时间（UTC）、操作人编号、"
        "操作人、操作、对象类型、对象编号、修改前、修改后、理由组成的 JSON（键排序、无空格）",
        "SHA-256 of (previous hash + newline + the row's canonical content); the canonical "
        "content is the JSON of id, time (UTC), actor id, actor, action, subject type, subject "
        "id, before, after and reason, with sorted keys and no spaces",
    ),
    "whole": ("完整：共 {n} 条记录，哈希链无断裂", "whole: {n} events, no broken link"),
    "id": ("编号", "Id"),
    "at_china": ("时间（北京时间）", "Time (China)"),
    "at_utc": ("时间（UTC，规范格式）", "Time (UTC, canonical)"),
    "actor_id": ("操作人编号", "Actor id"),
    "actor": ("操作人", "Actor"),
    "action": ("操作", "Action"),
    "subject_type": ("对象类型", "Subject type"),
    "subject_id": ("对象编号", "Subject id"),
    "before": ("修改前（JSON）", "Before (JSON)"),
    "after": ("修改后（JSON）", "After (JSON)"),
    "reason": ("理由", "Reason"),
    "prev_hash": ("前序哈希", "Previous hash"),
    "hash": ("哈希", "Hash"),
    "system": ("（系统）", "(system)"),
}
_COLUMNS = (
    "id",
    "at_china",
    "at_utc",
    "actor_id",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "before",
    "after",
    "reason",
    "prev_hash",
    "hash",
)
_WIDTHS = {"at_china": 20, "at_utc": 28, "action": 22, "before": 50, "after": 50, "reason": 30}


def _json(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def filter_text(f: TrailFilter, en: bool) -> str:
    """The filter in words, for the export's cover."""
    parts = []
    for name, value in f.as_query().items():
        zh_name, en_name = _FILTER_NAMES[name]
        parts.append(f"{en_name}: {value}" if en else f"{zh_name}：{value}")
    if not parts:
        return _WORDS["no_filters"][1 if en else 0]
    return ("; " if en else "；").join(parts)


def trail_workbook(session: Session, f: TrailFilter, lang: str = "zh") -> bytes:
    """Every event the filter matches, oldest first, as an .xlsx file: an "About" sheet (when,
    which filters, how many, whether the whole chain verifies and how a hash is made), then the
    events with their full hashes and the exact JSON of before and after."""
    en = lang.lower().startswith("en")

    def w(key: str, **values: Any) -> str:
        text = _WORDS[key][1 if en else 0]
        return text.format(**values) if values else text

    verdict = audit.verify(session)
    if verdict.ok:
        chain = w("whole", n=verdict.rows)
    else:
        chain = verdict.problem_en if en else verdict.problem_zh
    count = count_events(session, f)
    book = Workbook(write_only=True)
    about = book.create_sheet(w("sheet.about"))
    about.column_dimensions["A"].width = 24
    about.column_dimensions["B"].width = 100
    bold = Font(bold=True)

    def strong(text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(about, value=text)
        cell.font = bold
        return cell

    about.append([strong(w("title"))])
    about.append([strong(w("item")), strong(w("content"))])
    exported = datetime.now(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S")
    for key, value in [
        ("exported", exported),
        ("filters", filter_text(f, en)),
        ("rows", count),
        ("chain", chain),
        ("order", w("order_text")),
        ("hash_rule", w("hash_text")),
    ]:
        about.append([w(key), value])

    sheet = book.create_sheet(w("sheet.events"))
    for n, name in enumerate(_COLUMNS):
        letter = chr(ord("A") + n)
        sheet.column_dimensions[letter].width = _WIDTHS.get(name, 16)
    sheet.freeze_panes = "A2"
    header = []
    for name in _COLUMNS:
        cell = WriteOnlyCell(sheet, value=w(name))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    rows = session.exec(trail_query(f, newest_first=False).execution_options(yield_per=2000))
    for e in rows:
        sheet.append(
            [
                e.id,
                china_time(e.at).strftime("%Y-%m-%d %H:%M:%S"),
                audit.stamp(e.at),
                e.actor_id,
                e.actor or w("system"),
                e.action,
                e.subject_type,
                e.subject_id,
                _json(e.before),
                _json(e.after),
                e.reason,
                e.prev_hash,
                e.hash,
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def workbook_filename(lang: str = "zh", now: datetime | None = None) -> tuple[str, str]:
    """The name an export is offered under, and its plain-ASCII English fallback."""
    day = (now or datetime.now(CHINA_TIME)).astimezone(CHINA_TIME).strftime("%Y%m%d-%H%M")
    english = f"audit-trail-{day}.xlsx"
    return (english if lang.lower().startswith("en") else f"审计日志-{day}.xlsx"), english
