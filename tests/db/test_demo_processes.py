"""The demo population drawn and scored in worker processes is the one drawn in one process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import ROOT

FIRMS = 44  # three chunks of work: more than one per worker

# Run in a fresh interpreter: workers are forked only where no other thread runs, and a test
# session may have threads of its own (a test server's pool) at this point.
BUILD = textwrap.dedent(
    """
    import json, sys
    from sqlmodel import Session
    from assess.store import db
    from assess.demo import build_demo

    url, processes = sys.argv[1], int(sys.argv[2])
    db.upgrade(url)
    engine = db.make_engine(url)
    with Session(engine) as s:
        summary = build_demo(s, enterprises=int(sys.argv[3]), processes=processes)
        s.commit()
    engine.dispose()
    print(json.dumps({"processes": summary.processes, "assessments": summary.assessments,
                      "adoption": summary.adoption}))
    """
)


def build(url: str, processes: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", BUILD, url, str(processes), str(FIRMS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def contents(url: str) -> dict[str, list[tuple]]:
    """Every row of the population's tables, in id order (the ids included)."""
    engine = sa.create_engine(url)
    out = {}
    try:
        with engine.connect() as conn:
            for table in ("enterprise", "assessment", "answer", "score_record", "status_change"):
                rows = conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).all()
                out[table] = [tuple(r) for r in rows]
    finally:
        engine.dispose()
    return out


@pytest.mark.skipif(sys.platform != "linux", reason="worker processes are forked on Linux only")
def test_workers_make_the_same_rows_with_the_same_ids_as_one_process(tmp_path: Path):
    together_url, alone_url = (f"sqlite:///{tmp_path / n}" for n in ("two.db", "one.db"))
    together = build(together_url, processes=2)
    alone = build(alone_url, processes=1)
    assert (together["processes"], alone["processes"]) == (2, 1)
    assert together["assessments"] == alone["assessments"] > FIRMS
    assert together["adoption"] == alone["adoption"]
    mine, theirs = contents(together_url), contents(alone_url)
    assert len(mine["enterprise"]) == FIRMS and len(mine["answer"]) > 1000
    for table, rows in theirs.items():
        assert mine[table] == rows, table
