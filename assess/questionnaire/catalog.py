"""Load, validate and compose the questionnaire library under ``questionnaires/``.

Layout (all YAML, one version per file)::

    core/v<N>.yaml                 the shared core
    modules/<sector>/v<N>.yaml     one module per sector, pinning core and methodology versions;
                                   the folders are the sectors: a new sector is a new folder
    methodology/v<N>.yaml          weights, stage rules, adoption rule, national indicators
    regions/<id>.yaml              region profiles
    regions/<id>/v<N>.yaml         a region's local notes on questionnaire version N
    lock.json                      content hashes of every published questionnaire and region

A sector questionnaire is the composition core + module + methodology; its content hash covers
all three, so a published (locked) version can never change without the check noticing.

A region profile has no version of its own: its id is what enterprises and the database refer to,
so the lock pins the id to one content hash. A changed profile is published under a new id (a new
file), and the check reports an edited one, never accepting it silently. A region's local notes
(platforms and brands its firms know by name) name question ids, so they follow the questionnaire
version: one file per version, locked as ``<id>@<N>`` when that version is published.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from assess.questionnaire.schema import (
    DEFAULT_WEIGHTS,
    QUESTION_TYPES,
    AnalyticsFile,
    Check,
    CoreFile,
    I18n,
    MethodologyFile,
    ModuleFile,
    QuestionBase,
    RegionFile,
    RegionGuidanceFile,
    Replacement,
    Section,
    SectorInfo,
    check_questions,
    iter_questions,
)
from scoring.spec import LINKS, NON_LINK_ASPECTS

LOCK_FILE = "lock.json"
LOCK_NOTE = (
    "Content hashes of published questionnaires and region profiles. Entries are never edited."
)
VERSION_FILE_RE = re.compile(r"^v(\d+)\.yaml$")


def default_root() -> Path:
    """The questionnaires directory shipped with the package."""
    return Path(str(resources.files("questionnaires")))


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one file, reported as ``file: path: message``."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '(file)'}: {self.message}"


class CatalogError(Exception):
    """The library has problems; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class UnknownQuestionnaire(LookupError):
    """No such sector, or no such version of it."""

    def __init__(self, sector: str, version: int | None, known: dict[str, list[int]]):
        self.sector, self.version, self.known = sector, version, known
        if sector not in known:
            msg = f"unknown questionnaire {sector!r}; known: {', '.join(sorted(known))}"
        else:
            msg = f"questionnaire {sector!r} has no version {version}; known: {known[sector]}"
        super().__init__(msg)


def lock_key(sector: str, version: int) -> str:
    """The lock file's key of a questionnaire version, ``sector@version``."""
    return f"{sector}@{version}"


class NotPublished(Exception):
    """A questionnaire version the lock does not vouch for: changed since it was locked
    (``locked`` is its published hash), or never locked (``locked`` is None)."""

    def __init__(self, sector: str, version: int, locked: str | None, actual: str) -> None:
        self.sector, self.version, self.locked, self.actual = sector, version, locked, actual
        super().__init__(self.en)

    @property
    def code(self) -> str:
        """``unpublished`` or ``lock_mismatch``."""
        return "unpublished" if self.locked is None else "lock_mismatch"

    @property
    def zh(self) -> str:
        """The refusal in Chinese."""
        which = f"问卷 {self.sector} 第 {self.version} 版"
        if self.locked is None:
            return f"{which}尚未发布（{LOCK_FILE} 中没有它）：先运行 assess questionnaires lock"
        return (
            f"{which}的文件与 {LOCK_FILE} 不符（发布时 {self.locked[:19]}…，现为 "
            f"{self.actual[:19]}…）：已发布的版本不可修改，请恢复原文件，改动放入新版本"
        )

    @property
    def en(self) -> str:
        """The refusal in English."""
        which = f"questionnaire {self.sector} v{self.version}"
        if self.locked is None:
            return (
                f"{which} is not published (not in {LOCK_FILE}):"
                " run `assess questionnaires lock` first"
            )
        return (
            f"{which} no longer matches {LOCK_FILE} (published {self.locked[:19]}…, now "
            f"{self.actual[:19]}…): a published version is immutable; restore its files and put "
            "the change in a new version"
        )


class Questionnaire(BaseModel):
    """A composed sector questionnaire: core sections, then module sections, plus methodology."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    version: int
    sector: SectorInfo
    title: I18n
    core_version: int
    methodology: MethodologyFile
    sections: list[Section]
    content_hash: str
    # A draft is not offered to new assessments and need not be locked (any of its files says so).
    draft: bool = False
    # Core questions this sector leaves out, asked in its module's own way instead.
    replaced: list[Replacement] = []
    checks: list[Check] = []

    @model_validator(mode="after")
    def _whole(self) -> Questionnaire:
        check_questions(self.sections)
        problems = composition_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @cached_property
    def questions(self) -> list[QuestionBase]:
        return iter_questions(self.sections)

    @cached_property
    def by_id(self) -> dict[str, QuestionBase]:
        return {q.id: q for q in self.questions}

    @cached_property
    def numbers(self) -> dict[str, str]:
        """Each question's human number, ``section.question`` counted from 1 in the order shown
        (as the national questionnaires number them); the id stays for support and files."""
        return {
            q.id: f"{s}.{n}"
            for s, section in enumerate(self.sections, start=1)
            for n, q in enumerate(section.questions, start=1)
        }

    @cached_property
    def section_numbers(self) -> dict[str, int]:
        """Each section's number, counted from 1 in the order shown."""
        return {section.id: s for s, section in enumerate(self.sections, start=1)}

    def stands_for(self, question: str) -> str | None:
        """The question asked for ``question`` in this sector: itself, the module question that
        replaces it, or None when the sector leaves it out without a single stand-in."""
        if question in self.by_id:
            return question
        for r in self.replaced:
            if r.core == question:
                return r.by
        return None


def composition_problems(q: Questionnaire) -> list[str]:
    """Rules that only hold for a whole composed questionnaire."""
    out: list[str] = []
    questions = iter_questions(q.sections)
    for link in LINKS:
        if not any(getattr(x, "key_system", None) and x.link == link for x in questions):
            out.append(f"link {link} has no key-system question")
    for group in (*LINKS, *NON_LINK_ASPECTS):
        if not any(
            x.is_scored and x.group == group and not x.allow_na and not x.show_if for x in questions
        ):
            out.append(f"{group} needs a scored question that is always asked and never N/A")
    by_id = {x.id: x for x in questions}
    out.extend(_v2_problems(q, by_id))
    replaced = {r.core for r in q.replaced}
    for ind in q.methodology.national_indicators:
        asked = q.stands_for(ind.question)
        if asked is None and ind.question in replaced:
            continue  # the sector asks it in several module questions: not comparable
        src = by_id.get(asked or ind.question)
        if src is None:
            out.append(f"national indicator {ind.id} reads {ind.question!r}, which is not asked")
            continue
        kind = getattr(src, "type", "")
        wanted = {
            "share_at_least": ("single_choice",),
            "share_yes": ("yes_no",),
            "share_includes": ("multiple_choice",),
            "share_all": ("multiple_choice",),
            "mean": ("percentage", "number", "ratio", "derived"),
        }[ind.measure]
        if kind not in wanted:
            out.append(f"national indicator {ind.id}: {ind.measure} cannot read a {kind} question")
        elif ind.threshold and ind.threshold not in {o.id for o in getattr(src, "options", [])}:
            out.append(f"national indicator {ind.id}: {src.id} has no option {ind.threshold!r}")
        elif ind.all_of and not set(ind.all_of) <= {o.id for o in getattr(src, "options", [])}:
            out.append(f"national indicator {ind.id}: {src.id} lacks some of {ind.all_of}")
    return out


def _v2_problems(q: Questionnaire, by_id: dict[str, QuestionBase]) -> list[str]:
    """Rules on what version 2 added: link applicability, checks, replaced core questions."""
    from assess.questionnaire.schema import _check_condition  # one definition of a valid clause

    out: list[str] = []
    for link in q.methodology.links:
        for c in link.applies_if:
            ref = by_id.get(c.question)
            if ref is None:
                out.append(f"link {link.id} applies_if reads {c.question!r}, which is not asked")
            elif ref.is_scored or ref.show_if:
                out.append(
                    f"link {link.id} applies_if reads {c.question}: it must be an unscored"
                    " context question that is always asked"
                )
            else:
                out.extend(_check_condition(ref, c, by_id, gate=False))
    ids = [c.id for c in q.checks]
    out.extend(
        f"check id {i!r} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})
    )
    for check in q.checks:
        owner = SimpleNamespace(id=f"check {check.id}", is_scored=False)
        for c in (*check.when, *check.expect):
            if c.question not in by_id:
                out.append(f"check {check.id} reads {c.question!r}, which is not asked")
                continue
            out.extend(_check_condition(owner, c, by_id, gate=False))  # type: ignore[arg-type]
        if check.confirms_key:
            key = by_id.get(check.when[0].question)
            if key is None or getattr(key, "key_system", None) is None:
                out.append(
                    f"check {check.id}: confirms_key needs its first 'when' clause on a"
                    " key-system question"
                )
    for ind in q.methodology.national_indicators:
        for c in ind.firms:
            ref = by_id.get(c.question)
            if ref is None:
                out.append(f"national indicator {ind.id}: firms reads {c.question!r}, not asked")
            elif ref.is_scored:
                out.append(
                    f"national indicator {ind.id}: firms reads {c.question}, a scored answer"
                )
            else:
                owner = SimpleNamespace(id=f"national indicator {ind.id}", is_scored=False)
                out.extend(_check_condition(owner, c, by_id, gate=False))  # type: ignore[arg-type]
    for r in q.replaced:
        if r.by is not None and r.by not in by_id:
            out.append(f"replaces_core {r.core}: 'by' names {r.by!r}, which is not asked")
    return out


def content_hash(core: Any, module: Any, methodology: Any) -> str:
    """sha256 over the canonical JSON of the parsed core, module and methodology files.

    Hashing what the files say (not a model dump) keeps published hashes independent of the
    schema code: comments and layout may change, content may not.
    """
    return _digest({"core": core, "module": module, "methodology": methodology})


def region_hash(profile: Any) -> str:
    """sha256 over the canonical JSON of a parsed region profile file (as for questionnaires)."""
    return _digest(profile)


def _digest(data: Any) -> str:
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader that refuses duplicate mapping keys instead of keeping the last."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> Any:
    """Parse one YAML file, rejecting duplicate keys."""
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_UniqueKeyLoader)


def _loc_path(raw: Any, loc: tuple[Any, ...]) -> str:
    """Turn a pydantic error location into a path that names list items by their id."""
    parts: list[str] = []
    node = raw
    for item in loc:
        if isinstance(item, int) and isinstance(node, list):
            child = node[item] if item < len(node) else None
            ident = child.get("id") if isinstance(child, dict) else None
            label = f"[{ident}]" if ident else f"[{item}]"
            if parts:
                parts[-1] += label
            else:
                parts.append(label)
            node = child
        elif isinstance(node, dict) and item in node:
            parts.append(str(item))
            node = node[item]
        elif isinstance(item, str) and item in QUESTION_TYPES:
            continue  # discriminator tag: the raw item already names its type
        else:
            parts.append(str(item))
            node = None
    return ".".join(p for p in parts if p)


def _validate(model: type[BaseModel], raw: Any, file: str, problems: list[Problem]) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(Problem(file, _loc_path(raw, tuple(err["loc"])), msg))
    return None


@dataclass
class Catalog:
    """Every file of the library, validated, with the lock file."""

    root: Path
    cores: dict[int, CoreFile] = field(default_factory=dict)
    modules: dict[str, dict[int, ModuleFile]] = field(default_factory=dict)
    methodologies: dict[int, MethodologyFile] = field(default_factory=dict)
    regions: dict[str, RegionFile] = field(default_factory=dict)
    guidance: dict[tuple[str, int], RegionGuidanceFile] = field(default_factory=dict)
    analytics: dict[int, AnalyticsFile] = field(default_factory=dict)
    lock: dict[str, str] = field(default_factory=dict)
    region_lock: dict[str, str] = field(default_factory=dict)
    analytics_lock: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    raw: dict[tuple[str, str, int], Any] = field(default_factory=dict, repr=False)
    unreadable: set[str] = field(default_factory=set)

    def versions(self, *, drafts: bool = False) -> dict[str, list[int]]:
        """Sector id → sorted versions, drafts left out unless asked for."""
        return {
            s: sorted(v for v in versions if drafts or not self._is_draft(s, v))
            for s, versions in sorted(self.modules.items())
        }

    def _is_draft(self, sector: str, version: int) -> bool:
        module = self.modules[sector][version]
        core = self.cores.get(module.core_version)
        meth = self.methodologies.get(module.methodology_version)
        return module.draft or bool(core and core.draft) or bool(meth and meth.draft)

    @property
    def sectors(self) -> tuple[str, ...]:
        """The sector ids, sorted: one per module folder with a valid module file."""
        return tuple(sorted(self.modules))

    def compose(self, sector: str, version: int | None = None) -> Questionnaire:
        """The composed questionnaire for a sector; the latest version when none is given."""
        known = self.versions(drafts=version is not None)
        if sector not in known or (version is None and not known[sector]):
            raise UnknownQuestionnaire(sector, version, known)
        if version is None:
            version = known[sector][-1]  # the latest that is not a draft
        module = self.modules[sector].get(version)
        if module is None:
            raise UnknownQuestionnaire(sector, version, known)
        return self._compose(module)

    def require_published(self, q: Questionnaire, *, draft: bool = False) -> None:
        """Raise NotPublished unless ``q`` is exactly its locked content; ``draft`` lets a version
        that was never locked through, never one whose files changed after it was locked."""
        locked = self.lock.get(lock_key(q.id, q.version))
        if locked == q.content_hash or (locked is None and draft):
            return
        raise NotPublished(q.id, q.version, locked, q.content_hash)

    def _compose(self, module: ModuleFile) -> Questionnaire:
        core = self.cores.get(module.core_version)
        if core is None:
            raise LookupError(self._absent("core", module.core_version))
        methodology = self.methodologies.get(module.methodology_version)
        if methodology is None:
            raise LookupError(self._absent("methodology", module.methodology_version))
        digest = content_hash(
            self.raw.get(("core", "core", core.version)),
            self.raw.get(("module", module.sector.id, module.version)),
            self.raw.get(("methodology", "methodology", methodology.version)),
        )
        return Questionnaire(
            id=module.sector.id,
            version=module.version,
            sector=module.sector,
            title=module.title,
            core_version=core.version,
            methodology=methodology,
            sections=[*_without(core.sections, module.replaces_core), *module.sections],
            content_hash=digest,
            draft=core.draft or module.draft or methodology.draft,
            replaced=module.replaces_core,
            checks=[*core.checks, *module.checks],
        )

    def _absent(self, kind: str, version: int) -> str:
        if f"{kind}@{version}" in self.unreadable:
            return f"{kind} v{version} has problems of its own (listed above)"
        return f"{kind} version {version} does not exist"

    def check(self) -> list[Problem]:
        """Every problem: file validation, composition and the lock file."""
        problems = list(self.problems)
        composed: dict[str, str] = {}
        failed: set[str] = set()
        drafts: set[str] = set()
        asked: dict[int, dict[str, set[str]]] = {}  # version → question → option ids
        for sector, versions in self.modules.items():
            for version, module in versions.items():
                file = f"modules/{sector}/v{version}.yaml"
                try:
                    q = self._compose(module)
                except (LookupError, ValidationError, ValueError) as exc:
                    for msg in _messages(exc):
                        problems.append(Problem(file, "(composed)", msg))
                    failed.add(lock_key(sector, version))
                    continue
                composed[lock_key(sector, version)] = q.content_hash
                if q.draft:
                    drafts.add(lock_key(sector, version))
                for x in q.questions:
                    asked.setdefault(version, {})[x.id] = {o.id for o in getattr(x, "options", ())}
        for key, digest in sorted(composed.items()):
            locked = self.lock.get(key)
            if locked is None and key in drafts:
                continue  # a draft is published by removing its draft mark, then locking
            if locked is None:
                problems.append(
                    Problem(
                        LOCK_FILE,
                        key,
                        "not locked: publish it with `assess questionnaires lock`",
                    )
                )
            elif locked != digest:
                problems.append(
                    Problem(
                        LOCK_FILE,
                        key,
                        f"published content changed (locked {locked[:19]}…, now {digest[:19]}…);"
                        " a published version is immutable: add a new version instead",
                    )
                )
        for key in sorted(set(self.lock) - set(composed)):
            if key in self.unreadable or key in failed:
                continue  # its own problems are listed above
            problems.append(Problem(LOCK_FILE, key, "locked version has no file any more"))
        problems.extend(self._guidance_problems(asked))
        problems.extend(self._region_lock_problems())
        problems.extend(self._analytics_lock_problems())
        return problems

    def _analytics_lock_problems(self) -> list[Problem]:
        problems = []
        current = self.analytics_hashes()
        for key, digest in sorted(current.items()):
            locked = self.analytics_lock.get(key)
            if locked is None:
                msg = "analytics rules not locked: publish them with `assess questionnaires lock`"
            elif locked != digest:
                msg = (
                    f"published analytics rules changed (locked {locked[:19]}…, now"
                    f" {digest[:19]}…); published rules are immutable: restore them, and put the"
                    " change in a new version"
                )
            else:
                continue
            problems.append(Problem(LOCK_FILE, f"analytics.{key}", msg))
        drafts = {f"analytics@{v}" for v, a in self.analytics.items() if a.draft}
        for key in sorted(set(self.analytics_lock) - set(current)):
            if key in self.unreadable:
                continue
            msg = (
                "locked analytics rules marked as a draft again: remove the draft mark"
                if key in drafts
                else "locked analytics rules have no file any more"
            )
            problems.append(Problem(LOCK_FILE, f"analytics.{key}", msg))
        return problems

    def analytics_hashes(self) -> dict[str, str]:
        """``analytics@N`` → content hash, for every analytics rules file that is not a draft."""
        return {
            f"analytics@{v}": region_hash(self.raw[("analytics", "analytics", v)])
            for v, a in sorted(self.analytics.items())
            if not a.draft and ("analytics", "analytics", v) in self.raw
        }

    def analytics_rules(self) -> AnalyticsFile:
        """The rules the analytics apply: the latest published version; while none is published
        yet, the latest draft (its ``draft`` mark lets pages say so)."""
        if not self.analytics:
            raise LookupError("no analytics rules: add questionnaires/analytics/v1.yaml")
        published = [v for v, a in self.analytics.items() if not a.draft]
        return self.analytics[max(published or self.analytics)]

    def _guidance_problems(self, asked: dict[int, dict[str, set[str]]]) -> list[Problem]:
        """A region's notes must belong to a known region and name questions (and options) that
        some sector's questionnaire of that version asks."""
        problems = []
        for (rid, v), g in sorted(self.guidance.items()):
            file = f"regions/{rid}/v{v}.yaml"
            if rid not in self.regions and f"regions/{rid}" not in self.unreadable:
                problems.append(Problem(file, "region", f"no region profile regions/{rid}.yaml"))
            if g.version != v:
                problems.append(Problem(file, "version", f"file is v{v}, says {g.version}"))
                continue
            questions = asked.get(v, {})
            for i, n in enumerate(g.notes):
                if n.question not in questions:
                    msg = f"no questionnaire of version {v} asks {n.question!r}"
                    problems.append(Problem(file, f"notes[{i}].question", msg))
                elif n.option is not None and n.option not in questions[n.question]:
                    msg = f"{n.question} has no option {n.option!r}"
                    problems.append(Problem(file, f"notes[{i}].option", msg))
        return problems

    def _region_lock_problems(self) -> list[Problem]:
        problems = []
        current = self.region_hashes()
        for rid, digest in sorted(current.items()):
            locked = self.region_lock.get(rid)
            what = "region notes" if "@" in rid else "region profile"
            if locked is None:
                msg = f"{what} not locked: publish it with `assess questionnaires lock`"
            elif locked != digest and "@" in rid:
                msg = (
                    f"published region notes changed (locked {locked[:19]}…, now {digest[:19]}…);"
                    " published notes are immutable: restore them, and put the change in the"
                    " notes of the next questionnaire version"
                )
            elif locked != digest:
                msg = (
                    f"published region profile changed (locked {locked[:19]}…, now {digest[:19]}…);"
                    " a published profile is immutable: restore it, and publish the change as a"
                    " new region (a new file with a new id)"
                )
            else:
                continue
            problems.append(Problem(LOCK_FILE, f"regions.{rid}", msg))
        drafts = {f"{rid}@{v}" for (rid, v), g in self.guidance.items() if g.draft}
        for rid in sorted(set(self.region_lock) - set(current)):
            if f"regions/{rid}" in self.unreadable:
                continue  # its own problems are listed above
            what = "region notes" if "@" in rid else "region profile"
            if rid in drafts:
                msg = f"locked {what} marked as a draft again: remove the draft mark"
            else:
                msg = (
                    f"locked {what} have no file any more"
                    if "@" in rid
                    else ("locked region profile has no file any more")
                )
            problems.append(Problem(LOCK_FILE, f"regions.{rid}", msg))
        return problems

    def hashes(self) -> dict[str, str]:
        """sector@version → content hash, for every composable version that is not a draft."""
        out = {}
        for sector, versions in self.versions().items():
            for version in versions:
                out[lock_key(sector, version)] = self.compose(sector, version).content_hash
        return out

    def region_hashes(self) -> dict[str, str]:
        """Region id → content hash of its profile file, for every valid profile; and
        ``<id>@<N>`` → hash of its notes on questionnaire version N, unless they are a draft."""
        out = {
            rid: region_hash(self.raw[("region", rid, 0)])
            for rid in self.regions
            if ("region", rid, 0) in self.raw
        }
        for (rid, v), g in sorted(self.guidance.items()):
            if not g.draft and ("guidance", rid, v) in self.raw:
                out[f"{rid}@{v}"] = region_hash(self.raw[("guidance", rid, v)])
        return out

    def region_notes(self, region: str, version: int) -> dict[tuple[str, str | None], I18n]:
        """(question, option or None) → the region's note on it in questionnaire version N."""
        g = self.guidance.get((region, version))
        if g is None:
            return {}
        return {(n.question, n.option): n.text for n in g.notes}


def _without(sections: list[Section], replaced: list[Replacement]) -> list[Section]:
    """The core sections without the questions a module replaces (refused for key systems)."""
    if not replaced:
        return sections
    gone = {r.core for r in replaced}
    known = {q.id for s in sections for q in s.questions}
    for r in replaced:
        if r.core not in known:
            raise ValueError(f"replaces_core names {r.core!r}, which the core does not ask")
    out = []
    for s in sections:
        for q in s.questions:
            if q.id in gone and getattr(q, "key_system", None) is not None:
                raise ValueError(f"replaces_core: {q.id} is a key-system question, never replaced")
        kept = [q for q in s.questions if q.id not in gone]
        if kept:
            out.append(s.model_copy(update={"questions": kept}))
    return out


def _messages(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return [e["msg"].removeprefix("Value error, ") for e in exc.errors()]
    return [str(exc)]


def _versioned_files(folder: Path) -> list[tuple[int, Path]]:
    out = []
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            m = VERSION_FILE_RE.match(p.name)
            if m:
                out.append((int(m.group(1)), p))
    return out


def _check_sectors(cat: Catalog) -> None:
    """Refuse a methodology or region that names a sector without a module folder.

    The sectors are the module folders, so these rules span files and run once all are read. A
    folder whose module file has problems of its own still counts, so that one broken file is
    reported once rather than again through every file that names its sector.
    """
    modules_dir = cat.root / "modules"
    known: set[str] = set()
    if modules_dir.is_dir():
        known = {d.name for d in modules_dir.iterdir() if d.is_dir() and _versioned_files(d)}
    listed = ", ".join(sorted(known)) or "none"
    for v, meth in sorted(cat.methodologies.items()):
        unknown = sorted(set(meth.link_weights) - known - {DEFAULT_WEIGHTS})
        for key in unknown:
            cat.problems.append(
                Problem(
                    f"methodology/v{v}.yaml",
                    f"link_weights.{key}",
                    f"weights sector {key!r}, which has no folder modules/{key}/ (known: {listed})",
                )
            )
        if unknown:
            del cat.methodologies[v]
            cat.unreadable.add(f"methodology@{v}")
    for rid, region in sorted(cat.regions.items()):
        bad = [c for c in region.clusters if c.default_sector not in known]
        for c in bad:
            cat.problems.append(
                Problem(
                    f"regions/{rid}.yaml",
                    f"clusters[{c.id}].default_sector",
                    f"unknown sector {c.default_sector!r} (known: {listed})",
                )
            )
        if bad:
            del cat.regions[rid]
            cat.unreadable.add(f"regions/{rid}")


def load_catalog(root: Path | None = None) -> Catalog:
    """Read and validate every file; problems are collected on the catalog, not raised."""
    root = Path(root) if root else default_root()
    cat = Catalog(root=root)

    def load(path: Path, model: type[BaseModel], key: tuple[str, str] | None = None) -> Any:
        rel = path.relative_to(root).as_posix()
        try:
            raw = read_yaml(path)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark else ""
            cat.problems.append(Problem(rel, where, f"YAML error: {getattr(exc, 'problem', exc)}"))
            return None
        obj = _validate(model, raw, rel, cat.problems)
        version = getattr(obj, "version", None)
        m = VERSION_FILE_RE.match(path.name)
        if obj is not None and m and version != int(m.group(1)):
            cat.problems.append(Problem(rel, "version", f"file is v{m.group(1)}, says {version}"))
            return None
        if obj is not None and key is not None:
            cat.raw[(key[0], key[1], 0 if version is None else version)] = raw
        return obj

    for v, p in _versioned_files(root / "core"):
        if (core := load(p, CoreFile, ("core", "core"))) is not None:
            cat.cores[v] = core
        else:
            cat.unreadable.add(f"core@{v}")
    for v, p in _versioned_files(root / "methodology"):
        if (meth := load(p, MethodologyFile, ("methodology", "methodology"))) is not None:
            cat.methodologies[v] = meth
        else:
            cat.unreadable.add(f"methodology@{v}")
    modules_dir = root / "modules"
    if modules_dir.is_dir():
        for sector_dir in sorted(d for d in modules_dir.iterdir() if d.is_dir()):
            for v, p in _versioned_files(sector_dir):
                module = load(p, ModuleFile, ("module", sector_dir.name))
                if module is None:
                    cat.unreadable.add(f"{sector_dir.name}@{v}")
                    continue
                if module.sector.id != sector_dir.name:
                    cat.problems.append(
                        Problem(
                            p.relative_to(root).as_posix(),
                            "sector.id",
                            f"module for {module.sector.id!r} sits in folder {sector_dir.name!r}",
                        )
                    )
                    continue
                cat.modules.setdefault(sector_dir.name, {})[v] = module
    regions_dir = root / "regions"
    if regions_dir.is_dir():
        for p in sorted(regions_dir.glob("*.yaml")):
            region = load(p, RegionFile, ("region", p.stem))
            if region is None:
                cat.unreadable.add(f"regions/{p.stem}")
            else:
                if region.id != p.stem:
                    cat.problems.append(
                        Problem(
                            p.relative_to(root).as_posix(),
                            "id",
                            f"region id {region.id!r} must match the file name",
                        )
                    )
                cat.regions[region.id] = region
        for folder in sorted(d for d in regions_dir.iterdir() if d.is_dir()):
            for v, p in _versioned_files(folder):
                notes = load(p, RegionGuidanceFile, ("guidance", folder.name))
                if notes is None:
                    cat.unreadable.add(f"regions/{folder.name}@{v}")
                elif notes.region != folder.name:
                    cat.problems.append(
                        Problem(
                            p.relative_to(root).as_posix(),
                            "region",
                            f"notes for region {notes.region!r} sit in folder {folder.name!r}",
                        )
                    )
                else:
                    cat.guidance[(folder.name, v)] = notes
    for v, p in _versioned_files(root / "analytics"):
        if (rules := load(p, AnalyticsFile, ("analytics", "analytics"))) is not None:
            cat.analytics[v] = rules
        else:
            cat.unreadable.add(f"analytics@{v}")
    _check_sectors(cat)
    lock_path = root / LOCK_FILE
    if lock_path.exists():
        try:
            lock = json.loads(lock_path.read_text(encoding="utf-8"))
            cat.lock = dict(lock["questionnaires"])
            cat.region_lock = dict(lock.get("regions", {}))
            cat.analytics_lock = dict(lock.get("analytics", {}))
        except (ValueError, KeyError, TypeError) as exc:
            cat.problems.append(Problem(LOCK_FILE, "", f"unreadable lock file: {exc}"))
    else:
        cat.problems.append(Problem(LOCK_FILE, "", "missing"))
    return cat


def write_lock(cat: Catalog) -> list[str]:
    """Add every unlocked version and region profile to the lock file; never change an entry.

    Returns what was added (``sector@version``, ``regions.<id>``); the file is only written then.
    """
    added = []
    lock, regions = dict(cat.lock), dict(cat.region_lock)
    analytics = dict(cat.analytics_lock)
    for key, digest in sorted(cat.hashes().items()):
        if key not in lock:
            lock[key] = digest
            added.append(key)
    for rid, digest in sorted(cat.region_hashes().items()):
        if rid not in regions:
            regions[rid] = digest
            added.append(f"regions.{rid}")
    for key, digest in sorted(cat.analytics_hashes().items()):
        if key not in analytics:
            analytics[key] = digest
            added.append(f"analytics.{key}")
    if not added:
        return added
    body = {
        "note": LOCK_NOTE,
        "questionnaires": dict(sorted(lock.items())),
        "regions": dict(sorted(regions.items())),
        "analytics": dict(sorted(analytics.items())),
    }
    (cat.root / LOCK_FILE).write_text(
        json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    cat.lock, cat.region_lock, cat.analytics_lock = lock, regions, analytics
    return added
