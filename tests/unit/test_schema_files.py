"""The generated JSON schemas in questionnaires/schema/ are current."""

from __future__ import annotations

import json

import pytest

from assess.catalog import default_root
from assess.cli import json_schemas


@pytest.mark.parametrize("kind", ["core", "module", "methodology", "region"])
def test_generated_schema_is_up_to_date(kind):
    path = default_root() / "schema" / f"{kind}.schema.json"
    assert json.loads(path.read_text(encoding="utf-8")) == json_schemas()[kind], (
        "regenerate with: assess questionnaires schema --out questionnaires/schema"
    )


def test_the_engine_knows_every_question_type_the_schema_allows():
    from assess.schema import QUESTION_TYPES, Question
    from scoring import spec

    engine_kinds = (
        spec.SINGLE,
        spec.MULTI,
        spec.PERCENT,
        spec.NUMBER,
        spec.RATIO,
        spec.YESNO,
        spec.TEXT,
        spec.EVIDENCE,
    )
    assert set(QUESTION_TYPES) == set(engine_kinds)
    union = Question.__origin__.__args__  # type: ignore[attr-defined]
    assert {m.model_fields["type"].annotation.__args__[0] for m in union} == set(QUESTION_TYPES)
