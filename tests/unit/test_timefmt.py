from datetime import datetime, timezone

from bot.care.timefmt import relative_day, uk_date, uk_datetime, uk_time


def test_uk_format_in_winter_and_summer() -> None:
    assert uk_datetime(datetime(2026, 12, 3, 10, 30, tzinfo=timezone.utc)) == (
        "Thursday 3 December 2026 at 10:30am"
    )
    # British Summer Time: 13:00 UTC is 2pm in London.
    assert uk_time(datetime(2026, 7, 1, 13, 0, tzinfo=timezone.utc)) == "2pm"
    assert uk_time(datetime(2026, 7, 1, 11, 0, tzinfo=timezone.utc)) == "12pm"
    assert uk_time(datetime(2026, 1, 1, 0, 5, tzinfo=timezone.utc)) == "12:05am"


def test_date_crosses_midnight_in_uk_time() -> None:
    # 23:30 UTC on 30 June is 00:30 on 1 July in London.
    assert uk_date(datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc)) == "Wednesday 1 July 2026"


def test_relative_day() -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
    assert relative_day(datetime(2026, 11, 28, 15, 0, tzinfo=timezone.utc), now) == "today"
    assert relative_day(datetime(2026, 11, 29, 9, 0, tzinfo=timezone.utc), now) == "tomorrow"
    assert relative_day(datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc), now) == "in 5 days"
    assert relative_day(datetime(2027, 1, 30, 9, 0, tzinfo=timezone.utc), now) == (
        "in about 9 weeks"
    )
