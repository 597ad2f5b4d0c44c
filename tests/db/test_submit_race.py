"""Saves racing a submission, on SQLite and PostgreSQL: once an assessment is submitted no
answer changes, and the stored ScoreCard is the score of the answers stored at submission."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field

import pytest
from sqlmodel import Session, select

from assess.assessment import lifecycle as svc
from assess.errors import Locked
from assess.store.models import Answer, Assessment, ScoreRecord, Status
from tests.conftest import ROOT
from tests.db import factories

EXAMPLE = json.loads((ROOT / "examples/answers/petrochemicals.json").read_text("utf-8"))["answers"]
#: Percentage questions the savers keep changing, one saver each.
RACED = ["core.rd.digital_share", "core.prod.nc_rate", "core.mkt.online_share", "core.ben.on_time"]
ROUNDS = 12


@dataclass
class Saver:
    """One thread saving one question over and over, each time on a session of its own."""

    question: str
    version: int
    acked: list[tuple[float, int]] = field(default_factory=list)  # (value, version)
    refused: list[str] = field(default_factory=list)  # the codes of refused saves
    errors: list[BaseException] = field(default_factory=list)

    def run(self, engine, aid: int, go: threading.Event) -> None:
        go.wait()
        rng = random.Random(self.question)
        give_up = time.monotonic() + 20  # a save never refused fails the test below
        while time.monotonic() < give_up:
            value = float(rng.randint(1, 99))
            try:
                with Session(engine, expire_on_commit=False) as s:
                    a = s.get(Assessment, aid)
                    assert a is not None
                    saved = svc.save_answer(
                        s, a, self.question, value, "", base_version=self.version, by_user=None
                    )
                    s.commit()
            except Locked as exc:
                self.refused.append(exc.first.code)
                return  # submitted: every later save is refused the same way
            except BaseException as exc:  # reported by the test, not lost in the thread
                self.errors.append(exc)
                return
            self.version = saved.version
            self.acked.append((value, saved.version))


def _one_round(engine, round_no: int) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = svc.start_assessment(s, factories.enterprise(s), 2020, by_user=None, version=1)
        for qid, value in EXAMPLE.items():
            svc.save_answer(s, a, qid, value, "", base_version=0, by_user=None)
        s.commit()
        aid = a.id or 0
    go = threading.Event()
    savers = [Saver(q, 1) for q in RACED]
    threads = [threading.Thread(target=sv.run, args=(engine, aid, go)) for sv in savers]
    for t in threads:
        t.start()
    go.set()
    time.sleep(0.005 + 0.003 * (round_no % 7))  # let saves run, then submit in their midst
    with Session(engine, expire_on_commit=False) as s:
        a = s.get(Assessment, aid)
        assert a is not None
        svc.submit(s, a, pledge=True, by_user=None)
        s.commit()
    for t in threads:
        t.join(30)

    for sv in savers:
        assert not sv.errors, sv.errors
        # A saver stops at its first refusal, which must be the "not a draft" one.
        assert sv.refused == ["not_editable"], sv.refused

    with Session(engine) as s:
        a = s.get(Assessment, aid)
        assert a is not None and a.status == Status.submitted and a.submitted_at is not None
        rows = {r.question: r for r in s.exec(select(Answer).where(Answer.assessment_id == aid))}
        for sv in savers:
            row = rows[sv.question]
            assert row.updated_at <= a.submitted_at, (sv.question, row.updated_at, a.submitted_at)
            # The stored answer is the last acknowledged save: none lost, none slipped in after.
            last = sv.acked[-1] if sv.acked else (EXAMPLE[sv.question], 1)
            assert (row.value, row.version) == last, (sv.question, row.value, row.version, last)
            assert row.version == 1 + len(sv.acked)
        rec = s.exec(
            select(ScoreRecord).where(ScoreRecord.assessment_id == aid, ScoreRecord.kind == "self")
        ).one()
        fresh = svc.card_of(s, a).model_dump(mode="json")
        assert rec.card["overall"] == pytest.approx(fresh["overall"], abs=1e-9)
        assert rec.card == fresh


def test_saves_racing_a_submission_never_change_a_submitted_assessment(engine):
    for round_no in range(ROUNDS):
        _one_round(engine, round_no)
