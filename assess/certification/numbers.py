"""Certificate numbers: hard to guess, easy to read aloud, and checked as they are typed.

A number is ``LH`` + the body's code + the issue year + a random serial of ten digits + one
check character, e.g. ``LHTB20260482133770T``, printed ``LH-TB-2026-04821-33770-T``
(``formatted``). The serial comes from ``secrets``, so that one real number says nothing about
the others: with ten random digits, guessing a number of some body and year takes billions of
tries.

The check character is ISO/IEC 7064 MOD 37-2 over every character before it (digits 0–9 are
worth 0–9, letters A–Z 10–35). Because 37 is prime, it catches every single wrong character
and every swap of two neighbours. MOD 37-2 has a 37th check symbol, ``*``; serials whose check
would be ``*`` are never issued (another is drawn), so every printed number is letters and
digits only, and a typed ``*`` is simply malformed.

``parse`` reads a number the way a person types it: any case, with spaces or hyphens (also
their full-width forms) anywhere. It answers the canonical number, or None when the text is not
shaped like a number or its check character is wrong. It never says which.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

PREFIX = "LH"
SERIAL_DIGITS = 10
#: Body codes are 1–10 capital letters or digits (assess.store.models.CertificationBody.code).
BODY_CODE = re.compile(r"[A-Z0-9]{1,10}", re.ASCII)
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
_MODULUS = 37
#: The canonical form: prefix, body code, year, serial, check. The year and serial have fixed
#: lengths, so a body code that ends in digits still reads back unambiguously.
_CANONICAL = re.compile(
    rf"{PREFIX}(?P<body>[A-Z0-9]{{1,10}})(?P<year>[0-9]{{4}})"
    rf"(?P<serial>[0-9]{{{SERIAL_DIGITS}}})(?P<check>[0-9A-Z])",
    re.ASCII,
)
#: What a person may type between characters: spaces and hyphens of any common kind.
_SEPARATORS = re.compile(r"[\s\-\u2010\u2011\u2012\u2013\u2014\u2212\u30fc]+")
#: Longer text than this is not a number (nothing is read from it).
_MAX_TYPED = 80


def check_character(text: str) -> str:
    """The ISO/IEC 7064 MOD 37-2 check character of ``text`` (capital letters and digits)."""
    p = 0
    for ch in text:
        p = (p + _ALPHABET.index(ch)) * 2 % _MODULUS
    return _ALPHABET[(1 - p) % _MODULUS]


def is_valid(number: str) -> bool:
    """Whether a canonical number's last character is the check character of the rest."""
    if not number or any(ch not in _ALPHABET for ch in number):
        return False
    return check_character(number[:-1]) == number[-1]


def compose(body_code: str, year: int, serial: str) -> str | None:
    """The canonical number of these parts, or None when its check character would be ``*``
    (such serials are not issued)."""
    if not BODY_CODE.fullmatch(body_code):
        raise ValueError(f"not a certification body code: {body_code!r}")
    if not (1000 <= year <= 9999) or not re.fullmatch(rf"[0-9]{{{SERIAL_DIGITS}}}", serial):
        raise ValueError("the year takes four digits and the serial ten")
    stem = f"{PREFIX}{body_code}{year}{serial}"
    check = check_character(stem)
    return None if check == "*" else stem + check


def random_serial() -> str:
    """Ten random digits from the operating system's secure source."""
    return f"{secrets.randbelow(10**SERIAL_DIGITS):0{SERIAL_DIGITS}d}"


def new_number(body_code: str, year: int, draw: Callable[[], str] = random_serial) -> str:
    """A new number for a certificate of this body issued in ``year`` (not yet checked for
    uniqueness: the caller does that)."""
    while True:
        number = compose(body_code, year, draw())
        if number is not None:
            return number


def formatted(number: str) -> str:
    """A canonical number with hyphens, as printed: ``LH-TB-2026-04821-33770-T``."""
    m = _CANONICAL.fullmatch(number)
    if m is None:
        return number
    serial = m["serial"]
    return "-".join(
        [PREFIX, m["body"], m["year"], serial[:5], serial[5:], m["check"]],
    )


def _halfwidth(text: str) -> str:
    """Full-width letters, digits and hyphens (as Chinese input methods type them) in ASCII."""
    return "".join(
        chr(ord(ch) - 0xFEE0) if "\uff01" <= ch <= "\uff5e" else ch
        for ch in text.replace("\u3000", " ")
    )


def parse(text: str) -> str | None:
    """The canonical number a person typed (any case, spaces and hyphens anywhere), or None
    when it is malformed or its check character is wrong."""
    if not text or len(text) > _MAX_TYPED:
        return None
    cleaned = _SEPARATORS.sub("", _halfwidth(text))
    if not cleaned.isascii():  # str.upper would map some other letters to ASCII ones
        return None
    cleaned = cleaned.upper()
    if _CANONICAL.fullmatch(cleaned) is None or not is_valid(cleaned):
        return None
    return cleaned
