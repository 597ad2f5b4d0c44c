"""The what-if on the report page: any scored question can be picked and changed, and every
score it moves is shown before and after, marked; nothing is saved."""

from __future__ import annotations

import json

from sqlmodel import Session

from assess.assessment.filling import questionnaire_of
from assess.assessment.lifecycle import save_answer, submit
from assess.store.models import Assessment
from tests.browser.conftest import sign_in_through_the_form
from tests.conftest import ROOT

ANSWERS = json.loads((ROOT / "examples/answers/petrochemicals.json").read_text("utf-8"))["answers"]
QUESTION = "core.col.co_rd"  # a collaboration question the roadmap does not suggest


def test_a_question_outside_the_roadmap_is_picked_changed_and_its_aspect_moves_unsaved(
    live, browser, tmp_path
):
    world = live.world
    aid = world.a_draft.id
    with Session(live.engine) as s:  # type: ignore[call-overload]
        a = s.get(Assessment, aid)
        for qid, value in ANSWERS.items():
            save_answer(s, a, qid, value, "", base_version=0, by_user=None)
        submit(s, a, pledge=True, by_user=None)
        s.commit()
        q = questionnaire_of(a)
    target = q.by_id[QUESTION]
    best = max(target.options, key=lambda o: o.score).id  # type: ignore[attr-defined]
    assert ANSWERS[QUESTION] != best

    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in_through_the_form(page, live, world.users["enterprise"])
    page.goto(f"{live.url}/assessments/{aid}/report")
    assert page.locator(f'#whatif-fields [data-question="{QUESTION}"]').count() == 0

    # Picked by its number and text, in its section's group.
    picker = page.locator("select[name=question]")
    option = picker.locator(f'option[value="{QUESTION}"]')
    assert option.inner_text().startswith(f"{q.numbers[QUESTION]} ")
    assert option.evaluate("o => o.parentElement.tagName") == "OPTGROUP"
    picker.select_option(QUESTION)
    field = page.locator(f'#whatif-fields [data-question="{QUESTION}"]')
    field.wait_for()
    assert field.locator("input[name=apply]").is_checked()
    assert field.locator("select").input_value() == ANSWERS[QUESTION]  # starts from the answer
    assert picker.input_value() == ""
    picker.select_option(QUESTION)  # picked again: still one field
    page.wait_for_timeout(300)
    assert field.count() == 1

    field.locator("select").select_option(best)
    moved = page.locator("#whatif-result tr.moved")
    moved.first.wait_for()
    keys = {k for k in moved.evaluate_all("rs => rs.map(r => r.dataset.key)")}
    assert {"overall.overall", "aspect.collaboration"} <= keys, keys
    assert not any(k.startswith("link.") for k in keys), keys
    row = page.locator('#whatif-result tr[data-key="aspect.collaboration"]')
    before, after = (float(row.locator("td").nth(i).inner_text()) for i in (0, 1))
    assert after > before and row.locator(".delta").inner_text().startswith("▲ +")
    # Every headline score is listed, moved or not: overall, stage, four links, five aspects.
    assert page.locator("#whatif-result tr[data-key]").count() == 11
    page.screenshot(path=str(tmp_path / "whatif.png"))

    assert live.stored(aid, QUESTION) == ANSWERS[QUESTION]  # nothing saved
    assert not errors, errors
    context.close()
