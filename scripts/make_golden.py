"""Write tests/data/golden/<sector>.json: the expected ScoreCard of each example answers file.

Run after a deliberate change to scoring or to an example, then review the diff by hand:
    python scripts/make_golden.py
The golden test also recomputes every file with the independent reference scorer in
tests/reference.py, so a golden file cannot silently drift from the documented rules.
"""

from __future__ import annotations

import json
from pathlib import Path

from assess.questionnaire.answers_file import read_answers
from assess.questionnaire.compile import shipped_catalog
from scoring import score

ROOT = Path(__file__).resolve().parent.parent


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 9)


def golden(card) -> dict:
    """The parts of a ScoreCard that are pinned by a golden file (a link that does not apply to
    the firm, possible from version 2, has no score: null)."""
    return {
        "questionnaire": card.questionnaire,
        "version": card.version,
        "overall": round(card.overall, 9),
        "links": {k: _round(v) for k, v in card.links.items()},
        "aspects": {k: _round(v) for k, v in card.aspects.items()},
        "stage": card.stage,
        "it_links": card.it_links,
        "it_adopter": card.it_adopter,
        "missing_required": card.missing_required,
        "roadmap": [
            {"question": r.question, "to": r.to, "gain": round(r.gain, 9)} for r in card.roadmap
        ],
    }


def main() -> None:
    out = ROOT / "tests" / "data" / "golden"
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted((ROOT / "examples" / "answers").glob("*.json")):
        spec, answers = read_answers(path, shipped_catalog())
        doc = golden(score(spec, answers))
        (out / path.name).write_text(
            json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        print(f"{path.name}: overall {doc['overall']:.2f}, stage {doc['stage']}")


if __name__ == "__main__":
    main()
