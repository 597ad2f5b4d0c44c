"""Form fields → answer values: what a person types in a browser, read the way they meant it.

Browsers send text. Numbers may come with full-width digits, thousands separators or a percent
sign; an empty field clears the answer. Anything that is not a plain finite number is refused
here with a message, before the value rules of the questionnaire are checked.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from assess.errors import Invalid, Problem
from scoring import NA, Question

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_MAX_NUMBER_TEXT = 40

#: The largest integer a request may carry as an id, a version or a year: what every integer
#: column holds on both databases (PostgreSQL's INTEGER is 32-bit; SQLite's is 64-bit). A
#: larger one makes the driver or the server raise (OverflowError, "integer out of range")
#: instead of matching nothing, so every integer from a path, a query or a form is checked
#: against this first.
MAX_INT = 2**31 - 1
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


def _shown(raw: str) -> str:
    return raw if len(raw) <= 20 else raw[:17] + "..."


def int_outside(value: object, least: int = 0) -> bool:
    """Whether ``value`` (a field's text or a number) is an integer outside least..MAX_INT.

    Text that is no integer at all is not this function's business: it says False.
    """
    if isinstance(value, str):
        if not _INTEGER.fullmatch(value):
            return False
        digits = value.strip().lstrip("+-").lstrip("0")
        if len(digits) > len(str(MAX_INT)):  # too long to be in range; never convert it
            return True
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return not least <= value <= MAX_INT


def read_int(text: str, field: str, what_zh: str, what_en: str, least: int = 0) -> int:
    """An integer from a form field, from ``least`` to MAX_INT; Invalid otherwise."""
    raw = text.strip()
    if int_outside(raw, least):
        raise Invalid(out_of_range(raw, field, what_zh, what_en, least))
    if not _INTEGER.fullmatch(raw):
        raise Invalid(
            Problem(
                "not_an_integer",
                f"{what_zh}应为整数，收到：{_shown(raw)}",
                f"the {what_en} must be a whole number, got: {_shown(raw)}",
                field,
            )
        )
    return int(raw)


def out_of_range(raw: str, field: str, what_zh: str, what_en: str, least: int = 0) -> Problem:
    """The problem of an integer field outside least..MAX_INT, with the value as sent."""
    return Problem(
        "int_out_of_range",
        f"{what_zh}超出范围：应为 {least}–{MAX_INT} 之间的整数，收到：{_shown(raw)}",
        f"the {what_en} is out of range: a whole number from {least} to {MAX_INT} is expected, "
        f"got: {_shown(raw)}",
        field,
    )


def single(form: Mapping[str, Sequence[str]], name: str, qid: str = "") -> str:
    """The one value of a form field ("" when absent); Invalid when it was sent twice or more,
    so that no value is picked silently."""
    values = form.get(name) or []
    if len(values) > 1:
        raise Invalid(
            Problem(
                "one_value_expected",
                f"字段 {name} 只应有一个值，收到 {len(values)} 个；未保存",
                f"one value expected for the field {name}, got {len(values)}; nothing was saved",
                qid or name,
            )
        )
    return values[0] if values else ""


def read_number(text: str, qid: str, what_zh: str = "数值", what_en: str = "value") -> float | None:
    """A float from typed text (None when empty); Invalid when it is not a finite number."""
    raw = unicodedata.normalize("NFKC", text).strip()
    if not raw:
        return None
    cleaned = raw.replace(",", "").replace(" ", "").removesuffix("%")
    shown = _shown(raw)
    if len(cleaned) > _MAX_NUMBER_TEXT or not _NUMBER.fullmatch(cleaned):
        raise Invalid(
            Problem(
                "not_a_number",
                f"{what_zh}应为数字，收到：{shown}",
                f"the {what_en} must be a number, got: {shown}",
                qid,
            )
        )
    x = float(cleaned)
    if not math.isfinite(x) or abs(x) > 1e15:
        raise Invalid(
            Problem(
                "too_large",
                f"{what_zh}过大：{shown}",
                f"the {what_en} is too large: {shown}",
                qid,
            )
        )
    return x


def value_from_form(q: Question, form: Mapping[str, Sequence[str]]) -> Any:
    """The answer a question's form fields stand for: None (cleared), NA, or a typed value.

    Field names: ``na`` (ticked N/A), ``value`` (repeated for multiple choice only), and
    ``numerator``/``denominator`` for a ratio. Any other field sent twice is refused.
    """
    if single(form, "na", q.id) and q.kind not in ("text", "evidence"):
        return NA
    if q.kind == "multiple_choice":
        chosen = [v for v in form.get("value", []) if v]
        return chosen or None
    if q.kind == "ratio":
        num = read_number(single(form, "numerator", q.id), q.id, "分子", "numerator")
        den = read_number(single(form, "denominator", q.id), q.id, "分母", "denominator")
        if num is None and den is None:
            return None
        if num is None or den is None:
            raise Invalid(
                Problem(
                    "ratio_incomplete",
                    "请同时填写分子和分母",
                    "fill in both the numerator and the denominator",
                    q.id,
                )
            )
        return {"numerator": num, "denominator": den}
    text = single(form, "value", q.id)
    if q.kind in ("percentage", "number"):
        return read_number(text, q.id)
    if q.kind == "yes_no":
        if text == "":
            return None
        if text not in ("yes", "no"):
            raise Invalid(Problem("wrong_type", "请选择“是”或“否”", "choose yes or no", q.id))
        return text == "yes"
    if q.kind in ("text", "evidence"):
        return text if text.strip() else None
    return text or None
