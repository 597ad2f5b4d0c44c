"""Evidence files over HTTP: an enterprise uploads them per answer and sees them listed; the
people who may read them download them as attachments; everyone else is told they do not
exist; and every hostile upload is refused with its status, leaving nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from assess.accounts.users import create_user
from assess.store.models import Assessment, AuditEvent, CertificationBody, Evidence, Review, Status
from tests.web.conftest import FAST, PASSWORD, World, build_world, make_client, sign_in

QUESTION = "core.rd.digital_share"
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
CHINESE_NAME = "营业执照（2020）.pdf"
#: The evidence limit of these tests' app: small, so that "too large" is cheap to send.
LIMIT = 8 * 1024


@dataclass
class Site:
    engine: sa.Engine
    world: World
    root: Path
    data_dir: Path

    def client(self, **settings: object) -> TestClient:
        kw: dict[str, object] = {"data_dir": self.data_dir, "evidence_max_bytes": LIMIT}
        return make_client(self.engine, **{**kw, **settings})

    def rows(self) -> list[Evidence]:
        with Session(self.engine) as s:
            return list(s.exec(select(Evidence).order_by(col(Evidence.id))))

    def events(self, action: str) -> list[AuditEvent]:
        with Session(self.engine) as s:
            return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)))

    def stored(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*") if p.is_file()) if self.root.exists() else []


@pytest.fixture
def site(sqlite_engine: sa.Engine, tmp_path: Path) -> Site:
    """The small world, with A's draft asked of the test body (whose certifier may then see
    it), a certifier of another body, and the app's data directory in the test's own folder."""
    world = build_world(sqlite_engine)
    with Session(sqlite_engine) as s:
        body = s.exec(select(CertificationBody)).one()
        s.add(
            Review(
                assessment_id=world.a_draft.id or 0, body_id=body.id or 0, due_on=date(2021, 3, 31)
            )
        )
        other = CertificationBody(name="另一评定机构", code="OB")
        s.add(other)
        s.flush()
        create_user(
            s,
            username="user-other-certifier",
            password=PASSWORD,
            role="certifier",
            cert_body_id=other.id,
            hasher=FAST,
        )
        s.commit()
    world.users["other_certifier"] = "user-other-certifier"
    data_dir = tmp_path / "data"
    return Site(sqlite_engine, world, (data_dir / "evidence").resolve(), data_dir)


@pytest.fixture
def firm(site: Site) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A's enterprise user, signed in, with the headers an htmx request carries."""
    with site.client() as client:
        token = sign_in(client, site.world.users["enterprise"])
        yield client, {"HX-Request": "true", "X-CSRF-Token": token}


def _url(a: Assessment | int, question: str = QUESTION) -> str:
    aid = a if isinstance(a, int) else a.id
    return f"/assessments/{aid}/answers/{question}/evidence"


def _post(
    client: TestClient,
    headers: dict[str, str],
    url: str,
    name: str,
    data: bytes,
    content_type: str = "application/pdf",
) -> Any:
    """Upload one file as the fill page's form does."""
    return client.post(url, files={"file": (name, data, content_type)}, headers=headers)


def test_an_upload_is_accepted_listed_and_kept_by_its_content(site: Site, firm) -> None:
    client, headers = firm
    url = _url(site.world.a_draft)
    r = _post(client, headers, url, CHINESE_NAME, PDF)
    assert r.status_code == 200, r.text
    assert f'id="ev-{QUESTION.replace(".", "--")}"' in r.text
    assert CHINESE_NAME in r.text and 'type="file"' in r.text
    [row] = site.rows()
    assert (row.filename, row.media_type, row.size, row.question) == (
        CHINESE_NAME,
        "application/pdf",
        len(PDF),
        QUESTION,
    )
    assert f'href="/evidence/{row.id}"' in r.text
    assert site.stored() == [site.root / row.sha256[:2] / row.sha256]
    assert not site.root.is_relative_to(Path("web").resolve())
    page = client.get(f"/assessments/{site.world.a_draft.id}")
    assert page.status_code == 200 and CHINESE_NAME in page.text

    # A second version for the same answer: both kept, the newest listed first.
    r = _post(client, headers, url, "营业执照（2021）.pdf", PDF + b"%v2\n")
    assert r.status_code == 200
    assert r.text.index("营业执照（2021）.pdf") < r.text.index(CHINESE_NAME)
    assert len(site.rows()) == 2 and len(site.stored()) == 2
    assert [e.subject_id for e in site.events("evidence.upload")] == [
        str(x.id) for x in site.rows()
    ]


def test_a_plain_form_upload_is_redirected_back_to_the_answers(site: Site, firm) -> None:
    client, headers = firm
    token = headers["X-CSRF-Token"]
    r = client.post(
        _url(site.world.a_draft),
        files={"file": ("scan.pdf", PDF, "application/pdf")},
        data={"csrf_token": token},
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/assessments/{site.world.a_draft.id}"
    assert len(site.rows()) == 1
    # Refused, or sent without a file: the error page says why.
    for files, code in [({"file": ("page.pdf", b"<html>", "text/html")}, 415), (None, 422)]:
        r = client.post(_url(site.world.a_draft), files=files, data={"csrf_token": token})
        assert r.status_code == code and "<html" in r.text
    assert len(site.rows()) == 1


def test_a_download_is_an_attachment_of_its_sniffed_type_never_inline(site: Site, firm) -> None:
    client, headers = firm
    # The browser claimed an image; the content is a PDF, and that is what is sent.
    url = _url(site.world.a_draft)
    r = _post(client, headers, url, CHINESE_NAME, PDF, content_type="image/png")
    assert r.status_code == 200
    [row] = site.rows()
    got = client.get(f"/evidence/{row.id}")
    assert got.status_code == 200
    assert got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    disposition = got.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote(CHINESE_NAME, safe='')}" in disposition
    assert "inline" not in disposition
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-security-policy"] == "sandbox"
    [event] = site.events("evidence.download")
    assert (event.subject_type, event.subject_id, event.actor) == (
        "evidence",
        str(row.id),
        site.world.users["enterprise"],
    )


def _one_file(site: Site) -> int:
    with site.client() as client:
        token = sign_in(client, site.world.users["enterprise"])
        headers = {"HX-Request": "true", "X-CSRF-Token": token}
        assert _post(client, headers, _url(site.world.a_draft), "scan.pdf", PDF).status_code == 200
    [row] = site.rows()
    return row.id or 0


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("enterprise_b", 404),  # another firm's evidence
        ("cluster_manager", 404),  # A's own cluster's manager: evidence is not theirs to read
        ("other_certifier", 404),  # a certifier of a body not asked to certify A
        ("certifier", 200),  # the body A asked
        ("admin", 200),
    ],
)
def test_who_may_download_evidence(site: Site, who: str, status: int) -> None:
    evidence_id = _one_file(site)
    with site.client() as client:
        sign_in(client, site.world.users[who])
        r = client.get(f"/evidence/{evidence_id}")
        assert r.status_code == status
        if status == 404:
            assert PDF not in r.content
            assert client.get(f"/evidence/{evidence_id + 1}").status_code == 404
    downloads = site.events("evidence.download")
    assert len(downloads) == (1 if status == 200 else 0)


def test_someone_not_signed_in_is_sent_to_sign_in(site: Site) -> None:
    evidence_id = _one_file(site)
    with site.client() as client:
        r = client.get(f"/evidence/{evidence_id}")
        assert r.status_code == 303 and r.headers["location"].startswith("/signin")


@pytest.mark.parametrize(
    ("who", "status"),
    [("enterprise_b", 404), ("other_certifier", 404), ("certifier", 403), ("admin", 403)],
)
def test_only_the_firm_itself_may_upload(site: Site, who: str, status: int) -> None:
    with site.client() as client:
        token = sign_in(client, site.world.users[who])
        headers = {"HX-Request": "true", "X-CSRF-Token": token}
        r = _post(client, headers, _url(site.world.a_draft), "scan.pdf", PDF)
        assert r.status_code == status
    assert site.rows() == [] and site.stored() == []


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 46 + b"PE\x00\x00"
HTML = b"<!DOCTYPE html><html><body><script>fetch('/admin/users')</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("营业执照.pdf", EXE, 415, "type_executable"),
        ("report.pdf", HTML, 415, "type_html"),
        ("chart.pdf", SVG, 415, "type_svg"),
        ("big.pdf", PDF + b"0" * LIMIT, 413, "too_large"),
        ("../../evil.pdf", PDF, 422, "name_path"),
        ("invoice\u202efdp.exe", PDF, 422, "name_characters"),
        ("empty.pdf", b"", 422, "empty_file"),
    ],
)
def test_hostile_uploads_are_refused_and_nothing_is_stored(
    site: Site, firm, name: str, data: bytes, status: int, code: str
) -> None:
    client, headers = firm
    r = _post(client, headers, _url(site.world.a_draft), name, data)
    assert r.status_code == status, r.text
    assert f'data-code="{code}"' in r.text
    assert 'class="evidence"' in r.text  # shown in the answer's evidence block
    assert site.rows() == [] and site.stored() == [] and site.events("evidence.upload") == []


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(site: Site, firm) -> None:
    client, headers = firm
    r = _post(
        client, headers, _url(site.world.a_draft), "huge.pdf", PDF + b"0" * (LIMIT + 200 * 1024)
    )
    assert r.status_code == 413
    mb = f"{LIMIT / 1024 / 1024:.3g} MB"
    assert f"at most {mb}" in r.text and "the limit is 1 MB" not in r.text
    assert site.rows() == [] and site.stored() == []


def test_other_requests_keep_their_one_megabyte_limit_while_uploads_take_more(
    site: Site,
) -> None:
    big = PDF + b"0" * (3 * 1024 * 1024 // 2)
    with site.client(evidence_max_bytes=4 * 1024 * 1024) as client:
        token = sign_in(client, site.world.users["enterprise"])
        headers = {"HX-Request": "true", "X-CSRF-Token": token}
        aid = site.world.a_draft.id
        answer = client.post(
            f"/assessments/{aid}/answers/{QUESTION}",
            data={"version": "0", "value": "1", "comment": "x" * len(big)},
            headers=headers,
        )
        assert answer.status_code == 413 and "1 MB" in answer.text
        r = _post(client, headers, _url(site.world.a_draft), "big.pdf", big)
        assert r.status_code == 200, r.text[:300]
    [row] = site.rows()
    assert row.size == len(big)


def test_no_upload_to_an_assessment_that_was_submitted(site: Site, firm) -> None:
    client, headers = firm
    with Session(site.engine) as s:
        s.exec(sa.update(Assessment).values(status=Status.submitted))
        s.commit()
    r = _post(client, headers, _url(site.world.a_draft), "scan.pdf", PDF)
    assert r.status_code == 409
    assert 'data-code="not_editable"' in r.text
    assert 'type="file"' not in r.text  # the form is gone: no more uploads here
    assert site.rows() == [] and site.stored() == []


def test_an_unknown_question_or_a_missing_token_stores_nothing(site: Site, firm) -> None:
    client, headers = firm
    r = _post(client, headers, _url(site.world.a_draft, "core.nothing"), "scan.pdf", PDF)
    assert r.status_code == 404
    r = client.post(
        _url(site.world.a_draft),
        files={"file": ("scan.pdf", PDF, "application/pdf")},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 403 and 'data-code="csrf"' in r.text
    assert site.rows() == [] and site.stored() == []
