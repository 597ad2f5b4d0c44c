"""The report over HTTP: questions by number, the stage rules in words, answers with their
units, and a what-if over any scored question that shows every score it moves."""

from __future__ import annotations

import json
import re

from sqlmodel import Session, select

from assess.assessment.filling import questionnaire_of
from assess.assessment.lifecycle import save_answer, submit
from assess.store.models import Answer, Assessment, ScoreRecord
from tests.conftest import ROOT
from tests.web.conftest import sign_in

EXAMPLE = json.loads((ROOT / "examples/answers/petrochemicals.json").read_text("utf-8"))["answers"]


def _filled(engine, assessment_id: int, *, submitted: bool = False) -> None:
    with Session(engine) as s:
        a = s.get(Assessment, assessment_id)
        for qid, value in EXAMPLE.items():
            save_answer(s, a, qid, value, "", base_version=0, by_user=None)
        if submitted:
            submit(s, a, pledge=True, by_user=None)
        s.commit()


def _stored(engine, assessment_id: int) -> tuple[dict, list, int]:
    with Session(engine) as s:
        answers = {
            r.question: (r.value, r.version)
            for r in s.exec(select(Answer).where(Answer.assessment_id == assessment_id))
        }
        cards = [r.card for r in s.exec(select(ScoreRecord))]
        a = s.get(Assessment, assessment_id)
        return answers, cards, a.version


def _visible(page: str) -> str:
    """The page's text without tags, attributes and the muted support codes."""
    page = re.sub(r'<code class="q-id[^"]*">[^<]*</code>', "", page)
    page = re.sub(r'<script type="application/json".*?</script>', "", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


def test_the_report_shows_questions_by_number_and_the_stage_rules_in_plain_words(
    client, world, sqlite_engine
):
    sign_in(client, world.users["enterprise"])
    aid = world.a_draft.id
    _filled(sqlite_engine, aid, submitted=True)
    page = client.get(f"/assessments/{aid}/report").text
    text = _visible(page)
    # Questions by number and text; the id only as a tooltip and a muted code for support.
    assert re.search(r'title="core\.infra\.it_staff">1\.3</td>', page)
    assert "core.infra.it_staff" not in text and "core.infra.strategy" not in text
    # A ratio's result with its unit, and the figures it comes from: 9 / 680 × 100.
    assert "1.32% (9 / 680)" in text
    assert "37.5 台/百人" in text  # 255 PCs for 680 staff, per hundred
    # The stage rules in words: no operators, counts whole, the required-answer rule stated
    # as a precondition rather than as a failed first row.
    assert ">=" not in text and "&gt;=" not in text and "≥" not in text
    assert "必填题已全部作答" in text and "必填项缺失数" not in text
    assert "关键系统已在日常使用的环节不少于 3 个" in text
    assert not re.search(r"<td>\d+\.0</td>\s*<td>✓", page)  # no "4.0" for a count


def test_what_if_takes_a_question_outside_the_roadmap_and_moves_its_aspect_and_stores_nothing(
    client, world, sqlite_engine
):
    token = sign_in(client, world.users["enterprise"])
    aid = world.a_draft.id
    _filled(sqlite_engine, aid, submitted=True)
    page = client.get(f"/assessments/{aid}/report").text
    roadmap = set(re.findall(r'name="apply" value="([^"]+)"', page))
    with Session(sqlite_engine) as s:
        q = questionnaire_of(s.get(Assessment, aid))
    # A collaboration question the roadmap does not offer, answered below its best option.
    target = next(
        x
        for x in q.questions
        if x.aspect == "collaboration" and x.type == "single_choice" and x.id not in roadmap
    )
    assert f'<option value="{target.id}">{q.numbers[target.id]} ' in page  # offered by number
    best = max(target.options, key=lambda o: o.score).id
    assert EXAMPLE[target.id] != best

    field = client.get(f"/assessments/{aid}/what-if/field", params={"question": target.id})
    assert field.status_code == 200
    assert f'data-question="{target.id}"' in field.text and "checked" in field.text
    assert re.search(rf'<option value="{EXAMPLE[target.id]}" selected>', field.text)

    before = _stored(sqlite_engine, aid)
    form = {"csrf_token": token, "apply": target.id, f"{target.id}.value": best}
    r = client.post(f"/assessments/{aid}/what-if", data=form, headers={"HX-Request": "true"})
    assert r.status_code == 200
    moved = set(re.findall(r'class="move-\w+ moved" data-key="([^"]+)"', r.text))
    assert {"aspect.collaboration", "overall.overall"} <= moved, moved
    assert not any(k.startswith("link.") for k in moved)  # an aspect question moves no link
    assert "▲ +" in r.text
    every = re.findall(r'data-key="([^"]+)"', r.text)
    assert len(every) == 2 + 4 + 5  # overall, stage, the four links, the five aspects
    assert _stored(sqlite_engine, aid) == before  # no answer, card or version changed


def test_the_what_if_field_refuses_a_question_that_is_not_scored_or_does_not_exist(
    client, world, sqlite_engine
):
    sign_in(client, world.users["enterprise"])
    aid = world.a_draft.id
    url = f"/assessments/{aid}/what-if/field"
    assert client.get(url, params={"question": "core.no.such"}).status_code == 404
    assert client.get(url, params={"question": "core.infra.plan_file"}).status_code == 404
    assert client.get(url, params={"question": ""}).status_code == 204
    assert client.get(url, params={"question": "x" * 201}).status_code == 422


def test_a_draft_with_required_answers_missing_says_so_in_words_before_the_stage_ladder(
    client, world, sqlite_engine
):
    token = sign_in(client, world.users["enterprise"])
    aid = world.a_draft.id
    with Session(sqlite_engine) as s:
        a = s.get(Assessment, aid)
        save_answer(s, a, "core.infra.strategy", "C", "", base_version=0, by_user=None)
        s.commit()
    page = client.get(f"/assessments/{aid}/report").text
    m = re.search(r'<p class="gate failed">还有 (\d+) 道必填题未答，阶段为“待确定”', page)
    assert m and int(m.group(1)) > 10, page[:2000]
    assert "待确定 ✗" not in _visible(page)
    r = client.post("/lang", data={"lang": "en", "next": "/", "csrf_token": token})
    assert r.status_code == 303
    text = _visible(client.get(f"/assessments/{aid}/report").text)
    assert re.search(r"\d+ required questions are unanswered, so the stage is “Undetermined”", text)
    assert "Links with a key system in routine use: at least 3" in text
    assert "Overall level at least 75" in text and ">=" not in text
