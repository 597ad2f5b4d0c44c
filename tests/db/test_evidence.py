"""Evidence files as services, on SQLite and PostgreSQL: kept once per content, every upload a
new version, a refused upload leaving nothing behind, and reading them by scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlmodel import Session, col, select

from assess.accounts.users import create_user
from assess.assessment.lifecycle import start_assessment
from assess.certification import evidence as ev
from assess.errors import Invalid, Locked, NotFound, ServiceError
from assess.store.models import (
    Assessment,
    AuditEvent,
    CertificationBody,
    Evidence,
    Review,
    Status,
    User,
)
from tests.db import factories

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
QUESTION = "core.rd.digital_share"
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
LIMIT = 64 * 1024


@dataclass
class Firms:
    a: Assessment
    b: Assessment
    users: dict[str, User]


def _firms(s: Session) -> Firms:
    ent_a = factories.enterprise(s, "petrochemicals", "fine_chem")
    ent_b = factories.enterprise(s, "auto", "auto")
    clusters = factories.region(s)
    body = CertificationBody(name="甲评定机构", code="JA")
    other = CertificationBody(name="乙评定机构", code="YB")
    s.add_all([body, other])
    s.flush()
    kinds = {
        "enterprise": dict(role="enterprise", enterprise_id=ent_a.id, display_name="张会计"),
        "enterprise_b": dict(role="enterprise", enterprise_id=ent_b.id),
        "certifier": dict(role="certifier", cert_body_id=body.id),
        "other_certifier": dict(role="certifier", cert_body_id=other.id),
        "cluster_manager": dict(role="cluster_manager", cluster_ids=[clusters["fine_chem"].id]),
        "admin": dict(role="admin"),
    }
    users = {
        who: create_user(s, username=f"ev-{who}", password="correct-horse-9", hasher=FAST, **kw)  # type: ignore[arg-type]
        for who, kw in kinds.items()
    }
    a = start_assessment(s, ent_a, 2020, by_user=None, version=1)
    b = start_assessment(s, ent_b, 2020, by_user=None, version=1)
    s.add(Review(assessment_id=a.id or 0, body_id=body.id or 0, due_on=date(2021, 3, 31)))
    s.commit()
    return Firms(a, b, users)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _events(s: Session, action: str) -> list[AuditEvent]:
    return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)))


def _upload(s: Session, root: Path, firms: Firms, name: str, data: bytes) -> Evidence:
    """An upload by the firm's own user to its draft."""
    return ev.upload(s, root, LIMIT, firms.a, firms.users["enterprise"], QUESTION, name, data)


def test_a_file_is_kept_once_per_content_and_every_upload_is_a_new_version(
    engine: sa.Engine, tmp_path: Path
) -> None:
    root = tmp_path / "evidence"
    with Session(engine, expire_on_commit=False) as s:
        firms = _firms(s)
        first = _upload(s, root, firms, "营业执照（2020）.pdf", PDF)
        s.commit()
        again = _upload(s, root, firms, "营业执照-副本.pdf", PDF)
        s.commit()
        newer = _upload(s, root, firms, "营业执照（2021 更新）.pdf", PDF + b"% revised\n")
        s.commit()

        assert first.sha256 == again.sha256 != newer.sha256
        path = root / first.sha256[:2] / first.sha256
        assert path.read_bytes() == PDF
        assert _files(root) == sorted([path, root / newer.sha256[:2] / newer.sha256])
        rows = s.exec(select(Evidence).order_by(col(Evidence.id))).all()
        assert [(r.filename, r.media_type, r.size) for r in rows] == [
            ("营业执照（2020）.pdf", ev.PDF, len(PDF)),
            ("营业执照-副本.pdf", ev.PDF, len(PDF)),
            ("营业执照（2021 更新）.pdf", ev.PDF, len(PDF) + 10),
        ]
        listed = ev.evidence_of(s, firms.a)
        assert list(listed) == [QUESTION]
        assert [f.id for f in listed[QUESTION]] == [newer.id, again.id, first.id]
        assert listed[QUESTION][0].uploaded_by == "张会计"
        assert listed[QUESTION][0].as_dict()["uploaded_at"].endswith("Z")

        uploads = _events(s, "evidence.upload")
        assert [e.subject_id for e in uploads] == [str(first.id), str(again.id), str(newer.id)]
        assert uploads[0].actor == "ev-enterprise"
        assert uploads[0].after == {
            "assessment_id": firms.a.id,
            "question": QUESTION,
            "sha256": first.sha256,
            "size": len(PDF),
            "media_type": ev.PDF,
            "filename": "营业执照（2020）.pdf",
        }


def test_a_stored_file_is_never_rewritten(engine: sa.Engine, tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    sha = ev.store(root, PDF)
    path = ev.stored_path(root, sha)
    before = path.stat()
    assert ev.store(root, PDF) == sha
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert _files(root) == [path]  # no temporary file left beside it
    assert before.st_mode & 0o077 == 0  # readable by the service's own account only


def _hostile(firms: Firms) -> list[tuple[str, dict[str, object], type[ServiceError], str]]:
    submitted = firms.b  # made "submitted" below
    return [
        ("setup.pdf", {"data": b"MZ\x90\x00" + b"\x00" * 60}, ev.Unsupported, "type_executable"),
        ("page.pdf", {"data": b"<!DOCTYPE html><script>1</script>"}, ev.Unsupported, "type_html"),
        ("logo.pdf", {"data": b"<svg onload='x()'/>"}, ev.Unsupported, "type_svg"),
        ("big.pdf", {"data": PDF + b"0" * LIMIT}, ev.TooLarge, "too_large"),
        ("../../etc/cron.d/x.pdf", {}, Invalid, "name_path"),
        ("invoice\u202efdp.exe", {}, Invalid, "name_characters"),
        ("empty.pdf", {"data": b""}, Invalid, "empty_file"),
        ("", {"data": b""}, Invalid, "no_file"),
        ("a.pdf", {"question": "core.no_such_question"}, NotFound, "unknown_question"),
        ("a.pdf", {"a": submitted, "user_key": "enterprise_b"}, Locked, "not_editable"),
    ]


def test_a_refused_upload_writes_no_row_no_file_and_no_event(
    engine: sa.Engine, tmp_path: Path
) -> None:
    root = tmp_path / "evidence"
    with Session(engine, expire_on_commit=False) as s:
        firms = _firms(s)
        firms.b.status = Status.submitted
        s.add(firms.b)
        s.commit()
        for name, kw, error, code in _hostile(firms):
            data = kw.get("data", PDF)
            user = firms.users[str(kw.get("user_key", "enterprise"))]
            a = kw.get("a", firms.a)
            question = str(kw.get("question", QUESTION))
            with pytest.raises(error) as exc:
                ev.upload(s, root, LIMIT, a, user, question, name, data)  # type: ignore[arg-type]
            s.rollback()
            assert exc.value.first.code == code, name
        assert s.exec(select(Evidence)).all() == []
        assert _events(s, "evidence.upload") == []
    assert _files(root) == []


def test_the_size_refusal_states_the_limit(engine: sa.Engine, tmp_path: Path) -> None:
    with Session(engine, expire_on_commit=False) as s:
        firms = _firms(s)
        with pytest.raises(ev.TooLarge) as exc:
            ev.upload(s, tmp_path, 2 * ev.MIB, firms.a, firms.users["enterprise"], QUESTION,
                      "big.pdf", PDF + b"0" * (2 * ev.MIB))  # fmt: skip
        assert exc.value.status == 413
        assert "2 MB" in exc.value.first.zh and "2 MB" in exc.value.first.en


def test_a_download_checks_scope_and_is_recorded(engine: sa.Engine, tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    with Session(engine, expire_on_commit=False) as s:
        firms = _firms(s)
        kept = _upload(s, root, firms, "scan", PDF)
        s.commit()
        readers = ["enterprise", "certifier", "admin"]
        for who in readers:
            found = ev.open_evidence(s, root, firms.users[who], kept.id or 0)
            s.commit()
            assert found.path.read_bytes() == PDF
            assert (found.media_type, found.filename) == (ev.PDF, "scan.pdf")
        for who in ["enterprise_b", "other_certifier", "cluster_manager"]:
            with pytest.raises(NotFound):
                ev.open_evidence(s, root, firms.users[who], kept.id or 0)
            s.rollback()
        with pytest.raises(NotFound):
            ev.open_evidence(s, root, firms.users["admin"], (kept.id or 0) + 1000)
        s.rollback()
        downloads = _events(s, "evidence.download")
        assert [e.actor for e in downloads] == [f"ev-{who}" for who in readers]
        assert {e.subject_id for e in downloads} == {str(kept.id)}


def test_only_the_firm_may_add_evidence_and_only_while_it_may_change_answers(
    engine: sa.Engine,
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        firms = _firms(s)
        users = firms.users
        assert ev.may_upload(users["enterprise"], firms.a)
        assert not ev.may_upload(users["enterprise_b"], firms.a)
        assert not ev.may_upload(users["admin"], firms.a)
        assert not ev.may_upload(users["certifier"], firms.a)
        for status in Status:
            firms.a.status = status
            assert ev.may_upload(users["enterprise"], firms.a) is Status(status).editable
