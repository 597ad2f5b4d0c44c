"""Version 1 assessments score byte for byte as they did before version 2 existed.

tests/data/v1_cards/<sector>.json holds the SHA-256 of the ScoreCard JSON (trace and roadmap
included) of the sector's example answers and of 25 random answer sets, computed with the code
as it stood before version 2 (commit 88b6ca8). The engine's version-2 additions must leave
every one of them unchanged.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from assess.answers_file import read_answers
from assess.compile import compile_spec
from scoring import AnswerArrays, ScoreCard, score
from tests.conftest import ROOT, SECTORS, random_arrays

PINNED = ROOT / "tests" / "data" / "v1_cards"


def digest(card: ScoreCard) -> str:
    return hashlib.sha256(card.model_dump_json().encode()).hexdigest()


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
