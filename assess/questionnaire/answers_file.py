"""Read an answers file: ``{"questionnaire": id, "version": n?, "year": y?, "answers": {...}}``.

Every problem of a file is reported at once, each at its question where it has one. Python's
json would quietly accept NaN, Infinity and a key given twice (keeping the last); here they are
caught while parsing and reported with the rest, and nothing is scored.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assess.questionnaire.catalog import Catalog, UnknownQuestionnaire
from assess.questionnaire.compile import compile_spec
from assess.questionnaire.schema import FIRST_YEAR, LAST_YEAR
from scoring import AnswerError, AnswerErrors, Spec, encode_answers

FILE = "(file)"
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _problem(code: str, zh: str, en: str, where: str = FILE) -> AnswerErrors:
    return AnswerErrors([AnswerError(where, code, zh, en)])


class _NotFinite:
    """Stands where the file has NaN, Infinity, -Infinity or a number too large for a float."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token

    def __repr__(self) -> str:
        return self.token


class _Object(dict[str, Any]):
    """A JSON object that remembers which of its keys the file gave more than once."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    twice: list[str] = []
    for key, value in pairs:
        if key in obj and key not in twice:
            twice.append(key)
        obj[key] = value
    obj.duplicates = tuple(twice)
    return obj


def _float(text: str) -> float | _NotFinite:
    x = float(text)
    return x if math.isfinite(x) else _NotFinite(_short(text))


def _int(text: str) -> int | _NotFinite:
    # An integer beyond the float range cannot be scored, and int() of thousands of digits
    # would raise; float() of the text tells both apart cheaply.
    return int(text) if math.isfinite(float(text)) else _NotFinite(_short(text))


def _short(token: str) -> str:
    return token if len(token) <= 24 else f"{token[:12]}…({len(token)} chars)"


def _path(parts: tuple[str | int, ...]) -> str:
    """``answers."core.mgmt.erp".numerator``: keys that are not plain names are quoted."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = part if _PLAIN_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
        out += f".{name}" if out else name
    return out or "(top)"


def _question(parts: tuple[str | int, ...]) -> str:
    """The question a place in the file belongs to, if any."""
    if len(parts) >= 2 and parts[0] == "answers" and isinstance(parts[1], str):
        return parts[1]
    return FILE


def _findings(node: Any, parts: tuple[str | int, ...] = ()) -> Iterator[AnswerError]:
    """Duplicate keys and non-finite numbers anywhere in the document, in file order."""
    if isinstance(node, _NotFinite):
        where = _path(parts)
        yield AnswerError(
            _question(parts),
            "not_finite",
            f"{node.token} 不是有限数字（不允许 NaN 或无穷大），位置：{where}",
            f"{node.token} is not a finite number (NaN and infinity are not allowed) at {where}",
        )
    elif isinstance(node, dict):
        for key in getattr(node, "duplicates", ()):
            where = _path((*parts, key))
            shown = json.dumps(key, ensure_ascii=False)
            yield AnswerError(
                _question((*parts, key)),
                "duplicate_key",
                f"键 {shown} 在同一对象中出现了不止一次，位置：{where}",
                f"duplicate key {shown}: it appears more than once in one object at {where}",
            )
        for key, value in node.items():
            yield from _findings(value, (*parts, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _findings(value, (*parts, i))


def parse_answers(
    text: str, catalog: Catalog, *, draft: bool = False
) -> tuple[Spec, dict[str, Any]]:
    """The spec and raw answers of an answers document; AnswerErrors listing every problem.

    Raises catalog.NotPublished when the questionnaire version does not match the lock file, or
    is not locked yet and ``draft`` is false.
    """
    try:
        doc = json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_NotFinite,
            parse_float=_float,
            parse_int=_int,
        )
        found = list(_findings(doc))
    except json.JSONDecodeError as exc:
        raise _problem(
            "malformed_json",
            f"JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列，{exc.msg}",
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
        ) from None
    except RecursionError:
        raise _problem(
            "malformed_json", "JSON 嵌套层数过多", "the JSON is nested too deeply"
        ) from None
    if not isinstance(doc, dict):
        raise AnswerErrors(
            [
                AnswerError(
                    FILE,
                    "wrong_type",
                    "文件顶层应为 JSON 对象",
                    "the file must hold one JSON object",
                ),
                *found,
            ]
        )
    errors = [e for e in found if e.question == FILE]
    per_question = [e for e in found if e.question != FILE]
    spec, answers = _header(doc, catalog, draft, errors)
    if isinstance(answers, dict):
        flagged = {e.question for e in per_question}
        if spec is not None:
            try:
                encode_answers(spec, {k: v for k, v in answers.items() if k not in flagged})
            except AnswerErrors as exc:
                per_question.extend(exc.errors)
        order = {qid: i for i, qid in enumerate(answers)}
        per_question.sort(key=lambda e: order.get(e.question, len(order)))
    if errors or per_question:
        raise AnswerErrors(errors + per_question)
    assert spec is not None and isinstance(answers, dict)  # no problem means both were read
    return spec, answers


def _header(
    doc: dict[str, Any], catalog: Catalog, draft: bool, errors: list[AnswerError]
) -> tuple[Spec | None, Any]:
    """The spec the document names and its answers object; problems are appended to errors.

    A field holding NaN or Infinity is already reported and counts as unusable, not as missing.
    """

    def fail(code: str, zh: str, en: str) -> None:
        errors.append(AnswerError(FILE, code, zh, en))

    unknown = set(doc) - {"questionnaire", "version", "year", "answers"}
    if unknown:
        fail(
            "unknown_key",
            f"未知的字段：{', '.join(sorted(unknown))}",
            f"unknown keys: {', '.join(sorted(unknown))}",
        )
    usable = True
    sector = doc.get("questionnaire")
    if isinstance(sector, _NotFinite):
        usable = False
    elif not isinstance(sector, str):
        usable = False
        fail(
            "missing_questionnaire",
            "缺少 questionnaire（行业问卷编号，如 petrochemicals）",
            "missing 'questionnaire' (a sector id such as petrochemicals)",
        )
    version = doc.get("version")
    if isinstance(version, _NotFinite):
        usable = False
    elif version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        usable = False
        fail("wrong_type", "version 应为整数", "'version' must be an integer")
    year = doc.get("year")
    if isinstance(year, _NotFinite):
        usable = False
    elif year is not None and (
        isinstance(year, bool) or not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR
    ):
        usable = False
        fail(
            "wrong_year",
            f"year 应为 {FIRST_YEAR}–{LAST_YEAR} 之间的整数（评估年度）",
            f"'year' must be a whole number from {FIRST_YEAR} to {LAST_YEAR} (the assessment year)",
        )
    answers = doc.get("answers")
    if not isinstance(answers, dict | _NotFinite):
        fail(
            "missing_answers",
            "缺少 answers 对象（题目编号 → 答案）",
            "missing 'answers' object (question id → value)",
        )
    if not usable:
        return None, answers
    assert isinstance(sector, str)
    try:
        questionnaire = catalog.compose(sector, version)
    except UnknownQuestionnaire as exc:
        known = ", ".join(f"{s} v{'/'.join(map(str, v))}" for s, v in exc.known.items())
        if exc.sector not in exc.known:
            fail(
                "unknown_questionnaire",
                f"没有问卷 {sector!r}；现有：{known}",
                f"unknown questionnaire {sector!r}; available: {known}",
            )
        else:
            fail(
                "unknown_version",
                f"问卷 {sector} 没有第 {version} 版；现有：{known}",
                f"questionnaire {sector} has no version {version}; available: {known}",
            )
        return None, answers
    catalog.require_published(questionnaire, draft=draft)
    # Items valid only from a later year are left out for an earlier one (valid_from).
    return compile_spec(questionnaire, year), answers


def read_answers(
    path: Path, catalog: Catalog, *, draft: bool = False
) -> tuple[Spec, dict[str, Any]]:
    """Parse an answers file from disk (see parse_answers)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _problem(
            "unreadable", f"无法读取文件：{exc.strerror}", f"cannot read the file: {exc.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise _problem("not_utf8", "文件不是 UTF-8 编码", "the file is not UTF-8 text") from None
    return parse_answers(text, catalog, draft=draft)
