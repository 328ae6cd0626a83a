"""The Cancer Research UK nurse helpline: its number, its hours, and whether it is open now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from bot.care.wording import say

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
        return say("helpline", "open_now", closes=uk_time(status.closes_at))
    if status.closed_reason == "bank_holiday":
        reason = say("helpline", "reason_bank_holiday", holiday=status.holiday_name)
    elif status.closed_reason in ("weekend", "before_hours", "after_hours"):
        reason = say("helpline", f"reason_{status.closed_reason}")
    else:
        reason = say("helpline", "reason_unknown")
    opens = status.next_opens_at
    if opens is None:
        return say("helpline", "closed", reason=reason)
    when = (
        say("helpline", "opens_today", time=uk_time(opens))
        if opens.date() == status.now_uk.date()
        else say("helpline", "opens_on", date=uk_date(opens), time=uk_time(opens))
    )
    return say("helpline", "closed_until", reason=reason, when=when)
