"""Certification bodies, their certifiers, and declared conflicts of interest.

Administrators create and edit bodies (a Chinese and an English name, a code that begins the
numbers of the body's certificates, an active flag) and declare or remove the conflicts of
interest between a certifier and an enterprise. Every change goes to the audit trail with the
fields before and after.

The assignment of a certifier asks two questions here: ``eligible_certifiers`` (whom a body
may assign to a firm) and ``why_not`` (why a given certifier may not be assigned, in words).

Like every service, these flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from assess.accounts.access import conflict_between
from assess.errors import Conflict as Stale
from assess.errors import ConflictDetail, Invalid, NotFound, Problem
from assess.store import audit
from assess.store.models import (
    CertificationBody,
    Conflict,
    ConflictKind,
    Enterprise,
    Role,
    User,
)

#: A body's code: capital letters and digits, 2–10 of them (it begins certificate numbers).
CODE_PATTERN = re.compile(r"[A-Z0-9]{2,10}", re.ASCII)
NAME_MAX_LENGTH = 200
NOTE_MAX_LENGTH = 500
#: The kinds of conflict of interest, in Chinese and English, for messages.
KIND_NAMES: dict[str, tuple[str, str]] = {
    ConflictKind.own_firm: ("曾在或正在该企业任职", "works or worked for the firm"),
    ConflictKind.consulting: ("曾为该企业提供咨询", "advised the firm"),
    ConflictKind.financial: ("在该企业有经济利益", "a financial interest in the firm"),
    ConflictKind.family: ("近亲属在该企业担任高级职务", "a close relative in a senior post there"),
    ConflictKind.other: ("其他关系", "another relation"),
}
#: The fields of a body an administrator edits, in the form's order.
BODY_FIELDS = ("name", "name_en", "code", "is_active")

_NO_BODY = Problem("not_found", "评定机构不存在", "no such certification body")
_NO_CONFLICT = Problem("not_found", "该利益冲突登记不存在", "no such declared conflict of interest")


# --- bodies ----------------------------------------------------------------------------------


def get_body(session: Session, body_id: int) -> CertificationBody:
    """The body, or NotFound."""
    body = session.get(CertificationBody, body_id)
    if body is None:
        raise NotFound(_NO_BODY)
    return body


def body_view(body: CertificationBody) -> dict[str, Any]:
    """A body's editable fields as plain data (for forms and the audit trail)."""
    return {k: getattr(body, k) for k in BODY_FIELDS}


def body_stamp(body: CertificationBody) -> str:
    """A body's fields as one string, which an edit form carries back so that a change made
    meanwhile by someone else is refused rather than overwritten."""
    return "|".join(str(v) for v in body_view(body).values())


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """A body form's values as they will be stored: names trimmed, the code in capitals."""
    return {
        "name": str(data.get("name") or "").strip(),
        "name_en": str(data.get("name_en") or "").strip(),
        "code": str(data.get("code") or "").strip().upper(),
        "is_active": bool(data.get("is_active", True)),
    }


def _body_problems(
    session: Session, data: dict[str, Any], current: CertificationBody | None
) -> list[Problem]:
    out: list[Problem] = []
    name, name_en, code = data["name"], data["name_en"], data["code"]
    if not 2 <= len(name) <= NAME_MAX_LENGTH:
        out.append(
            Problem(
                "body_name", "机构名称应为 2–200 个字符", "the name needs 2–200 characters", "name"
            )
        )
    else:
        clash = session.exec(
            select(CertificationBody.id).where(CertificationBody.name == name)
        ).first()
        if clash is not None and (current is None or clash != current.id):
            out.append(
                Problem(
                    "body_name_taken",
                    f"已有名为“{name}”的评定机构",
                    f"a certification body named “{name}” already exists",
                    "name",
                )
            )
    if len(name_en) > NAME_MAX_LENGTH:
        out.append(
            Problem(
                "body_name_en",
                "英文名称不超过 200 个字符",
                "the English name may have at most 200 characters",
                "name_en",
            )
        )
    if not CODE_PATTERN.fullmatch(code):
        out.append(
            Problem(
                "body_code",
                "机构代码须为 2–10 位大写英文字母或数字",
                "the code needs 2–10 capital letters or digits",
                "code",
            )
        )
    else:
        clash = session.exec(
            select(CertificationBody.id).where(CertificationBody.code == code)
        ).first()
        if clash is not None and (current is None or clash != current.id):
            out.append(
                Problem(
                    "body_code_taken",
                    f"机构代码 {code} 已被其他评定机构使用",
                    f"the code {code} is already used by another certification body",
                    "code",
                )
            )
    return out


def _save_body(session: Session, body: CertificationBody) -> None:
    """Write the body; a name or code taken meanwhile by another request is refused like one
    taken before (the unique indexes decide)."""
    try:
        with session.begin_nested():
            session.add(body)
            session.flush()
    except sa.exc.IntegrityError:
        raise Invalid(
            Problem(
                "body_taken",
                "机构名称或代码刚被其他评定机构使用，请换一个",
                "the name or code was just taken by another certification body; choose another",
            )
        ) from None


def create_body(
    session: Session,
    *,
    name: str,
    code: str,
    name_en: str = "",
    is_active: bool = True,
    by: User | None = None,
) -> CertificationBody:
    """Add a certification body; Invalid lists every problem at once and nothing is written."""
    data = _clean({"name": name, "name_en": name_en, "code": code, "is_active": is_active})
    problems = _body_problems(session, data, None)
    if problems:
        raise Invalid(problems)
    body = CertificationBody(**data)
    _save_body(session, body)
    audit.record(session, "body.create", "body", body.id, actor=by, after=body_view(body))
    return body


def update_body(
    session: Session,
    body: CertificationBody,
    *,
    name: str,
    code: str,
    name_en: str = "",
    is_active: bool = True,
    seen_stamp: str | None = None,
    by: User | None = None,
) -> CertificationBody:
    """Change a body's names, code or active flag. ``seen_stamp`` is the body_stamp the form
    was shown with: a stale one is refused with what is stored now. Invalid lists every other
    problem at once."""
    if seen_stamp is not None and seen_stamp != body_stamp(body):
        raise Stale(
            Problem(
                "stale",
                "该评定机构已被他人修改，请查看当前值后重新提交",
                "someone else changed this certification body; check the current values and "
                "submit again",
            ),
            ConflictDetail("body", body_stamp(body), "", 0),
        )
    data = _clean({"name": name, "name_en": name_en, "code": code, "is_active": is_active})
    problems = _body_problems(session, data, body)
    if problems:
        raise Invalid(problems)
    before = body_view(body)
    for k, v in data.items():
        setattr(body, k, v)
    _save_body(session, body)
    old, new = audit.changes(before, body_view(body))
    if new:
        audit.record(session, "body.update", "body", body.id, actor=by, before=old, after=new)
    return body


def certifiers_of(session: Session, body_ids: Iterable[int]) -> dict[int, list[User]]:
    """Body id → its certifiers (users with that body), by username."""
    ids = list(body_ids)
    out: dict[int, list[User]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.exec(
        select(User)
        .where(User.role == Role.certifier.value, col(User.cert_body_id).in_(ids))
        .order_by(col(User.username))
    )
    for u in rows:
        out[u.cert_body_id or 0].append(u)
    return out


@dataclass(frozen=True)
class BodyRow:
    """A body in the administrator's list, with its certifiers."""

    body: CertificationBody
    certifiers: list[User]

    @property
    def active_certifiers(self) -> int:
        """How many of its certifiers' accounts are active."""
        return sum(1 for u in self.certifiers if u.is_active)


def body_list(session: Session) -> list[BodyRow]:
    """Every body, active ones first, by code, with its certifiers."""
    bodies = list(
        session.exec(
            select(CertificationBody).order_by(
                col(CertificationBody.is_active).desc(), col(CertificationBody.code)
            )
        )
    )
    people = certifiers_of(session, [b.id for b in bodies if b.id is not None])
    return [BodyRow(b, people.get(b.id or 0, [])) for b in bodies]


def choosable_bodies(session: Session) -> list[CertificationBody]:
    """The active bodies, by name: those an enterprise may choose for its certification."""
    q = select(CertificationBody).where(col(CertificationBody.is_active))
    return list(session.exec(q.order_by(col(CertificationBody.name))))


# --- conflicts of interest -------------------------------------------------------------------


def conflict_view(c: Conflict) -> dict[str, Any]:
    """A declared conflict as plain data, for the audit trail."""
    return {
        "certifier_id": c.certifier_id,
        "enterprise_id": c.enterprise_id,
        "kind": c.kind,
        "note": c.note,
    }


def _certifier(session: Session, certifier_id: int | None) -> User | None:
    user = session.get(User, certifier_id) if certifier_id else None
    return user if user is not None and user.role == Role.certifier else None


def _kind_words(kind: str) -> tuple[str, str]:
    return KIND_NAMES.get(kind, (kind, kind))


def declare_conflict(
    session: Session,
    *,
    certifier_id: int | None,
    enterprise_id: int | None,
    kind: str,
    note: str = "",
    by: User | None = None,
) -> Conflict:
    """Declare that a certifier may not review an enterprise. The certifier must be a
    certifier, the enterprise must exist, the kind one of ConflictKind (a note is required for
    "other"), and the pair not declared already; Invalid lists every problem at once."""
    note = note.strip()
    problems: list[Problem] = []
    certifier = _certifier(session, certifier_id)
    if certifier is None:
        problems.append(
            Problem(
                "certifier_not_found",
                "请选择一名评定人员",
                "choose a certifier",
                "certifier_id",
            )
        )
    enterprise = session.get(Enterprise, enterprise_id) if enterprise_id else None
    if enterprise is None:
        problems.append(
            Problem(
                "enterprise_not_found", "请选择一家企业", "choose an enterprise", "enterprise_id"
            )
        )
    if kind not in KIND_NAMES:
        problems.append(
            Problem("kind", "请选择利益冲突的类型", "choose the kind of conflict", "kind")
        )
    elif kind == ConflictKind.other and not note:
        problems.append(
            Problem(
                "note_required",
                "类型为“其他关系”时须说明具体关系",
                "describe the relation when its kind is “another relation”",
                "note",
            )
        )
    if len(note) > NOTE_MAX_LENGTH:
        problems.append(
            Problem(
                "note_too_long",
                f"说明不超过 {NOTE_MAX_LENGTH} 个字符",
                f"the note may have at most {NOTE_MAX_LENGTH} characters",
                "note",
            )
        )
    if certifier is not None and enterprise is not None:
        existing = conflict_between(session, certifier.id, enterprise.id or 0)
        if existing is not None:
            problems.append(_duplicate(certifier, enterprise, existing.kind))
    if problems:
        raise Invalid(problems)
    assert certifier is not None and enterprise is not None
    row = Conflict(
        certifier_id=certifier.id or 0,
        enterprise_id=enterprise.id or 0,
        kind=ConflictKind(kind).value,
        note=note,
        declared_by=by.id if by is not None else None,
    )
    try:
        with session.begin_nested():  # declared meanwhile by another request: the index decides
            session.add(row)
            session.flush()
    except sa.exc.IntegrityError:
        raise Invalid(_duplicate(certifier, enterprise, kind)) from None
    audit.record(
        session, "conflict.declare", "conflict", row.id, actor=by, after=conflict_view(row)
    )
    return row


def _duplicate(certifier: User, enterprise: Enterprise, kind: str) -> Problem:
    zh, en = _kind_words(kind)
    return Problem(
        "conflict_exists",
        f"评定人员 {certifier.username} 与“{enterprise.name}”的利益冲突已登记（{zh}）",
        f"a conflict of interest between {certifier.username} and “{enterprise.name}” is "
        f"already declared ({en})",
    )


def get_conflict(session: Session, conflict_id: int) -> Conflict:
    """The declared conflict, or NotFound."""
    row = session.get(Conflict, conflict_id)
    if row is None:
        raise NotFound(_NO_CONFLICT)
    return row


def remove_conflict(
    session: Session, conflict_id: int, *, by: User | None = None, reason: str = ""
) -> None:
    """Remove a declared conflict (the certifier may then be assigned to the firm again); the
    audit trail keeps what it was."""
    row = get_conflict(session, conflict_id)
    before = conflict_view(row)
    session.delete(row)
    session.flush()
    audit.record(
        session, "conflict.remove", "conflict", conflict_id, actor=by, before=before, reason=reason
    )


def conflict_list(
    certifier_id: int | None = None, enterprise_id: int | None = None
) -> SelectOfScalar[Conflict]:
    """Declared conflicts, newest first, of one certifier or one enterprise if given."""
    q = select(Conflict).order_by(col(Conflict.created_at).desc(), col(Conflict.id).desc())
    if certifier_id is not None:
        q = q.where(Conflict.certifier_id == certifier_id)
    if enterprise_id is not None:
        q = q.where(Conflict.enterprise_id == enterprise_id)
    return q


@dataclass(frozen=True)
class ConflictRow:
    """A declared conflict with the people and the firm it names."""

    conflict: Conflict
    certifier: User | None
    enterprise: Enterprise | None
    declared_by: User | None


def conflict_rows(session: Session, conflicts: Sequence[Conflict]) -> list[ConflictRow]:
    """The conflicts with their certifiers, enterprises and declarers, in the same order."""
    user_ids = {c.certifier_id for c in conflicts} | {
        c.declared_by for c in conflicts if c.declared_by
    }
    ent_ids = {c.enterprise_id for c in conflicts}
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(user_ids)))}
    ents = {
        e.id: e for e in session.exec(select(Enterprise).where(col(Enterprise.id).in_(ent_ids)))
    }
    return [
        ConflictRow(
            c, users.get(c.certifier_id), ents.get(c.enterprise_id), users.get(c.declared_by)
        )
        for c in conflicts
    ]


def all_certifiers(session: Session) -> list[User]:
    """Every certifier, by username (for the conflict form's choice)."""
    q = select(User).where(User.role == Role.certifier.value).order_by(col(User.username))
    return list(session.exec(q))


# --- who may be assigned ---------------------------------------------------------------------


def certifiers_for(
    session: Session, body_id: int, enterprise: Enterprise
) -> list[tuple[User, Problem | None]]:
    """The body's certifiers by username, each with why it may not review ``enterprise``
    (None: it may), by the one rule of why_not."""
    q = (
        select(User)
        .where(User.role == Role.certifier.value, User.cert_body_id == body_id)
        .order_by(col(User.username))
    )
    return [(u, why_not(session, u, enterprise, body_id)) for u in session.exec(q)]


def eligible_certifiers(session: Session, body_id: int, enterprise_id: int) -> list[User]:
    """The body's certifiers that may be assigned to review the enterprise, by username."""
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        return []
    return [u for u, why in certifiers_for(session, body_id, enterprise) if why is None]


def why_not(
    session: Session,
    certifier: User | None,
    enterprise: Enterprise,
    body_id: int | None = None,
) -> Problem | None:
    """Why ``certifier`` may not be assigned to review ``enterprise`` for the body
    ``body_id`` (if given), in both languages; None when it may. The reasons, in the order
    they are checked: no such certifier, a certifier of another body, an inactive account, a
    declared conflict of interest (named by its kind)."""
    if certifier is None or certifier.role != Role.certifier:
        return Problem(
            "no_certifier", "没有这名评定人员", "there is no such certifier", "certifier_id"
        )
    name = certifier.display_name or certifier.username
    if body_id is not None and certifier.cert_body_id != body_id:
        body = session.get(CertificationBody, body_id)
        zh_body = body.name if body else str(body_id)
        en_body = (body.name_en or body.name) if body else str(body_id)
        return Problem(
            "other_body",
            f"评定人员 {name} 不属于评定机构“{zh_body}”",
            f"{name} is not a certifier of “{en_body}”",
            "certifier_id",
        )
    if not certifier.is_active:
        return Problem(
            "certifier_inactive",
            f"评定人员 {name} 的账户已停用",
            f"{name}'s account is disabled",
            "certifier_id",
        )
    conflict = conflict_between(session, certifier.id, enterprise.id or 0)
    if conflict is not None:
        zh, en = _kind_words(conflict.kind)
        note_zh = f"：{conflict.note}" if conflict.note else ""
        note_en = f": {conflict.note}" if conflict.note else ""
        return Problem(
            "conflict_of_interest",
            f"评定人员 {name} 与“{enterprise.name}”登记有利益冲突（{zh}{note_zh}），不能评审该企业",
            f"{name} has a declared conflict of interest with “{enterprise.name}” "
            f"({en}{note_en}) and may not review it",
            "certifier_id",
        )
    return None
