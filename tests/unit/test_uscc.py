"""统一社会信用代码 checks."""

from __future__ import annotations

import pytest

from assess.accounts import uscc

# The worked example code printed in GB 32100-2015.
STANDARD_EXAMPLE = "91350100M000100Y43"


def test_the_standards_example_code_is_valid():
    assert uscc.validate(STANDARD_EXAMPLE) is None


def test_lower_case_and_spaces_are_accepted_after_normalising():
    assert uscc.validate(" 91350100m000100y43 ") is None
    assert uscc.normalise(" 9135 0100m000100y43") == STANDARD_EXAMPLE


@pytest.mark.parametrize("pos", range(18))
def test_changing_any_one_character_is_caught(pos):
    for c in uscc.ALPHABET:
        if c == STANDARD_EXAMPLE[pos]:
            continue
        changed = STANDARD_EXAMPLE[:pos] + c + STANDARD_EXAMPLE[pos + 1 :]
        err = uscc.validate(changed)
        if pos in range(2, 8) and not c.isdigit():
            assert err is not None and err.code == "division"
        else:
            assert err is not None and err.code == "check", changed


def test_wrong_check_character_names_the_expected_one():
    err = uscc.validate(STANDARD_EXAMPLE[:17] + "0")
    assert err is not None
    assert "3" in err.zh and "3" in err.en


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("9135010", "length"),
        (STANDARD_EXAMPLE + "1", "length"),
        ("91350100M00010OY43", "characters"),  # letter O
        ("9135A100M000100Y43", "division"),
    ],
)
def test_malformed_codes_get_a_specific_reason_in_both_languages(raw, code):
    err = uscc.validate(raw)
    assert err is not None and err.code == code
    assert err.zh and err.en and err.zh != err.en


def test_made_codes_are_valid():
    for i in range(200):
        code = uscc.make(f"91220200{i:08d}")
        assert uscc.validate(code) is None, code
