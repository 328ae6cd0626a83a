"""Dates and times said the way UK patients expect: UK time, weekday, day month year."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.care.wording import say

UK = ZoneInfo("Europe/London")


def uk_time(moment: datetime) -> str:
    """Format a time of day in UK time, e.g. '10:30am' or '2pm'."""
    local = moment.astimezone(UK)
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    return f"{hour}{suffix}" if local.minute == 0 else f"{hour}:{local.minute:02d}{suffix}"


def uk_date(day: date | datetime) -> str:
    """Format a date with its weekday, e.g. 'Tuesday 3 March 2026'."""
    if isinstance(day, datetime):
        day = day.astimezone(UK).date()
    return f"{day:%A} {day.day} {day:%B %Y}"


def uk_datetime(moment: datetime) -> str:
    """Format a moment as UK date and time, e.g. 'Tuesday 3 March 2026 at 10:30am'."""
    return f"{uk_date(moment)} at {uk_time(moment)}"


def relative_day(moment: datetime, now: datetime) -> str:
    """Say how far away a moment is in whole UK calendar days: 'today', 'tomorrow', 'in 5 days'."""
    days = (moment.astimezone(UK).date() - now.astimezone(UK).date()).days
    if days <= 0:
        return say("timefmt", "today")
    if days == 1:
        return say("timefmt", "tomorrow")
    if days < 14:
        return say("timefmt", "in_days", days=days)
    return say("timefmt", "in_weeks", weeks=days // 7)
