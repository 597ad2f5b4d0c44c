#!/usr/bin/env python3
"""Extract the web UI's messages and keep the Chinese catalog in step with them.

Message ids are English, written in the Python code under web/ (``gettext``, ``N_``, ...) and in
the Jinja templates (``_("...")``, newstyle: ``_("%(n)s links", n=...)``). The Chinese lives in
web/locale/zh_CN/LC_MESSAGES/messages.po, which the app reads at start-up (no .mo files).

    python scripts/i18n.py extract          # write the template web/locale/messages.pot
    python scripts/i18n.py extract -o -     # ... or print it
    python scripts/i18n.py update           # merge the extracted messages into the .po
    python scripts/i18n.py check            # exit 1 on missing, fuzzy, unused or mismatched
                                            # (other %(name)s placeholders) translations

`update` keeps existing translations, adds new messages with an empty translation and drops
messages the code no longer uses. Its output is sorted and carries no dates, so running it on an
unchanged tree leaves the file byte-identical. tests/unit/test_i18n.py runs the same extraction.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "web" / "locale"
POT = LOCALE_DIR / "messages.pot"
LOCALE = "zh_CN"

METHOD_MAP = [
    ("web/**.py", "python"),
    ("web/templates/**.html", "jinja2.ext:babel_extract"),
]
# Parse the templates the way web/app.py's environment does, and fail on a syntax error rather
# than silently dropping the template's messages.
OPTIONS_MAP = {
    "web/templates/**.html": {
        "extensions": "jinja2.ext.i18n",
        "trim_blocks": "true",
        "lstrip_blocks": "true",
        "newstyle_gettext": "true",
        "silent": "false",
    },
}
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
}
COMMENT_TAGS = ("Translators:",)

HEADER_COMMENT = (
    "# Messages of the 两化融合 assessment web UI.\n"
    "# Written by scripts/i18n.py from web/; do not edit by hand, re-run it."
)
PO_HEADER_COMMENT = (
    "# Chinese (Simplified) translations of the 两化融合 assessment web UI.\n"
    "# `python scripts/i18n.py update` adds and removes messages; edit only the msgstr lines."
)
HEADER = {
    "project": "lianghua-assess",
    "version": "web",
}
# Header fields left out: dates and Babel's version would change the file on every run, and
# nobody keeps a bug address or a last translator up to date.
LEFT_OUT_HEADERS = (
    b'"POT-Creation-Date:',
    b'"PO-Revision-Date:',
    b'"Generated-By:',
    b'"Report-Msgid-Bugs-To:',
    b'"Last-Translator:',
)
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]")


def po_path(locale: str = LOCALE) -> Path:
    """Where a locale's catalog lives."""
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


def _in_web(dirpath: str) -> bool:
    rel = Path(dirpath).relative_to(ROOT)
    return rel.parts[0] == "web" and not rel.name.startswith((".", "_"))


def extract() -> Catalog:
    """The template catalog: every message the web UI uses, with where it is used."""
    template = Catalog(**HEADER, fuzzy=False, header_comment=HEADER_COMMENT)
    found = extract_from_dir(
        ROOT,
        METHOD_MAP,
        OPTIONS_MAP,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
        directory_filter=_in_web,
    )
    for filename, lineno, message, comments, context in found:
        template.add(
            message,
            None,
            [(filename, lineno)],
            auto_comments=comments,
            context=context,
        )
    return template


def read_catalog(locale: str = LOCALE) -> Catalog:
    """A locale's catalog as it is on disk (empty when there is none yet)."""
    path = po_path(locale)
    if not path.exists():
        return Catalog(locale=locale)
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _blank(msg: Message, num_plurals: int) -> str | tuple[str, ...] | list[str]:
    return ("",) * num_plurals if msg.pluralizable else ""


def merge(template: Catalog, old: Catalog, locale: str = LOCALE) -> Catalog:
    """The template's messages with the translations (and translator notes) of ``old``."""
    new = Catalog(
        locale=locale,
        **HEADER,
        fuzzy=False,
        header_comment=PO_HEADER_COMMENT,
        language_team=locale,
    )
    for msg in template:
        if not msg.id:
            continue
        prev = old.get(msg.id, context=msg.context)
        flags = set(msg.flags)
        string = _blank(msg, new.num_plurals)
        user_comments: list[str] = []
        if prev is not None:
            user_comments = list(prev.user_comments)
            # A message that became plural (or singular) starts again from an empty translation.
            if prev.pluralizable == msg.pluralizable and prev.string:
                string = prev.string
                if prev.fuzzy:
                    flags.add("fuzzy")
        new.add(
            msg.id,
            string,
            msg.locations,
            flags=flags,
            auto_comments=msg.auto_comments,
            user_comments=user_comments,
            context=msg.context,
        )
    return new


def to_bytes(catalog: Catalog) -> bytes:
    """The catalog as a .po/.pot file: sorted, unwrapped, without dates or line numbers."""
    buf = io.BytesIO()
    write_po(
        buf,
        catalog,
        width=0,
        sort_output=True,
        ignore_obsolete=True,
        include_lineno=False,
    )
    head, _, body = buf.getvalue().partition(b"\n\n")
    lines = [line for line in head.split(b"\n") if not line.startswith(LEFT_OUT_HEADERS)]
    return b"\n".join(lines) + b"\n\n" + body


def placeholders(text: str) -> set[str]:
    """The names of the ``%(name)s`` placeholders in a message."""
    return set(PLACEHOLDER.findall(text))


def msgstrs(msg: Message) -> list[str]:
    """A message's translations: one, or one per plural form."""
    s = msg.string
    return [x or "" for x in s] if isinstance(s, (list, tuple)) else [s or ""]


def msgids(msg: Message) -> list[str]:
    """A message's ids: the singular, and the plural if it has one."""
    return list(msg.id) if isinstance(msg.id, (list, tuple)) else [msg.id]


def _key(msg: Message) -> str:
    mid = msgids(msg)[0]
    return f"{msg.context}\x04{mid}" if msg.context else mid


@dataclass
class Problems:
    """What keeps a catalog from matching the UI: each list holds message ids."""

    missing: list[str] = field(default_factory=list)
    fuzzy: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)  # %(name)s placeholders differ

    def __bool__(self) -> bool:
        return bool(self.missing or self.fuzzy or self.unused or self.mismatched)

    def report(self, locale: str = LOCALE) -> str:
        """The problems as text, one message id a line."""
        parts = []
        for title, ids in (
            (f"Messages without a {locale} translation", self.missing),
            (f"Fuzzy {locale} translations (check them, then remove the fuzzy flag)", self.fuzzy),
            ("Catalog entries no longer used in web/", self.unused),
            ("Translations whose %(name)s placeholders differ from the id", self.mismatched),
        ):
            if ids:
                parts.append(f"{title} ({len(ids)}):")
                parts.extend(f"  {i!r}" for i in ids)
        return "\n".join(parts)


def problems(template: Catalog, catalog: Catalog) -> Problems:
    """Messages used but not (or not surely) translated, and translations no longer used."""
    out = Problems()
    used = {_key(m) for m in template if m.id}
    translated = {_key(m): m for m in catalog if m.id}
    for msg in sorted((m for m in template if m.id), key=_key):
        key = _key(msg)
        got = translated.get(key)
        if got is None or not all(msgstrs(got)):
            out.missing.append(key)
        elif got.fuzzy:
            out.fuzzy.append(key)
        else:
            wanted = set().union(*(placeholders(i) for i in msgids(msg)))
            if any(placeholders(s) != wanted for s in msgstrs(got)):
                out.mismatched.append(key)
    obsolete = {_key(m) for m in catalog.obsolete.values()}
    out.unused = sorted({k for k in translated if k not in used} | obsolete)
    return out


def _write(path: Path, data: bytes) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def cmd_extract(args: argparse.Namespace) -> int:
    data = to_bytes(extract())
    if args.output == "-":
        sys.stdout.buffer.write(data)
        return 0
    path = Path(args.output)
    changed = _write(path, data)
    print(f"{path}: {'written' if changed else 'unchanged'}")
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    template = extract()
    old = read_catalog(args.locale)
    new = merge(template, old, args.locale)
    before = {_key(m) for m in old if m.id}
    after = {_key(m) for m in new if m.id}
    untranslated = sum(1 for m in new if m.id and not all(msgstrs(m)))
    path = po_path(args.locale)
    changed = _write(path, to_bytes(new))
    print(
        f"{path.relative_to(ROOT)}: {len(after)} messages, {len(after - before)} new, "
        f"{len(before - after)} removed, {untranslated} untranslated"
        f"{'' if changed else ' (unchanged)'}"
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    found = problems(extract(), read_catalog(args.locale))
    if found:
        print(found.report(args.locale))
        print("Run `python scripts/i18n.py update`, then translate the empty msgstr entries.")
        return 1
    print(f"{po_path(args.locale).relative_to(ROOT)}: every message is translated")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("extract", help="write the message template (.pot)")
    p.add_argument("-o", "--output", default=str(POT), help="file to write, or - for stdout")
    p.set_defaults(func=cmd_extract)
    for name, func, text in (
        ("update", cmd_update, "merge the extracted messages into the locale's .po"),
        ("check", cmd_check, "fail on missing, fuzzy, unused or mismatched translations"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--locale", default=LOCALE)
        p.set_defaults(func=func)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
