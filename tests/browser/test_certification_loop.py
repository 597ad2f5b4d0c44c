"""The certification loop in a real browser, two people in two browser contexts: the enterprise
submits and chooses a body; its certifier asks for evidence on one answer, adjusts another and
returns the assessment; the enterprise uploads the evidence, corrects the answer and resubmits;
the certifier sees what changed, certifies, and the certificate prints on one A4 page; anyone
can verify its number on the public page."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from sqlmodel import Session

from assess.assessment import lifecycle
from assess.store.models import Assessment
from tests.browser.conftest import sign_in_through_the_form
from tests.browser.test_enterprise_flow import IDLE, dom
from tests.conftest import ROOT

ANSWERS = json.loads((ROOT / "examples/answers/petrochemicals.json").read_text("utf-8"))["answers"]
SHOTS = os.environ.get("ASSESS_SCREENSHOTS")
#: A small but real PDF: the header, one empty page, the trailer.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"cert-{name}.png"), full_page=True)


def _settled(page) -> None:
    page.wait_for_function(IDLE)


def _decide(page, qid: str, decision: str, reason: str, value: str | None = None) -> None:
    item = page.locator(dom(qid, "r"))
    item.locator(f"input[name=decision][value={decision}]").check()
    if value is not None:
        item.locator("select[name=value]").select_option(value)
    item.locator("textarea[name=reason]").fill(reason)
    with page.expect_response(lambda r: "/review/" in r.url and r.request.method == "POST") as info:
        item.locator("button[type=submit]").click()
    assert info.value.status == 200, info.value.text()
    _settled(page)


def test_submit_review_return_resubmit_certify_verify(live, browser, tmp_path):
    aid = live.world.a_draft.id
    with Session(live.engine, expire_on_commit=False) as s:  # type: ignore[arg-type]
        a = s.get(Assessment, aid)
        for qid, value in ANSWERS.items():
            lifecycle.save_answer(s, a, qid, value, "", base_version=0, by_user=None)
        s.commit()
    firm = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    cert = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()

    # The enterprise submits and asks the body to certify.
    sign_in_through_the_form(firm, live, live.world.users["enterprise"])
    firm.goto(f"{live.url}/assessments/{aid}/submit")
    firm.locator("input[name=pledge]").check()
    firm.locator("select[name=body]").select_option(index=1)  # the one body
    firm.locator("form button[type=submit].primary").click()
    firm.wait_for_url(re.compile(r"/report$"))
    assert "评审结束后在此显示认定结果" in firm.locator("section.certification").inner_text()

    # The certifier takes it, asks for evidence on one answer and adjusts another.
    sign_in_through_the_form(cert, live, live.world.users["certifier"])
    cert.wait_for_url(re.compile(r"/review$"))
    cert.locator("table.queue a", has_text="甲化工有限公司").click()
    cert.locator("form[action$='/assign'] button").click()
    cert.locator("form[action$='/start'] button").click()
    cert.wait_for_selector(dom("core.infra.network", "r") + " form.r-decide")
    _decide(cert, "core.infra.network", "evidence", "请上传网络拓扑图")
    own = float(cert.locator("#review-preview tbody tr").first.locator("td").nth(0).inner_text())
    _decide(cert, "core.infra.strategy", "adjusted", "无董事会批准文件", value="B")
    certified = cert.locator("#review-preview tbody tr").first.locator("td.certified")
    assert float(certified.inner_text()) < own  # the live preview follows the adjustment
    _shot(cert, "1-workspace")
    cert.locator("textarea[name=note]").fill("请补充网络拓扑图，并核实信息化规划")
    cert.locator("form[action$='/return'] button").click()
    cert.wait_for_url(re.compile(rf"/review/{aid}$"))

    # The enterprise sees what to act on, uploads the evidence, corrects and resubmits.
    firm.goto(f"{live.url}/assessments/{aid}")
    asked = firm.locator("#to-act-on")
    assert "请上传网络拓扑图" in asked.inner_text() and "无董事会批准文件" in asked.inner_text()
    asked.locator("a", has_text="网络").first.click()
    block = firm.locator(dom("core.infra.network", "ev"))
    pdf = tmp_path / "网络拓扑图.pdf"
    pdf.write_bytes(PDF)
    block.locator("input[type=file]").set_input_files(str(pdf))
    with firm.expect_response(lambda r: "/evidence" in r.url and r.request.method == "POST"):
        block.locator("button[type=submit]").click()
    _settled(firm)
    assert "网络拓扑图.pdf" in firm.locator(dom("core.infra.network", "ev")).inner_text()
    assert "（1）" in firm.locator(dom("core.infra.network", "evs")).inner_text()  # the count
    question = firm.locator(dom("core.infra.network"))
    with firm.expect_response(lambda r: "/answers/core.infra.network" in r.url and r.ok):
        question.locator("input[name=value][value=C]").check()
    _settled(firm)
    _shot(firm, "2-returned")
    firm.goto(f"{live.url}/assessments/{aid}/resubmit")
    _shot(firm, "2b-resubmit")
    firm.locator("form[action$='/resubmit'] button").click()
    firm.wait_for_url(re.compile(r"/report$"))

    # The certifier sees the change and the new file, accepts, certifies.
    cert.goto(f"{live.url}/review/{aid}")
    cert.locator("form[action$='/start'] button").click()
    cert.wait_for_selector("section.changes")
    changed = cert.locator(dom("core.infra.network", "r"))
    assert "网络拓扑图.pdf" in changed.inner_text() and "您评审后企业已修改" in changed.inner_text()
    _decide(cert, "core.infra.network", "accepted", "拓扑图与答案相符")
    blocked = cert.locator("#certify-blocked")
    assert not blocked.count(), blocked.inner_text()
    cert.locator("form[action$='/certify'] button").click()
    cert.wait_for_url(re.compile(r"/certificates/\d+$"))
    _shot(cert, "3-certificate")
    number = cert.locator(".cert-number .mono").inner_text().strip()
    assert number.startswith("LH")
    printed = tmp_path / "certificate.pdf"
    cert.emulate_media(media="print")
    cert.pdf(path=str(printed), format="A4", print_background=True)
    info = subprocess.run(["pdfinfo", str(printed)], capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info  # the certificate fits one A4 page
    if SHOTS:
        subprocess.run(
            ["pdftoppm", "-png", "-r", "60", str(printed), str(Path(SHOTS) / "cert-4-print")]
        )

    # Its report shows both results and the adjustment with its reason.
    firm.goto(f"{live.url}/assessments/{aid}/report")
    side = firm.locator("section.certification").inner_text()
    assert "无董事会批准文件" in side and "企业答案" in side
    _shot(firm, "5-report")

    # Anyone verifies the number, signed in or not.
    anyone = browser.new_context(locale="zh-CN").new_page()
    anyone.goto(f"{live.url}/verify/{number}")
    text = anyone.locator("main").inner_text()
    assert "甲化工有限公司" in text and "本证书有效" in text
    assert live.world.ent_a.uscc not in anyone.content()
    _shot(anyone, "6-verify")
