"""What a person sees on the filling page, the submit page and the assessment list, over HTTP:
question numbers instead of internal ids, one section at a time with its progress, ratio
results with their units, the years on offer, a confirmation before withdrawing, the conflict
message and the favicon."""

from __future__ import annotations

import html
import re

from sqlmodel import Session

from assess.assessment.lifecycle import current_year, save_answer, start_assessment, submit
from assess.store.models import Assessment, Enterprise
from tests.web.conftest import sign_in
from tests.web.test_pages import fill


def visible_text(page: str) -> str:
    """The page's text as a reader sees it: no tags, no attributes, no scripts."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def section_tags(page: str) -> dict[str, str]:
    """Each section element's opening tag, by its section id."""
    pattern = r'(<section class="q-section" id="sec-[^"]+" data-section="([^"]+)"[^>]*>)'
    return {sid: tag for tag, sid in re.findall(pattern, page)}


def test_questions_show_their_number_and_keep_the_id_out_of_the_text(client, world):
    sign_in(client, world.users["enterprise"])
    page = client.get(f"/assessments/{world.a_draft.id}").text
    assert '<span class="q-num" title="题目编号：core.infra.strategy">1.1</span>' in page, (
        "the first question is numbered 1.1 and names its id only in the title"
    )
    assert '<span class="q-num" title="题目编号：petrochemicals.ctx.subsector">10.1</span>' in page
    text = visible_text(page)
    assert "信息化规划" in text
    assert not re.search(r"\bcore\.[a-z_]+\.[a-z_]+", text), re.findall(r"core\.\S+", text)[:3]
    assert "petrochemicals." not in text


def test_the_page_opens_one_section_and_the_side_list_counts_each(client, world, sqlite_engine):
    sign_in(client, world.users["enterprise"])
    aid = world.a_draft.id
    with Session(sqlite_engine) as s:
        a = s.get(Assessment, aid)
        save_answer(s, a, "core.rd.pdm", "A", "", base_version=0, by_user=None)
        s.commit()
    page = client.get(f"/assessments/{aid}").text
    tags = section_tags(page)
    assert len(tags) == 14
    shown = [sid for sid, tag in tags.items() if " hidden" not in tag]
    assert shown == ["core.infra"], "the first section is open, the others wait"
    assert 'href="?section=core.rd" data-section="core.rd"' in page
    assert '<a href="?section=core.infra" data-section="core.infra" aria-current="step">' in page
    assert 'data-answered="1" data-required="6">1/6</span>' in page  # 研发设计: one of six
    # The notes section has nothing required: it is complete, and ticked.
    notes = re.search(r'<li class="complete" data-section="core.notes">.*?</li>', page, re.S)
    assert notes and "✓" in notes.group(0)
    # Previous / next buttons, and a submit button in the side panel.
    assert 'rel="next" href="?section=core.rd"' in page
    side = page.split('<aside class="fill-side no-print">')[1].split("</aside>")[0]
    assert f'href="/assessments/{aid}/submit"' in side

    other = client.get(f"/assessments/{aid}?section=core.rd").text
    shown = [sid for sid, tag in section_tags(other).items() if " hidden" not in tag]
    assert shown == ["core.rd"]
    assert 'rel="prev" href="?section=core.infra"' in other
    unknown = client.get(f"/assessments/{aid}?section=nonsense").text
    shown = [sid for sid, tag in section_tags(unknown).items() if " hidden" not in tag]
    assert shown == ["core.infra"], "an unknown section opens the first one"
    assert client.get(f"/assessments/{aid}?section={'x' * 101}").status_code == 422


def test_a_ratio_shows_its_stored_result_with_its_unit(client, world, sqlite_engine):
    token = sign_in(client, world.users["enterprise"])
    aid = world.a_draft.id
    page = client.get(f"/assessments/{aid}").text
    assert 'data-unit="台/百人"' in page and "计算结果单位：台/百人</output>" in page
    r = client.post(
        f"/assessments/{aid}/answers/core.infra.pcs",
        data={"version": "0", "numerator": "169", "denominator": "300"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert r.status_code == 200, r.text
    page = client.get(f"/assessments/{aid}").text
    assert "= 56.33 台/百人</output>" in page
    assert "= 56.33 台/百人" in visible_text(page)


def test_the_submit_page_lists_missing_answers_by_number_and_text(client, world):
    sign_in(client, world.users["enterprise"])
    page = client.get(f"/assessments/{world.a_draft.id}/submit").text
    missing = page.split('class="card missing"')[1].split("</section>")[0]
    text = visible_text(missing)
    assert "1.1" in text and "信息化规划" in text
    assert "core." not in text and "petrochemicals." not in text
    numbers = re.findall(r'<span class="q-num" title="[^"]+">([0-9.]+)</span>', missing)
    assert numbers[:3] == ["1.1", "1.2", "1.3"], "in the order of the page"
    assert numbers.index("10.1") > numbers.index("8.6")
    headings = re.findall(r"<h3>([^<]+)</h3>", missing)
    assert headings[:2] == ["基础建设", "研发设计"] and len(headings) == 13  # notes: none required


def _options(page: str) -> tuple[list[int], list[int]]:
    select = page.split('<select name="year">')[1].split("</select>")[0]
    years = [int(y) for y in re.findall(r'<option value="(\d+)"', select)]
    chosen = [int(y) for y in re.findall(r'<option value="(\d+)" selected', select)]
    return years, chosen


def test_the_year_list_offers_the_regions_years_and_proposes_the_one_after_the_latest(
    client, world, sqlite_engine
):
    token = sign_in(client, world.users["enterprise"])
    years, chosen = _options(client.get("/assessments").text)
    # Jilin City: the plan's baseline year 2013 (period 2014–2020), then every year to this one.
    assert years == [y for y in range(current_year(), 2012, -1) if y != 2020], "2020 is taken"
    assert chosen == [2021], "the first year after the latest assessment (2020)"

    r = client.post("/assessments", data={"csrf_token": token, "year": "2021"})
    assert r.status_code == 303
    years, chosen = _options(client.get("/assessments").text)
    assert 2021 not in years and chosen == [2022]

    r = client.post("/assessments", data={"csrf_token": token, "year": "2012"})
    assert r.status_code == 422 and f"评估年度应在 2013–{current_year()} 之间" in r.text
    r = client.post("/assessments", data={"csrf_token": token, "year": str(current_year() + 1)})
    assert r.status_code == 422 and 'data-code="year"' in r.text


def test_a_firm_without_assessments_is_offered_the_newest_year(client, world, sqlite_engine):
    with Session(sqlite_engine) as s:
        ent = s.get(Enterprise, world.ent_b.id)
        assert ent is not None
        # B's only assessment is this year's: nothing follows it, the newest open year is offered.
        start_assessment(s, ent, current_year(), by_user=None, version=1)
        s.commit()
    sign_in(client, world.users["enterprise_b"])
    years, chosen = _options(client.get("/assessments").text)
    assert current_year() not in years and 2020 not in years
    assert chosen == [current_year() - 1]


def test_withdrawing_asks_first(client, world, sqlite_engine):
    token = sign_in(client, world.users["enterprise"])
    aid = world.a_draft.id
    fill(sqlite_engine, aid)
    with Session(sqlite_engine) as s:
        submit(s, s.get(Assessment, aid), pledge=True, by_user=None)
        s.commit()
    page = client.get(f"/assessments/{aid}").text
    # The fill page offers a link to the confirmation step, not a form that withdraws at once.
    assert f'href="/assessments/{aid}/withdraw"' in page
    assert f'action="/assessments/{aid}/withdraw"' not in page
    confirm = client.get(f"/assessments/{aid}/withdraw")
    assert confirm.status_code == 200
    assert "撤回 2020 年度的评估？" in confirm.text
    assert f'action="/assessments/{aid}/withdraw"' in confirm.text
    assert "确定撤回" in confirm.text and f'href="/assessments/{aid}"' in confirm.text
    with Session(sqlite_engine) as s:
        assert s.get(Assessment, aid).status == "submitted", "looking does not withdraw"
    r = client.post(f"/assessments/{aid}/withdraw", data={"csrf_token": token})
    assert r.status_code == 303
    with Session(sqlite_engine) as s:
        assert s.get(Assessment, aid).status == "draft"
    again = client.get(f"/assessments/{aid}/withdraw")
    assert again.status_code == 200 and "确定撤回" not in again.text
    assert "只有已提交且尚未开始评审的评估可以撤回" in again.text


def test_the_conflict_message_names_the_other_value_after_a_colon(client, world, sqlite_engine):
    token = sign_in(client, world.users["enterprise"])
    aid = world.a_draft.id
    with Session(sqlite_engine) as s:
        save_answer(
            s,
            s.get(Assessment, aid),
            "core.rd.digital_share",
            77,
            "另一页",
            base_version=0,
            by_user=None,
        )
        s.commit()
    r = client.post(
        f"/assessments/{aid}/answers/core.rd.digital_share",
        data={"version": "0", "value": "12"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert r.status_code == 409
    text = " ".join(visible_text(r.text).split())
    assert "他处已保存的值： 77" in text and "备注： 另一页" in text


def test_the_favicon_is_served_and_linked(client, world):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon"
    assert r.content[:4] == b"\x00\x00\x01\x00", "an ICO file"
    page = client.get("/signin").text
    assert 'rel="icon" href="/static/favicon.svg?v=' in page
    svg = client.get(re.search(r'href="(/static/favicon\.svg\?v=\w+)"', page).group(1))
    assert svg.status_code == 200 and svg.text.lstrip().startswith("<svg")
