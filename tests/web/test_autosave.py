"""Autosave through HTTP: one answer per request, validated inline, never overwriting unseen."""

from __future__ import annotations

import json
import time

import pytest
from sqlmodel import Session, select

from assess.assessment.lifecycle import submit
from assess.store.models import Answer, Assessment
from tests.conftest import ROOT
from tests.web.conftest import World, csrf_of, make_client, sign_in

EXAMPLE = json.loads((ROOT / "examples/answers/petrochemicals.json").read_text("utf-8"))["answers"]

PCT = "core.rd.digital_share"  # percentage, N/A allowed
NUM = "core.ben.productivity"  # number, -100..500
RATIO = "core.infra.it_staff"  # ratio, at most 100
SINGLE = "core.infra.strategy"  # options A-D
MULTI = "core.infra.security"  # "none" is exclusive
TEXT = "core.notes.next_year"  # text, at most 2000 characters
YESNO = "petrochemicals.ctx.sis_required"


def htmx(token: str) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": token}


def stored(engine, assessment_id: int, question: str) -> Answer | None:
    with Session(engine) as s:
        return s.exec(
            select(Answer).where(Answer.assessment_id == assessment_id, Answer.question == question)
        ).first()


@pytest.fixture
def filler(client, world: World):
    token = sign_in(client, world.users["enterprise"])
    return client, token, world.a_draft.id


def save(client, token, aid, question, **fields):
    data = {"version": "0", **fields}
    return client.post(f"/assessments/{aid}/answers/{question}", data=data, headers=htmx(token))


def test_a_saved_answer_is_stored_and_shown_again_after_reload(filler, sqlite_engine):
    client, token, aid = filler
    r = save(client, token, aid, PCT, value="45.5", comment="按图纸计")
    assert r.status_code == 200
    assert 'class="q-status saved"' in r.text
    assert 'id="v-core--rd--digital_share" value="1" hx-swap-oob="true"' in r.text
    assert 'id="preview"' in r.text and 'id="progress"' in r.text  # out-of-band updates
    row = stored(sqlite_engine, aid, PCT)
    assert row is not None and row.value == 45.5 and row.comment == "按图纸计"
    page = client.get(f"/assessments/{aid}").text
    assert 'name="value" value="45.5"' in page
    assert "按图纸计" in page


def test_typed_numbers_are_read_the_way_people_write_them(filler, sqlite_engine):
    client, token, aid = filler
    assert save(client, token, aid, NUM, value="１２.５").status_code == 200  # full-width
    assert stored(sqlite_engine, aid, NUM).value == 12.5
    r = save(client, token, aid, PCT, value="60%")
    assert r.status_code == 200
    assert stored(sqlite_engine, aid, PCT).value == 60


def test_each_answer_type_saves(filler, sqlite_engine):
    client, token, aid = filler
    assert save(client, token, aid, SINGLE, value="C").status_code == 200
    r = client.post(
        f"/assessments/{aid}/answers/{MULTI}",
        data={"version": "0", "value": ["firewall", "backup"]},
        headers=htmx(token),
    )
    assert r.status_code == 200
    assert save(client, token, aid, RATIO, numerator="3", denominator="150").status_code == 200
    assert (
        save(client, token, aid, "petrochemicals.ctx.sis_required", value="yes").status_code == 200
    )
    assert stored(sqlite_engine, aid, SINGLE).value == "C"
    assert stored(sqlite_engine, aid, MULTI).value == ["firewall", "backup"]
    assert stored(sqlite_engine, aid, RATIO).value == {"numerator": 3.0, "denominator": 150.0}
    assert stored(sqlite_engine, aid, YESNO).value is True


def test_not_applicable_is_stored_where_the_question_allows_it(filler, sqlite_engine):
    client, token, aid = filler
    assert save(client, token, aid, PCT, na="1").status_code == 200
    assert stored(sqlite_engine, aid, PCT).value == "na"
    r = save(client, token, aid, NUM, na="1")
    assert r.status_code == 422
    assert 'data-code="na_not_allowed"' in r.text
    assert stored(sqlite_engine, aid, NUM) is None


@pytest.mark.parametrize(
    ("question", "fields", "code"),
    [
        (NUM, {"value": "abc"}, "not_a_number"),
        (NUM, {"value": "NaN"}, "not_a_number"),
        (NUM, {"value": "inf"}, "not_a_number"),
        (NUM, {"value": "1e400"}, "too_large"),
        (NUM, {"value": "9" * 30}, "too_large"),
        (NUM, {"value": "501"}, "out_of_range"),
        (PCT, {"value": "-5"}, "out_of_range"),
        (PCT, {"value": "100.01"}, "out_of_range"),
        (RATIO, {"numerator": "-1", "denominator": "10"}, "out_of_range"),
        (RATIO, {"numerator": "1", "denominator": "0"}, "zero_denominator"),
        (RATIO, {"numerator": "1", "denominator": ""}, "ratio_incomplete"),
        (SINGLE, {"value": "Z"}, "unknown_option"),
        (MULTI, {"value": "teleport"}, "unknown_option"),
        (TEXT, {"value": "长" * 2001}, "too_long"),
        (PCT, {"value": "50", "comment": "x" * 100_000}, "comment_too_long"),
    ],
)
def test_bad_input_gets_a_specific_message_and_nothing_is_saved(
    filler, sqlite_engine, question, fields, code
):
    client, token, aid = filler
    r = save(client, token, aid, question, **fields)
    assert r.status_code == 422, r.text
    assert f'data-code="{code}"' in r.text
    assert "Not saved" in r.text or "未保存" in r.text
    assert stored(sqlite_engine, aid, question) is None


def test_a_script_in_a_text_answer_is_stored_as_typed_and_shown_escaped(filler, sqlite_engine):
    client, token, aid = filler
    attack = '<script>alert("x")</script>'
    assert save(client, token, aid, TEXT, value=attack, comment=attack).status_code == 200
    assert stored(sqlite_engine, aid, TEXT).value == attack
    for path in (f"/assessments/{aid}", f"/assessments/{aid}/report"):
        page = client.get(path).text
        assert attack not in page
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in client.get(f"/assessments/{aid}").text
    )


def test_a_stale_save_is_refused_with_the_other_value_and_can_then_be_chosen(filler, sqlite_engine):
    client, token, aid = filler
    assert save(client, token, aid, PCT, value="40", comment="first tab").status_code == 200
    # A second page loaded before that save still thinks there is no answer (version 0).
    r = save(client, token, aid, PCT, value="70")
    assert r.status_code == 409
    assert 'data-code="conflict"' in r.text
    assert '<span class="theirs">40</span>' in r.text and "first tab" in r.text
    assert 'name="version_override" value="1"' in r.text
    assert stored(sqlite_engine, aid, PCT).value == 40  # nothing overwritten
    # "Keep my value" resubmits with the version it was shown.
    r = save(client, token, aid, PCT, value="70", version_override="1")
    assert r.status_code == 200
    assert stored(sqlite_engine, aid, PCT).value == 70
    # "Use the other value" fetches the stored answer with its version.
    block = client.get(f"/assessments/{aid}/answers/{PCT}", headers=htmx(token)).text
    assert (
        'name="value" value="70"' in block and 'id="v-core--rd--digital_share" value="2"' in block
    )


def test_a_missing_or_wrong_csrf_token_is_refused_and_nothing_is_saved(filler, sqlite_engine):
    client, _, aid = filler
    url = f"/assessments/{aid}/answers/{PCT}"
    r = client.post(url, data={"version": "0", "value": "10"}, headers={"HX-Request": "true"})
    assert r.status_code == 403 and 'data-code="csrf"' in r.text
    r = client.post(url, data={"version": "0", "value": "10"}, headers=htmx("forged"))
    assert r.status_code == 403
    r = client.post(url, data={"version": "0", "value": "10", "csrf_token": "forged"})
    assert r.status_code == 403
    assert stored(sqlite_engine, aid, PCT) is None


def test_answers_cannot_change_after_submission(filler, sqlite_engine, world):
    client, token, aid = filler
    with Session(sqlite_engine) as s:
        a = s.get(Assessment, aid)
        for qid, value in EXAMPLE.items():
            s.add(Answer(assessment_id=aid, question=qid, value=value))
        s.flush()
        submit(s, a, pledge=True, by_user=None)
        s.commit()
    before = stored(sqlite_engine, aid, PCT).value
    r = save(client, token, aid, PCT, value="1", version="1")
    assert r.status_code == 409
    assert 'data-code="not_editable"' in r.text
    assert stored(sqlite_engine, aid, PCT).value == before


def test_another_enterprises_assessment_is_not_found_and_tells_nothing(filler, world):
    client, token, _ = filler
    other = world.b_draft.id
    for r in (
        client.get(f"/assessments/{other}"),
        client.get(f"/assessments/{other}/report"),
        save(client, token, other, PCT, value="10"),
    ):
        assert r.status_code == 404
        assert world.ent_b.name not in r.text
    assert client.get("/assessments/999999").status_code == 404
    assert client.get("/assessments/not-a-number").status_code == 404


def test_an_expired_session_during_autosave_asks_to_sign_in_and_saves_nothing(sqlite_engine, world):
    client = make_client(sqlite_engine, session_idle_seconds=1)
    token = sign_in(client, world.users["enterprise"])
    aid = world.a_draft.id
    time.sleep(2.1)  # idle longer than the session lasts
    r = save(client, token, aid, PCT, value="33")
    assert r.status_code == 401
    assert r.headers["HX-Retarget"] == "#session-alert"
    assert 'data-code="session_expired"' in r.text
    assert stored(sqlite_engine, aid, PCT) is None
    # A plain page request is sent to the sign-in page, which says why.
    r = client.get(f"/assessments/{aid}")
    assert r.status_code == 303 and "/signin?next=" in r.headers["location"]


def test_signing_in_needs_the_csrf_token_too(client, world):
    csrf_of(client)
    r = client.post("/signin", data={"username": world.users["enterprise"], "password": "x"})
    assert r.status_code == 403


@pytest.mark.parametrize("holder", ["this process", "another process"])
def test_a_save_while_another_writer_holds_the_database_waits_for_it(
    filler, sqlite_engine, tmp_path, holder
):
    """A save normally runs on the event loop, which must never wait: while another writer
    holds SQLite's lock it goes to a worker thread, waits there, and saves once the lock is
    free."""
    import sqlite3
    import threading

    client, token, aid = filler
    if holder == "this process":
        conn = sqlite_engine.connect()  # its first statement begins IMMEDIATE: the lock
        conn.exec_driver_sql("UPDATE enterprise SET contact_phone = contact_phone WHERE 0")
        release = conn.close
    else:
        other = sqlite3.connect(tmp_path / "web.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")

        def release() -> None:
            other.execute("ROLLBACK")
            other.close()

    results = []
    worker = threading.Thread(
        target=lambda: results.append(save(client, token, aid, PCT, value="7"))
    )
    worker.start()
    worker.join(0.5)
    waiting = worker.is_alive()  # a save that failed or went ahead would be done by now
    release()
    worker.join(30)
    assert waiting and len(results) == 1
    assert results[0].status_code == 200, results[0].text
    row = stored(sqlite_engine, aid, PCT)
    assert row is not None and row.value == 7


def test_a_database_busy_past_its_timeout_gets_503_with_a_message_and_saves_nothing(
    filler, sqlite_engine, monkeypatch
):
    """When SQLite stays locked past the busy timeout (another program writing for seconds),
    the save says so and when to retry, rather than showing a server error."""
    import sqlite3

    import sqlalchemy as sa

    from web.routes import assessments as routes

    def locked(*_args, **_kwargs):
        raise sa.exc.OperationalError(
            "UPDATE answer", {}, sqlite3.OperationalError("database is locked")
        )

    monkeypatch.setattr(routes, "save_from_form", locked)
    client, token, aid = filler
    r = save(client, token, aid, PCT, value="12")
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert 'data-code="database_busy"' in r.text and "数据库正忙" in r.text
    assert r.headers["hx-retarget"] == "#flash"  # the question's own status line stays
    assert stored(sqlite_engine, aid, PCT) is None


@pytest.mark.parametrize(
    ("question", "fields"),
    [
        (PCT, {"value": ["40", "60"]}),
        (NUM, {"value": ["1", "2"]}),
        (SINGLE, {"value": ["A", "B"]}),
        (YESNO, {"value": ["yes", "no"]}),
        (TEXT, {"value": ["一", "二"]}),
        (RATIO, {"numerator": ["1", "2"], "denominator": "10"}),
        (RATIO, {"numerator": "1", "denominator": ["10", "20"]}),
        (PCT, {"value": "40", "comment": ["a", "b"]}),
        (PCT, {"value": "40", "na": ["1", "1"]}),
        (PCT, {"value": "40", "version": ["0", "0"]}),
    ],
)
def test_a_field_sent_twice_is_refused_and_nothing_is_saved(
    filler, sqlite_engine, question, fields
):
    client, token, aid = filler
    data = {"version": "0", **fields}
    r = client.post(f"/assessments/{aid}/answers/{question}", data=data, headers=htmx(token))
    assert r.status_code == 422, r.text
    assert 'data-code="one_value_expected"' in r.text
    assert "只应有一个值" in r.text and "未保存" in r.text
    assert stored(sqlite_engine, aid, question) is None


def test_several_values_are_taken_where_the_page_sends_them(filler, sqlite_engine):
    """Multiple choice ticks several boxes of one name; a ratio sends two fields of its own."""
    client, token, aid = filler
    r = client.post(
        f"/assessments/{aid}/answers/{MULTI}",
        data={"version": "0", "value": ["firewall", "backup", ""]},
        headers=htmx(token),
    )
    assert r.status_code == 200, r.text
    assert stored(sqlite_engine, aid, MULTI).value == ["firewall", "backup"]
    assert save(client, token, aid, RATIO, numerator="2", denominator="40").status_code == 200
    assert stored(sqlite_engine, aid, RATIO).value == {"numerator": 2.0, "denominator": 40.0}


@pytest.mark.parametrize(
    ("question", "typed", "zh", "en"),
    [
        (PCT, "100.0001", "取值 100.0001 超出允许范围 0–100", "value 100.0001 is outside"),
        (PCT, "-0.0001", "取值 -0.0001 超出允许范围 0–100", "the allowed range 0–100"),
        (NUM, "500.00001", "取值 500.00001 超出允许范围 -100–500", "value 500.00001 is"),
        (PCT, "150", "取值 150 超出允许范围 0–100", "value 150 is outside"),
    ],
)
def test_a_value_just_past_a_bound_is_shown_as_typed_beside_the_bound(
    filler, sqlite_engine, question, typed, zh, en
):
    client, token, aid = filler
    r = save(client, token, aid, question, value=typed)
    assert r.status_code == 422 and 'data-code="out_of_range"' in r.text
    assert zh in r.text, r.text
    assert stored(sqlite_engine, aid, question) is None
    client.post("/lang", data={"lang": "en", "next": "/", "csrf_token": token})
    r = save(client, token, aid, question, value=typed)
    assert r.status_code == 422 and en in r.text, r.text
