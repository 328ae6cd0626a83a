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
from bot.care.helpline import describe_status, helpline_status, is_working_day
from bot.care.timefmt import UK, uk_date
from bot.care.wording import buttons, say
from bot.storage.records import PatientView

# The words are in content/callbacks.yml.
WORDING = "callbacks"
OFFICE_OPENS = time(9, 0)
OFFICE_CLOSES = time(17, 0)
# When each callback window starts (UK time); what it is called is window_<name> in the wording.
WINDOWS = {"morning": time(9, 0), "afternoon": time(12, 0)}


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
    starts = WINDOWS[window]
    day = local.date()
    while not is_working_day(day) or datetime.combine(day, starts, tzinfo=UK) <= local:
        day += timedelta(days=1)
    return datetime.combine(day, starts, tzinfo=UK)


def _when(moment: datetime, now: datetime) -> str:
    local_now = now.astimezone(UK)
    if moment.date() == local_now.date():
        return say("timefmt", "today")
    if moment.date() == local_now.date() + timedelta(days=1):
        return say("timefmt", "tomorrow")
    return say("timefmt", "on_date", date=uk_date(moment))


def _urgent_line(patient: PatientView | None) -> str:
    line = patient.hospital_advice_line if patient is not None else None
    if not line:
        return say(WORDING, "urgent_generic")
    if patient is not None and patient.hospital_name:
        return say(WORDING, "urgent_hospital_line", hospital=patient.hospital_name, line=line)
    return say(WORDING, "urgent_own_line", line=line)


def helpline_sentence(now: datetime) -> str:
    """The nurse helpline and whether it is open now."""
    return say(WORDING, "helpline_sentence", status=describe_status(helpline_status(now)))


def talk_to_person_anonymous(now: datetime) -> Reply:
    """For someone not signed in: the helpline, their team, and 999; no sign-in needed."""
    return Reply(
        say(
            WORDING,
            "talk_to_person_anonymous",
            helpline=helpline_sentence(now),
            urgent=_urgent_line(None),
        )
    )


def offer_callback(patient: PatientView, now: datetime) -> Reply:
    """For a signed-in patient: the helpline and their team, and a callback on their number."""
    common = {
        "helpline": helpline_sentence(now),
        "team": say(WORDING, "team", nurse=nurse_contact(patient)),
    }
    if not patient.phone_masked:
        return Reply(
            say(WORDING, "offer_without_number", **common, urgent=_urgent_line(patient)),
            buttons(WORDING, "offer_without_number"),
        )
    return Reply(
        say(WORDING, "offer", **common, number=patient.phone_masked),
        buttons(WORDING, "offer"),
    )


def callback_filed_reply(
    patient: PatientView, window: str, reference: str | None, now: datetime
) -> Reply:
    """Confirm a callback request (or say one is already waiting), with when it will be seen."""
    urgent = _urgent_line(patient)
    if reference is None:
        return Reply(say(WORDING, "already_requested", urgent=urgent))
    filed = {
        "number": patient.phone_masked,
        "window": say(WORDING, f"window_{window}"),
        "day": _when(callback_day(now, window), now),
        "reference": reference,
        "urgent": urgent,
    }
    if office_open(now):
        return Reply(say(WORDING, "filed", **filed))
    opens = _when(next_office_opening(now), now)
    return Reply(say(WORDING, "filed_office_closed", **filed, opens=opens))
