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
