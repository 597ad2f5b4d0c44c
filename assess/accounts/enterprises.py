"""Enterprises: creation and edits by administrators, contact edits by the enterprise itself."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from assess.accounts import uscc
from assess.errors import Conflict, ConflictDetail, Invalid, NotFound, Problem
from assess.forms import int_outside
from assess.questionnaire.compile import shipped_catalog
from assess.store import audit
from assess.store.models import Cluster, Enterprise, Park, StaffBand, User, utcnow

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
            out.append(
                Problem(
                    "cluster",
                    "请选择所属集群（目前每家企业都须属于一个集群）",
                    "choose a cluster (every enterprise belongs to one for now)",
                    "cluster_id",
                )
            )
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


def create_enterprise(session: Session, *, by: User | None = None, **data: Any) -> Enterprise:
    """Register an enterprise; every problem is reported at once and nothing is written. The new
    enterprise goes to the audit trail as registered ``by`` that administrator (None: the
    system)."""
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
    after = {k: getattr(ent, k) for k in ADMIN_FIELDS}
    audit.record(session, "enterprise.create", "enterprise", ent.id, actor=by, after=after)
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
    by: User | None = None,
) -> Enterprise:
    """Apply edits made on a form that showed ``base_version``.

    An enterprise user may change the contact fields only (``contact_only``); an administrator
    any field. A stale version is refused with the stored values, never overwritten. The fields
    that changed go to the audit trail, before and after, as changed ``by`` that user.
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
    was = {k: getattr(ent, k) for k in changes}
    for k, v in changes.items():
        setattr(ent, k, v.strip() if isinstance(v, str) else v)
    ent.version += 1
    ent.updated_at = utcnow()
    session.add(ent)
    session.flush()
    old, new = audit.changes(was, {k: getattr(ent, k) for k in changes})
    if new:
        audit.record(
            session, "enterprise.update", "enterprise", ent.id, actor=by, before=old, after=new
        )
    return ent


def count_enterprises(session: Session) -> int:
    """How many enterprises are registered."""
    return int(session.exec(select(func.count()).select_from(Enterprise)).one())


# --- names, searching and picking ------------------------------------------------------------

#: The longest search term used; longer input is cut to this.
SEARCH_MAX_LENGTH = 100
#: How many enterprises a pick-by-name search offers at most.
PICK_LIMIT = 10


def sector_names() -> dict[str, tuple[str, str]]:
    """Sector id → (Chinese, English) name, from the newest shipped questionnaire of each."""
    cat = shipped_catalog()
    out = {}
    for sector in cat.sectors:
        name = cat.modules[sector][max(cat.modules[sector])].sector.name
        out[sector] = (name.zh, name.en)
    return out


def search_term(raw: str) -> str:
    """A typed search term, trimmed and cut to SEARCH_MAX_LENGTH; Invalid if it holds control
    characters (a NUL ends the string early on SQLite and is refused by PostgreSQL, so such a
    term would search for something other than what was typed)."""
    term = raw.strip()[:SEARCH_MAX_LENGTH]
    bad = sorted({f"U+{ord(c):04X}" for c in term if unicodedata.category(c) == "Cc"})
    if bad:
        shown = ", ".join(bad)
        raise Invalid(
            Problem(
                "search_control_character",
                f"搜索词不能包含控制字符（{shown}），请删除后重试",
                f"the search term must not contain control characters ({shown}); remove them",
                "q",
            )
        )
    return term


def enterprise_list(term: str) -> SelectOfScalar[Enterprise]:
    """Enterprises by name, those whose name or credit code contains ``term`` (as typed: % and
    _ are literal) if one is given; ``term`` comes from search_term."""
    query = select(Enterprise).order_by(col(Enterprise.name), col(Enterprise.id))
    if term:
        query = query.where(
            col(Enterprise.name).contains(term, autoescape=True)
            | col(Enterprise.uscc).contains(term.upper(), autoescape=True)
        )
    return query


@dataclass(frozen=True)
class EnterprisePick:
    """The outcome of picking an enterprise by what was typed: the one chosen, or the
    candidates to choose from (``more`` says whether there are more than shown)."""

    chosen: Enterprise | None
    candidates: list[Enterprise]
    more: bool = False


def find_enterprises(session: Session, typed: str) -> EnterprisePick:
    """Enterprises matching a typed name or credit code, for a pick-by-name field: an exact
    name or code, or the only one containing it, picks that one; otherwise the candidates are
    the first PICK_LIMIT whose name or code contains it."""
    term = search_term(typed)
    if not term:
        return EnterprisePick(None, [])
    exact = session.exec(
        select(Enterprise).where((Enterprise.name == term) | (Enterprise.uscc == term.upper()))
    ).all()
    if len(exact) == 1:
        return EnterprisePick(exact[0], list(exact))
    rows = list(session.exec(enterprise_list(term).limit(PICK_LIMIT + 1)))
    only = rows[0] if len(rows) == 1 else None
    return EnterprisePick(only, rows[:PICK_LIMIT], len(rows) > PICK_LIMIT)


def pick_enterprise(session: Session, chosen_id: str, typed: str) -> int | None:
    """The id of the enterprise a form names: the one chosen from the offered list, else the
    single one the typed name or code matches; None if neither was given. Invalid, saying how
    many matched, when the typed text matches none or several."""
    chosen = chosen_id.strip()
    if chosen.isascii() and chosen.isdigit() and not int_outside(chosen, least=1):
        return int(chosen)
    found = find_enterprises(session, typed)
    if found.chosen is not None:
        return found.chosen.id
    if not typed.strip():
        return None
    if not found.candidates:
        raise Invalid(
            Problem(
                "enterprise_no_match",
                f"没有名称或信用代码包含“{typed.strip()}”的企业",
                f"no enterprise name or credit code contains “{typed.strip()}”",
                "enterprise_q",
            )
        )
    many = f"{PICK_LIMIT}+" if found.more else str(len(found.candidates))
    raise Invalid(
        Problem(
            "enterprise_ambiguous",
            f"有 {many} 家企业与“{typed.strip()}”相符，请从列表中选择一家",
            f"{many} enterprises match “{typed.strip()}”; choose one from the list",
            "enterprise_q",
        )
    )


def sector_cluster_notice(session: Session, sector: str, cluster_id: int | None) -> Problem | None:
    """A warning, not a refusal, when an enterprise's sector differs from its cluster's usual
    one (a pharmaceutical firm in a chemicals cluster can be right, but is often a slip)."""
    cluster = session.get(Cluster, cluster_id) if cluster_id else None
    names = sector_names()
    if cluster is None or sector not in names or cluster.default_sector == sector:
        return None
    usual = names.get(cluster.default_sector, (cluster.default_sector, cluster.default_sector))
    return Problem(
        "sector_cluster_mismatch",
        f"所选行业问卷（{names[sector][0]}）与集群“{cluster.name_zh}”的常见行业（{usual[0]}）"
        "不一致，请确认无误",
        f"the sector questionnaire ({names[sector][1]}) differs from the usual sector of the "
        f"cluster “{cluster.name_en}” ({usual[1]}); check that this is right",
        "sector",
    )
