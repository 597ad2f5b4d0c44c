"""A synthetic demo population for Jilin City: firms, yearly self-assessments 2013–2020, accounts.

Everything is drawn from ``numpy.random.default_rng``: the firm with index ``i`` comes from
``default_rng([seed, i, ...])`` alone, so the same seed gives the same firms whatever the
population size, and whichever process draws them. A firm is recognised on a later run by its
credit code (USCC, derived from the seed and the index), which makes ``build_demo`` idempotent:
firms already there are skipped, a larger ``enterprises`` adds only the new ones, and missing demo
accounts are added.

Versions. Assessments of 2013–2019 are on questionnaire version 1, those of the last demo year
(``V2_FROM``) on version 2, so both appear. Each is pinned to the version and content hash of the
spec its answers are scored with (``spec_for(sector, version, year)``: items valid only from a
later year are not offered).

How the answers come about. Each firm has a latent maturity ``m``. Its 2013 value is the
cluster's base, plus a staff-size effect (bigger firms are further along), plus noise; it then
grows every year by the cluster's speed times a firm factor, with a little wobble. Every scored
question reads ``m`` plus a difficulty for its group (integration and collaboration come
hardest), an offset per firm and question that stays put (firms have strengths and gaps) and a
yearly noise that carries over from year to year, so answers drift rather than jump. A version 2
question that asks what a version 1 question asked (a renamed key system, a ratio now derived
from its inputs) shares the firm's standing, so nothing jumps at the change of version. The
four key-system questions follow the same rule, laid on each ladder so that the same standing is
"in routine use" on the 5-rung v1 and the 4-rung v2 ladders; IT adoption (key system in routine
use in at least 3 of 4 links) follows ``m``.

The headline indicators add a national trend (``_trend``), tuned so that the demo tracks the
national series within their calibers (DOMAIN §5; bench/demo_stats.py prints them side by side):
the mean level grows about 2–3 points a year; ERP in routine use (v1's 经营管理数字化普及率;
v2 counts the five management functions, which follow ERP) goes from about 55% in 2013 to
about 70% in 2020; the key-process NC rate of firms with a shop of their own from about 27% to
about 50% (process industries higher than discrete makers); digital R&D design tools from about
55% to 75%; and no firm is on an industrial-internet platform before 2017.

Context. A firm's answers about itself (sub-sector, processes, cold chain, major hazard, fibre
form, production shop, ...) are drawn once and kept every year and in both versions. Software
and service firms (most of the software and cloud cluster) have no production shop: on version 2
they answer core.ctx.production = none, and the production link does not apply; on version 1
they answer the production questions at the bottom rung (N/A where allowed), never a DCS, NC or
MES in routine use. Version 2 inputs of derived values (IT staff, IT spending, PCs, key
equipment, process NC rates, ...) are answered so that the derived value lands where the firm
stands. The firms resolve most contradictions the module checks find (a key system the module's
own answers do not support) before submitting, as a careful firm would; about one in seven is
left for the certifier as a flag. N/A and exemption answers carry a reason.

With the default seed and size, adoption over all firms is near the plan's 50% baseline in 2013
(47%) and rises every year (72% in 2020). In 2020 the cluster rates spread around the 70% goal:
fine chemicals above 80%, most clusters between 70% and 80%; ecological food (58%), metal
materials (stalled since 2018, 68%) and chemical fibres (69%) short of it. Seen from 2017 or 2018,
some clusters are on pace for the goal and others behind: the spread a cluster manager's
dashboard is there to show.

For the dashboards: about 7% of firms have their last-year assessment still in draft (so the
submission rate is below 100%), and a few firms carry a planted anomaly for the screening to find
(``_PLANTED``): a year whose level leaps and falls back, a key system given up within one
questionnaire version, last-year answers copied from another firm.
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

from assess.accounts.bodies import declare_conflict
from assess.accounts.uscc import ALPHABET, make
from assess.accounts.users import create_user
from assess.assessment.lifecycle import score_fields
from assess.certification.certificates import add_months
from assess.certification.numbers import SERIAL_DIGITS, new_number
from assess.questionnaire.compile import shipped_catalog, spec_for
from assess.questionnaire.region import load_region
from assess.questionnaire.schema import Ratio
from assess.settings import CHINA_TIME, Settings
from assess.store import audit
from assess.store.models import (
    Answer,
    Assessment,
    Certificate,
    CertificateStatus,
    CertificationBody,
    Cluster,
    ConflictKind,
    Decision,
    Enterprise,
    Park,
    Review,
    ReviewItem,
    Role,
    ScoreRecord,
    StaffBand,
    Status,
    StatusChange,
    User,
    UserCluster,
)
from scoring import Clause, Question, Spec, encode_answers, score
from scoring.engine import apply_formulas, check_failures, visibility

#: The one password of every demo account: for demo databases only, as anyone can read it here.
DEMO_PASSWORD = "Lianghua-2020"
REGION = "jilin_city"
FIRST_YEAR, LAST_YEAR = 2013, 2020
#: From this year on the demo's assessments are on questionnaire version 2; before, version 1.
V2_FROM = LAST_YEAR
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
    "auto": _Profile(12, 0.425, 0.018, (0.06, 0.48, 0.30, 0.16), (("general", 0.08),)),
    "basic_chem": _Profile(9, 0.405, 0.017, _HEAVY, (("general", 0.05),)),
    # Fine chemicals and ecological food hold Jilin's drug makers (APIs, ginseng products).
    "fine_chem": _Profile(11, 0.425, 0.024, _TYPICAL, (("pharma", 0.25),)),
    "eco_food": _Profile(13, 0.375, 0.014, (0.16, 0.56, 0.20, 0.08), (("pharma", 0.12),)),
    # Metal materials stalls from a good start; carbon fibre and chemical fibres climb, but late.
    "metal_materials": _Profile(9, 0.41, 0.008, _HEAVY, (("general", 0.12),)),
    "fibre_textiles": _Profile(
        10, 0.375, 0.022, (0.12, 0.56, 0.22, 0.10), (("petrochemicals", 0.06),)
    ),
    "carbon_fibre": _Profile(6, 0.385, 0.019, _TYPICAL, (("general", 0.10),)),
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
    planted: str = ""  # an anomaly the screening should find (see _PLANTED); "" for none
    draft_last: bool = False  # its last-year assessment is not submitted yet


#: Anomalies planted in a few firms, by index modulo 97, so that the screening has something to
#: find: a year whose level leaps and falls back, a management key system given up within one
#: questionnaire version, and last-year answers copied from another firm of the same sector.
_PLANTED = {13: "jump", 41: "key_back", 71: "copy"}
#: Share of firms whose last-year assessment is still a draft (not submitted).
_DRAFT_SHARE = 0.07


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
                planted="" if i == 0 else _PLANTED.get(i % 97, ""),
                draft_last=i > 0 and i % 97 not in _PLANTED and rng.random() < _DRAFT_SHARE,
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

#: The v2 questions that ask what a v1 question asked (renamed, new ladder or now derived): a
#: firm's standing on them carries over, so its answers do not jump when the version changes.
_SAME_THING = {
    "core.rd.digital_design_tools": "core.rd.design_tools",
    "core.prod.control_execution": "core.prod.control_system",
    "core.mgmt.erp_system": "core.mgmt.erp",
    "core.mkt.customer_systems": "core.mkt.crm",
    "core.rd.product_data": "core.rd.pdm",
    "core.infra.it_staff_share": "core.infra.it_staff",
    "core.infra.investment_share": "core.infra.investment",
    "core.infra.pcs_per_100": "core.infra.pcs",
    "general.prod.key_process_nc_rate": "general.prod.digital_equipment_rate",
    "auto.prod.nc_rate": "core.prod.nc_rate",
    "textiles.prod.nc_rate": "core.prod.nc_rate",
    "core.int.data_exchange_share": "core.int.integrated_share",
    "core.col.new_business_models": "core.col.new_models",
}
#: Questions on the national key-process NC rate (关键工序数控化率): a share of key processes
#: or equipment under digital control. Drawn as a percentage on the national series (below).
_NC = frozenset(
    {
        "core.prod.nc_rate",
        "general.prod.digital_equipment_rate",
        "general.prod.key_process_nc_rate",
        "petrochemicals.prod.dcs_coverage",
        "metallurgy.prod.l1_coverage",
        "textiles.prod.dcs_coverage",
        "textiles.prod.nc_rate",
        "auto.prod.nc_rate",
        "auto.prod.stamping_nc",
        "auto.prod.welding_auto",
        "auto.prod.painting_auto",
        "auto.prod.assembly_auto",
        "auto.prod.machining_nc",
    }
)
#: Process industries run most of their key processes under DCS or PLC already; discrete
#: makers less so (national releases report the NC rate of raw-material sectors well above the
#: mean). Added to the firm's NC standing, in shares.
_NC_SECTOR = {
    "petrochemicals": 0.20,
    "metallurgy": 0.16,
    "textiles": 0.06,
    "pharma": 0.02,
    "food": -0.04,
    "auto": 0.0,
    "general": -0.05,
}


#: Industrial-internet platforms as a service to other firms came with the national push of
#: 2017 (State Council guidance on the industrial internet, November 2017): no demo firm uses
#: one (rung C or D of core.col.platform) before.
_PLATFORMS_FROM = 2017


def _trend(key: str, year: int) -> float:
    """What the national series add to a firm's standing on an indicator question in ``year``.

    Tuned (see bench/demo_stats.py) so that, over the demo population, ERP in routine use is at
    about 55% in 2013 and 70% in 2019 (the national 经营管理数字化普及率 was 69.8% in October 2021,
    all industrial firms), the mean key-process NC rate of firms with a shop of their own goes
    from about 27% to about 50% (national: about 25% in 2012, 51.3% at the end of 2021), digital
    R&D design tools from about 55% to 75% (national: 74.7% at the end of 2021), and
    industrial-internet platforms are used from 2017 only (the national push began then).
    """
    t = year - FIRST_YEAR
    if key == "core.mgmt.erp":
        return -0.09 - 0.0065 * t
    if key == "core.rd.design_tools":
        return 0.005 - 0.008 * t
    if key == "core.col.platform":
        return -0.40 if year < _PLATFORMS_FROM else -0.15 + 0.025 * (year - _PLATFORMS_FROM)
    if key in _NC:
        return -0.245 + 0.011 * t
    return 0.0


#: A v1 key-system ladder has five rungs (in routine use from C, the boundary at 0.375 of the
#: way up); a v2 one four (in use from C, boundary at 0.5). A firm's standing is laid on the
#: ladder so that the same standing is "in use" on both.
_KEY_BOUNDARY = 0.375


def _context(q: Question, firm: _Firm, given: dict[str, Any], rng: np.random.Generator) -> Any:
    """The firm's answer to an unscored question about itself; it stays the same every year
    (and across questionnaire versions)."""
    c = firm.cluster
    match q.id:
        case "auto.ctx.enterprise_type":
            return _pick(rng, q.options, (0.05, 0.35, 0.45, 0.15))
        case "auto.ctx.processes":
            if given.get("auto.ctx.enterprise_type") == "OEM":
                return ["STAMP", "WELD", "PAINT", "ASSY"]
            free = [o for o, ex in zip(q.options, q.exclusive, strict=True) if not ex]
            shares = (0.45, 0.4, 0.3, 0.6, 0.55)
            chosen = [o for o, p in zip(free, shares, strict=True) if rng.random() < p]
            return chosen or [free[int(rng.integers(len(free)))]]
        case "auto.ctx.connected":
            kind = given.get("auto.ctx.enterprise_type")
            return kind == "OEM" or rng.random() < (0.45 if kind == "T1" else 0.15)
        case "auto.ctx.develops":
            p = {"OEM": 1.0, "T1": 0.7, "T2": 0.3}.get(given.get("auto.ctx.enterprise_type", ""))
            return bool(rng.random() < (p if p is not None else 0.2))
        case "auto.ctx.cae_applicable":
            if given.get("auto.ctx.enterprise_type") == "OEM":
                return list(q.options)
            cae = {"STRUCT": 0.8, "CRASH": 0.15, "NVH": 0.3, "FATIGUE": 0.5, "CFD": 0.2}
            chosen = [o for o in q.options if rng.random() < cae.get(o, 0.25)]
            return chosen or [q.options[0]]
        case "general.ctx.business":
            weights: tuple[float, ...] = {
                "software_cloud": (0.0, 0.1, 0.85, 0.05),
                "power_electronics": (0.2, 0.75, 0.0, 0.05),
            }.get(c, (0.75, 0.0, 0.0, 0.25))
            return _pick(rng, q.options, weights)
        case "general.ctx.connected_products":
            p = {"SOFT": 0.8, "ELEC": 0.45}.get(given.get("general.ctx.business", ""), 0.2)
            return bool(rng.random() < p)
        case "general.ctx.software_dev":
            p = {"SOFT": 1.0, "ELEC": 0.3}.get(given.get("general.ctx.business", ""), 0.1)
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
            # CF (oxidation and carbonisation of bought precursor) is offered from version 2.
            if c == "carbon_fibre":
                share = (
                    {"FIL": 0.8, "NONE": 0.2}
                    if "CF" not in q.options
                    else {"FIL": 0.55, "CF": 0.25, "NONE": 0.2}
                )
            else:
                share = {"FIL": 0.3, "STA": 0.3, "BOTH": 0.2, "NONE": 0.2}
            return _pick(rng, q.options, [share.get(o, 0.0) for o in q.options])
        case "textiles.ctx.carbon_fibre":
            form = given.get("textiles.ctx.fibre_form")
            if form == "CF":
                return True
            return form != "NONE" and (c == "carbon_fibre" or rng.random() < 0.05)
        case "textiles.ctx.downstream":
            if given.get("textiles.ctx.fibre_form") == "NONE":  # weavers, knitters, dyers
                share = {"YARN": 0.4, "FABRIC": 0.6, "DYE": 0.45, "NONWOVEN": 0.1, "SEW": 0.15}
            elif given.get("textiles.ctx.carbon_fibre"):
                share = {"FABRIC": 0.1, "COMP": 0.45}
            else:
                share = {"YARN": 0.2, "FABRIC": 0.12, "DYE": 0.08, "NONWOVEN": 0.05}
            free = [o for o, ex in zip(q.options, q.exclusive, strict=True) if not ex]
            chosen = [o for o in free if rng.random() < share.get(o, 0.02)]
            if not chosen and given.get("textiles.ctx.fibre_form") == "NONE":
                chosen = [o for o in free if o == "FABRIC"] or free[:1]
            none = [o for o, ex in zip(q.options, q.exclusive, strict=True) if ex]
            return chosen or none[:1]
        case "food.ctx.cold_chain":
            return bool(rng.random() < 0.4)
        case "food.ctx.raw_base":
            return bool(rng.random() < 0.35)
        case "food.ctx.formulated":
            return bool(rng.random() < 0.5)
        case "pharma.ctx.device":
            return bool(rng.random() < 0.18)
        case "pharma.ctx.cold_chain":
            return bool(rng.random() < 0.15)
        case "pharma.ctx.clean_grade":
            return _pick(rng, q.options, (0.3, 0.55, 0.15))
        case "pharma.ctx.tcm_extraction":
            return bool(rng.random() < 0.35)
    if q.kind == "single_choice":
        return q.options[int(rng.integers(len(q.options)))]
    if q.kind == "yes_no":
        return bool(rng.random() < 0.5)
    if q.kind == "multiple_choice":
        free = [o for o, ex in zip(q.options, q.exclusive, strict=True) if not ex]
        return [o for o in free if rng.random() < 0.5] or free[:1]
    return None


def _production(firm: _Firm, given: dict[str, Any], rng: np.random.Generator) -> str:
    """Whether the firm has a production shop of its own (core.ctx.production).

    Software and service firms (most of the software and cloud cluster) have none; a few other
    firms of the general questionnaire have their products made by others.
    """
    business = given.get("general.ctx.business")
    if business == "SOFT":
        return "none"
    if business == "OTHER":
        if firm.cluster == "software_cloud":
            return "none" if rng.random() < 0.7 else "outsourced"
        return "outsourced" if rng.random() < 0.15 else "own"
    return "own"


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
        lower = q.lower if q.lower is not None else 0.0 if q.kind == "derived" else -math.inf
        lo = max(lower, x0 - 0.25 * span)
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
    if q.key_in_use is not None:  # the same standing is "in use" on a 4- and a 5-rung ladder
        k = q.key_in_use
        b = (q.option_scores[k - 1] + q.option_scores[k]) / 2
        if s < _KEY_BOUNDARY:
            s = s * b / _KEY_BOUNDARY
        else:
            s = b + (s - _KEY_BOUNDARY) * (1 - b) / (1 - _KEY_BOUNDARY)
    gaps = [abs(v - s) if i not in q.withheld else math.inf for i, v in enumerate(q.option_scores)]
    return str(q.options[gaps.index(min(gaps))])


def _multi(q: Question, s: float, cut: np.ndarray) -> list[str]:
    chosen = [
        o
        for i, (o, ex, v, c) in enumerate(
            zip(q.options, q.exclusive, q.option_scores, cut[: len(q.options)], strict=True)
        )
        if not ex and v > 0 and c < s * 1.1 and i not in q.withheld
    ]
    if chosen:
        return chosen
    none = [o for o, ex in zip(q.options, q.exclusive, strict=True) if ex]
    return none[:1]


def _bottom(spec: Spec, q: Question) -> Any:
    """The honest answer of a firm without a shop to a production question it must answer."""
    if q.kind == "single_choice":
        return str(q.options[int(np.argmin(q.option_scores))])
    if q.kind == "multiple_choice":
        none = [o for o, ex in zip(q.options, q.exclusive, strict=True) if ex]
        return none[:1] or [str(q.options[int(np.argmin(q.option_scores))])]
    if q.kind == "yes_no":
        return q.score_yes < q.score_no
    if q.kind == "ratio":
        return {"numerator": 0, "denominator": 100}
    return float(max(q.lower if q.lower is not None else 0.0, 0.0))


def _digital_functions(q: Question, erp: str | None, cut: np.ndarray) -> list[str]:
    """core.mgmt.digital_functions: which of finance, procurement, sales, inventory and HR run on
    digital systems. A firm with ERP in routine use runs them all (almost always); without it,
    finance comes first, then sales and inventory, and all five only now and then (separate
    systems can cover them: 经营管理数字化普及率 is broader than ERP uptake)."""
    rung = "ABCD".index(erp) if erp in ("A", "B", "C", "D") else 0
    p = {0: (0.7, 0.15, 0.25, 0.2, 0.1), 1: (0.95, 0.45, 0.6, 0.55, 0.4)}.get(
        rung, (1.0, 0.99, 0.99, 0.98, 0.97)
    )
    free = [o for o, ex in zip(q.options, q.exclusive, strict=True) if not ex]
    chosen = [o for o, pr, c in zip(free, p, cut, strict=False) if c < pr]
    none = [o for o, ex in zip(q.options, q.exclusive, strict=True) if ex]
    return chosen or none[:1]


class _Standing:
    """A firm's standing on every question it is ever asked, kept across years and versions.

    Every scored question reads the firm's maturity plus a difficulty for its group, a national
    trend for the headline indicators, an offset per firm and question that stays put (firms
    have strengths and gaps) and a yearly noise that carries over, so answers drift rather than
    jump. A v2 question that asks what a v1 question asked shares its standing.
    """

    def __init__(self, keys: list[str], rng: np.random.Generator) -> None:
        self.col = {k: i for i, k in enumerate(keys)}
        self.offset = rng.normal(0.0, 0.13, len(keys))
        self.noise = np.zeros(len(keys))
        self.cuts = rng.random((len(keys), 16))  # one per option (ladders have fewer)
        self.na = rng.random(len(keys)) < 0.06
        self.rng = rng

    def step(self) -> None:
        self.noise = 0.7 * self.noise + self.rng.normal(0.0, 0.03, len(self.noise))

    def s(self, key: str, m: float, group: str | None, year: int) -> float:
        i = self.col[key]
        raw = m + _DIFFICULTY.get(group or "", 0.0) + _trend(key, year)
        return raw + float(self.offset[i] + self.noise[i])


def _key(qid: str) -> str:
    return _SAME_THING.get(qid, qid)


def _version_of(year: int) -> int:
    """Version 1 up to the year before the last demo year; version 2 in the last one."""
    return 2 if year >= V2_FROM else 1


def _spec(sector: str, year: int) -> Spec:
    return spec_for(sector, _version_of(year), year)


def _firm_context(firm: _Firm, specs: list[Spec], seed: int) -> dict[str, Any]:
    """The firm's answers about itself, drawn once (every version's context questions)."""
    rng = np.random.default_rng([seed, firm.index, 2])
    given: dict[str, Any] = {}
    seen: set[str] = set()
    for spec in specs:
        for q in spec.questions:
            if q.id in seen or q.scored or q.kind in ("text", "evidence", "derived"):
                continue
            seen.add(q.id)
            if q.kind in ("number", "percentage", "ratio") or q.id.startswith("core.ctx."):
                continue  # inputs of derived values and facts: drawn with the year's answers
            given[q.id] = _context(q, firm, given, rng)
    given["core.ctx.production"] = _production(firm, given, rng)
    return given


def _yearly_answers(firm: _Firm, seed: int) -> Iterator[tuple[int, Spec, dict[str, Any]]]:
    """The firm's year, spec and answers for each year from its first to the last demo year,
    hidden questions left out (assess.demo's docstring tells how they come about)."""
    years = range(firm.first_year, LAST_YEAR + 1)
    specs = {y: _spec(firm.sector, y) for y in years}
    distinct = list({(s.version, s.years): s for s in specs.values()}.values())
    context = _firm_context(firm, distinct, seed)
    keys = list(dict.fromkeys(_key(q.id) for s in distinct for q in s.questions))
    rng = np.random.default_rng([seed, firm.index, 1])
    st = _Standing(keys, rng)
    fixed = _FirmFacts(firm, np.random.default_rng([seed, firm.index, 3]))
    shop = context["core.ctx.production"] == "own"
    wobble = 0.0
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        wobble = 0.5 * wobble + float(rng.normal(0.0, 0.025))
        m = firm.maturity + firm.growth * (year - FIRST_YEAR) + wobble
        if firm.planted == "jump" and year == LAST_YEAR - 1:
            m += 0.45  # one year far above the firm's path, then back
        writes_plan = rng.random() < 0.35
        st.step()
        if year < firm.first_year:
            continue
        spec = specs[year]
        answers: dict[str, Any] = {}
        if spec.version >= 2:  # facts entered once, which derived values divide by
            answers["core.ctx.employees"] = firm.staff
            answers["core.ctx.revenue"] = firm.revenue
        for q in spec.questions:
            key = _key(q.id)
            if q.id in context:
                answers[q.id] = context[q.id]
                continue
            if q.kind == "text":
                plan = _PLANS[int(rng.integers(len(_PLANS)))]
                if writes_plan and len(plan) <= q.max_length:
                    answers[q.id] = plan
                continue
            if q.kind == "evidence":
                continue
            s = st.s(key, m, q.group, year)
            if key in _NC:
                s += _NC_SECTOR.get(firm.sector, 0.0)
            if key == "core.col.platform" and year < _PLATFORMS_FROM:
                s = min(s, 0.49)  # general cloud services at most: no platforms to join yet
            if not shop and spec.version == 1 and q.group == "production":
                # No shop: the bottom rung (N/A where the question allows it), never a DCS,
                # NC or MES "in routine use".
                answers[q.id] = "na" if q.allow_na else _bottom(spec, q)
                continue
            if q.scored and q.kind != "derived" and q.allow_na and st.na[st.col[key]]:
                answers[q.id] = "na"
                continue
            if q.kind == "derived":
                _solve(spec, q, s, key in _NC, answers, fixed, rng)
            elif not q.scored:
                if q.kind == "percentage" and q.id not in answers:
                    answers[q.id] = round(min(100.0, max(0.0, 100 * s + rng.normal(0, 6))), 1)
            elif q.id == "core.mgmt.digital_functions":
                erp = answers.get("core.mgmt.erp_system")
                answers[q.id] = _digital_functions(q, erp, st.cuts[st.col[key]])
            elif key in _NC and q.kind == "percentage":
                answers[q.id] = round(min(100.0, max(0.0, 100 * s)), 1)
            elif q.kind == "single_choice":
                answers[q.id] = _choice(q, s)
            elif q.kind == "multiple_choice":
                answers[q.id] = _multi(q, s, st.cuts[st.col[key]])
            elif q.kind == "yes_no":
                answers[q.id] = bool(st.cuts[st.col[key]][0] < s) == (q.score_yes >= q.score_no)
            elif q.kind == "ratio":
                answers[q.id] = _ratio(spec, q, s, firm, rng)
            else:
                answers[q.id] = _numeric(spec, q, s, rng)
        if spec.checks:
            _agree(spec, answers, rng)
        if firm.planted == "key_back" and year == LAST_YEAR - 1:
            _give_up_key_system(spec, answers, "management")
        yield year, spec, _shown_only(spec, answers)


def _give_up_key_system(spec: Spec, answers: dict[str, Any], link: str) -> None:
    """The link's key systems answered at their bottom rung (a planted step back)."""
    for q in spec.questions:
        if q.key_in_use is not None and q.group == link and q.options:
            answers[q.id] = q.options[0]


class _FirmFacts:
    """Counts of the firm's own that derived values divide by, kept from year to year."""

    def __init__(self, firm: _Firm, rng: np.random.Generator) -> None:
        # Key production equipment (台套) of a firm with a shop: more with more staff.
        self.equipment = max(4, round(firm.staff / 12 * float(rng.lognormal(0.0, 0.5))))
        # IT spending over the last five years, in years of last year's spending.
        self.five_years = float(rng.uniform(4.0, 6.0))
        self.revenue = firm.revenue


def _solve(
    spec: Spec,
    q: Question,
    s: float,
    nc: bool,
    answers: dict[str, Any],
    facts: _FirmFacts,
    rng: np.random.Generator,
) -> None:
    """Answer the inputs of a derived value so that it comes out at a value scoring about s
    (an NC rate: at s as a share)."""
    f = q.formula
    assert f is not None
    x = round(min(100.0, max(0.0, 100 * s)), 1) if nc else _numeric(spec, q, s, rng)
    qs = spec.questions
    if f.op == "mean":  # e.g. the NC rates of the firm's processes: spread about the target
        for c in f.operands:
            if isinstance(c, int):
                answers[qs[c].id] = round(min(100.0, max(0.0, x + float(rng.normal(0, 6)))), 1)
        return
    num, den = (*f.operands, None)[:2]
    if f.op != "ratio" or not isinstance(num, int) or den is None:
        # Sums, minima and maxima (none shipped today): every plain input near its share.
        parts = [c for c in f.operands if isinstance(c, int)]
        for c in parts:
            answers[qs[c].id] = round(x / len(parts), 1) if f.op == "sum" else x
        return
    if isinstance(den, int):
        d = answers.get(qs[den].id)
        if d is None:  # a count of the firm's own, such as its key equipment
            d = facts.equipment
            answers[qs[den].id] = d
        part = x * float(d) / f.scale
        whole = qs[den].id != "core.ctx.revenue"  # persons, PCs, equipment: whole numbers
        answers[qs[num].id] = (
            min(round(part), int(d)) if nc else (round(part) if whole else round(part, 1))
        )
        return
    # A share of a total: ratio(part, sum(other, part)), e.g. operations in five years' spending.
    spent = answers.get("core.infra.investment_amount")
    year_spend = float(spent) if isinstance(spent, int | float) else facts.revenue * 0.005
    total = max(1.0, year_spend * facts.five_years)
    part = round(x * total / f.scale, 1)
    answers[qs[num].id] = part
    for c in den.operands:
        if isinstance(c, int) and c != num:
            answers[qs[c].id] = round(max(0.0, total - part), 1)


#: Share of the contradictions between a module's answers and the core's that a firm leaves
#: standing (and the certifier sees as a flag); the others it resolves before submitting.
_LEFT_FLAGGED = 0.15


def _agree(spec: Spec, answers: dict[str, Any], rng: np.random.Generator) -> None:
    """Make the answers pass the questionnaire's checks, as a careful firm would, save for a few
    contradictions left for the certifier (key systems the module's answers do not support)."""
    left: set[int] = set()
    for _ in range(4):
        enc = encode_answers(spec, answers)
        apply_formulas(spec, enc.values, enc.na)
        failed = [k for k in np.flatnonzero(check_failures(spec, enc.values, enc.na)[0])]
        todo = [k for k in failed if k not in left]
        if not todo:
            return
        for k in todo:
            if rng.random() < _LEFT_FLAGGED:
                left.add(int(k))
                continue
            for c in spec.checks[k].expect:
                _meet(spec, c, answers, rng)


def _meet(spec: Spec, c: Clause, answers: dict[str, Any], rng: np.random.Generator) -> None:
    """Change the answer ``c`` reads as little as it takes for ``c`` to hold (no change where it
    holds already)."""
    q = spec.questions[c.column]
    v = answers.get(q.id)
    if v is None or v == "na":
        return
    if c.test in ("at_least", "at_most"):
        t = float(c.threshold if c.threshold is not None else 0.0)
        up = c.test == "at_least"
        target = t + float(rng.uniform(1, 10)) if up else max(0.0, t - float(rng.uniform(0, 5)))
        if q.kind == "derived" and q.formula is not None:
            f = q.formula
            cols = [x for x in f.operands if isinstance(x, int)]
            if f.op == "mean":
                for col in cols:
                    old = answers.get(spec.questions[col].id)
                    if isinstance(old, int | float):
                        new = max(old, target) if up else min(old, target)
                        answers[spec.questions[col].id] = round(min(100.0, new), 1)
            elif f.op == "ratio" and len(cols) == 2:
                num, den = (spec.questions[x].id for x in cols)
                d, old = answers.get(den), answers.get(num)
                if isinstance(d, int | float) and isinstance(old, int | float):
                    want = target * d / f.scale
                    new = max(old, math.ceil(want)) if up else min(old, math.floor(want))
                    answers[num] = min(int(new), int(d))
            return
        if q.kind in ("percentage", "number") and isinstance(v, int | float):
            new = max(v, target) if up else min(v, target)
            if q.upper is not None:
                new = min(new, q.upper)
            answers[q.id] = round(new, 1)
        return
    if c.test == "equals" and c.flag is not None:
        answers[q.id] = c.flag
    elif c.test in ("equals", "any_of") and v in q.options:
        cur = q.option_scores[q.options.index(v)]
        best = min(c.options, key=lambda o: (abs(q.option_scores[o] - cur), o))
        answers[q.id] = q.options[best]
    elif c.test == "includes" and isinstance(v, list):
        wanted = c.options[0]
        if q.exclusive[wanted]:  # "none of these" stands alone
            answers[q.id] = [q.options[wanted]]
            return
        keep = {o for o in v if not q.exclusive[q.options.index(o)]} | {q.options[wanted]}
        answers[q.id] = [o for o in q.options if o in keep]


def _shown_only(spec: Spec, answers: dict[str, Any]) -> dict[str, Any]:
    enc = encode_answers(spec, answers)
    shown = visibility(spec, enc.values, enc.na)[0]
    return {k: v for k, v in answers.items() if shown[spec.index[k]]}


#: Reasons a demo firm gives for an N/A or an exemption (version 2 asks for one).
_NA_REASON = "本企业无此类装置或业务，故不适用（演示数据）。"
_EXEMPT_REASON = "按企业实际情况填写，相关证明材料备查（演示数据）。"


# --- writing ---------------------------------------------------------------------------------


def _at(year: int, day: float) -> datetime:
    return datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=day)


@dataclass(frozen=True)
class _Rows:
    """A chunk of firms ready to insert, without database ids (plain data, so it can be made in
    another process): enterprise rows, and per assessment its answers and score columns."""

    enterprises: list[dict[str, Any]]  # with "cluster" and "park" codes for the ids
    assessments: list[tuple[str, int, str, int, str, datetime, datetime | None]]
    # (uscc, year, questionnaire, version, content hash, opened, submitted: None for a draft)
    answers: list[dict[str, Any]]  # question → value, one per assessment
    scores: list[dict[str, Any]]  # score_fields of the card, one per assessment
    comments: list[dict[str, str]]  # question → the reason given for an N/A or exemption


def _rows(firms: list[_Firm], seed: int) -> _Rows:
    """Draw the chunk's firms' yearly answers and score every one (the slow part)."""
    out = _Rows([], [], [], [], [])
    for f in firms:
        rng = np.random.default_rng([seed, f.index, 4])
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
        for year, spec, answers in _yearly_answers(f, seed):
            card = score(spec, answers)
            if card.missing_required:  # the generator answers every shown required question
                raise AssertionError(f"demo firm {f.index} {year}: {card.missing_required}")
            opened = _at(year, float(rng.uniform(60, 300)))  # after joining, which is by day 50
            done: datetime | None = opened + timedelta(days=float(rng.uniform(2, 45)))
            if f.draft_last and year == LAST_YEAR:
                done = None  # still being filled in: not submitted
            out.assessments.append(
                (f.uscc, year, spec.questionnaire, spec.version, spec.content_hash, opened, done)
            )
            out.answers.append(answers)
            out.comments.append(
                {
                    e.question: _NA_REASON if e.kind == "na" else _EXEMPT_REASON
                    for e in card.exemptions
                }
            )
            out.scores.append(score_fields(card, year, answers))
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
                "status": (Status.draft if done is None else Status.submitted).value,
                "version": 1 if done is None else 2,  # raised once, by the submission
                "pledged_by": None,
                "created_at": opened,
                "updated_at": done or opened + timedelta(days=3),
                "submitted_at": done,
            }
            for uscc, year, questionnaire, version, content_hash, opened, done in rows.assessments
        ],
    ).all()
    aid = {(e, y): a for e, y, a in made}
    changes, answer_rows, records = [], [], []
    for (uscc, year, *_, opened, done), answers, fields, comments in zip(
        rows.assessments, rows.answers, rows.scores, rows.comments, strict=True
    ):
        a = aid[(ids[uscc], year)]
        changes.append(_change(a, None, Status.draft, opened))
        if done is not None:
            changes.append(_change(a, Status.draft, Status.submitted, done))
        filled = opened + ((done or opened + timedelta(days=5)) - opened) * 0.6
        for qid, value in answers.items():
            answer_rows.append(
                {
                    "assessment_id": a,
                    "question": qid,
                    "value": value,
                    "comment": comments.get(qid, ""),
                    "version": 1,
                    "updated_by": None,
                    "updated_at": filled,
                }
            )
        if done is not None:  # a draft keeps no score: it is scored when submitted
            records.append({"assessment_id": a, "kind": "self", "computed_at": done, **fields})
    conn.execute(sa.insert(_table(StatusChange)), changes)
    # The same history in the audit trail, chained by the same code as every service's events.
    audit.append(conn, [_status_event(c) for c in changes])
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


@dataclass(frozen=True)
class DemoAssessment:
    """One assessment of the demo population as drawn and scored (nothing written)."""

    uscc: str
    cluster: str
    sector: str
    year: int
    version: int
    answers: dict[str, Any]
    overall: float
    it_adopter: bool
    flags: int  # checks the answers fail (version 2)
    stage: str = ""
    submitted: bool = True  # False: a draft, which no figure counts


def demo_assessments(
    *, seed: int = 2014, enterprises: int = 420, processes: int | None = 1
) -> Iterator[DemoAssessment]:
    """The demo population's assessments, exactly as ``build_demo`` would write them, without a
    database (for bench/demo_stats.py and checks of the population's statistics)."""
    firms = _plan(seed, enterprises, {})
    chunks = [firms[i : i + _CHUNK] for i in range(0, len(firms), _CHUNK)]
    for rows in _made(chunks, seed, _processes(processes, len(chunks))):
        where = {e["uscc"]: (e["cluster"], e["sector"]) for e in rows.enterprises}
        for (uscc, year, _, version, _, _, done), answers, fields in zip(
            rows.assessments, rows.answers, rows.scores, strict=True
        ):
            cluster, sector = where[uscc]
            yield DemoAssessment(
                uscc=uscc,
                cluster=cluster,
                sector=sector,
                year=year,
                version=version,
                answers=answers,
                overall=float(fields["overall"]),
                it_adopter=bool(fields["it_adopter"]),
                flags=len(fields["card"].get("flags", [])),
                stage=str(fields["stage"]),
                submitted=done is not None,
            )


def _plant_copies(session: Session, firms: list[_Firm], copiers: list[_Firm]) -> None:
    """Each copier's last-year answers (and so its score) become those of the first other firm
    of its sector that submitted that year: the screening's "identical answers" case."""
    conn = session.connection()
    answer, record = _table(Answer), _table(ScoreRecord)
    for firm in copiers:
        source = next(
            (
                f
                for f in firms
                if f.sector == firm.sector
                and f.index != firm.index
                and not f.planted
                and not f.draft_last
            ),
            None,
        )
        if source is None:
            continue
        ids = []
        for f in (firm, source):
            ids.append(
                session.exec(
                    select(Assessment.id)
                    .join(Enterprise, col(Enterprise.id) == col(Assessment.enterprise_id))
                    .where(Enterprise.uscc == f.uscc, Assessment.year == LAST_YEAR)
                ).first()
            )
        mine, theirs = ids
        if mine is None or theirs is None:
            continue
        conn.execute(sa.delete(answer).where(answer.c.assessment_id == mine))
        copied = conn.execute(
            sa.select(
                answer.c.question, answer.c.value, answer.c.comment, answer.c.updated_at
            ).where(answer.c.assessment_id == theirs)
        ).all()
        conn.execute(
            sa.insert(answer),
            [
                {
                    "assessment_id": mine,
                    "question": q,
                    "value": v,
                    "comment": c,
                    "version": 1,
                    "updated_by": None,
                    "updated_at": t,
                }
                for q, v, c, t in copied
            ],
        )
        score = (
            conn.execute(sa.select(record).where(record.c.assessment_id == theirs))
            .mappings()
            .first()
        )
        if score is not None:
            values = {
                k: v for k, v in score.items() if k not in ("id", "assessment_id", "computed_at")
            }
            conn.execute(sa.update(record).where(record.c.assessment_id == mine).values(**values))


def _change(a: int, old: str | None, new: str, at: datetime) -> dict[str, Any]:
    return {
        "assessment_id": a,
        "from_status": old,
        "to_status": new,
        "by_user": None,
        "note": "",
        "at": at,
    }


#: The audit action of each status change the loader writes (the status it leads to).
_ACTION_TO = {
    Status.draft: "assessment.start",
    Status.submitted: "assessment.submit",
    Status.under_review: "assessment.start_review",
    Status.certified: "assessment.certify",
}


def _status_event(change: dict[str, Any], actor: User | None = None, **after: Any) -> audit.Event:
    return audit.Event(
        _ACTION_TO[Status(change["to_status"])],
        "assessment",
        change["assessment_id"],
        before=None if change["from_status"] is None else {"status": change["from_status"]},
        after={"status": change["to_status"], **after},
        at=change["at"],
        **audit.by(actor),
    )


# --- certification history ------------------------------------------------------------------

#: The second certification body of the demo, with a certifier of its own.
SECOND_BODY = (
    "长春两化融合评定所（演示）",
    "Changchun integration certification office (demo)",
    "CCPD",
)
#: The share of each past year's submissions that were certified.
_CERTIFIED_SHARE = 0.16
#: The share of last year's submissions certified lately (their certificates still valid).
_RECENT_SHARE = 0.06
#: Last year's submissions waiting in each body's review queue.
_QUEUE = {"JLPD": 9, "CCPD": 3}
_REVOKED_REASON = "监督审核发现企业生产管控系统已停用，不再符合认定条件（演示数据）。"
_CONFLICT_NOTE = "2019 年曾为该企业编制两化融合管理体系文件（演示数据）。"
_ADJUST_REASON = "提供的证明材料显示该系统仅在部分车间试运行，按“局部应用”核定（演示数据）。"


def _certify_history(
    session: Session, firms: list[_Firm], demo_firm: str, seed: int, now: datetime
) -> None:
    """Past years' certifications with their certificates (expired by now, one revoked), some
    of last year's certified lately (valid), and each body's queue of last year's submissions,
    the first of them a firm the screening flags. The demo firm's own 2019 assessment was
    certified with one answer adjusted. Written as the services would have, with the times of
    then, and into the audit trail through the same chain."""
    rng = np.random.default_rng([seed, 14])
    bodies = {b.code: b for b in session.exec(select(CertificationBody))}
    certifiers = {
        u.cert_body_id: u for u in session.exec(select(User).where(User.role == Role.certifier))
    }
    index = {f.uscc: f for f in firms}
    rows = session.exec(
        select(Assessment, Enterprise.uscc)
        .join(Enterprise, col(Enterprise.id) == col(Assessment.enterprise_id))
        .where(
            col(Enterprise.uscc).in_(list(index)),
            Assessment.status == Status.submitted,
            col(Assessment.id).not_in(select(Review.assessment_id)),
        )
        .order_by(col(Assessment.id))
    ).all()
    if not rows:
        return  # made before, or nothing submitted
    settings = Settings()
    conn = session.connection()
    events: list[audit.Event] = []
    changes: list[dict[str, Any]] = []
    main, second = bodies["JLPD"], bodies["CCPD"]
    recent = [r for r in rows if r[0].year == LAST_YEAR and not index[r[1]].planted]
    flagged = [r for r in rows if r[0].year == LAST_YEAR and index[r[1]].planted]
    queue_rows = flagged[:1] + [r for r in recent if r[1] != demo_firm]
    queued: dict[str, list[tuple[Assessment, str]]] = {"JLPD": [], "CCPD": []}
    for a, uscc in queue_rows:
        code = "JLPD" if len(queued["JLPD"]) < _QUEUE["JLPD"] else "CCPD"
        if len(queued[code]) >= _QUEUE[code]:
            break
        queued[code].append((a, uscc))
    waiting = {a.id for q in queued.values() for a, _ in q}
    certified: list[tuple[Assessment, str, datetime]] = []
    for a, uscc in rows:
        if a.id in waiting or a.submitted_at is None:
            continue
        if a.year < LAST_YEAR and (
            (uscc == demo_firm and a.year == LAST_YEAR - 1) or rng.random() < _CERTIFIED_SHARE
        ):
            decided = _aware(a.submitted_at) + timedelta(days=float(rng.uniform(25, 80)))
            certified.append((a, uscc, decided))
        elif a.year == LAST_YEAR and uscc != demo_firm and rng.random() < _RECENT_SHARE:
            decided = now - timedelta(days=float(rng.uniform(20, 300)))
            certified.append((a, uscc, decided))
    revoked_one = next(
        (c for c in certified if c[0].year == LAST_YEAR - 1 and c[1] != demo_firm), None
    )
    record = _table(ScoreRecord)
    for a, uscc, decided in certified:
        body = second if rng.random() < 0.2 else main
        certifier = certifiers[body.id]
        asked = _aware(a.submitted_at or decided) + timedelta(days=float(rng.uniform(1, 6)))
        started = asked + (decided - asked) * 0.3
        review = Review(
            assessment_id=a.id or 0,
            body_id=body.id or 0,
            certifier_id=certifier.id,
            requested_at=asked,
            due_on=(asked + timedelta(days=settings.review_days)).date(),
            started_at=started,
            decided_at=decided,
            version=3,
        )
        session.add(review)
        session.flush()
        events.append(
            audit.Event("review.request", "assessment", a.id, after={"body": body.code}, at=asked)
        )
        own = (
            conn.execute(
                sa.select(record).where(record.c.assessment_id == a.id, record.c.kind == "self")
            )
            .mappings()
            .one()
        )
        fields = {k: v for k, v in own.items() if k not in ("id", "assessment_id", "kind")}
        if uscc == demo_firm:
            fields = _adjusted(session, a, review, certifier, started, events) or fields
        conn.execute(
            sa.insert(record),
            [{**fields, "assessment_id": a.id, "kind": "certified", "computed_at": decided}],
        )
        for old, new, at in (
            (Status.submitted, Status.under_review, started),
            (Status.under_review, Status.certified, decided),
        ):
            change = _change(a.id or 0, old, new, at)
            change["by_user"] = certifier.id
            changes.append(change)
            events.append(_status_event(change, certifier))
        conn.execute(
            sa.update(_table(Assessment))
            .where(_table(Assessment).c.id == a.id)
            .values(status=Status.certified, version=a.version + 2, updated_at=decided)
        )
        issued = decided.astimezone(CHINA_TIME).date()
        expires = add_months(issued, settings.certificate_validity_months) - timedelta(days=1)
        number = new_number(
            body.code,
            issued.year,
            lambda: "".join(str(d) for d in rng.integers(0, 10, SERIAL_DIGITS)),
        )
        cert = Certificate(
            number=number,
            assessment_id=a.id or 0,
            enterprise_id=a.enterprise_id,
            body_id=body.id or 0,
            certifier_id=certifier.id,
            year=a.year,
            stage=str(fields["stage"]),
            overall=float(fields["overall"]),
            issued_on=issued,
            expires_on=expires,
            surveillance_months=settings.surveillance_months,
        )
        if revoked_one is not None and a.id == revoked_one[0].id:
            cert.status = CertificateStatus.revoked
            cert.status_reason = _REVOKED_REASON
            cert.status_changed_at = decided + timedelta(days=200)
        session.add(cert)
        session.flush()
        events.append(
            audit.Event(
                "certificate.issue",
                "certificate",
                cert.id,
                after={"number": number, "assessment_id": a.id, "expires_on": expires},
                at=decided,
                **audit.by(certifier),
            )
        )
        if cert.status == CertificateStatus.revoked:
            events.append(
                audit.Event(
                    "certificate.revoke",
                    "certificate",
                    cert.id,
                    before={"status": CertificateStatus.valid},
                    after={"status": CertificateStatus.revoked},
                    reason=_REVOKED_REASON,
                    at=cert.status_changed_at,
                    **audit.by(certifier),
                )
            )
    # The demo certifier once advised one of the waiting firms: a declared conflict, so that
    # firm is not in its queue (its colleagues see it) and it cannot be assigned to it.
    advised = next((a for a, _ in queued["JLPD"][3:]), None)
    if advised is not None:
        declare_conflict(
            session,
            certifier_id=certifiers[main.id].id,
            enterprise_id=advised.enterprise_id,
            kind=ConflictKind.consulting,
            note=_CONFLICT_NOTE,
        )
    # The queues: asked lately; the main body's first three given to its demo certifier.
    for code, items in queued.items():
        body = bodies[code]
        for n, (a, _) in enumerate(items):
            late = code == "JLPD" and n == len(items) - 1  # one past its due date
            asked = now - timedelta(days=float(rng.uniform(35, 45) if late else rng.uniform(1, 24)))
            mine = code == "JLPD" and n < 3
            session.add(
                Review(
                    assessment_id=a.id or 0,
                    body_id=body.id or 0,
                    certifier_id=certifiers[body.id].id if mine else None,
                    requested_at=asked,
                    due_on=(asked + timedelta(days=settings.review_days)).date(),
                )
            )
            events.append(
                audit.Event("review.request", "assessment", a.id, after={"body": code}, at=asked)
            )
    session.flush()
    if changes:
        conn.execute(sa.insert(_table(StatusChange)), changes)
    audit.append(conn, sorted(events, key=lambda e: e.at or now))


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


#: The demo firm's answer its certifier adjusted: the production control system, one level down.
_ADJUSTED_QUESTION = "core.prod.control_system"


def _adjusted(
    session: Session,
    a: Assessment,
    review: Review,
    certifier: User,
    at: datetime,
    events: list[audit.Event],
) -> dict[str, Any] | None:
    """The demo firm's certified score fields with one answer adjusted (None if that question
    does not apply to it), and the decision kept as the certifier made it."""
    spec = spec_for(a.questionnaire, a.questionnaire_version, a.year)
    values = dict(
        session.exec(
            select(Answer.question, Answer.value).where(Answer.assessment_id == a.id)
        ).all()
    )
    q = spec.questions[spec.index[_ADJUSTED_QUESTION]] if _ADJUSTED_QUESTION in spec.index else None
    own = values.get(_ADJUSTED_QUESTION)
    if q is None or not isinstance(own, str) or own not in q.options or q.options.index(own) == 0:
        return None
    lower = q.options[q.options.index(own) - 1]
    session.add(
        ReviewItem(
            review_id=review.id or 0,
            question=_ADJUSTED_QUESTION,
            decision=Decision.adjusted,
            value=lower,
            reason=_ADJUST_REASON,
            answer_version=1,
            by_user=certifier.id,
            at=at,
        )
    )
    events.append(
        audit.Event(
            "review.decide",
            "assessment",
            a.id,
            after={
                "question": _ADJUSTED_QUESTION,
                "decision": "adjusted",
                "value": lower,
                "answer": own,
            },
            reason=_ADJUST_REASON,
            at=at,
            **audit.by(certifier),
        )
    )
    reviewed = {**values, _ADJUSTED_QUESTION: lower}
    reviewed = {k: v for k, v in reviewed.items() if v is not None}
    return score_fields(score(spec, reviewed), a.year, reviewed)


# --- accounts --------------------------------------------------------------------------------


def _user(session: Session, username: str) -> User | None:
    q = select(User).where(sa.func.lower(User.username) == username.lower())
    return session.exec(q).first()


def _ensure_accounts(session: Session, demo_firm: Enterprise, managed: list[Cluster]) -> None:
    body = session.exec(
        select(CertificationBody).where(CertificationBody.name == CERTIFICATION_BODY)
    ).first()
    if body is None:
        body = CertificationBody(
            name=CERTIFICATION_BODY,
            name_en=_BODY_EN,
            code="JLPD",
        )
        session.add(body)
        session.flush()
    second = session.exec(
        select(CertificationBody).where(CertificationBody.code == SECOND_BODY[2])
    ).first()
    if second is None:
        second = CertificationBody(name=SECOND_BODY[0], name_en=SECOND_BODY[1], code=SECOND_BODY[2])
        session.add(second)
        session.flush()
    wanted: list[tuple[str, Role, str, dict[str, Any]]] = [
        ("demo-enterprise", Role.enterprise, "演示企业填报人", {"enterprise_id": demo_firm.id}),
        ("demo-certifier", Role.certifier, "演示评定人员", {"cert_body_id": body.id}),
        ("demo-certifier2", Role.certifier, "演示评定人员（长春）", {"cert_body_id": second.id}),
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
        en = body.name_en if body and body.name_en else zh
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
    """Load Jilin City and, once, a demo population (assessed 2013–2020: version 1 up to 2019,
    version 2 in 2020) and one user per role.

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
    _plant_copies(session, firms, [f for f in missing if f.planted == "copy"])

    demo_firm = session.exec(select(Enterprise).where(Enterprise.uscc == firms[0].uscc)).one()
    _ensure_accounts(session, demo_firm, [clusters[c] for c in _MANAGED_CLUSTERS])
    session.flush()
    accounts = []
    if missing:  # certification history only with a population of its own
        # Dated from the start of today, so that a demo made twice in a day is made the same.
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        _certify_history(session, missing, firms[0].uscc, seed, today)
    session.flush()
    for name in (
        "demo-enterprise",
        "demo-certifier",
        "demo-certifier2",
        "demo-cluster",
        "demo-admin",
    ):
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


def stale_assessments(session: Session) -> int:
    """Assessments pinned to questionnaire content that the shipped files no longer hold.

    A demo database made while version 2 was still a draft holds assessments pinned to content
    that was never published; it must be made again rather than served.
    """
    pins = session.exec(
        select(
            Assessment.questionnaire, Assessment.questionnaire_version, Assessment.content_hash
        ).distinct()
    ).all()
    stale = set()
    for sector, version, digest in pins:
        try:
            current = spec_for(sector, version).content_hash
        except LookupError:
            current = None
        if current != digest:
            stale.add((sector, version, digest))
    if not stale:
        return 0
    wanted = [
        (col(Assessment.questionnaire) == s)
        & (col(Assessment.questionnaire_version) == v)
        & (col(Assessment.content_hash) == d)
        for s, v, d in stale
    ]
    return int(
        session.exec(select(sa.func.count()).select_from(Assessment).where(sa.or_(*wanted))).one()
    )
