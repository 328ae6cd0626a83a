"""What the assistant says about a patient's own appointments, and their calendar file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from bot.care.schedule import describe_duration, position
from bot.care.timefmt import relative_day, uk_datetime
from bot.storage.records import AppointmentView, PatientView

KIND_NAMES = {
    "telephone": "a telephone appointment",
    "video": "a video appointment",
    "face_to_face": "a face-to-face appointment",
}

SIGN_IN = (
    "To look at your own appointments I need to know it's you. Please sign in to your "
    "patient portal and open this chat from there. I can still answer general questions "
    "about follow-up here."
)
SIGN_IN_AGAIN = (
    "I couldn't confirm your sign-in: it may have expired. Please sign in to your patient "
    "portal again and reopen this chat. I can still answer general questions here."
)
NO_RECORD = (
    "I couldn't find your follow-up record. Please contact your specialist nurse or hospital "
    "team to check your appointments."
)


@dataclass(frozen=True)
class Reply:
    """Text plus quick replies (title, payload) and an optional custom payload."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()
    custom: dict | None = field(default=None)


def sign_in_reply(auth: str | None) -> Reply:
    """Ask an anonymous or rejected user to sign in, revealing nothing personal."""
    return Reply(SIGN_IN_AGAIN if auth == "rejected" else SIGN_IN)


def sign_in_offer(auth: str | None, offer: str) -> str:
    """The line after a general answer: what signing in would add (never a wall)."""
    if auth == "rejected":
        return (
            "I couldn't confirm your sign-in; it may have expired. If you sign in to your "
            f"patient portal again and reopen this chat, I can {offer}."
        )
    return f"If you sign in to your patient portal and open this chat from there, I can {offer}."


def nurse_contact(patient: PatientView) -> str:
    """'your specialist nurse, Name, on 0113 ...' with whatever is on record."""
    text = "your specialist nurse"
    if patient.nurse_name:
        text += f", {patient.nurse_name},"
    if patient.nurse_phone:
        text += f" on {patient.nurse_phone}"
    return text.rstrip(",")


def next_appointment_reply(
    patient: PatientView, appointment: AppointmentView | None, now: datetime
) -> Reply:
    """Describe the next booked appointment and offer what fits its kind."""
    if appointment is None:
        return nothing_booked_reply(patient)
    kind = KIND_NAMES.get(appointment.kind, "an appointment")
    lines = [
        f"Your next appointment is {kind} on {uk_datetime(appointment.start)} (UK time), "
        f"{relative_day(appointment.start, now)}."
    ]
    if appointment.clinician:
        lines.append(f"It's with {appointment.clinician}.")
    buttons: list[tuple[str, str]] = []
    if appointment.kind == "telephone":
        number = f"your number {patient.phone_masked}" if patient.phone_masked else "your number"
        lines.append(f"They'll call you on {number}. If that's not right, please tell the team.")
        buttons += [
            ("Get ready for the call", "/start_checklist"),
            ("Tips for a phone appointment", "/ask_remote_prepare"),
        ]
    elif appointment.kind == "video":
        if appointment.video_link:
            lines.append(f"Your video link is on record: {appointment.video_link}")
        else:
            lines.append(
                "I can't see a video link on record yet. If the invite hasn't reached you "
                "nearer the time, contact your team."
            )
        buttons += [
            ("Get ready for the call", "/start_checklist"),
            ("Tips for a video appointment", "/ask_remote_prepare"),
        ]
    else:
        if appointment.location:
            lines.append(f"It's at {appointment.location}.")
        buttons.append(("What happens at clinic", "/ask_face_to_face"))
    buttons.append(("Add to my calendar", "/add_to_calendar"))
    return Reply(" ".join(lines), tuple(buttons))


def nothing_booked_reply(patient: PatientView) -> Reply:
    """No upcoming appointment: point to the specialist nurse, named if on record."""
    return Reply(
        "I can't see an upcoming appointment booked for you. If you were expecting one, "
        f"please contact {nurse_contact(patient)}: they can check what's happening."
    )


def no_appointment_heard_reply(patient: PatientView, appointment: AppointmentView | None) -> Reply:
    """'I haven't heard about my appointment': show what is booked, or name their nurse."""
    if appointment is not None:
        return Reply(
            f"I can see {KIND_NAMES.get(appointment.kind, 'an appointment')} booked for you on "
            f"{uk_datetime(appointment.start)} (UK time). If you were expecting something "
            f"different, please contact {nurse_contact(patient)}."
        )
    return nothing_booked_reply(patient)


def stage_reply(
    patient: PatientView,
    has_booked: bool,
    last_checkup: datetime | None,
    today: date,
) -> Reply:
    """Where the patient is in the typical schedule, flagged as typical, with an overdue hint."""
    if patient.treatment_end_date is None:
        return Reply(
            "I don't have the date your treatment ended, so I can't place you in the typical "
            f"schedule. Your team, or {nurse_contact(patient)}, can tell you what to expect."
        )
    where = position(patient.treatment_end_date, today, has_booked, last_checkup)
    since = describe_duration(where.months_since_treatment)
    lines = [
        f"You finished treatment {since} ago. In the typical schedule, that's the stage of "
        f"{where.phase.summary}.",
        "That's the usual pattern, not a rule: your team plans follow-up around you, so "
        "yours may be different.",
    ]
    if where.overdue:
        lines.append(
            "I can't see a check-up booked, and your last one was more than "
            f"{where.phase.interval_months} months ago, so it would be worth contacting "
            f"{nurse_contact(patient)}."
        )
    return Reply(" ".join(lines), (("How often are check-ups?", "/ask_how_often"),))


def _ics_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    # RFC 5545: lines longer than 75 octets continue on the next line after a space.
    out, current = [], ""
    for char in line:
        if len((current + char).encode("utf-8")) > 75:
            out.append(current)
            current = " " + char
        else:
            current += char
    out.append(current)
    return "\r\n".join(out)


def calendar_file(appointment: AppointmentView, now: datetime, host: str = "all-followup") -> str:
    """An iCalendar (.ics) event for the appointment, with no patient name in it."""

    def stamp(moment: datetime) -> str:
        return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")

    end = appointment.end or appointment.start + timedelta(minutes=30)
    kind = {"telephone": "telephone", "video": "video", "face_to_face": "face to face"}.get(
        appointment.kind, ""
    )
    description = {
        "telephone": "The team will phone you.",
        "video": "Join using the video link.",
        "face_to_face": "At the hospital.",
    }.get(appointment.kind, "")
    if appointment.clinician:
        description += f" With {appointment.clinician}."
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//ALL follow-up assistant//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:appointment-{appointment.id}@{host}",
        f"DTSTAMP:{stamp(now)}",
        f"DTSTART:{stamp(appointment.start)}",
        f"DTEND:{stamp(end)}",
        f"SUMMARY:{_ics_escape(f'Follow-up appointment ({kind})'.replace(' ()', ''))}",
        f"DESCRIPTION:{_ics_escape(description.strip())}",
    ]
    if appointment.location:
        lines.append(f"LOCATION:{_ics_escape(appointment.location)}")
    if appointment.video_link:
        lines.append(f"URL:{appointment.video_link}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def calendar_reply(
    appointment: AppointmentView | None, patient: PatientView, now: datetime
) -> Reply:
    """The .ics file as a custom payload the widget offers as a download."""
    if appointment is None:
        return nothing_booked_reply(patient)
    return Reply(
        f"Here's a calendar file for your appointment on {uk_datetime(appointment.start)} "
        "(UK time). Open it to add the appointment to your phone or computer's calendar.",
        custom={
            "type": "calendar",
            "filename": "follow-up-appointment.ics",
            "mime_type": "text/calendar",
            "ics": calendar_file(appointment, now),
        },
    )


_REASON = re.compile(r"\b(?:because|as|since|cos|cause|coz)\b\s+(?P<reason>.+)$", re.I | re.S)


def extract_reason(text: str) -> str | None:
    """The patient's reason for wanting to come in, if they gave one ("... because ...")."""
    match = _REASON.search(text or "")
    if not match:
        return None
    reason = " ".join(match.group("reason").split()).strip(" .!?")
    return reason[:500] or None


def face_to_face_reply(
    appointment: AppointmentView | None, recorded: bool, patient: PatientView
) -> Reply:
    """What happens after "I'd rather come in": recorded, already asked, or nothing to change."""
    if appointment is None:
        return nothing_booked_reply(patient)
    when = uk_datetime(appointment.start)
    if appointment.kind == "face_to_face":
        return Reply(
            f"Your next appointment, on {when} (UK time), is already face to face.",
            (("What happens at clinic", "/ask_face_to_face"),),
        )
    if not recorded:
        return Reply(
            f"You've already asked to come in instead of your {appointment.kind} appointment on "
            f"{when}. Your team has the request and will be in touch."
        )
    return Reply(
        f"I've passed on your request to come in face to face instead of your "
        f"{appointment.kind} appointment on {when} (UK time). Your team will contact you about "
        "it. They'll do their best, but a change can't be guaranteed, so until you hear from "
        f"them please plan for the {appointment.kind} appointment. If you need to talk to "
        f"someone sooner, contact {nurse_contact(patient)}."
    )
