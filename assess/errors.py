"""Errors the services raise: each carries a code, a Chinese and an English message, and the
HTTP status a web front end should answer with. Nothing is written when one is raised."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request, in both languages; ``field`` names the input if any."""

    code: str
    zh: str
    en: str
    field: str = ""

    def as_dict(self) -> dict[str, str]:
        """Plain data for JSON answers."""
        return {"code": self.code, "zh": self.zh, "en": self.en, "field": self.field}


class ServiceError(Exception):
    """A refused request. ``status`` is the HTTP status that fits it."""

    status = 400

    def __init__(self, problems: list[Problem] | Problem, **detail: Any) -> None:
        self.problems = problems if isinstance(problems, list) else [problems]
        self.detail = detail
        super().__init__("; ".join(f"{p.code}: {p.en}" for p in self.problems))

    @property
    def first(self) -> Problem:
        return self.problems[0]


class Invalid(ServiceError):
    """The input is wrong (a value, a missing pledge, a malformed code)."""

    status = 422


class NotFound(ServiceError):
    """No such object, or not one this user may see (the two are not told apart)."""

    status = 404


class Forbidden(ServiceError):
    """The user may see the object but not do this to it."""

    status = 403


class Locked(ServiceError):
    """The object is in a state that does not allow the change (e.g. already submitted)."""

    status = 409


@dataclass
class ConflictDetail:
    """What another tab or session saved since this page loaded."""

    question: str
    value: Any
    comment: str
    version: int
    updated_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Conflict(ServiceError):
    """The object changed since the client read it; ``current`` holds what is stored now."""

    status = 409

    def __init__(self, problem: Problem, current: ConflictDetail) -> None:
        super().__init__(problem)
        self.current = current
