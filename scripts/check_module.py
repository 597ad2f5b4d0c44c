"""Validate one sector module file alone, e.g.

python scripts/check_module.py questionnaires/modules/auto/v1.yaml
"""

import sys
from pathlib import Path

from pydantic import ValidationError

from assess.questionnaire.catalog import _loc_path, read_yaml
from assess.questionnaire.schema import ModuleFile, iter_questions

path = Path(sys.argv[1])
raw = read_yaml(path)
try:
    m = ModuleFile.model_validate(raw)
except ValidationError as exc:
    for e in exc.errors():
        print(f"{path}: {_loc_path(raw, tuple(e['loc']))}: {e['msg']}")
    sys.exit(1)
qs = iter_questions(m.sections)
scored = [q for q in qs if q.is_scored]
by_group: dict[str, int] = {}
for q in scored:
    by_group[q.group] = by_group.get(q.group, 0) + 1
print(f"ok: {len(qs)} questions, {len(scored)} scored; by link/aspect: {by_group}")
