"""Write tests/data/golden/v2/<sector>.json: the expected ScoreCard of each version 2 example.

编写第2版示例答卷的标准计分结果（golden 文件），并列出与现有文件的差异。
Run after a deliberate change to scoring, to a version 2 questionnaire or to an example:

    python scripts/golden_v2.py

The files come from the engine, so this script proves nothing by itself: review the summary it
prints. tests/unit/test_golden_v2.py recomputes every file with the independent reference scorer
(tests/reference.py), which is what shows a golden file follows the documented rules.
The version 1 files (scripts/make_golden.py, tests/data/golden/*.json) are not touched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from make_golden import golden  # the same pinned parts as version 1

from assess.questionnaire.answers_file import read_answers
from assess.questionnaire.compile import shipped_catalog
from scoring import score

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "answers" / "v2"
GOLDEN = ROOT / "tests" / "data" / "golden" / "v2"


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Plain-text lines naming every top-level field (and link or aspect) that changed."""
    out = []
    for key in new:
        a, b = old.get(key), new[key]
        if a == b:
            continue
        if isinstance(b, dict) and isinstance(a, dict):
            for k in b:
                if a.get(k) != b[k]:
                    out.append(f"{key}.{k}: {a.get(k)} -> {b[k]}")
        elif key == "roadmap":
            was = [(r["question"], r["to"]) for r in a or []]
            now = [(r["question"], r["to"]) for r in b]
            out.append(f"roadmap: {was} -> {now}" if was != now else "roadmap: gains changed")
        else:
            out.append(f"{key}: {a} -> {b}")
    return out


def main() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    catalog = shipped_catalog()
    for path in sorted(EXAMPLES.glob("*.json")):
        spec, answers = read_answers(path, catalog)
        doc = golden(score(spec, answers))
        target = GOLDEN / path.name
        old = json.loads(target.read_text(encoding="utf-8")) if target.exists() else None
        text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
        target.write_text(text, encoding="utf-8")
        head = f"{path.name}: overall {doc['overall']:.2f}, stage {doc['stage']}"
        if old is None:
            print(f"{head} (new file)")
            continue
        changes = _changes(old, doc)
        print(f"{head} ({'unchanged' if not changes else f'{len(changes)} changed'})")
        for line in changes:
            print(f"    {line}")


if __name__ == "__main__":
    main()
