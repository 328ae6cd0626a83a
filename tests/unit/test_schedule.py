from datetime import date

import pytest

from bot.care.schedule import describe_duration, months_between, phase_for, position


@pytest.mark.parametrize(
    ("months", "interval", "key"),
    [
        (0, 3, "first_two_years"),
        (23, 3, "first_two_years"),
        (24, 4, "years_three_four"),
        (47, 4, "years_three_four"),
        (48, 6, "year_five"),
        (59, 6, "year_five"),
        (60, 12, "long_term"),
        (200, 12, "long_term"),
    ],
)
def test_phase_boundaries(months: int, interval: int, key: str) -> None:
    phase = phase_for(months)
    assert (phase.key, phase.interval_months) == (key, interval)


def test_months_between_counts_whole_months() -> None:
    assert months_between(date(2024, 1, 31), date(2024, 2, 29)) == 0
    assert months_between(date(2024, 1, 15), date(2024, 2, 15)) == 1
    assert months_between(date(2025, 1, 1), date(2024, 1, 1)) == 0


def test_overdue_only_when_nothing_booked_and_interval_passed() -> None:
    end = date(2023, 6, 1)  # about 3.5 years before: 4-monthly phase
    today = date(2026, 11, 28)
    assert position(end, today, has_booked=False, last_checkup=date(2026, 5, 1)).overdue
    assert not position(end, today, has_booked=False, last_checkup=date(2026, 9, 1)).overdue
    assert not position(end, today, has_booked=True, last_checkup=date(2026, 1, 1)).overdue
    # No check-up on record: measured from the end of treatment.
    assert position(end, today, has_booked=False, last_checkup=None).overdue


def test_describe_duration() -> None:
    assert describe_duration(0) == "less than a month"
    assert describe_duration(1) == "1 month"
    assert describe_duration(8) == "8 months"
    assert describe_duration(12) == "about 1 year"
    assert describe_duration(30) == "about 2 and a half years"
    assert describe_duration(46) == "nearly 4 years"
