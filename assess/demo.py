"""A synthetic demo population for Jilin City: firms, yearly self-assessments 2013–2020, accounts.

Everything is drawn from ``numpy.random.default_rng``: the firm with index ``i`` comes from
``default_rng([seed, i, ...])`` alone, so the same seed gives the same firms whatever the
population size. A firm is recognised on a later run by its credit code (USCC, derived from the
seed and the index), which makes ``build_demo`` idempotent: firms already there are skipped,
a larger ``enterprises`` adds only the new ones, and missing demo accounts are added.

How the answers come about. Each firm has a latent maturity ``m``. Its 2013 value is the
cluster's base, plus a staff-size effect (bigger firms are further along), plus noise; it then
grows every year by the cluster's speed times a firm factor, with a little wobble. Every scored
question reads ``m`` plus a difficulty for its group (integration and collaboration come
hardest), an offset per firm and question that stays put (firms have strengths and gaps) and a
yearly noise that carries over from year to year, so answers drift rather than jump: about one
year in four a firm's overall level dips a little, rarely by more than 5 points. The four
key-system questions follow the same rule, so IT adoption (key system in routine use in at least
3 of 4 links) follows ``m``. Context questions (sub-sector, processes, cold chain...) are drawn
once per firm from its cluster and never change.

The cluster parameters in ``_PROFILES`` are tuned so that, with the default seed and size,
adoption over all firms is near the plan's 50% baseline in 2013 (52%) and rises every year (76%
in 2020); seeds 1–4 give 45–50% in 2013 and 73–78% in 2020. By 2020 the fast clusters (software
and cloud, power electronics, automotive, fine chemicals: 80–97%) are well past the 70% goal,
basic chemicals, metal materials and carbon fibre just past it (73–78%), while ecological food
and chemical fibre / textiles stay clearly short of it (54–59%): the spread a cluster manager's
dashboard is there to show.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import sys
import threading
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, col, select

from assess.accounts import create_user
from assess.assessments import score_fields
from assess.compile import shipped_catalog, spec_for
from assess.models import (
    Answer,
    Assessment,
    CertificationBody,
    Cluster,
    Enterprise,
    Park,
    Role,
    ScoreRecord,
    StaffBand,
    Status,
    StatusChange,
    User,
    UserCluster,
)
from assess.region import load_region
from assess.schema import Ratio
from assess.uscc import ALPHABET, make
from scoring import Question, Spec, encode_answers, score
from scoring.engine import visibility

#: The one password of every demo account: for demo databases only, as anyone can read it here.
DEMO_PASSWORD = "Lianghua-2020"
REGION = "jilin_city"
FIRST_YEAR, LAST_YEAR = 2013, 2020
CERTIFICATION_BODY = "吉林省两化融合评定中心（演示）"
_BODY_EN = "Jilin provincial integration certification centre (demo)"
#: 9 = registered with market regulation, 1 = enterprise; 220200 = Jilin City.
_USCC_PREFIX = "91220200"
_MANAGED_CLUSTERS = ("basic_chem", "fine_chem", "eco_food")
_CHUNK = 20  # firms drawn, scored and written at a time, so cards never pile up in memory


@dataclass(frozen=True)
class DemoAccount:
    """A demo sign-in and what it may see."""

    username: str
    role: str
    password: str
    scope_zh: str
    scope_en: str


@dataclass(frozen=True)
class DemoSummary:
    """What the demo population holds after ``build_demo``."""

    enterprises: int
    assessments: int
    created: bool
    accounts: list[DemoAccount]
    adoption: dict[int, float]  # year -> share of IT adopters among firms assessed that year
    processes: int = 1  # processes that drew and scored the new firms


@dataclass(frozen=True)
class _Profile:
    weight: int  # firms per 84
    base: float  # mean 2013 maturity of a firm of 20–299 staff
    growth: float  # mean yearly gain in maturity
    bands: tuple[float, float, float, float]  # shares of lt20, 20_299, 300_999, ge1000
    deviations: tuple[tuple[str, float], ...] = ()  # (sector, share) of firms off the default


_TYPICAL = (0.10, 0.52, 0.26, 0.12)
_HEAVY = (0.04, 0.44, 0.32, 0.20)
_PROFILES: dict[str, _Profile] = {
    "auto": _Profile(12, 0.425, 0.024, (0.06, 0.48, 0.30, 0.16), (("general", 0.08),)),
    "basic_chem": _Profile(9, 0.405, 0.017, _HEAVY, (("general", 0.05),)),
    # Fine chemicals and ecological food hold Jilin's drug makers (APIs, ginseng products).
    "fine_chem": _Profile(11, 0.425, 0.024, _TYPICAL, (("pharma", 0.25),)),
    "eco_food": _Profile(13, 0.375, 0.009, (0.16, 0.56, 0.20, 0.08), (("pharma", 0.12),)),
    "metal_materials": _Profile(9, 0.395, 0.017, _HEAVY, (("general", 0.12),)),
    "fibre_textiles": _Profile(
        10, 0.375, 0.007, (0.12, 0.56, 0.22, 0.10), (("petrochemicals", 0.06),)
    ),
    "carbon_fibre": _Profile(6, 0.405, 0.019, _TYPICAL, (("general", 0.10),)),
    "power_electronics": _Profile(7, 0.415, 0.022, _TYPICAL),
    "software_cloud": _Profile(7, 0.425, 0.027, (0.28, 0.60, 0.10, 0.02)),
}
_BANDS = (StaffBand.micro, StaffBand.small, StaffBand.medium, StaffBand.large)
_SIZE_LEVEL = {StaffBand.micro: -0.10, StaffBand.small: -0.02, StaffBand.medium: 0.05}
_SIZE_LEVEL[StaffBand.large] = 0.11
_SIZE_GROWTH = {StaffBand.micro: -0.004, StaffBand.small: 0.0, StaffBand.medium: 0.003}
_SIZE_GROWTH[StaffBand.large] = 0.005
#: Added to a firm's maturity for the questions of each group.
_DIFFICULTY = {
    "infrastructure": 0.04,
    "rd": -0.03,
    "production": 0.02,
    "management": 0.06,
    "marketing": -0.05,
    "integration": -0.10,
    "collaboration": -0.15,
    "competitiveness": 0.0,
}
#: Revenue per employee, 10,000 yuan, by sector (for the IT-spending ratio).
_REVENUE_PER_HEAD = {
    "petrochemicals": 120.0,
    "metallurgy": 100.0,
    "auto": 80.0,
    "pharma": 70.0,
    "food": 60.0,
    "general": 50.0,
    "textiles": 40.0,
}

# --- names -----------------------------------------------------------------------------------

_BRAND_1 = "华鑫恒瑞泰龙江松吉宏远中昊天丰安润博金新北东正德源康达顺嘉益隆兴汇通凯"
_BRAND_2 = "盛辉业峰科诚信和利宇美晟腾欣祥禾威邦川海城阳光林森辰明宝耀鼎坤越锦铭"
_COUNTIES = ("昌邑区", "龙潭区", "船营区", "丰满区", "永吉县", "蛟河市", "桦甸市", "舒兰市")
#: Trade words by cluster (firms on the cluster's default sector) or by sector (the others).
_TRADES: dict[str, tuple[str, ...]] = {
    "auto": ("汽车零部件", "汽车部件", "汽车饰件", "车桥", "汽车电子", "专用汽车", "汽车底盘"),
    "basic_chem": ("化工", "化学工业", "石化", "化肥", "氯碱化工", "煤化工"),
    "fine_chem": ("精细化工", "化学", "新材料", "助剂", "涂料", "电子化学品"),
    "eco_food": ("食品", "米业", "乳业", "肉类食品", "粮油", "山珍食品", "酒业"),
    "metal_materials": ("冶金", "特钢", "铁合金", "金属材料", "有色金属", "炭素"),
    "fibre_textiles": ("化纤", "纺织", "腈纶", "粘胶纤维", "纺织品", "印染"),
    "carbon_fibre": ("碳纤维", "碳纤维复合材料", "碳材料", "碳谷"),
    "power_electronics": ("电力电子", "电气", "电子科技", "电力设备", "变频技术"),
    "software_cloud": ("软件", "信息技术", "云计算", "数据科技", "网络科技"),
    "pharma": ("药业", "制药", "生物制药", "参业", "医疗器械", "生物科技"),
    "general": ("机械", "装备制造", "金属制品", "机电", "精密机械"),
    "petrochemicals": ("化工", "石化", "化学"),
    "metallurgy": ("冶金", "金属材料"),
}
_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁于蒋蔡余杜叶程魏苏吕"
    "丁任沈姚卢姜崔钟谭陆范金石"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉萍红鹏辉建国志海波宇浩凯丹雪琳晶博鑫东亮婷斌"
    "俊峰立新春"
)
_MOBILE = ("139", "138", "135", "137", "158", "159", "186", "188", "130", "131", "155", "133")
_PLANS = (
    "推进ERP系统升级，打通财务与供应链数据。",
    "建设MES系统二期，实现车间生产数据自动采集。",
    "开展设备联网改造，提高关键设备数据采集率。",
    "建设能源管理系统，实现重点能耗设备在线计量。",
    "完善产品质量追溯体系，覆盖原料到成品全过程。",
    "上线客户关系管理系统，规范销售与售后服务流程。",
    "建设数据中心机房和网络安全防护体系。",
    "推进研发设计数字化，推广三维设计和PLM应用。",
    "开展两化融合管理体系贯标工作。",
    "建设安全生产信息化平台，接入在线监测数据。",
    "开展电子商务业务，拓展线上销售渠道。",
    "推动主要信息系统上云，降低运维成本。",
)


# --- the firms -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Firm:
    index: int
    uscc: str
    name: str
    cluster: str
    sector: str
    park: str | None
    band: StaffBand
    staff: int
    revenue: float  # 10,000 yuan
    contact_name: str
    contact_phone: str
    first_year: int
    maturity: float  # in 2013
    growth: float  # per year


def _clusters_in_order(n: int) -> list[str]:
    """Clusters for firms 0..n-1: firm 0 in fine chemicals, then each prefix in proportion.

    Always giving the next firm to the cluster furthest behind its share means every cluster
    appears early and a small demo keeps the mix of a large one.
    """
    codes = list(_PROFILES)
    share = np.array([_PROFILES[c].weight for c in codes], dtype=float)
    share /= share.sum()
    counts = np.zeros(len(codes))
    out = []
    for i in range(n):
        k = codes.index("fine_chem") if i == 0 else int(np.argmax(share * (i + 1) - counts))
        counts[k] += 1
        out.append(codes[k])
    return out


def _uscc(seed: int, i: int) -> str:
    """Firm i's credit code: an affine map of i, so codes never collide and look unordered."""
    rng = np.random.default_rng([seed, 31])
    space = len(ALPHABET) ** 8
    a = int(rng.integers(1, space // 31)) * 31 + 7  # coprime with 31**8
    b = int(rng.integers(0, space))
    x = (a * i + b) % space
    body = ""
    for _ in range(8):
        x, r = divmod(x, len(ALPHABET))
        body += ALPHABET[r]
    return make(_USCC_PREFIX + body)


def _pick(rng: np.random.Generator, options: Sequence[Any], weights: Sequence[float]) -> Any:
    p = np.asarray(weights, dtype=float)
    return options[int(rng.choice(len(options), p=p / p.sum()))]


def _plan(seed: int, n: int, lead_parks: dict[str, str]) -> list[_Firm]:
    clusters = _clusters_in_order(n)
    combos = len(_BRAND_1) * len(_BRAND_2)
    brands = np.random.default_rng([seed, 7]).permutation(combos)
    firms = []
    for i, cluster in enumerate(clusters):
        rng = np.random.default_rng([seed, i, 0])
        prof = _PROFILES[cluster]
        sector = _default_sector(cluster)
        roll = rng.random()
        for alt, share in prof.deviations:
            if roll < share:
                sector = alt
                break
            roll -= share
        band = _BANDS[int(rng.choice(4, p=prof.bands))]
        if i == 0:  # the demo enterprise account's firm: a mid-sized petrochemicals one
            sector, band = "petrochemicals", StaffBand.medium
        staff = _staff(rng, band)
        revenue = round(staff * _REVENUE_PER_HEAD[sector] * float(rng.lognormal(0.0, 0.4)), 1)
        brand = int(brands[i % combos])
        place = "吉林市" if rng.random() < 0.7 else "吉林"
        if i >= combos:  # only for very large demos: the county keeps names apart
            place = "吉林市" + _COUNTIES[(i // combos - 1) % len(_COUNTIES)]
        words = _TRADES[cluster if sector == _default_sector(cluster) else sector]
        trade = words[int(rng.integers(len(words)))]
        if band == StaffBand.large and rng.random() < 0.5:
            form = "股份有限公司"
        else:
            form = "有限责任公司" if rng.random() < 0.15 else "有限公司"
        name = place + _BRAND_1[brand // len(_BRAND_2)] + _BRAND_2[brand % len(_BRAND_2)]
        park = lead_parks.get(cluster) if rng.random() < 0.8 or i == 0 else None
        first_year = FIRST_YEAR
        if i > 0 and rng.random() < 0.12:
            first_year = int(rng.integers(FIRST_YEAR + 1, LAST_YEAR - 1))
        firms.append(
            _Firm(
                index=i,
                uscc=_uscc(seed, i),
                name=name + trade + form,
                cluster=cluster,
                sector=sector,
                park=park,
                band=band,
                staff=staff,
                revenue=revenue,
                contact_name=_person(rng),
                contact_phone=_phone(rng),
                first_year=first_year,
                maturity=prof.base + _SIZE_LEVEL[band] + float(rng.normal(0.0, 0.12)),
                growth=prof.growth * float(rng.lognormal(0.0, 0.4)) + _SIZE_GROWTH[band],
            )
        )
    return firms


@cache
def _default_sector(cluster: str) -> str:
    clusters = shipped_catalog().regions[REGION].clusters
    return next(c.default_sector for c in clusters if c.id == cluster)


def _staff(rng: np.random.Generator, band: StaffBand) -> int:
    low, high = {
        StaffBand.micro: (6, 19),
        StaffBand.small: (20, 299),
        StaffBand.medium: (300, 999),
        StaffBand.large: (1000, 6000),
    }[band]
    return min(high, int(math.exp(rng.uniform(math.log(low), math.log(high + 1)))))


def _person(rng: np.random.Generator) -> str:
    given = "".join(_GIVEN[int(k)] for k in rng.integers(len(_GIVEN), size=rng.integers(1, 3)))
    return _SURNAMES[int(rng.integers(len(_SURNAMES)))] + given


def _phone(rng: np.random.Generator) -> str:
    digits = "".join(str(d) for d in rng.integers(10, size=8))
    if rng.random() < 0.7:
        return _MOBILE[int(rng.integers(len(_MOBILE)))] + digits
    return "0432-6" + digits[:7]  # a Jilin City landline


# --- answers ---------------------------------------------------------------------------------


def _context(q: Question, firm: _Firm, given: dict[str, Any], rng: np.random.Generator) -> Any:
    """The firm's answer to an unscored question about itself; it stays the same every year."""
    c = firm.cluster
    match q.id:
        case "auto.ctx.enterprise_type":
            return _pick(rng, q.options, (0.05, 0.35, 0.45, 0.15))
        case "auto.ctx.processes":
            if given.get("auto.ctx.enterprise_type") == "OEM":
                return ["STAMP", "WELD", "PAINT", "ASSY"]
            shares = (0.45, 0.4, 0.3, 0.6, 0.55)
            chosen = [o for o, p in zip(q.options, shares, strict=True) if rng.random() < p]
            return chosen or [q.options[int(rng.integers(len(q.options)))]]
        case "auto.ctx.connected":
            kind = given.get("auto.ctx.enterprise_type")
            return kind == "OEM" or rng.random() < (0.45 if kind == "T1" else 0.15)
        case "general.ctx.business":
            weights: tuple[float, ...] = {
                "software_cloud": (0.0, 0.1, 0.85, 0.05),
                "power_electronics": (0.2, 0.75, 0.0, 0.05),
            }.get(c, (0.75, 0.0, 0.0, 0.25))
            return _pick(rng, q.options, weights)
        case "general.ctx.connected_products":
            p = {"SOFT": 0.8, "ELEC": 0.45}.get(given.get("general.ctx.business", ""), 0.2)
            return bool(rng.random() < p)
        case "metallurgy.ctx.route":
            return _pick(rng, q.options, (0.12, 0.15, 0.15, 0.28, 0.30))
        case "petrochemicals.ctx.subsector":
            weights = {
                "basic_chem": (0.1, 0.5, 0.3, 0.05, 0.05),
                "fine_chem": (0.0, 0.1, 0.1, 0.7, 0.1),
            }.get(c, (0.0, 0.2, 0.8, 0.0, 0.0))
            return _pick(rng, q.options, weights)
        case "petrochemicals.ctx.sis_required":
            return bool(rng.random() < (0.8 if c == "basic_chem" else 0.55))
        case "petrochemicals.ctx.major_hazard":
            return bool(
                rng.random() < (0.6 if given.get("petrochemicals.ctx.sis_required") else 0.15)
            )
        case "textiles.ctx.fibre_form":
            weights = (0.8, 0.0, 0.0, 0.2) if c == "carbon_fibre" else (0.3, 0.3, 0.2, 0.2)
            return _pick(rng, q.options, weights)
        case "textiles.ctx.carbon_fibre":
            spins = given.get("textiles.ctx.fibre_form") != "NONE"
            return spins and (c == "carbon_fibre" or rng.random() < 0.05)
        case "food.ctx.cold_chain":
            return bool(rng.random() < 0.4)
        case "pharma.ctx.device":
            return bool(rng.random() < 0.18)
        case "pharma.ctx.cold_chain":
            return bool(rng.random() < 0.15)
    if q.kind == "single_choice":
        return q.options[int(rng.integers(len(q.options)))]
    if q.kind == "yes_no":
        return bool(rng.random() < 0.5)
    if q.kind == "multiple_choice":
        free = [o for o, ex in zip(q.options, q.exclusive, strict=True) if not ex]
        return [o for o in free if rng.random() < 0.5] or free[:1]
    return None


@dataclass(frozen=True)
class _Curve:
    """A numeric question's curve laid on a fine grid, to find values that score about s."""

    xs: np.ndarray
    ys: np.ndarray
    whole: bool  # answers are whole numbers


_CURVES: dict[tuple[str, int, str], _Curve] = {}


def _curve(spec: Spec, q: Question) -> _Curve:
    key = (spec.questionnaire, spec.version, q.id)
    if key not in _CURVES:
        x0, x1 = q.curve_x[0], q.curve_x[-1]
        span = x1 - x0
        lo = max(q.lower if q.lower is not None else -math.inf, x0 - 0.25 * span)
        hi = min(q.upper if q.upper is not None else math.inf, x1 + 0.15 * span)
        xs = np.linspace(lo, hi, 241)
        _CURVES[key] = _Curve(xs, np.interp(xs, q.curve_x, q.curve_y), whole=span > 200)
    return _CURVES[key]


def _numeric(spec: Spec, q: Question, s: float, rng: np.random.Generator) -> float:
    """A value of the question's measure whose score is close to ``s``."""
    c = _curve(spec, q)
    gap = np.abs(c.ys - s)
    near = np.flatnonzero(gap <= gap.min() + 0.02)
    x = float(c.xs[near[int(rng.integers(len(near)))]])
    return float(round(x)) if c.whole else round(x, 1)


@cache
def _denominators(sector: str, version: int) -> dict[str, str]:
    """Ratio question → what its denominator counts ("staff", "revenue" or "other")."""
    out = {}
    for src in shipped_catalog().compose(sector, version).questions:
        if isinstance(src, Ratio):
            unit = src.denominator.unit.zh
            out[src.id] = "staff" if unit == "人" else "revenue" if unit == "万元" else "other"
    return out


def _ratio(spec: Spec, q: Question, s: float, firm: _Firm, rng: np.random.Generator) -> Any:
    what = _denominators(spec.questionnaire, spec.version).get(q.id, "other")
    x = _numeric(spec, q, s, rng)
    if what == "revenue":
        den = firm.revenue
        num = round(x * den / q.scale, 1)
    else:
        den = firm.staff if what == "staff" else 100
        num = round(x * den / q.scale)
    top = (q.upper or math.inf) * den / q.scale
    return {"numerator": min(num, math.floor(top)), "denominator": den}


def _choice(q: Question, s: float) -> str:
    gaps = [abs(v - s) for v in q.option_scores]
    return str(q.options[gaps.index(min(gaps))])


def _multi(q: Question, s: float, cut: np.ndarray) -> list[str]:
    chosen = [
        o
        for o, ex, v, c in zip(q.options, q.exclusive, q.option_scores, cut, strict=True)
        if not ex and v > 0 and c < s * 1.1
    ]
    if chosen:
        return chosen
    none = [o for o, ex in zip(q.options, q.exclusive, strict=True) if ex]
    return none[:1]


def _yearly_answers(firm: _Firm, spec: Spec, rng: np.random.Generator) -> Iterator[dict[str, Any]]:
    """The firm's answers for each year from its first to 2020, hidden questions left out."""
    qs = spec.questions
    offset = rng.normal(0.0, 0.13, len(qs))
    # Yearly noise that carries over, so an answer drifts rather than jumps between years.
    noise = np.zeros(len(qs))
    cuts = [rng.random(max(1, len(q.options))) for q in qs]
    na = [q.allow_na and q.scored and rng.random() < 0.06 for q in qs]
    context: dict[str, Any] = {}
    for q in qs:
        if not q.scored and q.kind not in ("text", "evidence"):
            context[q.id] = _context(q, firm, context, rng)
    wobble = 0.0
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        wobble = 0.5 * wobble + float(rng.normal(0.0, 0.03))
        m = firm.maturity + firm.growth * (year - FIRST_YEAR) + wobble
        writes_plan = rng.random() < 0.35
        noise = 0.7 * noise + rng.normal(0.0, 0.035, len(qs))
        if year < firm.first_year:
            continue
        answers: dict[str, Any] = dict(context)
        for i, q in enumerate(qs):
            if q.kind == "text":
                plan = _PLANS[int(rng.integers(len(_PLANS)))]
                if writes_plan and len(plan) <= q.max_length:
                    answers[q.id] = plan
                continue
            if not q.scored:
                continue
            if na[i]:
                answers[q.id] = "na"
                continue
            s = min(1.0, max(0.0, m + _DIFFICULTY.get(q.group or "", 0.0) + offset[i] + noise[i]))
            if q.kind == "single_choice":
                answers[q.id] = _choice(q, s)
            elif q.kind == "multiple_choice":
                answers[q.id] = _multi(q, s, cuts[i])
            elif q.kind == "yes_no":
                answers[q.id] = bool(cuts[i][0] < s) == (q.score_yes >= q.score_no)
            elif q.kind == "ratio":
                answers[q.id] = _ratio(spec, q, s, firm, rng)
            else:
                answers[q.id] = _numeric(spec, q, s, rng)
        yield _shown_only(spec, answers)


def _shown_only(spec: Spec, answers: dict[str, Any]) -> dict[str, Any]:
    enc = encode_answers(spec, answers)
    shown = visibility(spec, enc.values, enc.na)[0]
    return {k: v for k, v in answers.items() if shown[spec.index[k]]}


# --- writing ---------------------------------------------------------------------------------


def _at(year: int, day: float) -> datetime:
    return datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=day)


@dataclass(frozen=True)
class _Rows:
    """A chunk of firms ready to insert, without database ids (plain data, so it can be made in
    another process): enterprise rows, and per assessment its answers and score columns."""

    enterprises: list[dict[str, Any]]  # with "cluster" and "park" codes for the ids
    assessments: list[tuple[str, int, str, int, str, datetime, datetime]]
    # (uscc, year, questionnaire, version, content hash, opened, submitted)
    answers: list[dict[str, Any]]  # question → value, one per assessment
    scores: list[dict[str, Any]]  # score_fields of the card, one per assessment


def _rows(firms: list[_Firm], seed: int) -> _Rows:
    """Draw the chunk's firms' yearly answers and score every one (the slow part)."""
    versions = shipped_catalog().versions()
    specs = {s: spec_for(s, versions[s][-1]) for s in {f.sector for f in firms}}
    out = _Rows([], [], [], [])
    for f in firms:
        rng = np.random.default_rng([seed, f.index, 1])
        spec = specs[f.sector]
        joined = _at(f.first_year, float(rng.uniform(5, 50)))
        out.enterprises.append(
            {
                "name": f.name,
                "uscc": f.uscc,
                "sector": f.sector,
                "cluster": f.cluster,
                "park": f.park,
                "staff_band": f.band.value,
                "contact_name": f.contact_name,
                "contact_phone": f.contact_phone,
                "contact_email": "",
                "version": 1,
                "created_at": joined,
                "updated_at": joined,
            }
        )
        years = range(f.first_year, LAST_YEAR + 1)
        for year, answers in zip(years, _yearly_answers(f, spec, rng), strict=True):
            card = score(spec, answers)
            if card.missing_required:  # the generator answers every shown required question
                raise AssertionError(f"demo firm {f.index} {year}: {card.missing_required}")
            opened = _at(year, float(rng.uniform(60, 300)))  # after joining, which is by day 50
            done = opened + timedelta(days=float(rng.uniform(2, 45)))
            out.assessments.append(
                (f.uscc, year, spec.questionnaire, spec.version, spec.content_hash, opened, done)
            )
            out.answers.append(answers)
            out.scores.append(score_fields(card))
    return out


def _table(model: type[Any]) -> sa.Table:
    return cast(sa.Table, sa.inspect(model).local_table)


def _insert(session: Session, rows: _Rows, clusters: dict[str, int], parks: dict[str, int]) -> None:
    """Write a chunk in a few multi-row INSERTs (Core statements: no ORM bookkeeping per row)."""
    conn = session.connection()
    ent = _table(Enterprise)
    firms = [
        {
            **{k: v for k, v in e.items() if k not in ("cluster", "park")},
            "cluster_id": clusters[e["cluster"]],
            "park_id": parks[e["park"]] if e["park"] else None,
        }
        for e in rows.enterprises
    ]
    made_firms = conn.execute(sa.insert(ent).returning(ent.c.uscc, ent.c.id), firms)
    ids = {uscc: id_ for uscc, id_ in made_firms}  # not dict(): a Result has keys()
    table = _table(Assessment)
    made = conn.execute(
        sa.insert(table).returning(table.c.enterprise_id, table.c.year, table.c.id),
        [
            {
                "enterprise_id": ids[uscc],
                "year": year,
                "questionnaire": questionnaire,
                "questionnaire_version": version,
                "content_hash": content_hash,
                "status": Status.submitted.value,
                "version": 2,  # raised once, by the submission
                "pledged_by": None,
                "created_at": opened,
                "updated_at": done,
                "submitted_at": done,
            }
            for uscc, year, questionnaire, version, content_hash, opened, done in rows.assessments
        ],
    ).all()
    aid = {(e, y): a for e, y, a in made}
    changes, answer_rows, records = [], [], []
    for (uscc, year, *_, opened, done), answers, fields in zip(
        rows.assessments, rows.answers, rows.scores, strict=True
    ):
        a = aid[(ids[uscc], year)]
        changes.append(_change(a, None, Status.draft, opened))
        changes.append(_change(a, Status.draft, Status.submitted, done))
        filled = opened + (done - opened) * 0.6
        for qid, value in answers.items():
            answer_rows.append(
                {
                    "assessment_id": a,
                    "question": qid,
                    "value": value,
                    "comment": "",
                    "version": 1,
                    "updated_by": None,
                    "updated_at": filled,
                }
            )
        records.append({"assessment_id": a, "kind": "self", "computed_at": done, **fields})
    conn.execute(sa.insert(_table(StatusChange)), changes)
    conn.execute(sa.insert(_table(Answer)), answer_rows)
    conn.execute(sa.insert(_table(ScoreRecord)), records)


def _processes(wanted: int | None, chunks: int) -> int:
    """How many processes draw and score the firms: one per CPU this process may use, where
    worker processes can be forked safely; else 1 (all of it in this process).

    Workers are forked: they start at once, with everything imported, and nothing of the
    caller's program runs again in them (a spawned or fork-server worker re-imports the main
    script). Forking is safe only without other Python threads, which could hold a lock that
    the child would then wait on for ever; numpy's BLAS threads handle a fork themselves.
    """
    if sys.platform != "linux" or threading.active_count() > 1:
        return 1
    if wanted is None:
        wanted = min(len(os.sched_getaffinity(0)), 8)
    return max(1, min(wanted, chunks))


def _made(chunks: list[list[_Firm]], seed: int, processes: int) -> Iterator[_Rows]:
    """The chunks' rows in order, drawn and scored (most of the time) in ``processes``.

    Every firm is drawn from its own generator, so where it is made changes nothing. A few
    chunks at a time are in flight, so rows never pile up while the database catches up.
    """
    if processes < 2:
        for chunk in chunks:
            yield _rows(chunk, seed)
        return
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
        todo = iter(chunks)
        with warnings.catch_warnings():
            # Python 3.12+ counts BLAS's threads too and warns about every fork.
            warnings.filterwarnings("ignore", "This process .* multi-threaded", DeprecationWarning)
            first = itertools.islice(todo, 2 * processes)
            pending = deque(pool.submit(_rows, c, seed) for c in first)
        while pending:
            rows = pending.popleft().result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(pool.submit(_rows, nxt, seed))
            yield rows


def _change(a: int, old: str | None, new: str, at: datetime) -> dict[str, Any]:
    return {
        "assessment_id": a,
        "from_status": old,
        "to_status": new,
        "by_user": None,
        "note": "",
        "at": at,
    }


# --- accounts --------------------------------------------------------------------------------


def _user(session: Session, username: str) -> User | None:
    q = select(User).where(sa.func.lower(User.username) == username.lower())
    return session.exec(q).first()


def _ensure_accounts(session: Session, demo_firm: Enterprise, managed: list[Cluster]) -> None:
    body = session.exec(
        select(CertificationBody).where(CertificationBody.name == CERTIFICATION_BODY)
    ).first()
    if body is None:
        body = CertificationBody(name=CERTIFICATION_BODY)
        session.add(body)
        session.flush()
    wanted: list[tuple[str, Role, str, dict[str, Any]]] = [
        ("demo-enterprise", Role.enterprise, "演示企业填报人", {"enterprise_id": demo_firm.id}),
        ("demo-certifier", Role.certifier, "演示评定人员", {"cert_body_id": body.id}),
        (
            "demo-cluster",
            Role.cluster_manager,
            "演示集群管理人员",
            {"cluster_ids": [c.id for c in managed if c.id is not None]},
        ),
        ("demo-admin", Role.admin, "演示管理员", {}),
    ]
    for username, role, display, scope in wanted:
        if _user(session, username) is None:
            create_user(
                session,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                display_name=display,
                **scope,
            )


def _describe(session: Session, user: User) -> DemoAccount:
    """The account as it stands, with its scope in words."""
    zh, en = "全部数据", "everything"
    if user.role == Role.enterprise and user.enterprise_id is not None:
        ent = session.get(Enterprise, user.enterprise_id)
        cluster = session.get(Cluster, ent.cluster_id) if ent else None
        if ent is not None:
            zh = ent.name
            en = f"{ent.name} ({cluster.name_en if cluster else ent.sector})"
    elif user.role == Role.certifier and user.cert_body_id is not None:
        body = session.get(CertificationBody, user.cert_body_id)
        zh = body.name if body else ""
        en = _BODY_EN if zh == CERTIFICATION_BODY else zh
    elif user.role == Role.cluster_manager:
        rows = session.exec(
            select(Cluster)
            .join(UserCluster, col(UserCluster.cluster_id) == col(Cluster.id))
            .where(UserCluster.user_id == user.id)
            .order_by(col(Cluster.id))
        ).all()
        zh = "、".join(c.name_zh for c in rows)
        en = ", ".join(c.name_en for c in rows)
    return DemoAccount(user.username, user.role, DEMO_PASSWORD, zh, en)


# --- the whole -------------------------------------------------------------------------------


def build_demo(
    session: Session, *, seed: int = 2014, enterprises: int = 420, processes: int | None = None
) -> DemoSummary:
    """Load Jilin City and, once, a demo population (assessed 2013–2020) and one user per role.

    The answers are drawn and scored in ``processes`` worker processes (default: one per CPU,
    where that is safe; 1 does it all here); the population is the same whatever the number.
    """
    capacity = len(_BRAND_1) * len(_BRAND_2) * (len(_COUNTIES) + 1)
    if not 1 <= enterprises <= capacity:
        raise ValueError(f"enterprises must be between 1 and {capacity}")
    region = shipped_catalog().regions[REGION]
    load_region(session, region)
    clusters = {c.code: c for c in session.exec(select(Cluster).where(Cluster.region_id == REGION))}
    parks = {p.code: p for p in session.exec(select(Park).where(Park.region_id == REGION))}
    lead = {c: p.id for p in region.parks for c in p.lead_clusters}
    firms = _plan(seed, enterprises, lead)
    codes = [f.uscc for f in firms]
    present = set(session.exec(select(Enterprise.uscc).where(col(Enterprise.uscc).in_(codes))))
    missing = [f for f in firms if f.uscc not in present]
    cluster_ids = {k: c.id for k, c in clusters.items() if c.id is not None}
    park_ids = {k: p.id for k, p in parks.items() if p.id is not None}
    chunks = [missing[i : i + _CHUNK] for i in range(0, len(missing), _CHUNK)]
    workers = _processes(processes, len(chunks))
    for rows in _made(chunks, seed, workers):
        _insert(session, rows, cluster_ids, park_ids)
    session.flush()

    demo_firm = session.exec(select(Enterprise).where(Enterprise.uscc == firms[0].uscc)).one()
    _ensure_accounts(session, demo_firm, [clusters[c] for c in _MANAGED_CLUSTERS])
    session.flush()
    accounts = []
    for name in ("demo-enterprise", "demo-certifier", "demo-cluster", "demo-admin"):
        user = _user(session, name)
        if user is not None:
            accounts.append(_describe(session, user))

    flags = session.exec(
        select(Assessment.year, ScoreRecord.it_adopter)
        .join(ScoreRecord, col(ScoreRecord.assessment_id) == col(Assessment.id))
        .join(Enterprise, col(Enterprise.id) == col(Assessment.enterprise_id))
        .where(col(Enterprise.uscc).in_(codes), ScoreRecord.kind == "self")
    ).all()
    by_year: dict[int, list[bool]] = {}
    for year, adopter in flags:
        by_year.setdefault(year, []).append(bool(adopter))
    count = session.exec(
        select(sa.func.count())
        .select_from(Assessment)
        .join(Enterprise, col(Enterprise.id) == col(Assessment.enterprise_id))
        .where(col(Enterprise.uscc).in_(codes))
    ).one()
    return DemoSummary(
        enterprises=len(present) + len(missing),
        assessments=int(count),
        created=bool(missing),
        accounts=accounts,
        adoption={y: sum(v) / len(v) for y, v in sorted(by_year.items())},
        processes=workers,
    )
