"""``assess audit verify`` and ``assess audit export`` on both databases: exit codes, the one-line
summary, the first broken event named, and a workbook that opens with every event."""

from __future__ import annotations

import sqlalchemy as sa
from openpyxl import load_workbook
from sqlmodel import Session
from typer.testing import CliRunner

from assess.accounts import bodies, trail
from assess.cli import app
from tests.db.test_audit import DROP_TRIGGERS

runner = CliRunner()


def _three_events(engine: sa.Engine) -> None:
    with Session(engine) as s:
        for code in ("B1", "B2", "B3"):
            bodies.create_body(s, name=f"机构{code}", code=code)
        s.commit()


def test_verify_exits_0_with_a_one_line_summary_when_the_chain_is_whole(engine, db_url):
    empty = runner.invoke(app, ["audit", "verify", "--url", db_url])
    assert empty.exit_code == 0, empty.output
    assert "共 0 条" in empty.output
    _three_events(engine)
    result = runner.invoke(app, ["audit", "verify", "--url", db_url])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [
        "审计日志完整：共 3 条，哈希链无断裂 / the audit trail is whole: 3 events, no broken link"
    ]


def test_verify_exits_1_naming_the_first_broken_event(engine, db_url):
    _three_events(engine)
    with engine.begin() as conn:
        for sql in DROP_TRIGGERS[engine.dialect.name]:
            conn.exec_driver_sql(sql)
        conn.exec_driver_sql("UPDATE audit_event SET subject_id = '99' WHERE id = 2")
    result = runner.invoke(app, ["audit", "verify", "--url", db_url])
    assert result.exit_code == 1, result.output
    assert "第 2 条记录的内容与其哈希不符" in result.output
    assert "row 2's content does not match its hash" in result.output
    assert "Traceback" not in result.output


def test_export_writes_a_workbook_of_the_filtered_events(engine, db_url, tmp_path):
    _three_events(engine)
    out = tmp_path / "trail.xlsx"
    result = runner.invoke(
        app, ["audit", "export", "--out", str(out), "--action", "body.", "--url", db_url]
    )
    assert result.exit_code == 0, result.output
    assert "3 条记录" in result.output
    book = load_workbook(out)
    rows = list(book["审计日志"].iter_rows(min_row=2, values_only=True))
    with Session(engine) as s:
        stored = [
            (e.id, e.action, e.hash)
            for e in s.exec(trail.trail_query(trail.TrailFilter(), newest_first=False))
        ]
    assert [(r[0], r[5], r[12]) for r in rows] == stored and len(stored) == 3
    again = runner.invoke(app, ["audit", "export", "--out", str(out), "--url", db_url])
    assert again.exit_code == 2 and "--force" in again.output  # an existing file is kept
    bad = runner.invoke(
        app, ["audit", "export", "--out", str(tmp_path / "x.xlsx"), "--since", "2026-13-01"]
    )
    assert bad.exit_code == 2 and "since_date" in bad.output
    assert not (tmp_path / "x.xlsx").exists()
