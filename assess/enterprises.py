"""Enterprises: creation and edits by administrators, contact edits by the enterprise itself."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, func, select

from assess import uscc
from assess.compile import shipped_catalog
from assess.errors import Conflict, ConflictDetail, Invalid, NotFound, Problem
from assess.models import Cluster, Enterprise, Park, StaffBand, utcnow

CONTACT_FIELDS = ("contact_name", "contact_phone", "contact_email")
ADMIN_FIELDS = ("name", "uscc", "sector", "cluster_id", "park_id", "staff_band", *CONTACT_FIELDS)
_PHONE = re.compile(r"^[0-9+\-() ]{5,40}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _problems(session: Session, data: dict[str, Any], current: Enterprise | None) -> list[Problem]:
    out: list[Problem] = []
    if "name" in data:
        name = str(data["name"] or "").strip()
        if not 2 <= len(name) <= 200:
            out.append(
                Problem(
                    "name", "企业名称应为 2–200 个字符", "the name needs 2–200 characters", "name"
                )
            )
    if "uscc" in data:
        err = uscc.validate(str(data["uscc"] or ""))
        if err is not None:
            out.append(Problem(f"uscc_{err.code}", err.zh, err.en, "uscc"))
        else:
            code = uscc.normalise(str(data["uscc"]))
            clash = session.exec(select(Enterprise.id).where(Enterprise.uscc == code)).first()
            if clash is not None and (current is None or clash != current.id):
                out.append(
                    Problem(
                        "uscc_taken",
                        "该统一社会信用代码已登记",
                        "an enterprise with this credit code is already registered",
                        "uscc",
                    )
                )
    if "sector" in data and data["sector"] not in shipped_catalog().versions():
        out.append(Problem("sector", "未知的行业问卷", "unknown sector questionnaire", "sector"))
    cluster = None
    if "cluster_id" in data:
        cluster = session.get(Cluster, data["cluster_id"]) if data["cluster_id"] else None
        if cluster is None:
            out.append(Problem("cluster", "请选择所属集群", "choose a cluster", "cluster_id"))
    if data.get("park_id"):
        park = session.get(Park, data["park_id"])
        region = cluster.region_id if cluster else None
        if park is None or (region is not None and park.region_id != region):
            out.append(
                Problem(
                    "park", "园区不存在或不属于该地区", "unknown park for this region", "park_id"
                )
            )
    if "staff_band" in data and data["staff_band"] not in {b.value for b in StaffBand}:
        out.append(
            Problem("staff_band", "请选择人员规模", "choose a staff size band", "staff_band")
        )
    if len(str(data.get("contact_name") or "")) > 100:
        out.append(
            Problem(
                "contact_name",
                "联系人不超过 100 个字符",
                "contact name: at most 100 characters",
                "contact_name",
            )
        )
    phone = str(data.get("contact_phone") or "")
    if phone and not _PHONE.match(phone):
        out.append(
            Problem(
                "contact_phone",
                "联系电话格式不正确",
                "the phone number is not valid",
                "contact_phone",
            )
        )
    email = str(data.get("contact_email") or "")
    if email and (len(email) > 200 or not _EMAIL.match(email)):
        out.append(
            Problem(
                "contact_email",
                "电子邮箱格式不正确",
                "the e-mail address is not valid",
                "contact_email",
            )
        )
    return out


def create_enterprise(session: Session, **data: Any) -> Enterprise:
    """Register an enterprise; every problem is reported at once and nothing is written."""
    unknown = set(data) - set(ADMIN_FIELDS)
    if unknown:
        raise ValueError(f"unknown enterprise fields: {sorted(unknown)}")
    required = {"name", "uscc", "sector", "cluster_id", "staff_band"}
    data = {**dict.fromkeys(required), **data}
    problems = _problems(session, data, None)
    if problems:
        raise Invalid(problems)
    data["uscc"] = uscc.normalise(data["uscc"])
    data["name"] = data["name"].strip()
    ent = Enterprise(**{k: v for k, v in data.items() if v is not None})
    session.add(ent)
    session.flush()
    return ent


def get_enterprise(session: Session, enterprise_id: int) -> Enterprise:
    """The enterprise, or NotFound."""
    ent = session.get(Enterprise, enterprise_id)
    if ent is None:
        raise NotFound(Problem("not_found", "企业不存在", "no such enterprise"))
    return ent


def update_enterprise(
    session: Session,
    ent: Enterprise,
    base_version: int,
    changes: dict[str, Any],
    *,
    contact_only: bool,
) -> Enterprise:
    """Apply edits made on a form that showed ``base_version``.

    An enterprise user may change the contact fields only (``contact_only``); an administrator
    any field. A stale version is refused with the stored values, never overwritten.
    """
    allowed = CONTACT_FIELDS if contact_only else ADMIN_FIELDS
    extra = set(changes) - set(allowed)
    if extra:
        raise Invalid(
            Problem(
                "field_not_editable",
                "无权修改：" + "、".join(sorted(extra)),
                "not editable here: " + ", ".join(sorted(extra)),
            )
        )
    if base_version != ent.version:
        raise Conflict(
            Problem(
                "stale",
                "企业信息已被他人修改，请刷新后再编辑",
                "someone else changed this enterprise; reload before editing",
            ),
            ConflictDetail("enterprise", {k: getattr(ent, k) for k in allowed}, "", ent.version),
        )
    problems = _problems(session, changes, ent)
    if problems:
        raise Invalid(problems)
    if "uscc" in changes:
        changes = {**changes, "uscc": uscc.normalise(changes["uscc"])}
    for k, v in changes.items():
        setattr(ent, k, v.strip() if isinstance(v, str) else v)
    ent.version += 1
    ent.updated_at = utcnow()
    session.add(ent)
    session.flush()
    return ent


def count_enterprises(session: Session) -> int:
    """How many enterprises are registered."""
    return int(session.exec(select(func.count()).select_from(Enterprise)).one())
