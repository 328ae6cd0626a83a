"""The typical follow-up schedule after ALL treatment, and where a patient is in it.

The phases come from the Cancer Research UK page (see bot/care/content.py): every 3 months for
2 years, every 4 months for the next 2 years, every 6 months for 1 year, then usually yearly
in a long-term follow-up or late effects clinic. It is an example; real schedules are tailored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.care.wording import say

# The words are in content/schedule.yml.
WORDING = "schedule"


@dataclass(frozen=True)
class Phase:
    """One stretch of the typical schedule."""

    key: str
    starts_year: int
    ends_year: int | None
    interval_months: int

    @property
    def summary(self) -> str:
        """How often check-ups are in this phase, e.g. 'check-ups about every 3 months'."""
        return say(WORDING, f"phase_{self.key}")


TYPICAL_PHASES: tuple[Phase, ...] = (
    Phase("first_two_years", 0, 2, 3),
    Phase("years_three_four", 2, 4, 4),
    Phase("year_five", 4, 5, 6),
    Phase("long_term", 5, None, 12),
)


@dataclass(frozen=True)
class Position:
    """Where a patient sits in the typical schedule."""

    phase: Phase
    months_since_treatment: int
    overdue: bool


def months_between(start: date, end: date) -> int:
    """Whole calendar months from `start` to `end` (never negative)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return max(months, 0)


def phase_for(months_since_treatment: int) -> Phase:
    """The typical phase for a number of months after the end of treatment."""
    for phase in TYPICAL_PHASES:
        if phase.ends_year is None or months_since_treatment < phase.ends_year * 12:
            return phase
    return TYPICAL_PHASES[-1]


def position(
    treatment_end: date,
    today: date,
    has_booked: bool,
    last_checkup: date | datetime | None,
) -> Position:
    """Place a patient in the typical schedule and say whether a check-up looks overdue.

    Overdue means nothing is booked and the last check-up (or, if none is recorded, the end of
    treatment) is further back than the phase's usual interval.
    """
    months = months_between(treatment_end, today)
    phase = phase_for(months)
    if isinstance(last_checkup, datetime):
        last_checkup = last_checkup.date()
    reference = last_checkup or treatment_end
    overdue = not has_booked and months_between(reference, today) >= phase.interval_months
    return Position(phase=phase, months_since_treatment=months, overdue=overdue)


def describe_duration(months: int) -> str:
    """Say a number of months the way people do: '8 months', 'about 2 and a half years'."""
    if months < 12:
        if months <= 1:
            return say(WORDING, "one_month" if months else "less_than_a_month")
        return say(WORDING, "months", months=months)
    years, rest = divmod(months, 12)
    if rest < 3:
        if years == 1:
            return say(WORDING, "about_one_year")
        return say(WORDING, "about_years", years=years)
    if rest < 9:
        return say(WORDING, "about_years_and_a_half", years=years)
    return say(WORDING, "nearly_years", years=years + 1)
