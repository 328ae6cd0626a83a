"""The Cancer Research UK nurse helpline: its number, its hours, and whether it is open now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

HELPLINE_NUMBER = "0808 800 40 40"
HELPLINE_OPENS = time(9, 0)
HELPLINE_CLOSES = time(17, 0)
UK = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class HelplineStatus:
    """Whether the helpline is open at a moment, and if not, when it next opens (UK time)."""

    is_open: bool
    now_uk: datetime
    closes_at: datetime | None
    next_opens_at: datetime | None
    closed_reason: str | None  # "weekend", "bank_holiday", "before_hours", "after_hours"
    holiday_name: str | None = None


@lru_cache(maxsize=8)
def _bank_holidays(year: int) -> holidays.HolidayBase:
    # England and Wales share their bank holidays; the library keeps them current.
    return holidays.country_holidays("GB", subdiv="ENG", years=[year])


def bank_holiday_name(day: date) -> str | None:
    """The name of the England and Wales bank holiday on `day`, if it is one."""
    return _bank_holidays(day.year).get(day)


def is_working_day(day: date) -> bool:
    """True on Monday to Friday outside England and Wales bank holidays."""
    return day.weekday() < 5 and bank_holiday_name(day) is None


def _next_opening(after_day: date) -> datetime:
    day = after_day + timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, HELPLINE_OPENS, tzinfo=UK)


def helpline_status(now: datetime) -> HelplineStatus:
    """Work out whether the helpline is open at `now` (any time zone; naive means UTC)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=ZoneInfo("UTC"))
    local = now.astimezone(UK)
    today = local.date()
    opens = datetime.combine(today, HELPLINE_OPENS, tzinfo=UK)
    closes = datetime.combine(today, HELPLINE_CLOSES, tzinfo=UK)
    holiday = bank_holiday_name(today)
    if today.weekday() >= 5:
        return HelplineStatus(False, local, None, _next_opening(today), "weekend")
    if holiday:
        return HelplineStatus(False, local, None, _next_opening(today), "bank_holiday", holiday)
    if local < opens:
        return HelplineStatus(False, local, None, opens, "before_hours")
    if local >= closes:
        return HelplineStatus(False, local, None, _next_opening(today), "after_hours")
    return HelplineStatus(True, local, closes, None, None)


def describe_status(status: HelplineStatus) -> str:
    """One or two plain sentences on whether the line is open now and when it next opens."""
    from bot.care.timefmt import uk_date, uk_time

    if status.is_open and status.closes_at is not None:
        return f"It's open right now (UK time), until {uk_time(status.closes_at)} today."
    reasons = {
        "weekend": "it's the weekend",
        "bank_holiday": f"today is a bank holiday ({status.holiday_name})",
        "before_hours": "it hasn't opened yet today",
        "after_hours": "it has closed for today",
    }
    reason = reasons.get(status.closed_reason or "", "it's closed")
    opens = status.next_opens_at
    if opens is None:
        return f"It's closed right now because {reason}."
    when = (
        f"today at {uk_time(opens)}"
        if opens.date() == status.now_uk.date()
        else f"on {uk_date(opens)} at {uk_time(opens)}"
    )
    return f"It's closed right now because {reason}. It next opens {when} (UK time)."
