"""Integers a request carries in its path, query or form, bounded before they reach the database.

The drivers raise on an integer past the 64-bit columns (assess.forms.MAX_INT) instead of
matching nothing, which would be a server error. These parameter types refuse such a value
first: an id that cannot exist is not found (404), a form or query value out of range is
invalid (422), each with its own message, rendered like any refused request. Text that is no
integer at all is left to FastAPI's own validation, as before.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form
from pydantic import BeforeValidator

from assess.errors import Invalid, NotFound, Problem
from assess.forms import int_outside, out_of_range


def _an_id(what_zh: str, what_en: str) -> BeforeValidator:
    """The check of a path id: from 1 to MAX_INT, or the thing does not exist."""

    def check(value: Any) -> Any:
        if int_outside(value, least=1):
            raise NotFound(
                Problem(
                    "not_found",
                    f"{what_zh}不存在（编号超出范围）",
                    f"no such {what_en} (the id is out of range)",
                )
            )
        return value

    return BeforeValidator(check)


def bounded(field: str, what_zh: str, what_en: str, least: int = 0) -> BeforeValidator:
    """The check of a query or form integer: from ``least`` to MAX_INT, or Invalid."""

    def check(value: Any) -> Any:
        if int_outside(value, least):
            raise Invalid(out_of_range(str(value), field, what_zh, what_en, least))
        return value

    return BeforeValidator(check)


AssessmentId = Annotated[int, _an_id("评估", "assessment")]
EnterpriseId = Annotated[int, _an_id("企业", "enterprise")]
UserId = Annotated[int, _an_id("用户", "user")]
BodyId = Annotated[int, _an_id("评定机构", "certification body")]
ConflictId = Annotated[int, _an_id("利益冲突登记", "declared conflict")]
CertificateId = Annotated[int, _an_id("证书", "certificate")]
EvidenceId = Annotated[int, _an_id("证明材料", "evidence file")]

#: The version a form was shown (optimistic concurrency), 0 for a new record.
FormVersion = Annotated[int, Form(), bounded("version", "版本号", "version")]
#: The year an assessment is opened for; the service checks the years it allows.
FormYear = Annotated[int, Form(), bounded("year", "评估年度", "assessment year")]
#: A query flag such as ``?saved=1``: read as a number, used as yes or no.
QueryFlag = Annotated[int, bounded("", "参数", "parameter")]
