"""Asking for a person: the nurse helpline, the patient's own team, and callback requests.

The care team's office is open on working days (Monday to Friday, not England and Wales
bank holidays) from 9am to 5pm, UK time; callbacks are in the morning (9am to 12 noon) or
the afternoon (12 noon to 5pm). Out of hours the reply says when the team will see a
request, and always gives the 24-hour line for anything urgent.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from bot.care.appointments import Reply, nurse_contact
from bot.care.helpline import HELPLINE_NUMBER, describe_status, helpline_status, is_working_day
from bot.care.timefmt import UK, uk_date
from bot.storage.records import PatientView

OFFICE_OPENS = time(9, 0)
OFFICE_CLOSES = time(17, 0)
WINDOWS = {
    "morning": (time(9, 0), "in the morning (9am to 12 noon)"),
    "afternoon": (time(12, 0), "in the afternoon (12 noon to 5pm)"),
}
WINDOW_BUTTONS = (
    ("Morning, 9am to 12 noon", '/request_callback{"callback_window":"morning"}'),
    ("Afternoon, 12 noon to 5pm", '/request_callback{"callback_window":"afternoon"}'),
)
WRONG_NUMBER = ("That number is wrong", "/update_phone_number")
EMERGENCY = "In an emergency, call 999."


_MORNING = re.compile(r"\b(morning|mornings|before lunch)\b", re.IGNORECASE)
_AFTERNOON = re.compile(r"\b(afternoon|afternoons|after lunch)\b", re.IGNORECASE)


def window_from_text(text: str) -> str | None:
    """ "morning" or "afternoon" if the text names exactly one of them, else None."""
    morning, afternoon = bool(_MORNING.search(text or "")), bool(_AFTERNOON.search(text or ""))
    if morning == afternoon:
        return None
    return "morning" if morning else "afternoon"


def office_open(now: datetime) -> bool:
    """Whether the care team's office is open at `now` (UK working hours)."""
    local = now.astimezone(UK)
    return is_working_day(local.date()) and OFFICE_OPENS <= local.time() < OFFICE_CLOSES


def next_office_opening(now: datetime) -> datetime:
    """When the office next opens after `now` (UK time)."""
    local = now.astimezone(UK)
    day = local.date()
    if not (is_working_day(day) and local.time() < OFFICE_OPENS):
        day += timedelta(days=1)
        while not is_working_day(day):
            day += timedelta(days=1)
    return datetime.combine(day, OFFICE_OPENS, tzinfo=UK)


def callback_day(now: datetime, window: str) -> datetime:
    """The first working day whose `window` has not started yet at `now` (UK time)."""
    local = now.astimezone(UK)
    starts = WINDOWS[window][0]
    day = local.date()
    while not is_working_day(day) or datetime.combine(day, starts, tzinfo=UK) <= local:
        day += timedelta(days=1)
    return datetime.combine(day, starts, tzinfo=UK)


def _when(moment: datetime, now: datetime) -> str:
    local_now = now.astimezone(UK)
    if moment.date() == local_now.date():
        return "today"
    if moment.date() == local_now.date() + timedelta(days=1):
        return "tomorrow"
    return f"on {uk_date(moment)}"


def _urgent_line(patient: PatientView | None) -> str:
    if patient is not None and patient.hospital_advice_line:
        hospital = patient.hospital_name or "your hospital"
        return (
            f"If it's urgent, don't wait: call {hospital}'s 24-hour advice line on "
            f"{patient.hospital_advice_line}. {EMERGENCY}"
        )
    return f"If it's urgent, don't wait: call your hospital's 24-hour advice line. {EMERGENCY}"


def helpline_sentence(now: datetime) -> str:
    """The nurse helpline and whether it is open now."""
    return (
        f"You can talk to a Cancer Research UK nurse on {HELPLINE_NUMBER} (9am to 5pm, "
        f"Monday to Friday). {describe_status(helpline_status(now))}"
    )


def talk_to_person_anonymous(now: datetime) -> Reply:
    """For someone not signed in: the helpline, their team, and 999; no sign-in needed."""
    return Reply(
        f"{helpline_sentence(now)}\n\nFor anything about your own care, contact your "
        "hospital team or specialist nurse: their number is on your appointment letters. "
        f"If you sign in to your patient portal, I can also ask your team to call you back. "
        f"{_urgent_line(None)}"
    )


def offer_callback(patient: PatientView, now: datetime) -> Reply:
    """For a signed-in patient: the helpline and their team, and a callback on their number."""
    team = f"Your team: {nurse_contact(patient)}."
    if not patient.phone_masked:
        return Reply(
            f"{helpline_sentence(now)}\n\n{team} I can ask them to call you back, but I don't "
            "have a number for you. Tell me the number to call and I'll pass it on first."
            f"\n\n{_urgent_line(patient)}",
            (("Give my number", "/update_phone_number"),),
        )
    return Reply(
        f"{helpline_sentence(now)}\n\n{team} Or I can ask them to call you back on the "
        f"number {patient.phone_masked}. Choose a time that suits you, or tell me if that "
        "number is wrong.",
        (*WINDOW_BUTTONS, WRONG_NUMBER),
    )


def callback_filed_reply(
    patient: PatientView, window: str, reference: str | None, now: datetime
) -> Reply:
    """Confirm a callback request (or say one is already waiting), with when it will be seen."""
    if reference is None:
        return Reply(
            "You've already asked your team to call you back, and they have the request. "
            f"{_urgent_line(patient)}"
        )
    day = callback_day(now, window)
    text = (
        f"Done. I've asked your team to call you on the number {patient.phone_masked} "
        f"{WINDOWS[window][1]}, {_when(day, now)} or the next working day after. "
        f"Your reference is {reference}."
    )
    if not office_open(now):
        opens = next_office_opening(now)
        text += (
            f" The team's office is closed now, so they'll see your request when it opens "
            f"{_when(opens, now)} at 9am."
        )
    return Reply(f"{text}\n\n{_urgent_line(patient)}")
