"""The ``assess`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from assess.questionnaire.answers_file import read_answers
from assess.questionnaire.catalog import (
    LOCK_FILE,
    Catalog,
    NotPublished,
    Questionnaire,
    UnknownQuestionnaire,
    load_catalog,
    lock_key,
    write_lock,
)
from assess.questionnaire.schema import (
    AnalyticsFile,
    CoreFile,
    MethodologyFile,
    ModuleFile,
    MultipleChoice,
    Number,
    Percentage,
    Ratio,
    RegionFile,
    RegionGuidanceFile,
    SingleChoice,
)
from scoring import AnswerErrors, ScoreCard, score

if TYPE_CHECKING:
    from assess.store.backup import BackupError, Contents

app = typer.Typer(
    help="两化融合评估 · Integration self-assessment: questionnaires, scoring.",
    no_args_is_help=True,
    add_completion=False,
)
questionnaires_app = typer.Typer(
    help="Check, show and publish questionnaires.", no_args_is_help=True
)
app.add_typer(questionnaires_app, name="questionnaires")
db_app = typer.Typer(
    help="Database: apply migrations, show the revision, back up and restore.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
UrlOpt = Annotated[
    str | None,
    typer.Option("--url", help="Database URL (default: ASSESS_DATABASE_URL, else data/assess.db)."),
]

RootOpt = Annotated[
    Path | None,
    typer.Option("--root", help="Questionnaire library folder (default: the shipped one)."),
]
Lang = Annotated[str, typer.Option("--lang", help="zh or en")]

LINK_NAMES = {
    "rd": ("研发设计", "R&D design"),
    "production": ("生产制造", "Production"),
    "management": ("经营管理", "Management"),
    "marketing": ("营销服务", "Marketing & services"),
}
ASPECT_NAMES = {
    "infrastructure": ("基础建设", "Infrastructure"),
    "single_app": ("单项应用", "Single applications"),
    "integration": ("综合集成", "Integration"),
    "collaboration": ("协同与创新", "Collaboration & innovation"),
    "competitiveness": ("竞争力与效益", "Competitiveness & benefits"),
}


def _catalog(root: Path | None) -> Catalog:
    return load_catalog(root)


def _pick(lang: str, pair: tuple[str, str]) -> str:
    return pair[1] if lang == "en" else pair[0]


@questionnaires_app.command("check")
def check(root: RootOpt = None) -> None:
    """Validate every file, and every questionnaire version and region profile against the lock
    file; print each problem as file: path: message."""
    cat = _catalog(root)
    problems = cat.check()
    for p in problems:
        typer.echo(str(p))
    if problems:
        typer.echo(f"{len(problems)} problem(s)", err=True)
        raise typer.Exit(1)
    n = sum(len(v) for v in cat.modules.values())
    typer.echo(
        f"ok: {n} questionnaire version(s) of {len(cat.modules)} sector(s), "
        f"{len(cat.methodologies)} methodology, {len(cat.regions)} region(s) with "
        f"{len(cat.guidance)} set(s) of local notes, {len(cat.analytics)} analytics rules "
        "version(s); lock file matches"
    )


@questionnaires_app.command("lock")
def lock(root: RootOpt = None) -> None:
    """Publish: lock every valid, unlocked questionnaire version and region profile.

    Existing entries never change. A published region profile is not edited: its changed content
    is published as a new region (a new file with a new id).
    """
    cat = _catalog(root)
    blocking = [p for p in cat.check() if p.file != LOCK_FILE]
    if blocking:
        for p in blocking:
            typer.echo(str(p))
        typer.echo("nothing locked: fix the problems above first", err=True)
        raise typer.Exit(1)
    added = write_lock(cat)
    typer.echo("locked: " + ", ".join(added) if added else "nothing new to lock")
    remaining = load_catalog(root).check()
    for p in remaining:
        typer.echo(str(p))
    if remaining:
        raise typer.Exit(1)


@questionnaires_app.command("schema")
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder to write the schemas to.")
    ] = None,
) -> None:
    """Write the JSON schemas of the YAML files (core, module, methodology, region, notes)."""
    docs = json_schemas()
    if out is None:
        typer.echo(json.dumps(docs, indent=2, ensure_ascii=False))
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (out / f"{name}.schema.json").write_text(
            json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    typer.echo(f"wrote {len(docs)} schemas to {out}")


def json_schemas() -> dict[str, Any]:
    """JSON schema per file kind, generated from the pydantic models."""
    return {
        "core": CoreFile.model_json_schema(),
        "module": ModuleFile.model_json_schema(),
        "methodology": MethodologyFile.model_json_schema(),
        "region": RegionFile.model_json_schema(),
        "region_guidance": RegionGuidanceFile.model_json_schema(),
        "analytics": AnalyticsFile.model_json_schema(),
    }


def _question_outline(section: str, x: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": x.id,
        "section": section,
        "type": x.type,
        "text": x.text.model_dump(),
        "link": x.link,
        "aspect": x.aspect if x.aspect else ("single_app" if x.link else None),
        "scored": x.is_scored,
        "weight": x.weight if x.is_scored else 0,
        "required": x.required,
        "allow_na": x.allow_na,
        "key_system": isinstance(x, SingleChoice) and x.key_system is not None,
    }
    if isinstance(x, SingleChoice) and x.key_system is not None:
        item["in_use_at"] = x.key_system.in_use_at
    if isinstance(x, SingleChoice | MultipleChoice):
        item["options"] = [
            {"id": o.id, "score": o.score, "text": o.text.model_dump()}
            | ({"exclusive": True} if o.exclusive else {})
            for o in x.options
        ]
    if isinstance(x, Percentage):
        item.update(bounds={"min": 0, "max": 100}, unit="%")
    elif isinstance(x, Number):
        item.update(bounds={"min": x.min, "max": x.max}, unit=x.unit.model_dump())
    elif isinstance(x, Ratio):
        item.update(bounds={"min": 0, "max": x.max}, unit=x.unit.model_dump(), scale=x.scale)
    if isinstance(x, Percentage | Number | Ratio):
        item["curve"] = [list(p) for p in x.curve.points]
    if x.show_if:
        item["show_if"] = [c.model_dump(exclude_none=True) for c in x.show_if]
    if x.source is not None:
        item["source"] = x.source.model_dump()
    return item


def outline(q: Questionnaire) -> dict[str, Any]:
    """The composed questionnaire as one plain JSON object."""
    return {
        "id": q.id,
        "version": q.version,
        "content_hash": q.content_hash,
        "sector": q.sector.model_dump(),
        "title": q.title.model_dump(),
        "core_version": q.core_version,
        "methodology": {"id": q.methodology.id, "version": q.methodology.version},
        "questions": [_question_outline(s.id, x) for s in q.sections for x in s.questions],
    }


@questionnaires_app.command("show")
def show(
    sector: Annotated[str, typer.Argument(help="Sector id, e.g. petrochemicals")],
    version: Annotated[int | None, typer.Option("--version", help="Default: latest")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    lang: Lang = "zh",
    root: RootOpt = None,
) -> None:
    """A readable outline of a sector questionnaire, or the composed questionnaire as JSON."""
    cat = _catalog(root)
    try:
        q = cat.compose(sector, version)
    except UnknownQuestionnaire as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(outline(q), ensure_ascii=False, indent=2))
        return
    en = lang == "en"
    typer.echo(f"{q.title.en if en else q.title.zh}  [{q.id} v{q.version}]  {q.content_hash[:19]}…")
    scored = sum(1 for x in q.questions if x.is_scored)
    typer.echo(f"{len(q.questions)} questions, {scored} scored")
    for s in q.sections:
        typer.echo(f"\n== {s.title.en if en else s.title.zh} ({s.id})")
        for x in s.questions:
            flags = []
            if getattr(x, "key_system", None):
                flags.append("key system" if en else "关键系统")
            if not x.required:
                flags.append("optional" if en else "选填")
            if x.allow_na:
                flags.append("N/A allowed" if en else "可不适用")
            if not x.is_scored:
                flags.append("unscored" if en else "不计分")
            if x.show_if:
                flags.append("conditional" if en else "条件显示")
            where = x.link or x.aspect or "-"
            text = x.text.en if en else x.text.zh
            kind = getattr(x, "type", "")
            tail = f"  [{', '.join(flags)}]" if flags else ""
            typer.echo(f"  {x.id:<42} {kind:<16} {where:<16} {text}{tail}")
            if x.source is not None:
                said = f"Source: {x.source.en}" if en else f"来源：{x.source.zh}"
                typer.echo(f"      {said}")
            formula = getattr(x, "formula", None)
            if formula is not None:
                typer.echo(f"      = {_formula_text(formula)}")
            for o in getattr(x, "options", []):
                since = f"  ({'from' if en else '自'} {o.valid_from})" if o.valid_from else ""
                text = o.text.en if en else o.text.zh
                typer.echo(f"      {o.id:<14} {o.score:>5.2f}  {text}{since}")


def _formula_text(f: Any) -> str:
    """A derived value's formula as a line of text, e.g. a ÷ (b + a) × 100."""
    parts = [x if isinstance(x, str) else f"({_formula_text(x)})" for x in f.operands]
    if f.op == "ratio":
        scale = f" × {f.scale:g}" if f.scale != 1 else ""
        return f"{parts[0]} ÷ {parts[1]}{scale}"
    if f.op == "sum":
        return " + ".join(parts)
    return f"{f.op}({', '.join(parts)})"


def _format_card(card: ScoreCard, lang: str) -> str:
    en = lang == "en"
    out = []
    out.append(f"{card.questionnaire} v{card.version}")
    out.append(f"{'Overall level' if en else '发展水平'}: {card.overall:6.2f}")
    out.append(
        f"{'Stage' if en else '发展阶段'}: {card.stage_name['en' if en else 'zh']} ({card.stage})"
    )
    out.append("")
    for k, v in card.links.items():
        out.append(f"  {_pick(lang, LINK_NAMES[k]):<22} {'—' if v is None else f'{v:6.2f}'}")
    out.append("")
    for k, v in card.aspects.items():
        out.append(f"  {_pick(lang, ASPECT_NAMES[k]):<22} {'—' if v is None else f'{v:6.2f}'}")
    out.append("")
    applied = ", ".join(_pick(lang, LINK_NAMES[k]) for k in card.it_links) or "—"
    adopter = ("yes" if card.it_adopter else "no") if en else ("是" if card.it_adopter else "否")
    out.append(f"{'IT applied in' if en else '信息技术应用环节'}: {applied}")
    out.append(
        f"{'IT adopter' if en else '信息技术应用企业'} (≥{card.adoption_min_links}/4): {adopter}"
    )
    if card.missing_required:
        out.append("")
        out.append(
            ("Missing required answers" if en else "缺少必答题")
            + f" ({len(card.missing_required)}):"
        )
        out.extend(f"  {qid}" for qid in card.missing_required)
    if card.flags:
        out.append("")
        out.append(
            ("Answers that do not agree" if en else "相互矛盾的答案") + f" ({len(card.flags)}):"
        )
        for fl in card.flags:
            out.append(f"  {fl.check}: {fl.en if en else fl.zh}")
    if card.exemptions:
        out.append("")
        out.append("N/A and exemptions (need a reason)" if en else "不适用与豁免答案（需说明理由）")
        for e in card.exemptions:
            left = ", ".join(e.leaves_out)
            out.append(f"  {e.question} = {json.dumps(e.answer, ensure_ascii=False)} → {left}")
        if card.exemption_effect is not None:
            now, counted = card.exemption_effect.overall
            said = "counted at 0, the overall level would be" if en else "若按 0 分计入，总体水平为"
            out.append(f"  {said} {counted:.2f} ({'now' if en else '当前'} {now:.2f})")
    if card.roadmap:
        out.append("")
        out.append("Roadmap (largest gains)" if en else "改进路线（按提升分值排序）")
        for r in card.roadmap:
            mark = (" → " + r.stage_after) if r.lifts_stage else ""
            out.append(
                f"  +{r.gain:5.2f}  {r.question:<40} {json.dumps(r.current, ensure_ascii=False)} → "
                f"{json.dumps(r.to, ensure_ascii=False)}  {r.text_en if en else r.text_zh}{mark}"
            )
    if card.next_stage:
        out.append("")
        out.append(
            ("To reach " if en else "进入下一阶段 ")
            + card.next_stage.stage
            + (":" if en else "还需：")
        )
        for need in card.next_stage.needs:
            actual = "—" if need.actual is None else f"{need.actual:.2f}"
            out.append(
                f"  {need.metric} {need.op} {need.value:g} ({'now' if en else '当前'} {actual})"
            )
    return "\n".join(out)


@app.command("score")
def score_cmd(
    answers: Annotated[Path, typer.Argument(help="Answers JSON file")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    draft: Annotated[
        bool,
        typer.Option(
            "--draft",
            help="Also score a questionnaire version that is not in lock.json yet (a draft). "
            "A version whose files changed after it was locked is refused all the same.",
        ),
    ] = False,
    lang: Lang = "zh",
    root: RootOpt = None,
) -> None:
    """Score an answers file; every problem is reported at once and nothing is scored.

    A version that no longer matches lock.json is refused; one not in it yet needs --draft.

    Exit status: 0 scored, 1 problems in the answers file, 2 questionnaire version refused.
    """
    cat = _catalog(root)
    try:
        spec, raw = read_answers(answers, cat, draft=draft)
        card = score(spec, raw)
    except NotPublished as exc:
        zh, en = exc.zh, exc.en
        if exc.locked is None:
            zh += "；或加 --draft 按草稿试算"
            en += ", or score it as a draft with --draft"
        if as_json:
            problem = {"question": "(questionnaire)", "code": exc.code, "zh": zh, "en": en}
            typer.echo(json.dumps({"errors": [problem]}, ensure_ascii=False))
        else:
            typer.echo(f"{answers}: 未评分 / nothing scored\n  {zh}\n  {en}", err=True)
        raise typer.Exit(2) from None
    except AnswerErrors as exc:
        if as_json:
            typer.echo(
                json.dumps({"errors": [e.as_dict() for e in exc.errors]}, ensure_ascii=False)
            )
        else:
            typer.echo(
                f"{answers}: {len(exc.errors)} 个问题 / problem(s), nothing scored", err=True
            )
            for e in exc.errors:
                typer.echo(f"  {e.question}: {e.zh} / {e.en}", err=True)
        raise typer.Exit(1) from None
    if cat.lock.get(lock_key(spec.questionnaire, spec.version)) is None:
        typer.echo(
            f"草稿：{spec.questionnaire} 第 {spec.version} 版尚未发布，分数可能会变"
            f" / draft: {spec.questionnaire} v{spec.version} is not published;"
            " its scores may change",
            err=True,
        )
    if as_json:
        typer.echo(card.model_dump_json())
    else:
        typer.echo(_format_card(card, lang))


def _url(url: str | None) -> str:
    from assess.settings import Settings

    try:
        return url or Settings().url
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade(url: UrlOpt = None) -> None:
    """Apply every migration not yet applied (safe to run again)."""
    from assess import migrate
    from assess.store import db

    target = _url(url)
    filled = migrate.upgrade(target)
    if filled:
        typer.echo(f"{filled} stored score(s) given their analytics columns")
    engine = db.make_engine(target)
    typer.echo(f"database at revision {db.current_revision(engine)}: {engine.url!r}")
    engine.dispose()


@db_app.command("current")
def db_current(url: UrlOpt = None) -> None:
    """Print the migration the database is at ("none" for an empty database)."""
    from assess.store import db

    engine = db.make_engine(_url(url))
    typer.echo(db.current_revision(engine) or "none")
    engine.dispose()


Force = Annotated[bool, typer.Option("--force", help="Overwrite an existing FILE.")]


def _report(contents: Contents, *, restored: bool) -> None:
    """What a backup file holds or a restore put back: revision, tables, rows, checks."""
    head = "最新 / newest" if contents.head else "需要 assess db upgrade / run assess db upgrade"
    typer.echo(f"迁移版本 / migration revision: {contents.revision} ({head})")
    rows = ", ".join(f"{t} {n}" for t, n in contents.rows.items())
    typer.echo(f"表 / tables: {contents.tables}; 行数 / rows: {rows}")
    if contents.checks:
        typer.echo(f"检查通过 / checks passed: {', '.join(contents.checks)}")
    if restored and not contents.head:
        typer.echo("先运行 assess db upgrade 再启动应用 / run assess db upgrade before serving")


def _backup_error(exc: BackupError) -> NoReturn:
    typer.echo(f"{exc.zh}\n{exc.en}", err=True)
    raise typer.Exit(exc.exit_code)


@db_app.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(help="The backup file to write.")],
    force: Force = False,
    url: UrlOpt = None,
) -> None:
    """Back up the running database to FILE (SQLite: online backup API; PostgreSQL: pg_dump).

    FILE appears only once the backup is complete. Saves go on while it runs.
    """
    from assess.store import backup

    target = _url(url)
    try:
        contents = backup.backup(target, file, force=force)
    except backup.BackupError as exc:
        _backup_error(exc)
    size = contents.size / 1e6
    typer.echo(f"已备份 / backed up: {_shown(target)} → {file} ({size:.1f} MB, {contents.kind})")
    _report(contents, restored=False)
    # The evidence files after the database: every file the backup names is then there.
    from assess.settings import Settings

    _copy_evidence(Settings().evidence_root, evidence_beside(file), restored=False)


def evidence_beside(file: Path) -> Path:
    """The folder beside a backup FILE that holds its evidence files (FILE.evidence)."""
    return file.with_name(file.name + ".evidence")


def _copy_evidence(source: Path, target: Path, *, restored: bool) -> None:
    from assess.certification.evidence import copy_store

    done = copy_store(source, target)
    what = "恢复 / restored" if restored else "备份 / backed up"
    typer.echo(
        f"证明材料 / evidence files {what}: {source} → {target}: {done.copied} 个新文件 / new "
        f"({done.size / 1e6:.1f} MB), {done.present} 个已有 / already there"
    )
    if done.damaged:
        typer.echo(
            f"{len(done.damaged)} 个文件内容与其哈希不符，未复制 / {len(done.damaged)} file(s) do "
            f"not match their hash and were not copied: {', '.join(done.damaged[:5])}",
            err=True,
        )
        raise typer.Exit(1)


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="A file written by assess db backup.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace the data of a database that is not empty.")
    ] = False,
    url: UrlOpt = None,
) -> None:
    """Restore FILE into the database (stop the application first), then check it.

    A database that holds data is replaced only with --force.
    """
    from assess.store import backup

    target = _url(url)
    try:
        contents = backup.restore(target, file, force=force)
    except backup.BackupError as exc:
        _backup_error(exc)
    typer.echo(f"已恢复 / restored: {file} → {_shown(target)} ({contents.kind})")
    _report(contents, restored=True)
    from assess.settings import Settings

    folder = evidence_beside(file)
    if folder.is_dir():
        _copy_evidence(folder, Settings().evidence_root, restored=True)
    else:
        typer.echo(
            f"备份旁没有证明材料文件夹 {folder}；如有证明材料请另行恢复 / no evidence folder "
            f"{folder} beside the backup: restore the evidence files separately if there are any"
        )


def _shown(url: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(url).render_as_string(hide_password=True)


users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Sign-in name (letters, digits, . _ -)")],
    role: Annotated[
        str, typer.Option("--role", help="enterprise | certifier | cluster_manager | admin")
    ],
    enterprise_id: Annotated[int | None, typer.Option("--enterprise-id")] = None,
    cert_body_id: Annotated[int | None, typer.Option("--cert-body-id")] = None,
    cluster_id: Annotated[list[int] | None, typer.Option("--cluster-id", help="Repeatable")] = None,
    display_name: Annotated[str, typer.Option("--name")] = "",
    url: UrlOpt = None,
) -> None:
    """Create a user; the password is asked for twice (or read from ASSESS_NEW_PASSWORD)."""
    import os

    from assess.accounts import users as accounts
    from assess.store import db

    password = os.environ.get("ASSESS_NEW_PASSWORD") or typer.prompt(
        "密码 / password", hide_input=True, confirmation_prompt=True
    )
    engine = db.make_engine(_url(url))
    try:
        with db.session(engine) as s:
            user = accounts.create_user(
                s,
                username=username,
                password=password,
                role=role,
                display_name=display_name,
                enterprise_id=enterprise_id,
                cert_body_id=cert_body_id,
                cluster_ids=tuple(cluster_id or ()),
            )
            typer.echo(f"created user {user.username} ({user.role}), id {user.id}")
    except accounts.AccountError as exc:
        for p in exc.problems:
            typer.echo(f"  {p.code}: {p.zh} / {p.en}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


region_app = typer.Typer(help="Region profiles: clusters, parks and targets.", no_args_is_help=True)
app.add_typer(region_app, name="region")


@region_app.command("load")
def region_load(
    region_id: Annotated[
        str, typer.Argument(help="A region profile id (see questionnaires/regions/)")
    ],
    url: UrlOpt = None,
) -> None:
    """Load a region profile into the database: its clusters, parks and targets (safe to repeat;
    clusters and parks are matched by code, so enterprises keep theirs)."""
    from assess.questionnaire.compile import shipped_catalog
    from assess.questionnaire.region import load_region
    from assess.store import db

    region = shipped_catalog().regions.get(region_id)
    if region is None:
        known = ", ".join(sorted(shipped_catalog().regions)) or "none"
        typer.echo(f"没有这个地区 / no such region: {region_id} (known: {known})", err=True)
        raise typer.Exit(2)
    engine = db.make_engine(_url(url))
    try:
        with db.session(engine) as s:
            load_region(s, region)
        t = region.targets
        typer.echo(
            f"loaded {region.id}: {len(region.clusters)} clusters, {len(region.parks)} parks; "
            f"IT adoption {t.adoption_baseline.rate:.0%} ({t.adoption_baseline.year}) → "
            f"{t.adoption_goal.rate:.0%} ({t.adoption_goal.year})"
        )
    finally:
        engine.dispose()


audit_app = typer.Typer(
    help="The audit trail: check its hash chain, export it.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(url: UrlOpt = None) -> None:
    """Check the whole hash chain of the audit trail, oldest event first.

    Exit status: 0 when it is whole, 1 naming the first broken event.
    """
    from assess.store import audit, db

    engine = db.make_engine(_url(url))
    try:
        with db.session(db.reading(engine)) as s:  # a read: writers go on meanwhile
            verdict = audit.verify(s)
    finally:
        engine.dispose()
    if not verdict.ok:
        typer.echo(
            f"审计日志已被篡改：{verdict.problem_zh}\n"
            f"the audit trail was tampered with: {verdict.problem_en}",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(
        f"审计日志完整：共 {verdict.rows} 条，哈希链无断裂 / "
        f"the audit trail is whole: {verdict.rows} events, no broken link"
    )


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option("--out", help="The .xlsx file to write.")],
    action: Annotated[str, typer.Option("--action", help="Only actions starting so.")] = "",
    actor: Annotated[str, typer.Option("--actor", help="Only this username (- : system).")] = "",
    subject_type: Annotated[str, typer.Option("--subject-type")] = "",
    subject_id: Annotated[str, typer.Option("--subject-id")] = "",
    since: Annotated[str, typer.Option("--since", help="First day, YYYY-MM-DD (China).")] = "",
    until: Annotated[str, typer.Option("--until", help="Last day, YYYY-MM-DD (China).")] = "",
    lang: Lang = "zh",
    force: Force = False,
    url: UrlOpt = None,
) -> None:
    """Write the audit trail (every event, or those the options select) to an Excel file,
    oldest first, with full hashes, for auditors."""
    from assess.accounts import trail
    from assess.errors import Invalid
    from assess.store import db

    if out.exists() and not force:
        typer.echo(f"文件已存在 / file exists: {out} (--force to overwrite)", err=True)
        raise typer.Exit(2)
    params = {
        "action": action,
        "actor": actor,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "since": since,
        "until": until,
    }
    try:
        chosen = trail.read_filter(params)
    except Invalid as exc:
        for p in exc.problems:
            typer.echo(f"  {p.code}: {p.zh} / {p.en}", err=True)
        raise typer.Exit(2) from None
    engine = db.make_engine(_url(url))
    try:
        with db.session(db.reading(engine)) as s:  # one snapshot, and writers go on meanwhile
            body = trail.trail_workbook(s, chosen, lang)
            rows = trail.count_events(s, chosen)
    finally:
        engine.dispose()
    part = out.with_name(out.name + ".part")
    part.write_bytes(body)
    part.replace(out)
    typer.echo(f"已导出 / exported: {rows} 条记录 / events → {out}")


def main() -> None:
    """Entry point of the ``assess`` command."""
    try:
        app()
    except BrokenPipeError:  # output piped into head and closed early
        sys.stderr.close()


if __name__ == "__main__":
    main()
