"""The certification loop over HTTP, in two clients: the enterprise submits and chooses a body;
its certifier reviews answer by answer and returns it; the enterprise sees what to act on,
changes an answer and resubmits; the certifier sees the change, certifies; the certificate is
issued and verifiable in public. Scope and refusals on the way."""

from __future__ import annotations

import json
import re

from sqlmodel import Session, select

from assess.accounts.users import create_user
from assess.assessment import lifecycle
from assess.store.models import Assessment, Certificate, Conflict, Status
from tests.conftest import ROOT
from tests.web.conftest import FAST, PASSWORD, make_client, sign_in

EXAMPLE = json.loads((ROOT / "examples/answers/petrochemicals.json").read_text("utf-8"))["answers"]


def _filled(engine, world) -> int:
    with Session(engine, expire_on_commit=False) as s:
        a = s.get(Assessment, world.a_draft.id)
        for qid, value in EXAMPLE.items():
            lifecycle.save_answer(s, a, qid, value, "", base_version=0, by_user=None)
        s.commit()
        return a.id


def _body_option(page: str) -> str:
    m = re.search(r'<option value="(\d+)">[^<]*测试评定机构', page)
    assert m, "the submit page offers the certification body"
    return m.group(1)


def test_the_whole_loop_over_http(sqlite_engine, world):
    aid = _filled(sqlite_engine, world)
    with make_client(sqlite_engine) as firm, make_client(sqlite_engine) as cert:
        t_firm = sign_in(firm, world.users["enterprise"])
        page = firm.get(f"/assessments/{aid}/submit")
        body = _body_option(page.text)
        r = firm.post(
            f"/assessments/{aid}/submit",
            data={"pledge": "true", "body": body, "csrf_token": t_firm},
        )
        assert r.status_code == 303, r.text

        t_cert = sign_in(cert, world.users["certifier"])
        assert cert.get("/").headers["location"] == "/review"
        queue = cert.get("/review")
        assert "甲化工有限公司" in queue.text and "未分配" in queue.text  # not assigned yet
        data = cert.get("/review.json").json()
        assert [r["assessment"] for r in data["rows"]] == [aid]
        with Session(sqlite_engine) as s:
            me = s.exec(
                select(lifecycle.User).where(lifecycle.User.username == world.users["certifier"])
            ).one()
        assert (
            cert.post(
                f"/review/{aid}/assign", data={"certifier": me.id, "csrf_token": t_cert}
            ).status_code
            == 303
        )
        assert cert.post(f"/review/{aid}/start", data={"csrf_token": t_cert}).status_code == 303
        # The firm can no longer withdraw.
        r = firm.post(f"/assessments/{aid}/withdraw", data={"csrf_token": t_firm})
        assert r.status_code == 409

        work = cert.get(f"/review/{aid}")
        assert work.status_code == 200 and "core.infra.network" in work.text
        # An adjustment without a reason: refused in place, with its message.
        r = cert.post(
            f"/review/{aid}/answers/core.infra.strategy",
            data={"decision": "adjusted", "value": "B", "version": "0", "csrf_token": t_cert},
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 422 and 'data-code="reason"' in r.text
        r = cert.post(
            f"/review/{aid}/answers/core.infra.strategy",
            data={
                "decision": "adjusted",
                "value": "B",
                "reason": "无董事会批准文件",
                "version": "0",
                "csrf_token": t_cert,
            },
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 200 and 'id="review-preview"' in r.text  # the preview, out of band
        r = cert.post(
            f"/review/{aid}/answers/core.infra.network",
            data={
                "decision": "evidence",
                "reason": "请上传网络拓扑图",
                "version": "0",
                "csrf_token": t_cert,
            },
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 200
        r = cert.post(f"/review/{aid}/return", data={"note": "请补充材料", "csrf_token": t_cert})
        assert r.status_code == 303

        fill = firm.get(f"/assessments/{aid}")
        assert "请上传网络拓扑图" in fill.text and "请补充材料" in fill.text
        assert f"/assessments/{aid}/resubmit" in fill.text
        with Session(sqlite_engine, expire_on_commit=False) as s:
            a = s.get(Assessment, aid)
            v = lifecycle.answers_of(s, a)["core.infra.network"].version
        r = firm.post(
            f"/assessments/{aid}/answers/core.infra.network",
            data={"value": "C", "version": str(v), "comment": "拓扑图已补充"},
            headers={"HX-Request": "true", "X-CSRF-Token": t_firm},
        )
        assert r.status_code == 200, r.text
        assert (
            firm.post(f"/assessments/{aid}/resubmit", data={"csrf_token": t_firm}).status_code
            == 303
        )

        assert cert.post(f"/review/{aid}/start", data={"csrf_token": t_cert}).status_code == 303
        work = cert.get(f"/review/{aid}")
        assert (
            "自上次退回以来的修改：1" in work.text
            or "Changed since the last return: 1" in work.text
        )
        r = cert.post(f"/review/{aid}/certify", data={"csrf_token": t_cert})
        assert r.status_code == 422  # the evidence request is still open
        with Session(sqlite_engine) as s:
            from assess.accounts.access import review_of
            from assess.certification.review import items_of

            version = items_of(s, review_of(s, aid))["core.infra.network"].version
        r = cert.post(
            f"/review/{aid}/answers/core.infra.network",
            data={"decision": "accepted", "version": str(version), "csrf_token": t_cert},
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 200
        r = cert.post(f"/review/{aid}/certify", data={"csrf_token": t_cert})
        assert r.status_code == 303 and r.headers["location"].startswith("/certificates/")

        report = firm.get(f"/assessments/{aid}/report")
        assert "无董事会批准文件" in report.text and 'class="certified"' in report.text
        with Session(sqlite_engine) as s:
            a = s.get(Assessment, aid)
            number = s.exec(
                select(Certificate.number).where(Certificate.assessment_id == aid)
            ).one()
            assert a.status == Status.certified
        public = make_client(sqlite_engine).get(f"/verify/{number}")
        assert public.status_code == 200 and "甲化工有限公司" in public.text


def test_review_pages_keep_to_their_scope(sqlite_engine, world):
    aid = _filled(sqlite_engine, world)
    with make_client(sqlite_engine) as firm:
        t_firm = sign_in(firm, world.users["enterprise"])
        body = _body_option(firm.get(f"/assessments/{aid}/submit").text)
        firm.post(
            f"/assessments/{aid}/submit",
            data={"pledge": "true", "body": body, "csrf_token": t_firm},
        )
        assert firm.get(f"/review/{aid}").status_code == 403  # not a certifier's page
        assert firm.get("/review").status_code == 403
    with Session(sqlite_engine) as s:
        from assess.store.models import CertificationBody

        other = CertificationBody(name="另一机构", code="LY")
        s.add(other)
        s.flush()
        create_user(
            s,
            username="other-cert",
            password=PASSWORD,
            hasher=FAST,
            role="certifier",
            cert_body_id=other.id,
        )
        me = s.exec(
            select(lifecycle.User).where(lifecycle.User.username == world.users["certifier"])
        ).one()
        s.add(Conflict(certifier_id=me.id, enterprise_id=world.ent_a.id, kind="own_firm"))
        s.commit()
    with make_client(sqlite_engine) as stranger:
        sign_in(stranger, "other-cert")
        assert stranger.get(f"/review/{aid}").status_code == 404  # another body's
        assert stranger.get("/review.json").json()["rows"] == []
    with make_client(sqlite_engine) as conflicted:
        t = sign_in(conflicted, world.users["certifier"])
        assert conflicted.get(f"/review/{aid}").status_code == 404  # declared conflict
        assert conflicted.post(f"/review/{aid}/start", data={"csrf_token": t}).status_code == 404
        assert conflicted.get(f"/assessments/{aid}/report").status_code == 404


def test_a_second_tab_never_overwrites_a_decision_or_resubmits_twice(sqlite_engine, world):
    aid = _filled(sqlite_engine, world)
    with make_client(sqlite_engine) as firm, make_client(sqlite_engine) as cert:
        t_firm = sign_in(firm, world.users["enterprise"])
        body = _body_option(firm.get(f"/assessments/{aid}/submit").text)
        firm.post(
            f"/assessments/{aid}/submit",
            data={"pledge": "true", "body": body, "csrf_token": t_firm},
        )
        t_cert = sign_in(cert, world.users["certifier"])
        with Session(sqlite_engine) as s:
            me = s.exec(
                select(lifecycle.User).where(lifecycle.User.username == world.users["certifier"])
            ).one()
        cert.post(f"/review/{aid}/assign", data={"certifier": me.id, "csrf_token": t_cert})
        cert.post(f"/review/{aid}/start", data={"csrf_token": t_cert})
        ask = {
            "decision": "evidence",
            "reason": "请上传拓扑图",
            "version": "0",
            "csrf_token": t_cert,
        }
        hx = {"HX-Request": "true"}
        r = cert.post(f"/review/{aid}/answers/core.infra.network", data=ask, headers=hx)
        assert r.status_code == 200
        # Another tab, still showing no decision, accepts: refused, the first decision kept.
        stale = {"decision": "accepted", "version": "0", "csrf_token": t_cert}
        r = cert.post(f"/review/{aid}/answers/core.infra.network", data=stale, headers=hx)
        assert r.status_code == 409 and 'data-code="conflict"' in r.text
        assert "请上传拓扑图" in r.text
        # The page reads in English too, the assignment reasons included.
        cert.post("/lang", data={"lang": "en", "next": "/", "csrf_token": t_cert})
        page = cert.get(f"/review/{aid}").text
        assert "Evidence asked for" in page and "Start the review" not in page
        cert.post(f"/review/{aid}/return", data={"note": "请补充", "csrf_token": t_cert})

        assert (
            firm.post(f"/assessments/{aid}/resubmit", data={"csrf_token": t_firm}).status_code
            == 303
        )
        again = firm.post(f"/assessments/{aid}/resubmit", data={"csrf_token": t_firm})
        assert again.status_code == 409 and 'data-code="not_returned"' in again.text
        with Session(sqlite_engine) as s:
            assert s.get(Assessment, aid).status == Status.resubmitted
