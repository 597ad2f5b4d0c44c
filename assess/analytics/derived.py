"""What the analytics read from each stored score besides its headline figures: per-link IT
adoption, the count of failed consistency checks, the digest of the answers (to find copied
submissions) and the firm's contribution to every national indicator.

They are computed once, when a card is stored (``derived_fields``). Scores stored before these
columns existed get them from ``refresh_derived``, which ``assess db upgrade`` runs after the
migrations.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from assess.analytics.indicators import FirmAnswers, firm_values
from assess.store.models import Answer, Assessment, ScoreRecord
from scoring import LINKS, ScoreCard


def answers_digest(answers: Mapping[str, Any]) -> str:
    """SHA-256 of the answers as canonical JSON (keys sorted, cleared answers left out, a whole
    number written the same whether it came as 100 or 100.0, as databases store it either way):
    two assessments with the same digest gave the same answer to every question."""
    given = {q: _canonical(v) for q, v in answers.items() if v is not None}
    text = json.dumps(given, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return int(value) if float(value).is_integer() else float(value)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    return [_canonical(v) for v in value]


def adoption_fields(card: ScoreCard) -> dict[str, Any]:
    """Per link: 1 when IT counts as applied, 0 when not, None when the link does not apply."""
    applicable = card.applicable_links
    out: dict[str, Any] = {"it_needed": card.adoption_min_links, "flags": len(card.flags)}
    for k in LINKS:
        applies = applicable is None or k in applicable
        out[f"applied_{k}"] = (1 if k in card.it_links else 0) if applies else None
    return out


def derived_fields(card: ScoreCard, year: int, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The ScoreRecord columns the analytics read, beside the headline figures."""
    (values,) = firm_values([FirmAnswers(card.questionnaire, card.version, year, answers)])
    return {
        **adoption_fields(card),
        "digest": answers_digest(answers),
        "indicators": values,
    }


def refresh_derived(session: Session, batch: int = 500) -> int:
    """Fill the digest and indicator values of stored scores that have none yet (scores kept
    before those columns existed); returns how many were filled. The card itself never changes."""
    done = 0
    while True:
        q = (
            sa.select(
                col(ScoreRecord.id),
                col(Assessment.id),
                col(Assessment.questionnaire),
                col(Assessment.questionnaire_version),
                col(Assessment.year),
            )
            .join(Assessment, col(Assessment.id) == ScoreRecord.assessment_id)
            .where(col(ScoreRecord.digest) == "")
            .order_by(col(ScoreRecord.id))
            .limit(batch)
        )
        rows = session.execute(q).all()
        if not rows:
            return done
        ids = [r[1] or 0 for r in rows]
        answers: dict[int, dict[str, Any]] = {i: {} for i in ids}
        for aid, question, value in session.exec(
            select(Answer.assessment_id, Answer.question, Answer.value).where(
                col(Answer.assessment_id).in_(ids)
            )
        ):
            if value is not None:
                answers[aid][question] = value
        firms = [FirmAnswers(r[2], r[3], r[4], answers[r[1] or 0]) for r in rows]
        for (rec_id, aid, *_), values in zip(rows, firm_values(firms), strict=True):
            session.execute(
                sa.update(ScoreRecord)
                .where(col(ScoreRecord.id) == rec_id)
                .values(digest=answers_digest(answers[aid or 0]), indicators=values)
            )
        done += len(rows)
        session.flush()
