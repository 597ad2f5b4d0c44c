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


def _first(form: Mapping[str, Sequence[str]], name: str) -> str:
    values = form.get(name) or []
    return values[0] if values else ""


def read_number(text: str, qid: str, what_zh: str = "数值", what_en: str = "value") -> float | None:
    """A float from typed text (None when empty); Invalid when it is not a finite number."""
    raw = unicodedata.normalize("NFKC", text).strip()
    if not raw:
        return None
    cleaned = raw.replace(",", "").replace(" ", "").removesuffix("%")
    shown = raw if len(raw) <= 20 else raw[:17] + "..."
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

    Field names: ``na`` (ticked N/A), ``value`` (repeated for multiple choice), and
    ``numerator``/``denominator`` for a ratio.
    """
    if _first(form, "na") and q.kind not in ("text", "evidence"):
        return NA
    if q.kind == "multiple_choice":
        chosen = [v for v in form.get("value", []) if v]
        return chosen or None
    if q.kind == "ratio":
        num = read_number(_first(form, "numerator"), q.id, "分子", "numerator")
        den = read_number(_first(form, "denominator"), q.id, "分母", "denominator")
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
    text = _first(form, "value")
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
