"""UI language: gettext catalogs read from the .po files, the locale of the current request.

Message ids are English; ``web/locale/zh_CN/LC_MESSAGES/messages.po`` holds the Chinese. The
catalogs are compiled in memory at start-up, so no build step or binary files are needed.
Chinese is the default. A visitor's browser languages (``Accept-Language``) choose until the
person picks a language with the switch, which the session keeps; signing in uses the account's
own setting unless a language was picked before.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES: tuple[str, ...] = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LOCALE_DIR = Path(__file__).parent / "locale"
LANG_ATTR = {"zh_CN": "zh-CN", "en": "en"}

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog of one locale (English needs none: ids are English)."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == "en" or not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf)


def gettext(message: str) -> str:
    """The message in the current request's language."""
    return translations(current_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural message in the current request's language."""
    return translations(current_locale.get()).ngettext(singular, plural, n)


def pick(zh: str, en: str) -> str:
    """Of a text given in both languages, the one to show."""
    return en if current_locale.get() == "en" else zh


def is_en() -> bool:
    """Whether the current request is in English."""
    return current_locale.get() == "en"


def normalise(locale: str | None) -> str:
    """A supported locale for a requested one (zh, zh-CN, en-GB, ...)."""
    if not locale:
        return DEFAULT_LOCALE
    low = locale.replace("-", "_").lower()
    if low.startswith("en"):
        return "en"
    return DEFAULT_LOCALE


def from_accept_language(header: str | None) -> str | None:
    """The supported locale a browser prefers most (``Accept-Language`` with its q-values), or
    None when it names no Chinese and no English. Ties keep the browser's order."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((header or "").split(",")[:50]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if not 0 < quality <= 1:
            continue  # q=0 means "not this one"; anything above 1 is malformed
        if tag == "zh" or tag.startswith("zh-"):
            locale = "zh_CN"
        elif tag == "en" or tag.startswith("en-"):
            locale = "en"
        else:
            continue
        if best is None or (quality, -position) > (best[0], -best[1]):
            best = (quality, position, locale)
    return best[2] if best else None


def request_locale(chosen: str | None, accept_language: str | None) -> str:
    """The locale of a request: the one chosen for the session (with the switch, or the
    account's setting at sign-in), else the browser's preference, else Chinese."""
    if chosen:
        return normalise(chosen)
    return from_accept_language(accept_language) or DEFAULT_LOCALE


def join(items: Iterable[str]) -> str:
    """Items as a list in running text: "、" between them in Chinese, ", " in English."""
    return (", " if is_en() else "、").join(items)
