"""The cluster dashboard as an Excel workbook (.xlsx): the same figures the page and its JSON
show, for managers who work on in a spreadsheet.

- ``dashboard_workbook``: a cover sheet (说明) that says what the data is (clusters, filters,
  questionnaire versions, methodology and rules versions, the national references' caliber, when
  it was exported, the small-group rule), then one sheet per table or chart of the dashboard and
  the full member table.
- ``xlsx_filename``: the file name a download is offered under.
- ``region_workbook`` / ``region_filename``: every cluster of the region side by side (the region
  view), with its heatmaps and national indicators as tables.
- ``screening_workbook`` / ``all_screen_rows`` / ``screening_filename``: the whole ranked list of
  submissions that look wrong (every page of it), with their reasons.

The workbook is built from the views in ``assess.analytics.views`` and never computes a figure of
its own: numbers are written as the views rounded them, as numbers (never as text). A figure the
view hid for privacy is an empty cell with a note in the row's note column.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session

from assess.analytics import region_view, screen, views
from assess.analytics.frame import Kind
from assess.analytics.privacy import MIN_GROUP, Hidden
from assess.analytics.vocabulary import Pair, analytics_rules, methodology
from assess.settings import CHINA_TIME
from assess.store.models import User
from scoring import STAGES

#: China Standard Time: the export time is given in it.
#: The media type of an .xlsx file.
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Number format of levels, percentages and points: one decimal.
ONE_DECIMAL = "0.0"
#: Number format of counts and years.
WHOLE = "0"
#: Number format of the screening's priority and outlier score: two decimals.
TWO_DECIMALS = "0.00"

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
    # --- the region view ---
    "sheet.region": ("各集群", "Clusters"),
    "sheet.heat_years": ("应用率热力图", "Adoption heatmap"),
    "sheet.heat_links": ("环节中位数", "Link medians"),
    "region.title": ("地区各集群两化融合数据导出", "All clusters of the region: data export"),
    "cover.region": ("地区", "Region"),
    "cover.versions_mixed": ("是否混用问卷版本", "Mixes questionnaire versions"),
    "cover.scope": ("查看范围", "What you see"),
    "mixed_yes": (
        "是：不同版本问卷的水平不能严格比较",
        "yes: levels of different versions are not strictly comparable",
    ),
    "scope_manager": (
        "集群管理人员只能看到其他集群的汇总数据（不含企业名称）；已评估企业少于{n}家的集群，"
        "其数据仅对本集群管理人员显示。",
        "A cluster manager sees other clusters as aggregates only (no firm is named); a cluster"
        " with fewer than {n} assessed firms shows its figures to its own manager only.",
    ),
    "scope_admin": ("管理员：全部集群的全部数据", "Administrator: every figure of every cluster"),
    "total": ("全部集群", "All clusters"),
    "col.change_points": ("应用率较上年变化（百分点）", "Change since the year before (points)"),
    "col.toward": ("目标进度", "Toward the goal"),
    "col.projected_year": ("预计达到目标年度", "Year the goal is projected to be met"),
    "col.near_count": ("临界企业数", "Near adopters"),
    "col.own": ("本人管理的集群", "One of your clusters"),
    "goal.reached": ("已达目标", "goal met"),
    "goal.on_pace": ("进度正常", "on track"),
    "goal.not_at_current_pace": ("按当前速度滞后", "behind at the current pace"),
    "goal.falling": ("未见上升", "not rising"),
    "goal.too_few_years": ("年份不足，无法预测", "too few years to project"),
    "goal.no_target": ("未设定目标", "no goal set"),
    "heat_years.title": ("应用率（%），按集群和年度", "IT adoption rate (%) by cluster and year"),
    "heat_links.title": ("环节中位数，按集群和环节", "Median link level by cluster and link"),
    "file.region": ("各集群对比", "all_clusters"),
    # --- the screening list ---
    "sheet.screening": ("待核查", "To check"),
    "screening.title": ("待核查评估导出", "Submissions to check: export"),
    "cover.cluster_filter": ("集群", "Cluster"),
    "cover.checks": ("现行核查规则", "Checks in force"),
    "cover.total": ("待核查评估数", "Submissions flagged"),
    "cover.ranking": ("排序方式", "Order"),
    "ranking_text": (
        "按优先级从高到低：触发的核查规则，以及同年同行业企业中得分的异常程度。",
        "By priority, highest first: the rule checks that fire and how unusual the scores are"
        " among the same sector's firms that year.",
    ),
    "all_my_clusters": ("全部（您有权查看的集群）", "all (the clusters you may see)"),
    "col.rank": ("序号", "Rank"),
    "col.priority": ("优先级", "Priority"),
    "col.outlier": ("离群分数", "Outlier score"),
    "col.reasons": ("原因", "Why"),
    "file.screening": ("待核查评估", "submissions_to_check"),
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


def _write_cover(ws: Worksheet, w: _Words, title: str, lines: Sequence[tuple[str, str]]) -> None:
    """A cover sheet: its title, then one (item, words) row per line (items are TEXT keys)."""
    ws.title = w("sheet.cover")
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append([w("cover.item"), w("cover.content")])
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for key, text in lines:
        ws.append([w(key), text])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
        ws.cell(row=ws.max_row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 90


def _export_time(w: _Words, now: datetime) -> str:
    return w("china_time", time=now.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M"))


def _year_text(w: _Words, shown: int | None, chosen: int | None) -> str:
    """The year of an export in words: the chosen one, or the latest one with data."""
    if shown is None:
        return w("no_year")
    if chosen is None:
        return w("latest_year", year=shown)
    return str(shown)


def _cover(ws: Worksheet, d: views.ClusterDashboard, w: _Words, now: datetime) -> None:
    f, c = d.filters, d.choices
    year = _year_text(w, d.year, f.year)
    v = d.versions
    rules = analytics_rules()
    state = "draft" if d.rules_draft else "published"
    refs = [(w("level_reference"), r) for r in d.level_references] + [
        (w.pick(ind.name), r) for ind in d.indicators for r in ind.references
    ]
    target = _target_text(w, d.targets)
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
        ("cover.exported", _export_time(w, now)),
        ("cover.privacy", w("privacy_note", n=MIN_GROUP)),
    ]
    _write_cover(ws, w, w("title"), lines)


def _target_text(w: _Words, targets: Mapping[str, Any] | None) -> str:
    """The region's adoption goal (and its baseline) in words."""
    if not targets:
        return w("none")
    goal, base = targets["adoption_goal"], targets["adoption_baseline"]
    return w(
        "target_text",
        year=goal["year"],
        rate=_percent_text(goal["rate"]),
        base_year=base["year"],
        base_rate=_percent_text(base["rate"]),
    )


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


# --- The region view ----------------------------------------------------------------------------


def _goal_words(w: _Words, reason: str) -> str:
    """Where a group stands toward the region's goal (a projection reason, or "no_target")."""
    key = f"goal.{reason}"
    return w(key) if key in TEXT else reason


def _region_lines(
    rows: Sequence[region_view.RegionRow], total: region_view.GroupFigures | None, w: _Words
) -> list[tuple[str, region_view.GroupFigures | None, str, bool]]:
    """The rows of a region table: (name, figures or None when hidden, note, own) per cluster,
    then the region's total. The view keeps no reason for a hidden total: it is "no firm data"
    when no cluster has a firm in the year, else too few firms for this viewer."""
    out = []
    for r in rows:
        note = w.pick((r.hidden.zh, r.hidden.en)) if r.hidden is not None else ""
        out.append((w.pick(r.name), r.figures, note, r.own))
    empty = all(r.hidden is not None and r.hidden.n == 0 for r in rows)
    note = "" if total is not None else w("note.no_data") if empty else w.hidden()
    out.append((w("total"), total, note, False))
    return out


def _region_clusters(ws: Worksheet, v: region_view.RegionView, w: _Words) -> None:
    order = _stage_order()
    own = any(r.own for r in v.rows)
    columns: list[tuple[str, str | None]] = [
        (w("col.cluster"), None),
        (w("col.n"), WHOLE),
        (w("col.median"), ONE_DECIMAL),
        (w("col.q1"), ONE_DECIMAL),
        (w("col.q3"), ONE_DECIMAL),
        *((w.pick(v.stages.get(s, (s, s))), WHOLE) for s in order),
        (w("col.adopters"), WHOLE),
        (w("col.rate"), ONE_DECIMAL),
        (w("col.change_points"), ONE_DECIMAL),
        (w("col.toward"), None),
        (w("col.projected_year"), WHOLE),
        (w("col.near_count"), WHOLE),
        *([(w("col.own"), None)] if own else []),
        (w("note"), None),
    ]
    sheet = _Sheet(ws, columns)
    if v.year is None:
        sheet.finish()
        return
    for name, g, note, mine in _region_lines(v.rows, v.total, w):
        mark = [w("yes") if mine else ""] if own else []
        if g is None:
            sheet.row([name, *([None] * (len(columns) - 2 - len(mark))), *mark, note])
            continue
        sheet.row(
            [
                name,
                g.n,
                g.median,
                g.q1,
                g.q3,
                *(g.stages.get(s, 0) for s in order),
                g.adopters,
                g.rate,
                g.change,
                _goal_words(w, g.reason),
                g.projected_year,
                g.near,
                *mark,
                note,
            ]
        )
    sheet.finish()


def _grid(
    ws: Worksheet,
    v: region_view.RegionView,
    w: _Words,
    columns: Sequence[tuple[str, Any]],
    value: Callable[[region_view.GroupFigures, Any], float | None],
    heat: bool = False,
) -> None:
    """A table of clusters (and the total) by ``columns`` (header, key): ``value(figures, key)``
    is a cell; a hidden cluster's row is empty with its note. ``heat``: colour the figures
    from low (light) to high (dark) as the page's heatmap does."""
    sheet = _Sheet(
        ws,
        [(w("col.cluster"), None), *((h, ONE_DECIMAL) for h, _ in columns), (w("note"), None)],
    )
    if v.year is not None:
        for name, g, note, _ in _region_lines(v.rows, v.total, w):
            cells = [None if g is None else value(g, key) for _, key in columns]
            sheet.row([name, *cells, note])
    if heat and columns and ws.max_row > 1:
        span = f"B2:{get_column_letter(len(columns) + 1)}{ws.max_row}"
        ws.conditional_formatting.add(
            span,
            ColorScaleRule(
                start_type="min", start_color="F7FBFF", end_type="max", end_color="2171B5"
            ),
        )
    sheet.finish()


def _heat_years(ws: Worksheet, v: region_view.RegionView, w: _Words) -> None:
    years = [y for y in v.years if v.year is None or y <= v.year]
    _grid(
        ws,
        v,
        w,
        [(str(y), y) for y in years],
        lambda g, y: g.rates.get(y),
        heat=True,
    )


def _heat_links(ws: Worksheet, v: region_view.RegionView, w: _Words) -> None:
    _grid(
        ws,
        v,
        w,
        [(w.pick(o.name), o.code) for o in v.links],
        lambda g, code: g.links.get(code),
        heat=True,
    )


def _region_indicators(ws: Worksheet, v: region_view.RegionView, w: _Words) -> None:
    def header(o: views.Option) -> str:
        unit = v.indicator_units.get(o.code, "")
        name = w.pick(o.name)
        if not unit:
            return name
        return f"{name} ({unit})" if w.en else f"{name}（{unit}）"

    _grid(
        ws,
        v,
        w,
        [(header(o), o.code) for o in v.indicators],
        lambda g, code: g.indicators.get(code),
    )


def _region_cover(ws: Worksheet, v: region_view.RegionView, w: _Words, now: datetime) -> None:
    f, c = v.filters, v.choices
    rules = analytics_rules()
    state = "draft" if v.rules_draft else "published"
    vs = v.versions
    lines: list[tuple[str, str]] = [
        ("cover.region", w.pick(v.region) or w("none")),
        ("cover.year", _year_text(w, v.year, f.year)),
        ("cover.park", w.option(c.parks, f.park, "all_parks")),
        ("cover.sector", w.option(c.sectors, f.sector, "all_sectors")),
        ("cover.size", w.option(c.sizes, f.size, "all_sizes")),
        ("cover.kind", w.option(c.kinds, f.kind, "none")),
        ("cover.versions", w.versions(vs.versions) if vs.versions else w("none")),
        ("cover.versions_mixed", w("mixed_yes") if vs.mixed else w("no")),
        (
            "cover.versions_by_year",
            "\n".join(f"{y}: {w.versions(x)}" for y, x in vs.by_year.items()) or w("none"),
        ),
        ("cover.changed", w("version_join").join(str(y) for y in vs.changed) or w("none")),
        ("cover.methodology", w("version", v=methodology().version)),
        ("cover.rules", w("rules_text", v=rules.version, state=w(state))),
        ("cover.target", _target_text(w, v.targets)),
        ("cover.units", w("units_note")),
        ("cover.exported", _export_time(w, now)),
        ("cover.privacy", w("privacy_note", n=MIN_GROUP)),
        ("cover.scope", w("scope_manager", n=MIN_GROUP)),
    ]
    _write_cover(ws, w, w("region.title"), lines)


def region_workbook(
    v: region_view.RegionView, lang: str = "zh", now: datetime | None = None
) -> bytes:
    """The region view ``v`` (every cluster side by side) as an .xlsx file: a cover, the clusters'
    figures with the region's total, the adoption rate by cluster and year, the link medians and
    the national indicators by cluster. In Chinese (``lang`` "zh") or English ("en"); ``now``:
    the export time (default: the current time)."""
    w = _Words(lang)
    wb = Workbook()
    cover = wb.active
    assert cover is not None
    _region_cover(cover, v, w, now or datetime.now(CHINA_TIME))
    for key, write in (
        ("sheet.region", _region_clusters),
        ("sheet.heat_years", _heat_years),
        ("sheet.heat_links", _heat_links),
        ("sheet.indicators", _region_indicators),
    ):
        write(wb.create_sheet(w(key)), v, w)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _file_name(w: _Words, key: str, middle: str | None, year: int | None) -> str:
    parts = [w(key)]
    if middle:
        parts.append(_BAD_IN_NAME.sub("_", middle).strip("_"))
    if year is not None:
        parts.append(str(year))
    return "_".join(p for p in parts if p) + ".xlsx"


def region_filename(v: region_view.RegionView, lang: str = "zh") -> str:
    """The name the region's download is offered under: 各集群对比[_<region>]_<year>.xlsx."""
    w = _Words(lang)
    return _file_name(w, "file.region", w.pick(v.region), v.year)


# --- The screening list -------------------------------------------------------------------------


def all_screen_rows(
    session: Session,
    user: User,
    year: int | None,
    cluster: str | None,
    kind: Kind = "preferred",
) -> screen.ScreeningView:
    """The screening list of ``screen.screening_view`` with every row on one page (the view is
    read page by page, for the year the first page settled on)."""
    first = screen.screening_view(session, user, year, cluster, kind, 1)
    rows = list(first.rows)
    for number in range(2, first.pages + 1):
        page = screen.screening_view(session, user, first.year, cluster, kind, number)
        rows += page.rows
    return replace(first, rows=rows, page=1, pages=1)


def _screening_cover(ws: Worksheet, v: screen.ScreeningView, w: _Words, now: datetime) -> None:
    names = dict(v.clusters)
    if v.cluster is None:
        chosen = w("all_my_clusters")
    else:
        chosen = w.pick(names.get(v.cluster, (v.cluster, v.cluster)))
    state = "draft" if v.rules_draft else "published"
    join = w("version_join")
    lines: list[tuple[str, str]] = [
        ("cover.year", _year_text(w, v.year, v.year)),
        ("cover.cluster_filter", chosen),
        ("cover.scope", join.join(w.pick(name) for _, name in v.clusters) or w("none")),
        ("cover.rules", w("rules_text", v=v.rules_version, state=w(state))),
        ("cover.checks", join.join(w.pick(name) for _, name in v.rules) or w("none")),
        ("cover.ranking", w("ranking_text")),
        ("cover.total", str(v.total)),
        ("cover.exported", _export_time(w, now)),
    ]
    _write_cover(ws, w, w("screening.title"), lines)


def _screening_rows(ws: Worksheet, v: screen.ScreeningView, w: _Words) -> None:
    sheet = _Sheet(
        ws,
        [
            (w("col.rank"), WHOLE),
            (w("col.enterprise"), None),
            (w("col.cluster"), None),
            (w("col.sector"), None),
            (w("col.year"), WHOLE),
            (w("col.priority"), TWO_DECIMALS),
            (w("col.outlier"), TWO_DECIMALS),
            (w("col.reasons"), None),
        ],
    )
    colon = ": " if w.en else "："
    for r in v.rows:
        reasons = "\n".join(f"{w.pick(x.name)}{colon}{w.pick(x.text)}" for x in r.reasons)
        sheet.row(
            [
                r.rank,
                r.name,
                w.pick(r.cluster),
                w.pick(r.sector),
                r.year,
                r.priority,
                r.outlier,
                reasons,
            ]
        )
        ws.cell(row=ws.max_row, column=8).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.finish()


def screening_workbook(
    v: screen.ScreeningView, lang: str = "zh", now: datetime | None = None
) -> bytes:
    """The screening list ``v`` as an .xlsx file: a cover (year, cluster, rules and the checks
    in force), then one row per submission of ``v.rows`` in rank order. Give it the whole list
    (``all_screen_rows``), not one page. ``lang`` and ``now`` as for ``region_workbook``."""
    w = _Words(lang)
    wb = Workbook()
    cover = wb.active
    assert cover is not None
    _screening_cover(cover, v, w, now or datetime.now(CHINA_TIME))
    _screening_rows(wb.create_sheet(w("sheet.screening")), v, w)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def screening_filename(v: screen.ScreeningView, lang: str = "zh") -> str:
    """The name the screening's download is offered under: 待核查评估[_<cluster>]_<year>.xlsx."""
    w = _Words(lang)
    names = dict(v.clusters)
    cluster = w.pick(names[v.cluster]) if v.cluster in names else None
    return _file_name(w, "file.screening", cluster, v.year)
