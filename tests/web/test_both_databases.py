"""The enterprise's whole year through HTTP, on SQLite and on PostgreSQL alike.

Most web tests run on SQLite only; this one walks the paths whose SQL differs between the two
databases (the conditional insert and update of an answer, submission, the report's queries) on
both: fill in every answer by autosave, meet a stale second tab, submit, find the answers
locked, read the report, withdraw and change an answer again.
"""

from __future__ import annotations

import json
import threading
from contextlib import ExitStack
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from assess.store.models import Answer, Assessment, Status
from tests.conftest import ROOT
from tests.web.conftest import build_world, make_client, sign_in

EXAMPLE = json.loads((ROOT / "examples/answers/petrochemicals.json").read_text("utf-8"))["answers"]
PCT = "core.rd.digital_share"


def form_of(value: Any) -> dict[str, Any]:
    """The form fields a person's browser posts for a stored answer value."""
    if value == "na":
        return {"na": "1"}
    if isinstance(value, bool):
        return {"value": "yes" if value else "no"}
    if isinstance(value, dict):
        return {"numerator": str(value["numerator"]), "denominator": str(value["denominator"])}
    if isinstance(value, list):
        return {"value": value}
    return {"value": str(value)}


def test_a_year_of_filling_submitting_and_withdrawing(engine: sa.Engine) -> None:
    world = build_world(engine)
    aid = world.a_draft.id
    with make_client(engine) as client:
        token = sign_in(client, world.users["enterprise"])
        headers = {"HX-Request": "true", "X-CSRF-Token": token}
        url = f"/assessments/{aid}/answers/"
        for qid, value in EXAMPLE.items():
            r = client.post(url + qid, data={"version": "0", **form_of(value)}, headers=headers)
            assert r.status_code == 200, (qid, r.text)
            assert 'class="q-status saved"' in r.text
        assert 'data-done="' in r.text and 'id="preview"' in r.text

        with Session(engine) as s:
            rows = s.exec(select(Answer).where(Answer.assessment_id == aid)).all()
            assert {a.question: a.version for a in rows} == dict.fromkeys(EXAMPLE, 1)

        # A second tab that loaded the page before any save: refused, nothing overwritten.
        stale = client.post(url + PCT, data={"version": "0", "value": "1"}, headers=headers)
        assert stale.status_code == 409 and 'data-code="conflict"' in stale.text
        # The first tab goes on from the version it was given.
        r = client.post(url + PCT, data={"version": "1", "value": "12.5"}, headers=headers)
        assert r.status_code == 200
        assert 'id="v-core--rd--digital_share" value="2"' in r.text

        page = client.get(f"/assessments/{aid}")
        assert page.status_code == 200 and 'name="value" value="12.5"' in page.text

        r = client.post(f"/assessments/{aid}/submit", data={"pledge": "1", "csrf_token": token})
        assert r.status_code == 303, r.text
        locked = client.post(url + PCT, data={"version": "2", "value": "50"}, headers=headers)
        assert locked.status_code == 409 and 'data-code="not_editable"' in locked.text

        report = client.get(f"/assessments/{aid}/report")
        assert report.status_code == 200
        assert 'id="report-data"' in report.text

        r = client.post(f"/assessments/{aid}/withdraw", data={"csrf_token": token})
        assert r.status_code == 303
        r = client.post(url + PCT, data={"version": "2", "value": "50"}, headers=headers)
        assert r.status_code == 200

    with Session(engine) as s:
        a = s.get(Assessment, aid)
        assert a is not None and a.status == Status.draft
        row = s.exec(select(Answer).where(Answer.assessment_id == aid, Answer.question == PCT))
        assert row.one().value == 50


def test_racing_tabs_never_both_win(engine: sa.Engine) -> None:
    """Eight requests save the same answer from the same version at once: one wins, seven get
    the conflict, and the stored value is the winner's."""
    world = build_world(engine)
    aid = world.a_draft.id
    results: list[tuple[int, str]] = []
    with ExitStack() as stack:
        clients = [stack.enter_context(make_client(engine)) for _ in range(8)]
        tokens = [sign_in(c, world.users["enterprise"]) for c in clients]
        for base in ("0", "1"):  # first the insert of a new answer, then the update of it
            start = threading.Barrier(len(clients))
            results.clear()

            def save(i: int, base: str = base, start: threading.Barrier = start) -> None:
                start.wait()
                r = clients[i].post(
                    f"/assessments/{aid}/answers/{PCT}",
                    data={"version": base, "value": str(10 + i)},
                    headers={"HX-Request": "true", "X-CSRF-Token": tokens[i]},
                )
                results.append((r.status_code, str(10 + i)))

            threads = [threading.Thread(target=save, args=(i,)) for i in range(len(clients))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            codes = sorted(code for code, _ in results)
            assert codes == [200] + [409] * (len(clients) - 1), codes
            winner = next(v for code, v in results if code == 200)
            with Session(engine) as s:
                row = s.exec(
                    select(Answer).where(Answer.assessment_id == aid, Answer.question == PCT)
                ).one()
                assert (row.value, row.version) == (float(winner), int(base) + 1)


def test_on_sqlite_saves_and_pages_run_on_the_event_loop_and_on_postgresql_in_threads(
    engine: sa.Engine, monkeypatch
) -> None:
    """Where the work of a save and of a page runs: on the event loop when the database is a
    local SQLite file (no thread hop), in a worker thread on PostgreSQL (every statement is a
    round trip there). Reads and writes of this test go through both paths."""
    from web.routes import assessments as fill_routes
    from web.routes import report as report_routes

    seen: list[tuple[str, str]] = []

    def spy(module, name: str) -> None:
        real = getattr(module, name)

        def record(*args, **kwargs):
            seen.append((name, threading.current_thread().name))
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, record)

    spy(fill_routes, "readable_assessment")  # the fill page
    spy(fill_routes, "fillable_assessment")  # autosave
    spy(report_routes, "readable_assessment")  # the report
    world = build_world(engine)
    aid = world.a_draft.id
    with make_client(engine) as client:
        token = sign_in(client, world.users["enterprise"])
        assert client.get(f"/assessments/{aid}").status_code == 200
        r = client.post(
            f"/assessments/{aid}/answers/{PCT}",
            data={"version": "0", "value": "40"},
            headers={"HX-Request": "true", "X-CSRF-Token": token},
        )
        assert r.status_code == 200
        assert client.get(f"/assessments/{aid}/report").status_code == 200
    assert [name for name, _ in seen] == [
        "readable_assessment",
        "fillable_assessment",
        "readable_assessment",
    ]
    in_workers = {thread.startswith("AnyIO worker thread") for _, thread in seen}
    assert in_workers == {engine.dialect.name != "sqlite"}, seen


def test_on_postgresql_every_handler_thread_keeps_a_pooled_connection(
    db_url: str, tmp_path
) -> None:
    from assess.settings import Settings
    from web.app import create_app

    settings = Settings(database_url=db_url, data_dir=tmp_path, threads=6)
    engine = create_app(settings).state.engine
    try:
        if engine.dialect.name == "sqlite":
            assert engine.pool.size() == 5  # a local file: SQLAlchemy's default is left alone
        else:
            assert engine.pool.size() == 8  # the 6 threads and 2 to spare, never re-opened
    finally:
        engine.dispose()
