"""统一社会信用代码 (unified social credit code) checks, after GB 32100-2015.

The 18 characters are: registration authority (1), organisation type (1), administrative
division (6 digits), organisation code (9, after GB 11714, with its own check character) and a
final check character over the first 17. The alphabet has 31 characters: digits and the
capital letters without I, O, Z, S and V.

Only the final check character is enforced. The organisation code's own check (17th character)
is not: codes of some registrant types are issued without one that follows GB 11714, and a
real licence must never be refused.
"""

from __future__ import annotations

from dataclasses import dataclass

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
#: Weights of positions 1–17 for the final check character (3^i mod 31).
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
#: Weights of the first eight characters of the organisation code (GB 11714).
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class UsccError:
    """Why a code was refused, in Chinese and English."""

    code: str
    zh: str
    en: str


def check_character(first17: str) -> str:
    """The final check character for the first 17 characters of a code."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_check_character(first8: str) -> str:
    """The check character of a GB 11714 organisation code, from its first eight characters."""
    total = sum(_VALUE[c] * w for c, w in zip(first8, ORG_WEIGHTS, strict=True))
    r = (11 - total % 11) % 11
    return "X" if r == 10 else str(r)


def normalise(raw: str) -> str:
    """Trim spaces and turn lower-case letters into capitals, as people type codes loosely."""
    return "".join(raw.split()).upper()


def validate(raw: str) -> UsccError | None:
    """None if ``raw`` is a valid code (after normalising), else what is wrong with it."""
    s = normalise(raw)
    if len(s) != 18:
        return UsccError(
            "length",
            f"统一社会信用代码应为 18 位，当前为 {len(s)} 位",
            f"a unified social credit code has 18 characters, this one has {len(s)}",
        )
    bad = sorted({c for c in s if c not in _VALUE})
    if bad:
        shown = "".join(bad)
        return UsccError(
            "characters",
            f"包含不允许的字符：{shown}（不使用 I、O、Z、S、V）",
            f"characters not allowed: {shown} (I, O, Z, S and V are never used)",
        )
    if not s[2:8].isdigit():
        return UsccError(
            "division",
            "第 3–8 位应为行政区划代码（6 位数字）",
            "characters 3–8 must be the administrative division code (6 digits)",
        )
    expected = check_character(s[:17])
    if s[17] != expected:
        return UsccError(
            "check",
            f"校验位错误：第 18 位应为 {expected}，请核对营业执照",
            f"wrong check character: the 18th should be {expected}; please check the licence",
        )
    return None


def make(first16: str) -> str:
    """A valid code from its first 16 characters (for demo data and tests)."""
    s17 = first16 + org_check_character(first16[8:16])
    return s17 + check_character(s17)
