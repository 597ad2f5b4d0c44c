"""The analytics frame: one row per counted assessment, read from the stored scores in one query.

What counts is defined here, once, and everything that compares firms reads it from here:

- ``COUNTED``: the statuses whose stored score is the assessment's result (the store's
  ``REPORTED``); drafts never count.
- ``KIND_PREFERENCE``: which score an assessment is counted with when it has several. The
  certified score is preferred once it exists; ``kind="self"`` or ``"certified"`` asks for one kind
  only (a certified-only view leaves out what no certifier has seen).

The columns are the product's one vocabulary for figures (``overall``, ``link.rd``,
``aspect.integration``, ``applied.rd`` ...), the names ``scoring.benchmarks`` and
``scoring.screening`` work on; the table's column ``link_rd`` is ``link.rd`` here and everywhere
above the store. ``column_of`` is the one mapping between the two.

The rows are read with the database driver's cursor in chunks straight into numpy arrays: no ORM
objects, no row dictionaries. A frame is kept per process for as long as the data it was read
from is unchanged (``stamp``), so a dashboard does not read the whole region on every request; a
cached frame is never changed in place.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session

from assess.store.models import REPORTED, ScoreKind, StaffBand
from scoring import LINKS, STAGES
from scoring.benchmarks import FIGURES

#: The statuses whose stored score counts in every comparison.
COUNTED: frozenset[str] = frozenset(str(s) for s in REPORTED)
#: The score an assessment is counted with when it has several, best first.
KIND_PREFERENCE: tuple[str, ...] = (ScoreKind.certified.value, ScoreKind.self_reported.value)

Kind = Literal["preferred", "self", "certified"]
KINDS: tuple[str, ...] = ("preferred", "self", "certified")

APPLIED: tuple[str, ...] = tuple(f"applied.{k}" for k in LINKS)
#: Columns that cost the most to read, and that only some views need.
EXTRAS: tuple[str, ...] = ("digest", "indicators")


def column_of(name: str) -> str:
    """The score_record column that holds a frame column (``link.rd`` → ``link_rd``)."""
    return name.replace(".", "_")


@dataclass(frozen=True)
class Scope:
    """Which rows a frame holds: a region, a span of years, a score kind."""

    region: str | None = None
    first_year: int | None = None
    last_year: int | None = None
    kind: Kind = "preferred"
    extras: tuple[str, ...] = ()


_NUMERIC = (
    ("assessment", "a.id", np.int64),
    ("enterprise", "a.enterprise_id", np.int64),
    ("year", "a.year", np.int64),
    ("version", "a.questionnaire_version", np.int64),
    ("cluster_id", "e.cluster_id", np.int64),
    ("park_id", "coalesce(e.park_id, 0)", np.int64),
    *((f, f"s.{column_of(f)}", np.float64) for f in FIGURES),
    ("adopter", "s.it_adopter", np.bool_),
    ("it_links", "s.it_links", np.int64),
    ("it_needed", "s.it_needed", np.int64),
    *((f, f"s.{column_of(f)}", np.float64) for f in APPLIED),
    ("flags", "s.flags", np.int64),
)
_TEXT = (
    ("sector", "e.sector"),
    ("size", "e.staff_band"),
    ("status", "a.status"),
    ("kind", "s.kind"),
    ("stage", "s.stage"),
)
_EXTRA_SQL = {"digest": "s.digest", "indicators": "s.indicators"}

#: Rows fetched per round trip: big enough to amortise the driver, small enough to keep memory flat.
_CHUNK = 50_000


def _query(scope: Scope) -> tuple[str, dict[str, Any]]:
    cols = [sql for _, sql, _ in _NUMERIC] + [sql for _, sql in _TEXT]
    cols += [_EXTRA_SQL[x] for x in scope.extras]
    kinds = KIND_PREFERENCE if scope.kind == "preferred" else (scope.kind,)
    params: dict[str, Any] = {}
    where = [
        "a.status IN (" + ", ".join(f":st{i}" for i in range(len(COUNTED))) + ")",
        "s.kind IN (" + ", ".join(f":k{i}" for i in range(len(kinds))) + ")",
    ]
    params.update({f"st{i}": s for i, s in enumerate(sorted(COUNTED))})
    params.update({f"k{i}": k for i, k in enumerate(kinds)})
    if scope.region is not None:
        where.append("c.region_id = :region")
        params["region"] = scope.region
    if scope.first_year is not None:
        where.append("a.year >= :first")
        params["first"] = scope.first_year
    if scope.last_year is not None:
        where.append("a.year <= :last")
        params["last"] = scope.last_year
    sql = (
        f"SELECT {', '.join(cols)} FROM score_record s"
        " JOIN assessment a ON a.id = s.assessment_id"
        " JOIN enterprise e ON e.id = a.enterprise_id"
        " JOIN cluster c ON c.id = e.cluster_id"
        f" WHERE {' AND '.join(where)}"
    )
    return sql, params


def plain_sql(conn: sa.Connection, scope: Scope) -> str:
    """The frame's query for this connection's database, its few parameters (statuses, kinds,
    region id, years: the product's own values) written in as escaped literals."""
    sql, params = _query(scope)
    stmt = sa.text(sql).bindparams(**params)
    return str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))


def read_frame(session: Session, scope: Scope = Scope()) -> pd.DataFrame:
    """Read the frame for ``scope`` from the database (no cache): one query, fetched in chunks."""
    text = [n for n, _ in _TEXT]
    extras = list(scope.extras)
    chunks: list[list[np.ndarray]] = []
    # Text columns are turned into integer codes chunk by chunk (one code per distinct value):
    # a million rows never hold a million Python strings at once.
    seen: dict[str, dict[str, int]] = {n: {} for n in text}
    conn = session.connection()
    # The driver's own cursor: rows arrive as plain tuples, with none of the result-row machinery
    # above it (the values are all numbers and short strings, converted here).
    result = conn.connection.cursor()
    try:
        result.execute(plain_sql(conn, scope))
        while True:
            rows = result.fetchmany(_CHUNK)
            if not rows:
                break
            columns = list(zip(*rows, strict=True))
            del rows
            chunk: list[np.ndarray] = [
                np.array(columns[i], dtype=dtype) for i, (_, _, dtype) in enumerate(_NUMERIC)
            ]
            for j, name in enumerate(text):
                codes, uniques = pd.factorize(np.array(columns[len(_NUMERIC) + j], dtype=object))
                book = seen[name]
                lookup = np.array([book.setdefault(str(u), len(book)) for u in uniques])
                chunk.append(lookup[codes].astype(np.int32) if len(uniques) else codes)
            chunk += [np.array(c, dtype=object) for c in columns[len(_NUMERIC) + len(text) :]]
            chunks.append(chunk)
            del columns
    finally:
        result.close()
    names = [n for n, _, _ in _NUMERIC] + text + extras
    if chunks:
        data = {n: np.concatenate([c[i] for c in chunks]) for i, n in enumerate(names)}
    else:
        data = {n: np.array([], dtype=d) for n, _, d in _NUMERIC}
        data.update({n: np.array([], dtype=np.int32) for n in text})
        data.update({n: np.array([], dtype=object) for n in extras})
    del chunks
    # Rows in (enterprise, year) order; for "preferred", one row per assessment: its most
    # preferred kind (kinds are coded in preference order below). One reordering, one copy.
    kind_rank = _recode(data["kind"], seen["kind"], list(KIND_PREFERENCE))
    order = np.lexsort((kind_rank, data["assessment"], data["year"], data["enterprise"]))
    if scope.kind == "preferred" and order.size:
        sorted_assessment = data["assessment"][order]
        first = np.ones(order.size, dtype=bool)
        first[1:] = sorted_assessment[1:] != sorted_assessment[:-1]
        order = order[first]
    raw_indicators = data.pop("indicators", None)
    frame = pd.DataFrame({n: v[order] for n, v in data.items()}, copy=False)
    del data
    if raw_indicators is not None:
        for name, values in _indicator_columns(raw_indicators[order]).items():
            frame[name] = values
    _categorise(session, frame, seen)
    return frame


def _recode(codes: np.ndarray, seen: dict[str, int], categories: list[str]) -> np.ndarray:
    """Codes given in order of first appearance, as positions in ``categories`` (-1: other)."""
    position = np.full(max(len(seen), 1), -1, dtype=np.int32)
    for value, code in seen.items():
        if value in categories:
            position[code] = categories.index(value)
    return position[codes] if codes.size else codes.astype(np.int32)


def _indicator_columns(raw: np.ndarray) -> dict[str, np.ndarray]:
    """The stored indicator values (JSON objects, or their text on some drivers) as one float
    column per indicator, ``ind.<id>``: NaN where the firm is left out or has no value stored."""
    parsed = [json.loads(v) if isinstance(v, str) else (v or {}) for v in raw]
    ids = sorted({k for d in parsed for k in d})
    out = {}
    for iid in ids:
        out[f"ind.{iid}"] = np.array([d.get(iid) for d in parsed], dtype=np.float64)  # None → NaN
    return out


def _categorise(session: Session, frame: pd.DataFrame, seen: dict[str, dict[str, int]]) -> None:
    """Coded text columns become categoricals, with fixed category lists where the product has
    them (stages in ladder order, kinds in preference order); cluster and park ids their codes."""
    conn = session.connection()
    clusters: dict[int, str] = {
        i: c for i, c in conn.execute(sa.text("SELECT id, code FROM cluster"))
    }
    parks: dict[int, str] = {i: c for i, c in conn.execute(sa.text("SELECT id, code FROM park"))}
    frame["cluster"] = _codes(frame.pop("cluster_id"), clusters)
    frame["park"] = _codes(frame.pop("park_id"), {0: "", **parks})
    fixed = {
        "stage": list(STAGES),
        "kind": list(KIND_PREFERENCE),
        "size": [b.value for b in StaffBand],
        "status": sorted(COUNTED),
    }
    for name, _ in _TEXT:
        cats = fixed.get(name) or sorted(seen[name])
        codes = _recode(frame[name].to_numpy(), seen[name], cats)
        frame[name] = pd.Categorical.from_codes(codes, categories=cats)


def _codes(ids: pd.Series, names: dict[int, str]) -> pd.Categorical:
    keys = sorted(names)
    lookup = np.full(max(keys, default=0) + 1, -1, dtype=np.int64)
    lookup[keys] = np.arange(len(keys))
    raw = ids.to_numpy()
    codes = np.where(raw < len(lookup), lookup[np.minimum(raw, len(lookup) - 1)], -1)
    return pd.Categorical.from_codes(codes, categories=[names[k] for k in keys])


# --- The per-process cache ------------------------------------------------------------------------

_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
T = TypeVar("T")
_lock = threading.Lock()
_CACHE_SIZE = 12
_small: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_SMALL_SIZE = 512


_STAMP = "assess.analytics.stamp"


def stamp(session: Session) -> tuple[Any, ...]:
    """What changes whenever a counted score may have changed: a score stored (a new row, or a
    row rescored, which only happens with a status change), a status moved (submission,
    withdrawal, certification), an enterprise added or edited (a firm moved to another cluster),
    a cluster or park added. Each part is one index lookup.

    Read once per transaction: a request's views all see the same data state."""
    memo = session.info.get(_STAMP)
    if memo is not None:
        return cast(tuple[Any, ...], memo)
    row = (
        session.connection()
        .execute(
            sa.text(
                "SELECT (SELECT max(id) FROM score_record), (SELECT max(id) FROM status_change),"
                " (SELECT max(id) FROM enterprise), (SELECT max(updated_at) FROM enterprise),"
                " (SELECT max(id) FROM cluster), (SELECT max(id) FROM park)"
            )
        )
        .one()
    )
    session.info[_STAMP] = value = tuple(row)
    return value


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_stamp(session: Session, _transaction: Any) -> None:
    """A new transaction may see new data: its stamp is read afresh."""
    session.info.pop(_STAMP, None)


def cached(
    session: Session, key: tuple[Any, ...], compute: Callable[[], T], *, small: bool = False
) -> T:
    """``compute()``, kept in this process's cache under ``key`` for as long as the data it is
    read from is unchanged (``stamp``). Treat the result as read-only: it may be shared.

    ``small``: the result is a view of a page (kilobytes), kept among many more than the frames
    and tables (megabytes) the other entries hold."""
    store, size = (_small, _SMALL_SIZE) if small else (_cache, _CACHE_SIZE)
    full = (str(session.connection().engine.url), key, stamp(session))
    with _lock:
        if full in store:
            store.move_to_end(full)
            return cast(T, store[full])
    value = compute()
    with _lock:
        store[full] = value
        while len(store) > size:
            store.popitem(last=False)
    return value


def frame_of(session: Session, scope: Scope = Scope()) -> pd.DataFrame:
    """The frame for ``scope``, from this process's cache while the data is unchanged.

    Treat it as read-only: it may be shared with other requests.
    """
    return cached(session, ("frame", scope), lambda: read_frame(session, scope))


def clear_cache() -> None:
    """Forget every cached frame (tests, and tools that rewrite the database)."""
    with _lock:
        _cache.clear()
        _small.clear()
