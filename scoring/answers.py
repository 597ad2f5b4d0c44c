"""Validate answers and encode them into the arrays the engine reads.

Encoding per column: single choice → option index; multiple choice → bit mask of option
indices; percentage and number → the value; ratio → numerator ÷ denominator × scale;
yes/no → 1 or 0; text and evidence → 1 when given. NaN means unanswered; a separate boolean
array marks 不适用 (N/A).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring.spec import (
    DERIVED,
    EVIDENCE,
    MULTI,
    NUMBER,
    PERCENT,
    RATIO,
    SINGLE,
    TEXT,
    YESNO,
    Question,
    Spec,
)

NA = "na"
EVIDENCE_MAX = 500


@dataclass(frozen=True, slots=True)
class AnswerError:
    """One problem with one answer, in Chinese and English."""

    question: str
    code: str
    zh: str
    en: str
    row: Any = None

    def as_dict(self) -> dict[str, Any]:
        out = {"question": self.question, "code": self.code, "zh": self.zh, "en": self.en}
        if self.row is not None:
            out["row"] = self.row
        return out


class AnswerErrors(ValueError):
    """Raised with every problem found; nothing is scored from invalid input."""

    def __init__(self, errors: list[AnswerError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.question}: {e.en}" for e in errors))

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its errors (a process pool sends it back from a worker).
        return (AnswerErrors, (self.errors,))


@dataclass(frozen=True)
class AnswerArrays:
    """Encoded answers for N assessments: ``values`` (N, I) float, ``na`` (N, I) bool."""

    values: np.ndarray
    na: np.ndarray

    def __post_init__(self) -> None:
        if self.values.shape != self.na.shape or self.values.ndim != 2:
            raise ValueError("values and na must be two arrays of the same (N, I) shape")

    @property
    def n(self) -> int:
        return int(self.values.shape[0])


def _err(q: str, code: str, zh: str, en: str) -> AnswerError:
    return AnswerError(q, code, zh, en)


def _fail(q: str, code: str, zh: str, en: str) -> tuple[float, bool, AnswerError]:
    """The encode result of a rejected answer."""
    return math.nan, False, _err(q, code, zh, en)


def _number(q: Question, value: Any, what_zh: str = "数值", what_en: str = "value"):
    """A finite float from a JSON number, or an error."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, _err(
            q.id,
            "wrong_type",
            f"{what_zh}应为数字，收到：{_show(value)}",
            f"{what_en} must be a number, got {_show(value)}",
        )
    x = float(value)
    if not math.isfinite(x):
        return None, _err(
            q.id,
            "not_finite",
            f"{what_zh}必须是有限数字（不能是 NaN 或无穷大）",
            f"{what_en} must be a finite number (not NaN or infinity)",
        )
    return x, None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _as_written(x: float) -> str:
    """A number as written, with every digit it needs: 100.0001 stays 100.0001, 100.0 is 100.

    The shortest text that reads back as the same float, so a value just past a bound never
    shows as the bound itself.
    """
    x = float(x)  # a bound from a file may be an int
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(float(x))


def _range(q: Question, x: float, lo: float | None, hi: float | None) -> AnswerError | None:
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        if lo is not None and hi is not None:
            zh = f"允许范围 {_as_written(lo)}–{_as_written(hi)}"
            en = f"the allowed range {_as_written(lo)}–{_as_written(hi)}"
        elif lo is not None:
            zh, en = f"下限 {_as_written(lo)}", f"the lower bound {_as_written(lo)}"
        else:
            zh, en = f"上限 {_as_written(hi or 0.0)}", f"the upper bound {_as_written(hi or 0.0)}"
        return _err(
            q.id,
            "out_of_range",
            f"取值 {_as_written(x)} 超出{zh}",
            f"value {_as_written(x)} is outside {en}",
        )
    return None


def encode_value(q: Question, value: Any) -> tuple[float, bool, AnswerError | None]:
    """Encode one answer: (value, is_na, error). ``None`` means unanswered."""
    if value is None:
        return math.nan, False, None
    if q.kind == DERIVED:
        return _fail(
            q.id,
            "derived",
            "本题由其他答案自动计算，不能直接填写",
            "this value is computed from other answers and cannot be entered",
        )
    if isinstance(value, str) and value == NA and q.kind not in (TEXT, EVIDENCE):
        if not q.allow_na:
            return _fail(
                q.id,
                "na_not_allowed",
                "本题不允许选择“不适用”",
                "this question does not allow N/A",
            )
        return math.nan, True, None
    if q.kind == SINGLE:
        if not isinstance(value, str):
            return _fail(
                q.id,
                "wrong_type",
                f"应为选项编号（字符串），收到：{_show(value)}",
                f"expected an option id (a string), got {_show(value)}",
            )
        if value not in q.options:
            return math.nan, False, _unknown_option(q, value)
        if q.options.index(value) in q.withheld:
            return math.nan, False, _withheld_option(q, value)
        return float(q.options.index(value)), False, None
    if q.kind == MULTI:
        return _encode_multi(q, value)
    if q.kind in (PERCENT, NUMBER):
        x, err = _number(q, value)
        if err:
            return math.nan, False, err
        lo, hi = (0.0, 100.0) if q.kind == PERCENT else (q.lower, q.upper)
        err = _range(q, x, lo, hi)
        return (math.nan, False, err) if err else (x, False, None)
    if q.kind == RATIO:
        return _encode_ratio(q, value)
    if q.kind == YESNO:
        if not isinstance(value, bool):
            return _fail(
                q.id,
                "wrong_type",
                f"应为 true 或 false，收到：{_show(value)}",
                f"expected true or false, got {_show(value)}",
            )
        return (1.0 if value else 0.0), False, None
    if q.kind in (TEXT, EVIDENCE):
        limit = q.max_length if q.kind == TEXT else EVIDENCE_MAX
        if not isinstance(value, str):
            return _fail(
                q.id,
                "wrong_type",
                f"应为文本，收到：{_show(value)}",
                f"expected text, got {_show(value)}",
            )
        if len(value) > limit:
            return _fail(
                q.id,
                "too_long",
                f"文本过长：{len(value)} 字，最多 {limit} 字",
                f"text too long: {len(value)} characters, at most {limit}",
            )
        return (1.0 if value.strip() else math.nan), False, None
    raise AssertionError(f"unhandled question type {q.kind}")


def _unknown_option(q: Question, value: str) -> AnswerError:
    offered = "、".join(q.options)
    return _err(
        q.id,
        "unknown_option",
        f"选项 {value!r} 不在本题选项中（可选：{offered}）",
        f"option {value!r} is not offered (choose from {', '.join(q.options)})",
    )


def _withheld_option(q: Question, value: str) -> AnswerError:
    return _err(
        q.id,
        "option_not_yet_valid",
        f"选项 {value!r} 描述的做法在本评估年度尚不存在，不能选择",
        f"option {value!r} describes something that did not exist yet in the assessment year",
    )


def _encode_multi(q: Question, value: Any) -> tuple[float, bool, AnswerError | None]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return _fail(
            q.id,
            "wrong_type",
            f"应为选项编号列表，收到：{_show(value)}",
            f"expected a list of option ids, got {_show(value)}",
        )
    if len(set(value)) != len(value):
        return (
            math.nan,
            False,
            _err(q.id, "duplicate_option", "同一选项重复选择", "an option is listed twice"),
        )
    for v in value:
        if v not in q.options:
            return math.nan, False, _unknown_option(q, v)
        if q.options.index(v) in q.withheld:
            return math.nan, False, _withheld_option(q, v)
    idx = [q.options.index(v) for v in value]
    if len(idx) > 1 and any(q.exclusive[i] for i in idx):
        return _fail(
            q.id,
            "exclusive_option",
            "“以上均无”类选项不能与其他选项同时选择",
            "a 'none of these' option cannot be combined with others",
        )
    return float(sum(1 << i for i in idx)), False, None


def _encode_ratio(q: Question, value: Any) -> tuple[float, bool, AnswerError | None]:
    if not isinstance(value, Mapping) or set(value) != {"numerator", "denominator"}:
        return _fail(
            q.id,
            "wrong_type",
            '应为 {"numerator": 分子, "denominator": 分母}',
            'expected {"numerator": x, "denominator": y}',
        )
    num, err = _number(q, value["numerator"], "分子", "numerator")
    if err:
        return math.nan, False, err
    den, err = _number(q, value["denominator"], "分母", "denominator")
    if err:
        return math.nan, False, err
    if num < 0 or den < 0:
        return _fail(
            q.id,
            "out_of_range",
            "分子和分母不能为负数",
            "numerator and denominator cannot be negative",
        )
    if den == 0:
        return (
            math.nan,
            False,
            _err(q.id, "zero_denominator", "分母不能为 0", "the denominator cannot be zero"),
        )
    x = num / den * q.scale
    err = _range(q, x, 0.0, q.upper)
    return (math.nan, False, err) if err else (x, False, None)


def _unknown_question(qid: Any) -> AnswerError:
    return _err(
        str(qid), "unknown_question", "问卷中没有这个题目", "no such question in this questionnaire"
    )


def encode_answers(spec: Spec, answers: Mapping[str, Any]) -> AnswerArrays:
    """Validate one assessment's answers; raise AnswerErrors listing every problem."""
    values = np.full((1, len(spec.questions)), np.nan)
    na = np.zeros((1, len(spec.questions)), dtype=bool)
    errors: list[AnswerError] = []
    if not isinstance(answers, Mapping):
        raise AnswerErrors(
            [_err("(answers)", "wrong_type", "answers 应为对象", "answers must be an object")]
        )
    for qid, value in answers.items():
        col = spec.index.get(qid)
        if col is None:
            errors.append(_unknown_question(qid))
            continue
        x, is_na, err = encode_value(spec.questions[col], value)
        if err:
            errors.append(err)
        values[0, col], na[0, col] = x, is_na
    if errors:
        raise AnswerErrors(errors)
    return AnswerArrays(values, na)


def encode_frame(spec: Spec, frame: pd.DataFrame) -> AnswerArrays:
    """Validate and encode a frame of raw answers (one row per assessment, columns by id)."""
    n = len(frame)
    values = np.full((n, len(spec.questions)), np.nan)
    na = np.zeros((n, len(spec.questions)), dtype=bool)
    errors: list[AnswerError] = []
    for qid in frame.columns:
        col = spec.index.get(qid)
        if col is None:
            errors.append(_unknown_question(qid))
            continue
        q = spec.questions[col]
        series = frame[qid]
        if q.kind in (SINGLE, YESNO):
            # Few distinct values: validate each once, then map the column.
            codes: dict[Any, tuple[float, bool]] = {}
            for v in pd.unique(series.astype(object)):
                key = None if _missing(v) else v
                x, is_na, err = encode_value(q, key)
                if err:
                    bad = series.index[series.astype(object) == v]
                    errors.append(_with_row(err, bad[0] if len(bad) else None))
                codes[v] = (x, is_na)
            mapped = series.astype(object).map(lambda v, c=codes: c.get(v, (math.nan, False)))
            values[:, col] = [m[0] for m in mapped]
            na[:, col] = [m[1] for m in mapped]
            continue
        for r, (label, v) in enumerate(series.items()):
            x, is_na, err = encode_value(q, None if _missing(v) else v)
            if err:
                errors.append(_with_row(err, label))
            values[r, col], na[r, col] = x, is_na
    if errors:
        raise AnswerErrors(errors)
    return AnswerArrays(values, na)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _with_row(err: AnswerError, row: Any) -> AnswerError:
    return AnswerError(err.question, err.code, err.zh, err.en, row=_plain(row))


def _plain(row: Any) -> Any:
    return row.item() if hasattr(row, "item") else row


def decode_value(q: Question, x: float) -> Any:
    """The answer value an encoded number stands for (option id, list, number, bool)."""
    if math.isnan(x):
        return None
    if q.kind == SINGLE:
        return q.options[int(x)]
    if q.kind == MULTI:
        mask = int(x)
        return [o for i, o in enumerate(q.options) if mask >> i & 1]
    if q.kind == YESNO:
        return bool(x)
    return x
