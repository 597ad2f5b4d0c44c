"""Version 2 over HTTP: derived values shown read only and redrawn when an input is saved, rungs
not offered before the year they apply from, reasons for N/A and exemptions (asked for, required
to submit, shown to the certifier), and the report across a change of version."""

from __future__ import annotations

import re

from sqlmodel import Session

from assess.assessment.lifecycle import save_answer, start_assessment, submit
from assess.questionnaire.compile import compile_spec, shipped_catalog
from assess.store.models import Assessment, Enterprise
from tests.conftest import extreme_answers
from tests.web.conftest import sign_in
from tests.web.test_autosave import htmx
from tests.web.test_fill_page import visible_text
from tests.web.test_pages import EXAMPLE, fill


def v2_assessment(engine, ent_id: int, year: int) -> int:
    with Session(engine) as s:
        ent = s.get(Enterprise, ent_id)
        assert ent is not None
        a = start_assessment(s, ent, year, by_user=None, version=2)
        s.commit()
        return a.id or 0


def block(page: str, qid: str) -> str:
    """The question's block on the page."""
    start = page.index(f'data-question="{qid}"')
    end = page.find('<div class="question', start)
    return page[start : end if end > 0 else len(page)]


def full_answers(na: str | None = None) -> dict:
    spec = compile_spec(shipped_catalog().compose("petrochemicals", 2))
    answers = extreme_answers(spec, best=True)
    answers["core.ctx.production"] = "own"
    if na:
        answers[na] = "na"
    return {k: v for k, v in answers.items() if spec.questions[spec.index[k]].formula is None}


def give_reasons(engine, aid: int, *, but: str | None = None) -> None:
    """A reason for every N/A and exemption of the assessment's answers (but one)."""
    from assess.assessment.lifecycle import answers_of, card_of

    with Session(engine) as s:
        a = s.get(Assessment, aid)
        assert a is not None
        rows = answers_of(s, a)
        for e in card_of(s, a).exemptions:
            if e.question != but:
                row = rows[e.question]
                save_answer(
                    s,
                    a,
                    e.question,
                    row.value,
                    "见说明文件",
                    base_version=row.version,
                    by_user=None,
                )
        s.commit()


def na_question() -> str:
    spec = compile_spec(shipped_catalog().compose("petrochemicals", 2))
    return next(q.id for q in spec.questions if q.scored and q.allow_na and not q.show_if)


def test_a_derived_value_is_read_only_and_redrawn_when_an_input_is_saved(
    client, world, sqlite_engine
):
    aid = v2_assessment(sqlite_engine, world.ent_a.id, 2021)
    token = sign_in(client, world.users["enterprise"])
    page = client.get(f"/assessments/{aid}").text
    derived = block(page, "core.infra.it_staff_share")
    assert "<fieldset disabled>" in derived
    assert 'name="value"' not in derived
    assert "相关数据填写后自动计算" in derived
    data = {"version": "0", "value": "200"}
    r = client.post(
        f"/assessments/{aid}/answers/core.ctx.employees", data=data, headers=htmx(token)
    )
    assert r.status_code == 200
    data = {"version": "0", "value": "5"}
    r = client.post(
        f"/assessments/{aid}/answers/core.infra.it_staff_count", data=data, headers=htmx(token)
    )
    assert r.status_code == 200
    assert 'data-question="core.infra.it_staff_share"' in r.text  # redrawn out of band
    assert "= 2.5 %" in block(r.text, "core.infra.it_staff_share")
    # Typing into it is refused with a reason.
    r = client.post(
        f"/assessments/{aid}/answers/core.infra.it_staff_share",
        data={"version": "0", "value": "9"},
        headers=htmx(token),
    )
    assert r.status_code == 422 and "自动计算" in r.text


def test_rungs_are_offered_from_the_year_they_apply_from(client, world, sqlite_engine):
    early = v2_assessment(sqlite_engine, world.ent_a.id, 2016)
    late = v2_assessment(sqlite_engine, world.ent_a.id, 2021)
    spec_2016 = compile_spec(shipped_catalog().compose("petrochemicals", 2), 2016)
    q = next(x for x in spec_2016.questions if x.withheld and not x.show_if)
    later = [q.options[i] for i in q.withheld]
    token = sign_in(client, world.users["enterprise"])

    def offered(aid: int) -> list[str]:
        page = client.get(f"/assessments/{aid}").text
        return re.findall(r'name="value" value="([^"]+)"', block(page, q.id))

    assert offered(late) == list(q.options)
    assert offered(early) == [o for o in q.options if o not in later]
    r = client.post(
        f"/assessments/{early}/answers/{q.id}",
        data={"version": "0", "value": later[-1]},
        headers=htmx(token),
    )
    assert r.status_code == 422
    assert "尚不存在" in r.text


def test_an_na_needs_a_reason_before_submitting_and_the_certifier_sees_it(
    client, world, sqlite_engine
):
    aid = v2_assessment(sqlite_engine, world.ent_a.id, 2021)
    qid = na_question()
    fill(sqlite_engine, aid, full_answers(na=qid))
    give_reasons(sqlite_engine, aid, but=qid)
    token = sign_in(client, world.users["enterprise"])
    page = client.get(f"/assessments/{aid}").text
    assert "理由（必填）" in block(page, qid)
    r = client.post(f"/assessments/{aid}/submit", data={"csrf_token": token, "pledge": "true"})
    assert r.status_code == 422
    assert 'data-code="missing_reason"' in r.text
    assert "需说明理由" in visible_text(r.text)
    with Session(sqlite_engine) as s:
        a = s.get(Assessment, aid)
        assert a is not None
        save_answer(s, a, qid, "na", "本厂无此装置，见环评批复", base_version=1, by_user=None)
        s.commit()
    r = client.post(f"/assessments/{aid}/submit", data={"csrf_token": token, "pledge": "true"})
    assert r.status_code == 303, r.text
    report = client.get(f"/assessments/{aid}/report").text
    text = visible_text(report)
    assert "需评审复核的答案" in text
    assert "本厂无此装置，见环评批复" in text
    assert "若相关题目按 0 分计入而非不计" in text


def test_the_report_marks_the_year_the_version_changed(client, world, sqlite_engine):
    with Session(sqlite_engine) as s:
        ent = s.get(Enterprise, world.ent_a.id)
        assert ent is not None
        old = start_assessment(s, ent, 2019, by_user=None, version=1)
        s.commit()
        old_id = old.id or 0
    fill(sqlite_engine, old_id, EXAMPLE)
    new_id = v2_assessment(sqlite_engine, world.ent_a.id, 2021)
    fill(sqlite_engine, new_id, full_answers())
    give_reasons(sqlite_engine, new_id)
    with Session(sqlite_engine) as s:
        for aid in (old_id, new_id):
            a = s.get(Assessment, aid)
            assert a is not None
            submit(s, a, pledge=True, by_user=None)
        s.commit()
    sign_in(client, world.users["enterprise"])
    text = visible_text(client.get(f"/assessments/{new_id}/report").text)
    assert "自 2021 年起使用第 2 版问卷" in text
    assert "第1版" in text and "第2版" in text
    assert "国家评估体系口径" in text and "不能逐分比较" in text


def test_the_fill_page_lists_what_a_new_version_asks_anew(client, world, sqlite_engine):
    fill(sqlite_engine, world.a_draft.id, EXAMPLE)  # 2020, on version 1
    with Session(sqlite_engine) as s:
        ent = s.get(Enterprise, world.ent_a.id)
        assert ent is not None
        new = start_assessment(s, ent, 2021, by_user=None, copy_last_year=True, version=2)
        s.commit()
        new_id = new.id or 0
    sign_in(client, world.users["enterprise"])
    page = client.get(f"/assessments/{new_id}").text
    text = visible_text(page)
    m = re.search(r"2020 年使用第 1 版问卷。已带入 (\d+) 个", text)
    assert m and int(m.group(1)) > 20, text[:600]
    notice = page[page.index('class="notice version-change"') :]
    assert "core--ctx--production" in notice[: notice.index("</div>")]


def _food_firm_with_user(engine, cluster: str = "eco_food") -> tuple[int, str]:
    """A food firm of Jilin City (cluster ``cluster``) with a v2 assessment, and its user name."""
    from assess.accounts.users import create_user
    from tests.db import factories
    from tests.web.conftest import FAST, PASSWORD

    with Session(engine) as s:
        ent = factories.enterprise(s, "food", cluster, name="丙食品有限公司")
        name = f"user-food-{ent.id}"
        create_user(
            s,
            username=name,
            password=PASSWORD,
            hasher=FAST,
            role="enterprise",  # type: ignore[arg-type]
            enterprise_id=ent.id,
        )
        a = start_assessment(s, ent, 2021, by_user=None, version=2)
        s.commit()
        return a.id or 0, name


def test_a_firm_of_the_region_sees_its_local_notes_beside_region_neutral_questions(
    client, world, sqlite_engine
):
    aid, user = _food_firm_with_user(sqlite_engine)
    token = sign_in(client, user)
    page = client.get(f"/assessments/{aid}?section=food.trace").text
    code = block(page, "food.mkt.consumer_code")
    assert "本地说明（吉林市）：" in code and "吉林大米" in code
    channels = block(page, "food.mkt.online_channels")
    option = channels[channels.index('value="regional"') :]
    option = option[: option.index("</label>")]
    assert "吉林市：" in option and "长白山" in option
    # The questionnaire itself names no region: a firm elsewhere would see the neutral text only.
    q = shipped_catalog().compose("food", 2)
    text = q.by_id["food.mkt.consumer_code"].help.zh + str(q.by_id["food.mkt.online_channels"])
    assert "吉林" not in text and "长白山" not in text
    # The English page says the same in English.
    assert client.post("/lang", data={"lang": "en", "csrf_token": token}).status_code == 303
    page = client.get(f"/assessments/{aid}?section=food.trace").text
    assert "Local note (Jilin City):" in block(page, "food.mkt.consumer_code")


def test_a_section_hidden_until_its_deciding_question_is_answered_is_not_shown_as_done(
    client, world, sqlite_engine
):
    aid = v2_assessment(sqlite_engine, world.ent_a.id, 2021)
    token = sign_in(client, world.users["enterprise"])
    nav = client.get(f"/assessments/{aid}").text
    nav = nav[nav.index('id="progress"') :]
    production = nav[nav.index('data-section="core.prod"') :]
    production = production[: production.index("</li>")]
    assert "待前面的题目作答" in production and "✓" not in production and "0/0" not in production
    url = f"/assessments/{aid}/answers/core.ctx.production"
    r = client.post(url, data={"version": "0", "value": "none"}, headers=htmx(token))
    assert r.status_code == 200, r.text
    production = r.text[r.text.index('data-section="core.prod"') :]
    production = production[: production.index("</li>")]
    assert "不适用" in production and "待前面" not in production
    r = client.post(url, data={"version": "1", "value": "own"}, headers=htmx(token))
    assert r.status_code == 200, r.text
    production = r.text[r.text.index('data-section="core.prod"') :]
    production = production[: production.index("</li>")]
    assert re.search(r'data-required="(\d+)">0/\1</span>', production)


def test_a_new_year_started_through_the_page_is_on_version_2_and_the_old_stay_on_1(
    client, world, sqlite_engine
):
    token = sign_in(client, world.users["enterprise"])
    r = client.post(
        "/assessments", data={"csrf_token": token, "year": "2021", "copy_last_year": "true"}
    )
    assert r.status_code == 303
    aid = int(r.headers["location"].rstrip("/").rsplit("/", 1)[1])
    with Session(sqlite_engine) as s:
        new = s.get(Assessment, aid)
        old = s.get(Assessment, world.a_draft.id)
        assert new is not None and old is not None
        assert (new.questionnaire_version, old.questionnaire_version) == (2, 1)
        assert new.content_hash == shipped_catalog().lock["petrochemicals@2"]
        assert old.content_hash == shipped_catalog().lock["petrochemicals@1"]
    page = client.get(f"/assessments/{aid}").text
    assert "本年度使用第 2 版问卷，2020 年使用第 1 版问卷" in page
    assert 'data-question="core.prod.control_execution"' in page  # a version 2 question
