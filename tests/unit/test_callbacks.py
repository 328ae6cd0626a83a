"""Asking for a person: office hours, callback days, and what is said."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.care.callbacks import (
    callback_day,
    callback_filed_reply,
    next_office_opening,
    offer_callback,
    office_open,
    talk_to_person_anonymous,
    window_from_text,
)
from bot.care.timefmt import UK
from bot.storage.records import PatientView

PATIENT = PatientView(
    portal_id="p",
    given_name="Robin",
    phone_masked="ending 0123",
    nurse_name="Sam Nurse",
    nurse_phone="0113 496 0001",
    hospital_name="St Example's Hospital",
    hospital_advice_line="0113 496 0000",
    treatment_end_date=date(2025, 1, 1),
)


def uk(*args: int) -> datetime:
    return datetime(*args, tzinfo=UK)


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("morning please", "morning"),
        ("Mornings suit me", "morning"),
        ("after lunch is better", "afternoon"),
        ("the afternoon", "afternoon"),
        ("morning or afternoon", None),
        ("I am free whenever", None),
    ],
)
def test_window_from_text(text: str, window: str | None) -> None:
    assert window_from_text(text) == window


def test_office_hours_and_next_opening() -> None:
    assert office_open(uk(2026, 12, 2, 10, 0))  # a Wednesday
    assert not office_open(uk(2026, 12, 2, 17, 0))
    assert not office_open(uk(2026, 12, 5, 10, 0))  # Saturday
    assert next_office_opening(uk(2026, 12, 4, 18, 0)) == uk(2026, 12, 7, 9, 0)
    assert next_office_opening(uk(2026, 12, 2, 7, 0)) == uk(2026, 12, 2, 9, 0)
    # Christmas Day and Boxing Day (moved to Monday 28th in 2026) are bank holidays.
    assert next_office_opening(uk(2026, 12, 24, 18, 0)) == uk(2026, 12, 29, 9, 0)


def test_callback_day_is_the_first_window_not_yet_started() -> None:
    assert callback_day(uk(2026, 12, 2, 10, 0), "afternoon") == uk(2026, 12, 2, 12, 0)
    assert callback_day(uk(2026, 12, 2, 10, 0), "morning") == uk(2026, 12, 3, 9, 0)
    assert callback_day(uk(2026, 12, 4, 13, 0), "morning") == uk(2026, 12, 7, 9, 0)


def test_anonymous_get_the_helpline_their_team_and_999_without_a_wall() -> None:
    text = talk_to_person_anonymous(uk(2026, 12, 2, 10, 0)).text
    assert "0808 800 40 40" in text and "open right now" in text
    assert "hospital team" in text and "999" in text
    assert "ending" not in text


def test_signed_in_are_offered_a_callback_on_the_number_shown() -> None:
    reply = offer_callback(PATIENT, uk(2026, 12, 5, 10, 0))
    assert "closed right now" in reply.text and "Sam Nurse" in reply.text
    assert "call you back on the number ending 0123" in reply.text
    assert [title for title, _ in reply.buttons] == [
        "Morning, 9am to 12 noon",
        "Afternoon, 12 noon to 5pm",
        "That number is wrong",
    ]
    no_number = offer_callback(
        PatientView(**{**PATIENT.__dict__, "phone_masked": None}), uk(2026, 12, 2, 10, 0)
    )
    assert "don't have a number" in no_number.text
    assert no_number.buttons == (("Give my number", "/update_phone_number"),)


def test_filed_in_hours_and_out_of_hours() -> None:
    in_hours = callback_filed_reply(PATIENT, "afternoon", "cb-3", uk(2026, 12, 2, 10, 0)).text
    assert "in the afternoon (12 noon to 5pm), today" in in_hours and "cb-3" in in_hours
    assert "office is closed" not in in_hours
    assert "0113 496 0000" in in_hours and "999" in in_hours
    weekend = callback_filed_reply(PATIENT, "morning", "cb-4", uk(2026, 12, 5, 20, 0)).text
    assert "office is closed now" in weekend and "on Monday 7 December 2026 at 9am" in weekend
    assert "24-hour advice line on 0113 496 0000" in weekend
    again = callback_filed_reply(PATIENT, "morning", None, uk(2026, 12, 2, 10, 0)).text
    assert "already asked" in again
