"""UI language: gettext catalogs read from the .po files, the locale of the current request.

Message ids are English; ``web/locale/zh_CN/LC_MESSAGES/messages.po`` holds the Chinese. The
catalogs are compiled in memory at start-up, so no build step or binary files are needed.
Chinese is the default; English is the switch.
"""

from __future__ import annotations

import io
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
