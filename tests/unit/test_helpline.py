from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.care.helpline import bank_holiday_name, describe_status, helpline_status

UK = ZoneInfo("Europe/London")


def uk(*args: int) -> datetime:
    return datetime(*args, tzinfo=UK)


@pytest.mark.parametrize(
    ("moment", "is_open", "reason"),
    [
        (uk(2026, 12, 1, 9, 0), True, None),  # Tuesday, opening minute
        (uk(2026, 12, 1, 16, 59), True, None),
        (uk(2026, 12, 1, 17, 0), False, "after_hours"),
        (uk(2026, 12, 1, 8, 59), False, "before_hours"),
        (uk(2026, 11, 28, 12, 0), False, "weekend"),  # Saturday
        (uk(2026, 12, 25, 12, 0), False, "bank_holiday"),  # Christmas, a Friday
        (uk(2026, 12, 28, 12, 0), False, "bank_holiday"),  # Boxing Day observed
        (uk(2027, 5, 31, 10, 0), False, "bank_holiday"),  # Spring bank holiday
    ],
)
def test_open_or_closed(moment: datetime, is_open: bool, reason: str | None) -> None:
    status = helpline_status(moment)
    assert status.is_open is is_open
    assert status.closed_reason == reason


def test_summer_time_is_uk_local_not_utc() -> None:
    # 08:30 UTC in July is 09:30 in London: open.
    assert helpline_status(datetime(2026, 7, 1, 8, 30, tzinfo=timezone.utc)).is_open
    # 08:30 UTC in January is 08:30 in London: not yet open.
    assert not helpline_status(datetime(2026, 1, 6, 8, 30, tzinfo=timezone.utc)).is_open


def test_naive_time_is_treated_as_utc() -> None:
    assert helpline_status(datetime(2026, 1, 6, 10, 0)).is_open


def test_next_opening_skips_weekend_and_bank_holidays() -> None:
    # Christmas Eve 2026 is a Thursday; after 5pm the next opening is Tuesday 29 December.
    status = helpline_status(uk(2026, 12, 24, 18, 0))
    assert status.next_opens_at == uk(2026, 12, 29, 9, 0)
    text = describe_status(status)
    assert "Tuesday 29 December 2026 at 9am" in text
    assert "closed for today" in text


def test_bank_holiday_named() -> None:
    status = helpline_status(uk(2026, 4, 6, 11, 0))
    assert "Easter Monday" in describe_status(status)
    assert bank_holiday_name(uk(2026, 4, 6).date()) == "Easter Monday"


def test_open_message_says_until_when() -> None:
    assert describe_status(helpline_status(uk(2026, 12, 1, 10, 0))) == (
        "It's open right now (UK time), until 5pm today."
    )


def test_before_hours_opens_today() -> None:
    assert "next opens today at 9am" in describe_status(helpline_status(uk(2026, 12, 1, 7, 0)))
