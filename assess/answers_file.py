"""Read an answers file: ``{"questionnaire": id, "version": n?, "answers": {id: value}}``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assess.catalog import Catalog, UnknownQuestionnaire
from assess.compile import compile_spec
from scoring import AnswerError, AnswerErrors, Spec


def _problem(code: str, zh: str, en: str, where: str = "(file)") -> AnswerErrors:
    return AnswerErrors([AnswerError(where, code, zh, en)])


def _reject_constant(token: str) -> Any:
    raise ValueError(token)


def parse_answers(text: str, catalog: Catalog) -> tuple[Spec, dict[str, Any]]:
    """The spec and raw answers of an answers document; AnswerErrors on any problem."""
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise _problem(
            "malformed_json",
            f"JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列，{exc.msg}",
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
        ) from None
    except ValueError as exc:
        raise _problem(
            "not_finite",
            f"JSON 中不允许出现 {exc}（须为有限数字）",
            f"{exc} is not allowed in the JSON (numbers must be finite)",
        ) from None
    if not isinstance(doc, dict):
        raise _problem("wrong_type", "文件顶层应为 JSON 对象", "the file must hold one JSON object")
    unknown = set(doc) - {"questionnaire", "version", "answers"}
    if unknown:
        raise _problem(
            "unknown_key",
            f"未知的字段：{', '.join(sorted(unknown))}",
            f"unknown keys: {', '.join(sorted(unknown))}",
        )
    sector = doc.get("questionnaire")
    if not isinstance(sector, str):
        raise _problem(
            "missing_questionnaire",
            "缺少 questionnaire（行业问卷编号，如 petrochemicals）",
            "missing 'questionnaire' (a sector id such as petrochemicals)",
        )
    version = doc.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise _problem("wrong_type", "version 应为整数", "'version' must be an integer")
    answers = doc.get("answers")
    if not isinstance(answers, dict):
        raise _problem(
            "missing_answers",
            "缺少 answers 对象（题目编号 → 答案）",
            "missing 'answers' object (question id → value)",
        )
    try:
        questionnaire = catalog.compose(sector, version)
    except UnknownQuestionnaire as exc:
        known = ", ".join(f"{s} v{'/'.join(map(str, v))}" for s, v in exc.known.items())
        if exc.sector not in exc.known:
            raise _problem(
                "unknown_questionnaire",
                f"没有问卷 {sector!r}；现有：{known}",
                f"unknown questionnaire {sector!r}; available: {known}",
            ) from None
        raise _problem(
            "unknown_version",
            f"问卷 {sector} 没有第 {version} 版；现有：{known}",
            f"questionnaire {sector} has no version {version}; available: {known}",
        ) from None
    return compile_spec(questionnaire), answers


def read_answers(path: Path, catalog: Catalog) -> tuple[Spec, dict[str, Any]]:
    """Parse an answers file from disk."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _problem(
            "unreadable", f"无法读取文件：{exc.strerror}", f"cannot read the file: {exc.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise _problem("not_utf8", "文件不是 UTF-8 编码", "the file is not UTF-8 text") from None
    return parse_answers(text, catalog)
