"""Certificate numbers: the check character catches typing slips, and parse reads what people
type."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from assess.certification import numbers

LETTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def sample(n: int = 60, seed: int = 7) -> list[str]:
    """Numbers of assorted body codes, years and serials (a fixed seed: the same every run)."""
    rng = random.Random(seed)
    codes = ["TB", "B1", "JL", "Z9", "ABCDEFGHIJ", "7"]
    out = []
    while len(out) < n:
        serial = "".join(rng.choice("0123456789") for _ in range(10))
        number = numbers.compose(rng.choice(codes), rng.randint(2013, 2035), serial)
        if number is not None:
            out.append(number)
    return out


def test_a_new_number_has_its_parts_in_order_and_a_valid_check_character():
    number = numbers.new_number("TB", 2026)
    assert re.fullmatch(r"LHTB2026[0-9]{10}[0-9A-Z]", number)
    assert numbers.is_valid(number)
    assert numbers.parse(number) == number


def test_serials_are_random_and_ten_digits_long():
    drawn = {numbers.random_serial() for _ in range(200)}
    assert len(drawn) == 200
    assert all(re.fullmatch(r"[0-9]{10}", s) for s in drawn)


def test_the_check_character_is_iso_7064_mod_37_2():
    # Worked by hand: the running sum doubles after each character, modulo 37, and the check
    # character makes the total come to 1.
    p = 0
    for ch in "LHTB20260482133770":
        p = (p + LETTERS.index(ch)) * 2 % 37
    assert LETTERS[(1 - p) % 37] == numbers.check_character("LHTB20260482133770") == "T"


@pytest.mark.parametrize("number", sample())
def test_every_single_wrong_character_is_caught(number):
    for i, right in enumerate(number):
        for wrong in LETTERS:
            if wrong != right:
                typo = number[:i] + wrong + number[i + 1 :]
                assert not numbers.is_valid(typo), typo
                assert numbers.parse(typo) is None, typo


@pytest.mark.parametrize("number", sample())
def test_every_swap_of_two_neighbours_is_caught(number):
    for i in range(len(number) - 1):
        a, b = number[i], number[i + 1]
        if a != b:
            typo = number[:i] + b + a + number[i + 2 :]
            assert numbers.parse(typo) is None, typo


def test_a_serial_whose_check_would_be_a_star_is_never_issued():
    stars = [
        s
        for s in (f"{n:010d}" for n in range(2000))
        if numbers.check_character(f"LHTB2026{s}") == "*"
    ]
    assert stars, "some serial in the range has * as its check"
    assert numbers.compose("TB", 2026, stars[0]) is None
    draws = iter([stars[0], stars[1], "0000000001"])
    number = numbers.new_number("TB", 2026, draw=lambda: next(draws))
    assert number.startswith("LHTB20260000000001") and "*" not in number


def test_parse_accepts_what_people_type():
    number = sample(1)[0]
    printed = numbers.formatted(number)
    assert printed.count("-") == 5 and printed.replace("-", "") == number
    typed = [
        printed,
        printed.lower(),
        " ".join(printed.split("-")),
        f"  {number.lower()}  ",
        " ".join(number),
        printed.replace("-", "–"),  # an en dash, as some editors turn hyphens into
        "".join(chr(ord(ch) + 0xFEE0) for ch in number),  # full-width, as Chinese IMEs type
        printed.replace("-", "\u3000"),  # ideographic spaces
    ]
    for text in typed:
        assert numbers.parse(text) == number, text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "LH",
        "hello",
        "TB20260482133770T",  # no prefix
        "LHTB2026048213377T",  # a digit short
        "LHTB202604821337700T",  # a digit too many
        "LHTB20260482133770",  # no check character
        "LHTB20260482133770*",
        "LHTB2026O482133770T",  # a letter O among the digits
        "LHTB20260482133770T" + "-" * 80,  # far too long
        "ＬＨ<script>",
        "LHTB2026\u0660482133770T",  # an Arabic-Indic zero
    ],
)
def test_parse_refuses_malformed_text(text):
    assert numbers.parse(text) is None


def test_letters_that_only_look_like_ascii_are_refused():
    # str.upper turns a dotless i into I: a number whose check is I must still not match it.
    number = next(n for n in sample(400) if n.endswith("I"))
    assert numbers.parse(number.lower()) == number
    assert numbers.parse(number.lower()[:-1] + "ı") is None


def test_the_printed_form_reads_back():
    for number in sample(20, seed=3):
        assert numbers.parse(numbers.formatted(number)) == number


def test_body_codes_and_years_are_checked_when_composing():
    for code, year, serial in [
        ("tb", 2026, "0000000000"),
        ("", 2026, "0000000000"),
        ("ABCDEFGHIJK", 2026, "0000000000"),
        ("TB", 226, "0000000000"),
        ("TB", 2026, "12345"),
    ]:
        with pytest.raises(ValueError):
            numbers.compose(code, year, serial)


def test_codes_ending_in_digits_read_back_unambiguously():
    for code, year in itertools.product(["B1", "B12", "1", "X2026"], [2019, 2026]):
        number = numbers.new_number(code, year)
        m = re.fullmatch(r"LH([A-Z0-9]+)([0-9]{4})([0-9]{10})(.)", number)
        assert m and (m[1], int(m[2])) == (code, year)
        assert numbers.parse(numbers.formatted(number)) == number
