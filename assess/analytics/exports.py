"""The cluster dashboard as an Excel workbook (.xlsx): the same figures the page and its JSON
show, for managers who work on in a spreadsheet.

- ``dashboard_workbook``: a cover sheet (说明) that says what the data is (clusters, filters,
  questionnaire versions, methodology and rules versions, the national references' caliber, when
  it was exported, the small-group rule), then one sheet per table or chart of the dashboard and
  the full member table.
- ``all_member_rows``: every row of the member table (it is paged), for the member sheet.
- ``xlsx_filename``: the file name a download is offered under.

The workbook is built from the views in ``assess.analytics.views`` and never computes a figure of
its own: numbers are written as the views rounded them, as numbers (never as text). A figure the
view hid for privacy is an empty cell with a note in the row's note column.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session

from assess.analytics import views
from assess.analytics.privacy import MIN_GROUP, Hidden
from assess.analytics.vocabulary import Pair, analytics_rules, methodology
from assess.store.models import User
from scoring import STAGES

#: China Standard Time: the export time is given in it.
CHINA_TIME = timezone(timedelta(hours=8), "UTC+8")
#: The media type of an .xlsx file.
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Number format of levels, percentages and points: one decimal.
ONE_DECIMAL = "0.0"
#: Number format of counts and years.
WHOLE = "0"

#: Every word the workbook prints, by key, as (Chinese, English): sheet names, headers, notes.
TEXT: dict[str, Pair] = {
    # sheets
    "sheet.cover": ("说明", "About"),
    "sheet.tiles": ("关键数字", "Key figures"),
    "sheet.trajectory": ("应用率趋势", "Adoption trend"),
    "sheet.boxes": ("总体水平分布", "Overall level"),
    "sheet.stages": ("发展阶段", "Stages"),
    "sheet.links": ("四个环节", "Four links"),
    "sheet.near": ("临界企业", "Near adopters"),
    "sheet.indicators": ("国家指标", "National indicators"),
    "sheet.members": ("成员企业", "Members"),
    # cover
    "title": ("集群两化融合数据导出", "Cluster IT–industrialisation integration data export"),
    "cover.item": ("项目", "Item"),
    "cover.content": ("内容", "Content"),
    "cover.clusters": ("集群", "Clusters"),
    "cover.year": ("年度", "Year"),
    "cover.park": ("园区", "Park"),
    "cover.sector": ("行业", "Sector"),
    "cover.size": ("规模", "Size band"),
    "cover.kind": ("评分类型", "Score kind"),
    "cover.versions": ("问卷版本", "Questionnaire versions"),
    "cover.versions_by_year": ("各年度问卷版本", "Questionnaire versions by year"),
    "cover.changed": ("问卷换版年度", "Years a new questionnaire version took over"),
    "cover.methodology": ("评估方法版本", "Methodology version"),
    "cover.rules": ("分析规则版本", "Analytics rules version"),
    "cover.adoption_rule": ("信息技术应用企业的判定", "Who counts as an IT adopter"),
    "cover.target": ("地区目标", "Regional goal"),
    "cover.references": ("全国参考值口径", "National references (caliber)"),
    "cover.exported": ("导出时间", "Exported"),
    "cover.privacy": ("隐私保护", "Privacy"),
    "cover.units": ("数字说明", "Figures"),
    "all_parks": ("全部园区", "all parks"),
    "all_sectors": ("全部行业", "all sectors"),
    "all_sizes": ("全部规模", "all size bands"),
    "latest_year": ("最新有数据的年度（{year}）", "the latest year with data ({year})"),
    "no_year": ("暂无数据", "no data yet"),
    "none": ("无", "none"),
    "draft": ("草案（尚未发布）", "draft (not yet published)"),
    "published": ("已发布", "published"),
    "version": ("第{v}版", "v{v}"),
    "version_join": ("、", ", "),
    "rules_text": ("第{v}版（{state}）", "v{v} ({state})"),
    "china_time": ("{time}（北京时间，UTC+8）", "{time} (China time, UTC+8)"),
    "privacy_note": (
        "汇总数字（中位数、比率、分位数、百分位等）所依据的企业少于{n}家，且您无权逐一查看这些企业时，"
        "该数字不予显示：单元格留空，并在“说明”列注明。",
        "A summary figure (median, rate, quartile, percentile...) drawn from fewer than {n} firms"
        " that you may not see one by one is not shown: its cell is empty and the note column"
        " says why.",
    ),
    "units_note": (
        "水平与百分比保留一位小数；百分比以百分数表示（如 54.5 即 54.5%）。",
        "Levels and percentages have one decimal; percentages are given as percent (54.5 means"
        " 54.5%).",
    ),
    "target_text": (
        "{year}年信息技术应用率达到{rate}%（基准：{base_year}年{base_rate}%）",
        "an IT adoption rate of {rate}% by {year} (baseline: {base_rate}% in {base_year})",
    ),
    # notes
    "note.hidden": ("不予显示（少于{n}家）", "not shown (fewer than {n} firms)"),
    "note.no_data": ("没有企业数据", "no firm data"),
    "note.new_version": ("本年起使用新版问卷", "a new questionnaire version from this year"),
    "note.projection": ("预测", "projection"),
    "note": ("说明", "Note"),
    # key figures
    "tile.figure": ("指标", "Figure"),
    "tile.value": ("数值", "Value"),
    "tile.unit": ("单位", "Unit"),
    "tile.members": ("成员企业数", "Member firms"),
    "tile.assessed": ("当年已评估企业数", "Firms assessed in the year"),
    "tile.submission_rate": ("填报率", "Submission rate"),
    "tile.adopters": ("信息技术应用企业数", "IT adopters"),
    "tile.adoption_rate": ("信息技术应用率", "IT adoption rate"),
    "tile.target_rate": ("目标应用率", "Goal adoption rate"),
    "tile.target_year": ("目标年度", "Goal year"),
    "tile.gap": ("距目标差距", "Gap to the goal"),
    "tile.still_needed": ("尚需新增应用企业数", "More adopters needed"),
    "tile.change": ("应用率较上年变化", "Change since the year before"),
    "tile.near_rate_if": (
        "临界企业全部应用后的应用率",
        "Adoption rate if every near adopter adopted",
    ),
    "tile.projected_year": ("预计达到目标年度", "Year the goal is projected to be met"),
    "unit.firms": ("家", "firms"),
    "unit.percent": ("%", "%"),
    "unit.points": ("个百分点", "points"),
    "unit.year": ("年", "year"),
    # adoption trend
    "col.year": ("年度", "Year"),
    "col.assessed": ("评估企业数", "Firms assessed"),
    "col.adopters": ("应用企业数", "Adopters"),
    "col.rate": ("应用率（%）", "Adoption rate (%)"),
    "col.glide": ("规划路径（%）", "Planned path (%)"),
    "col.fitted": ("趋势（%）", "Trend (%)"),
    "col.lower": ("预测区间下限（%）", "Projection band low (%)"),
    "col.upper": ("预测区间上限（%）", "Projection band high (%)"),
    "col.versions": ("问卷版本", "Questionnaire versions"),
    # level distribution
    "col.n": ("企业数", "Firms"),
    "col.min": ("最低", "Minimum"),
    "col.q1": ("下四分位数", "Lower quartile"),
    "col.median": ("中位数", "Median"),
    "col.q3": ("上四分位数", "Upper quartile"),
    "col.max": ("最高", "Maximum"),
    # links
    "col.link": ("环节", "Link"),
    "col.link_median": ("本集群中位数", "Median, these clusters"),
    "col.link_n": ("本集群企业数", "Firms, these clusters"),
    "col.region_median": ("全地区中位数", "Median, region"),
    "col.region_n": ("全地区企业数", "Firms, region"),
    # near adopters
    "col.enterprise": ("企业名称", "Enterprise"),
    "col.missing": ("任一环节应用即可成为应用企业", "Applying IT in any of these links"),
    "col.key_questions": ("相关关键系统题目", "Key-system questions"),
    # indicators
    "col.indicator": ("指标", "Indicator"),
    "col.value": ("数值", "Value"),
    "col.unit": ("单位", "Unit"),
    "col.counted": ("纳入企业数", "Firms counted"),
    "col.left_out": ("未纳入企业数", "Firms left out"),
    "col.ref_value": ("全国参考值{i}", "National reference {i}"),
    "col.ref_unit": ("参考值{i}单位", "Reference {i} unit"),
    "col.ref_caliber": ("参考值{i}口径", "Reference {i} caliber"),
    "col.ref_date": ("参考值{i}日期", "Reference {i} date"),
    "col.ref_source": ("参考值{i}来源", "Reference {i} source"),
    "level_reference": ("总体水平", "Overall level"),
    # members
    "col.cluster": ("集群", "Cluster"),
    "col.sector": ("行业", "Sector"),
    "col.park": ("园区", "Park"),
    "col.latest_year": ("最近评估年度", "Latest year assessed"),
    "col.overall": ("总体水平", "Overall level"),
    "col.stage": ("发展阶段", "Stage"),
    "col.adopter": ("信息技术应用企业", "IT adopter"),
    "col.change": ("较上年变化", "Change since the year before"),
    "col.percentile": ("行业内百分位", "Percentile in its sector"),
    "col.near": ("临界环节", "Near-adopter links"),
    "col.version": ("问卷版本", "Questionnaire version"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    # file name
    "file": ("集群看板", "cluster_dashboard"),
}

#: The rows of the key-figures sheet: the field of the view, its label and its unit (None: a
#: plain count or year). Fields of ``Tiles``, then two of the dashboard itself.
TILE_ROWS: tuple[tuple[str, str, str | None], ...] = (
    ("members", "tile.members", "unit.firms"),
    ("assessed", "tile.assessed", "unit.firms"),
    ("submission_rate", "tile.submission_rate", "unit.percent"),
    ("adopters", "tile.adopters", "unit.firms"),
    ("adoption_rate", "tile.adoption_rate", "unit.percent"),
    ("target_rate", "tile.target_rate", "unit.percent"),
    ("target_year", "tile.target_year", "unit.year"),
    ("gap", "tile.gap", "unit.points"),
    ("still_needed", "tile.still_needed", "unit.firms"),
    ("change", "tile.change", "unit.points"),
    ("near_rate_if", "tile.near_rate_if", "unit.percent"),
    ("projected_year", "tile.projected_year", "unit.year"),
)
#: Tiles that are counts of firms over the assessed firms: hidden with the adoption rate.
_TILE_PRIVATE = frozenset({"adopters", "adoption_rate", "gap", "still_needed", "change"})
#: Tiles that are levels or percentages (one decimal); the others are whole numbers.
_TILE_DECIMAL = frozenset(
    {"submission_rate", "adoption_rate", "target_rate", "gap", "change", "near_rate_if"}
)

_BAD_IN_NAME = re.compile(r'[\\/:*?"<>|\s]+')


class _Words:
    """The workbook's words in one language."""

    def __init__(self, lang: str) -> None:
        self.en = lang.lower().startswith("en")

    def pick(self, pair: Pair | Sequence[str]) -> str:
        """Of a (Chinese, English) pair, the one to print."""
        return str(pair[1] if self.en else pair[0])

    def __call__(self, key: str, **values: Any) -> str:
        text = self.pick(TEXT[key])
        return text.format(**values) if values else text

    def hidden(self, h: Hidden | None = None) -> str:
        """The note for a figure not shown (or with no data at all)."""
        if h is not None and h.n == 0:
            return self("note.no_data")
        return self("note.hidden", n=MIN_GROUP)

    def versions(self, vs: Iterable[int]) -> str:
        return self("version_join").join(self("version", v=v) for v in vs)

    def option(self, options: Sequence[views.Option], code: str | None, everything: str) -> str:
        """The name of a filter's chosen code (or the words for "all")."""
        if code is None:
            return self(everything)
        for o in options:
            if o.code == code:
                return self.pick(o.name)
        return code


# --- Writing cells ------------------------------------------------------------------------------


def _number(value: Any) -> int | float | None:
    """A figure as a cell value: a Python int or float (never text, never a numpy scalar)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return int(value)
    return float(value)


class _Sheet:
    """A table on one worksheet: a bold, frozen header row, then rows; each column knows
    whether it holds text, whole numbers or figures with one decimal."""

    def __init__(self, ws: Worksheet, columns: Sequence[tuple[str, str | None]]) -> None:
        self.ws = ws
        self.formats = [fmt for _, fmt in columns]
        ws.append([header for header, _ in columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(vertical="center", wrap_text=True)
        ws.freeze_panes = "A2"

    def row(self, values: Sequence[Any]) -> None:
        """Append a row; numbers go in as numbers with the column's number format."""
        cells = []
        for value, fmt in zip(values, self.formats, strict=True):
            cells.append(_number(value) if fmt is not None else value)
        self.ws.append(cells)
        r = self.ws.max_row
        for i, fmt in enumerate(self.formats, start=1):
            if fmt is not None:
                self.ws.cell(row=r, column=i).number_format = fmt

    def finish(self) -> None:
        _fit_columns(self.ws)


def _width(value: Any) -> int:
    """How wide a value prints: CJK characters take two columns."""
    if value is None:
        return 0
    text = str(value)
    longest = max((line for line in text.splitlines()), key=len, default="")
    return sum(2 if ord(c) > 0x2E7F else 1 for c in longest)


def _fit_columns(ws: Worksheet, low: int = 8, high: int = 60) -> None:
    widths: dict[int, int] = {}
    for row in ws.iter_rows():
        for cell in row:
            widths[cell.column] = max(widths.get(cell.column, 0), _width(cell.value))
    for column, width in widths.items():
        ws.column_dimensions[get_column_letter(column)].width = max(low, min(high, width + 2))


def _notes(*parts: str) -> str:
    return "；".join(p for p in parts if p)


# --- The sheets ---------------------------------------------------------------------------------


def _cover(ws: Worksheet, d: views.ClusterDashboard, w: _Words, now: datetime) -> None:
    ws.title = w("sheet.cover")
    ws.append([w("title")])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append([w("cover.item"), w("cover.content")])
    for cell in ws[3]:
        cell.font = Font(bold=True)
    f, c = d.filters, d.choices
    if d.year is None:
        year = w("no_year")
    elif f.year is None:
        year = w("latest_year", year=d.year)
    else:
        year = str(d.year)
    v = d.versions
    rules = analytics_rules()
    state = "draft" if d.rules_draft else "published"
    refs = [(w("level_reference"), r) for r in d.level_references] + [
        (w.pick(ind.name), r) for ind in d.indicators for r in ind.references
    ]
    target = w("none")
    if d.targets:
        goal, base = d.targets["adoption_goal"], d.targets["adoption_baseline"]
        target = w(
            "target_text",
            year=goal["year"],
            rate=_percent_text(goal["rate"]),
            base_year=base["year"],
            base_rate=_percent_text(base["rate"]),
        )
    lines: list[tuple[str, str]] = [
        ("cover.clusters", w("version_join").join(w.pick(o.name) for o in d.clusters) or w("none")),
        ("cover.year", year),
        ("cover.park", w.option(c.parks, f.park, "all_parks")),
        ("cover.sector", w.option(c.sectors, f.sector, "all_sectors")),
        ("cover.size", w.option(c.sizes, f.size, "all_sizes")),
        ("cover.kind", w.pick(d.kind_name)),
        ("cover.versions", w.versions(v.versions) if v.versions else w("none")),
        (
            "cover.versions_by_year",
            "\n".join(f"{y}: {w.versions(vs)}" for y, vs in v.by_year.items()) or w("none"),
        ),
        ("cover.changed", w("version_join").join(str(y) for y in v.changed) or w("none")),
        ("cover.methodology", w("version", v=methodology().version)),
        ("cover.rules", w("rules_text", v=rules.version, state=w(state))),
        ("cover.adoption_rule", w.pick(d.adoption_rule)),
        ("cover.target", target),
        ("cover.references", "\n".join(_reference_text(what, r, w) for what, r in refs)),
        ("cover.units", w("units_note")),
        (
            "cover.exported",
            w("china_time", time=now.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M")),
        ),
        ("cover.privacy", w("privacy_note", n=MIN_GROUP)),
    ]
    for key, text in lines:
        ws.append([w(key), text])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
        ws.cell(row=ws.max_row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 90


def _percent_text(rate: Any) -> str:
    """A rate 0..1 of the region's targets, as a percentage in words."""
    return f"{100 * float(rate):g}"


def _reference_text(what: str, r: Mapping[str, Any], w: _Words) -> str:
    caliber = w.pick(r["caliber"])
    value = f"{r['value']:g}" if isinstance(r["value"], int | float) else str(r["value"])
    if w.en:
        return f"{what}: {value} {r['unit']}, {caliber}, {r['date']}, {r['source']}"
    return f"{what}：{value}{r['unit']}，{caliber}，{r['date']}，{r['source']}"


def _tiles(ws: Worksheet, d: views.ClusterDashboard, w: _Words) -> None:
    sheet = _Sheet(
        ws,
        [
            (w("tile.figure"), None),
            (w("tile.value"), WHOLE),
            (w("tile.unit"), None),
            (w("note"), None),
        ],
    )
    t = d.tiles
    private = t is not None and t.assessed > 0 and t.adoption_rate is None
    values: dict[str, Any] = {
        "near_rate_if": d.near_rate_if,
        "projected_year": d.trajectory.projected_year if d.trajectory else None,
    }
    for key, label, unit in TILE_ROWS:
        value = values[key] if key in values else (getattr(t, key) if t is not None else None)
        note = ""
        if key in _TILE_PRIVATE and private:
            value, note = None, w.hidden()
        if key == "projected_year" and value is not None:
            note = w("note.projection")
        sheet.row([w(label), value, w(unit) if unit else "", note])
        fmt = ONE_DECIMAL if key in _TILE_DECIMAL else WHOLE
        ws.cell(row=ws.max_row, column=2).number_format = fmt
    sheet.finish()


def _trajectory(ws: Worksheet, d: views.ClusterDashboard, w: _Words) -> None:
    sheet = _Sheet(
        ws,
        [
            (w("col.year"), WHOLE),
            (w("col.assessed"), WHOLE),
            (w("col.adopters"), WHOLE),
            (w("col.rate"), ONE_DECIMAL),
            (w("col.glide"), ONE_DECIMAL),
            (w("col.fitted"), ONE_DECIMAL),
            (w("col.lower"), ONE_DECIMAL),
            (w("col.upper"), ONE_DECIMAL),
            (w("col.versions"), None),
            (w("note"), None),
        ],
    )
    tr = d.trajectory
    if tr is not None:
        observed = {y: i for i, y in enumerate(tr.years)}
        for j, y in enumerate(tr.span):
            i = observed.get(y)
            notes = []
            assessed = adopters = rate = None
            if i is not None:
                assessed, rate = tr.counts[i], tr.rates[i]
                if rate is None:
                    notes.append(w.hidden(tr.hidden))
                else:
                    adopters = tr.adopters[i]
                if y in tr.versions.changed:
                    notes.append(w("note.new_version"))
            else:
                notes.append(w("note.projection"))
            sheet.row(
                [
                    y,
                    assessed,
                    adopters,
                    rate,
                    tr.glide[j],
                    tr.fitted[j],
                    tr.lower[j],
                    tr.upper[j],
                    w.versions(tr.versions.by_year.get(y, [])),
                    _notes(*notes),
                ]
            )
    sheet.finish()


def _boxes(ws: Worksheet, d: views.ClusterDashboard, w: _Words) -> None:
    sheet = _Sheet(
        ws,
        [
            (w("col.year"), WHOLE),
            (w("col.n"), WHOLE),
            (w("col.min"), ONE_DECIMAL),
            (w("col.q1"), ONE_DECIMAL),
            (w("col.median"), ONE_DECIMAL),
            (w("col.q3"), ONE_DECIMAL),
            (w("col.max"), ONE_DECIMAL),
            (w("note"), None),
        ],
    )
    for b in d.boxes:
        box: Sequence[float | None] = b.box if b.box is not None else (None,) * 5
        note = w.hidden(b.hidden) if b.hidden is not None or b.box is None else ""
        sheet.row([b.year, b.n, *box, note])
    sheet.finish()


def _stage_order() -> list[str]:
    """Stages lowest first, the firms whose stage is undetermined last (as the page's chart)."""
    return [s for s in STAGES if s != "undetermined"] + ["undetermined"]


def _stages(ws: Worksheet, d: views.ClusterDashboard, w: _Words) -> None:
    order = _stage_order()
    sheet = _Sheet(
        ws,
        [
            (w("col.year"), WHOLE),
            (w("col.n"), WHOLE),
            *((w.pick(d.stage_names.get(s, (s, s))), WHOLE) for s in order),
            (w("note"), None),
        ],
    )
    for b in d.boxes:
        counts = [None if b.stages is None else b.stages.get(s, 0) for s in order]
        note = w.hidden(b.hidden) if b.stages is None else ""
        sheet.row([b.year, b.n, *counts, note])
    sheet.finish()


def _links(ws: Worksheet, d: views.ClusterDashboard, w: _Words) -> None:
    sheet = _Sheet(
        ws,
        [
            (w("col.link"), None),
            (w("col.link_median"), ONE_DECIMAL),
            (w("col.link_n"), WHOLE),
            (w("col.region_median"), ONE_DECIMAL),
            (w("col.region_n"), WHOLE),
            (w("note"), None),
        ],
    )
    for link in d.links:
        notes = []
        if link.median is None and (link.hidden is not None or link.n > 0):
            notes.append(f"{w('col.link_median')}：{w.hidden(link.hidden)}")
        # The view keeps no reason for the region's median: missing with firms behind it means
        # the viewer may not see it (a median of one or more levels always exists).
        if link.region_median is None and link.region_n > 0:
            notes.append(f"{w('col.region_median')}：{w.hidden()}")
        sheet.row(
            [
                w.pick(link.name),
                link.median,
                link.n,
                link.region_median,
                link.region_n,
                _notes(*notes),
            ]
        )
    sheet.finish()


def _near(ws: Worksheet, d: views.ClusterDashboard, w: _Words) -> None:
    sheet = _Sheet(
        ws,
        [(w("col.enterprise"), None), (w("col.missing"), None), (w("col.key_questions"), None)],
    )
    join = w("version_join")
    for n in d.near:
        questions = "\n".join(f"{qid} {w.pick(text)}" for qid, text in n.key_questions)
        sheet.row([n.name, join.join(w.pick(m) for m in n.missing), questions])
    sheet.finish()


def _indicators(ws: Worksheet, d: views.ClusterDashboard, w: _Words) -> None:
    most = max((len(i.references) for i in d.indicators), default=0)
    columns: list[tuple[str, str | None]] = [
        (w("col.indicator"), None),
        (w("col.value"), ONE_DECIMAL),
        (w("col.unit"), None),
        (w("col.counted"), WHOLE),
        (w("col.left_out"), WHOLE),
        (w("note"), None),
    ]
    for i in range(1, most + 1):
        columns += [
            (w("col.ref_value", i=i), ONE_DECIMAL),
            (w("col.ref_unit", i=i), None),
            (w("col.ref_caliber", i=i), None),
            (w("col.ref_date", i=i), None),
            (w("col.ref_source", i=i), None),
        ]
    sheet = _Sheet(ws, columns)
    for ind in d.indicators:
        refs: list[Any] = []
        for r in ind.references:
            value = r["value"] if isinstance(r["value"], int | float) else None
            refs += [value, r["unit"], w.pick(r["caliber"]), str(r["date"]), r["source"]]
        refs += [None] * (5 * most - len(refs))
        note = w.hidden(ind.hidden) if ind.hidden is not None else ""
        sheet.row([w.pick(ind.name), ind.value, ind.unit, ind.n, ind.left_out, note, *refs])
    sheet.finish()


def _members(
    ws: Worksheet, members: Sequence[views.MemberRow], stages: Mapping[str, Pair], w: _Words
) -> None:
    sheet = _Sheet(
        ws,
        [
            (w("col.enterprise"), None),
            (w("col.cluster"), None),
            (w("col.sector"), None),
            (w("col.park"), None),
            (w("col.latest_year"), WHOLE),
            (w("col.overall"), ONE_DECIMAL),
            (w("col.stage"), None),
            (w("col.adopter"), None),
            (w("col.change"), ONE_DECIMAL),
            (w("col.percentile"), ONE_DECIMAL),
            (w("col.near"), None),
            (w("col.version"), None),
            (w("note"), None),
        ],
    )
    join = w("version_join")
    for m in members:
        adopter = None if m.adopter is None else w("yes" if m.adopter else "no")
        note = f"{w('col.percentile')}：{w.hidden()}" if m.percentile_hidden is not None else ""
        sheet.row(
            [
                m.name,
                w.pick(m.cluster),
                w.pick(m.sector),
                w.pick(m.park),
                m.year,
                m.overall,
                None if m.stage is None else w.pick(stages.get(m.stage, (m.stage, m.stage))),
                adopter,
                m.change,
                m.percentile,
                join.join(w.pick(x) for x in m.near),
                None if m.version is None else w("version", v=m.version),
                note,
            ]
        )
    sheet.finish()


# --- The workbook -------------------------------------------------------------------------------


def dashboard_workbook(
    d: views.ClusterDashboard,
    members: Sequence[views.MemberRow],
    lang: str = "zh",
    now: datetime | None = None,
) -> bytes:
    """The dashboard ``d`` and its full member table as an .xlsx file, in Chinese (``lang``
    "zh") or English ("en"). ``now``: the export time (default: the current time)."""
    w = _Words(lang)
    wb = Workbook()
    cover = wb.active
    assert cover is not None
    _cover(cover, d, w, now or datetime.now(CHINA_TIME))
    for key, write in (
        ("sheet.tiles", _tiles),
        ("sheet.trajectory", _trajectory),
        ("sheet.boxes", _boxes),
        ("sheet.stages", _stages),
        ("sheet.links", _links),
        ("sheet.near", _near),
        ("sheet.indicators", _indicators),
    ):
        write(wb.create_sheet(w(key)), d, w)
    _members(wb.create_sheet(w("sheet.members")), members, d.stage_names, w)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def all_member_rows(session: Session, user: User, f: views.Filters) -> list[views.MemberRow]:
    """Every row of the member table for these filters (sorted by name), read page by page."""
    first = views.member_page(session, user, f, views.MemberQuery())
    rows = list(first.rows)
    seen = {m.enterprise for m in rows}
    for number in range(2, first.pages + 1):
        page = views.member_page(session, user, f, views.MemberQuery(page=number))
        for m in page.rows:
            if m.enterprise not in seen:
                seen.add(m.enterprise)
                rows.append(m)
    return rows


def xlsx_filename(d: views.ClusterDashboard, lang: str = "zh") -> str:
    """The name a download is offered under: 集群看板[_<cluster>]_<year>.xlsx (the cluster only
    when the dashboard shows one)."""
    w = _Words(lang)
    parts = [w("file")]
    if len(d.clusters) == 1:
        parts.append(_BAD_IN_NAME.sub("_", w.pick(d.clusters[0].name)).strip("_"))
    if d.year is not None:
        parts.append(str(d.year))
    return "_".join(p for p in parts if p) + ".xlsx"
