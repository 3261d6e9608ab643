"""tests/waiting.hang_guard: the slow tests' hang guards scale with
CONVLENS_TEST_TIME_FACTOR (the arm64 test bed sets 5), and a bad value is refused by name."""

from __future__ import annotations

import pytest

from tests.waiting import TIME_FACTOR_VARIABLE, hang_guard


def test_unset_or_blank_keeps_the_guard():
    assert hang_guard(600, environ={}) == 600.0
    assert hang_guard(600, environ={TIME_FACTOR_VARIABLE: "  "}) == 600.0


@pytest.mark.parametrize(("raw", "expected"), [("1", 600.0), ("5", 3000.0), ("2.5", 1500.0)])
def test_the_factor_multiplies_the_guard(raw, expected):
    assert hang_guard(600, environ={TIME_FACTOR_VARIABLE: raw}) == expected


@pytest.mark.parametrize("raw", ["five", "0.5", "-3", "nan", "inf"])
def test_a_value_that_would_shorten_or_break_the_guard_is_refused_by_name(raw):
    with pytest.raises(ValueError) as refused:
        hang_guard(600, environ={TIME_FACTOR_VARIABLE: raw})
    message = str(refused.value)
    assert TIME_FACTOR_VARIABLE in message and repr(raw) in message and ">= 1" in message
