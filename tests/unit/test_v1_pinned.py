"""Version 1 assessments score byte for byte as they did before version 2 existed.

tests/data/v1_cards/<sector>.json holds the SHA-256 of the ScoreCard JSON (trace and roadmap
included) of the sector's example answers and of 25 random answer sets, computed with the code
as it stood before version 2 (commit 88b6ca8). The engine's version-2 additions must leave
every one of them unchanged.

Numbers enter the digest rounded to 9 decimals (the goldens' precision): the weighted sums go
through the BLAS library, whose kernel is chosen per CPU, so the 16th digit of a level may differ
between two machines running the same code (an AVX-512 kernel against an AVX2 one), never the 9th.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import pytest

from assess.questionnaire.answers_file import read_answers
from assess.questionnaire.compile import compile_spec
from scoring import AnswerArrays, ScoreCard, score
from tests.conftest import ROOT, SECTORS, random_arrays

PINNED = ROOT / "tests" / "data" / "v1_cards"


def canonical(x: Any) -> Any:
    """The card's JSON data with every number rounded to 9 decimals (and -0.0 as 0.0)."""
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            return str(x)
        r = round(x, 9)
        return 0.0 if r == 0 else r
    if isinstance(x, dict):
        return {k: canonical(v) for k, v in x.items()}
    if isinstance(x, list):
        return [canonical(v) for v in x]
    return x


def digest(card: ScoreCard) -> str:
    doc = canonical(card.model_dump(mode="json"))
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("sector", SECTORS)
def test_version_1_cards_are_byte_identical(catalog, sector):
    pinned = json.loads((PINNED / f"{sector}.json").read_text(encoding="utf-8"))
    spec = compile_spec(catalog.compose(sector, 1))
    _, answers = read_answers(ROOT / "examples" / "answers" / f"{sector}.json", catalog)
    assert digest(score(spec, answers)) == pinned["example"]
    arr = random_arrays(spec, len(pinned["random"]), seed=pinned["random_seed"])
    for i, expected in enumerate(pinned["random"]):
        one = AnswerArrays(arr.values[i : i + 1].copy(), arr.na[i : i + 1].copy())
        assert digest(score(spec, one)) == expected, f"random answer set {i}"
