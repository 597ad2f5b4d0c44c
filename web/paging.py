"""Long lists a page at a time: the rows of one page of a query, and where that page sits."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")

#: Rows per page of the administration lists.
PAGE_SIZE = 50


@dataclass(frozen=True)
class Page(Generic[T]):
    """Page ``number`` (from 1) of ``total`` rows, ``size`` to a page."""

    rows: list[T]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def first(self) -> int:
        """Position of the page's first row in the whole list (0 when the list is empty)."""
        return (self.number - 1) * self.size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return (self.number - 1) * self.size + len(self.rows)

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None


_NUMBER = re.compile(r"\s*([+-]?)0*([0-9]{1,18})\s*")


def page_number(raw: str) -> int:
    """The page a ``?page=`` asks for, read leniently: a link edited by hand or cut short
    gives page 1, and page_of takes a number past either end to that end."""
    m = _NUMBER.fullmatch(raw)
    if m is None:
        digits = raw.strip()  # only digits, but very many: past the end
        return 10**18 if digits.isascii() and digits.isdigit() else 1
    return -int(m.group(2)) if m.group(1) == "-" else int(m.group(2))


def page_of(db: Session, query: SelectOfScalar[T], number: int, size: int = PAGE_SIZE) -> Page[T]:
    """Page ``number`` of the ordered ``query``; a number past either end gives the end page."""
    counted: Any = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    total = int(db.execute(counted).scalar_one())
    pages = max(1, math.ceil(total / size))
    number = min(max(1, number), pages)
    rows = list(db.exec(query.offset((number - 1) * size).limit(size)))
    return Page(rows, number, size, total)
