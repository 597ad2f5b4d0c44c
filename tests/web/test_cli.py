"""The web commands of ``assess``: a production start without a real secret is refused."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from web.cli import app


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_production_start_without_a_secret_key_is_refused_with_a_plain_message(
    monkeypatch, tmp_path, command
):
    monkeypatch.setenv("ASSESS_ENVIRONMENT", "production")
    monkeypatch.delenv("ASSESS_SECRET_KEY", raising=False)
    monkeypatch.setenv("ASSESS_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    result = CliRunner().invoke(app, [command, "--port", "1"])
    assert result.exit_code == 2
    assert "ASSESS_SECRET_KEY" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.db").exists()  # nothing was started or written
