"""What the assistant says about a patient's own appointments, and their calendar file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from bot.care.schedule import describe_duration, position
from bot.care.timefmt import relative_day, uk_datetime
from bot.care.wording import buttons as wording_buttons
from bot.care.wording import say
from bot.storage.records import AppointmentView, PatientView

# The words are in content/appointments.yml.
WORDING = "appointments"
KINDS = ("telephone", "video", "face_to_face")


@dataclass(frozen=True)
class Reply:
    """Text plus quick replies (title, payload) and an optional custom payload."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()
    custom: dict | None = field(default=None)


def no_record_reply() -> Reply:
    """A verified patient with no follow-up record."""
    return Reply(say(WORDING, "no_record"))


def sign_in_reply(auth: str | None) -> Reply:
    """Ask an anonymous or rejected user to sign in, revealing nothing personal."""
    return Reply(say(WORDING, "sign_in_again" if auth == "rejected" else "sign_in"))


def sign_in_offer(auth: str | None, offer: str) -> str:
    """The line after a general answer: what signing in would add (never a wall)."""
    key = "sign_in_offer_again" if auth == "rejected" else "sign_in_offer"
    return say(WORDING, key, offer=offer)


def nurse_contact(patient: PatientView) -> str:
    """'your specialist nurse, Name, on 0113 ...' with whatever is on record."""
    name, phone = patient.nurse_name, patient.nurse_phone
    if name and phone:
        return say(WORDING, "nurse_contact_named_phone", name=name, phone=phone)
    if name:
        return say(WORDING, "nurse_contact_named", name=name)
    if phone:
        return say(WORDING, "nurse_contact_phone", phone=phone)
    return say(WORDING, "nurse_contact")


def kind_name(kind: str) -> str:
    """'a telephone appointment', 'a video appointment', ... or 'an appointment'."""
    return say(WORDING, f"kind_{kind}" if kind in KINDS else "kind_other")


def kind_word(kind: str) -> str:
    """'telephone', 'video' or 'face to face' (the record's own code for a kind the database
    would refuse anyway)."""
    return say(WORDING, f"kind_word_{kind}") if kind in KINDS else kind


def next_appointment_reply(
    patient: PatientView, appointment: AppointmentView | None, now: datetime
) -> Reply:
    """Describe the next booked appointment and offer what fits its kind."""
    if appointment is None:
        return nothing_booked_reply(patient)
    lines = [
        say(
            WORDING,
            "next_appointment",
            kind=kind_name(appointment.kind),
            when=uk_datetime(appointment.start),
            relative=relative_day(appointment.start, now),
        )
    ]
    if appointment.clinician:
        lines.append(say(WORDING, "with_clinician", clinician=appointment.clinician))
    if appointment.kind == "telephone":
        if patient.phone_masked:
            lines.append(say(WORDING, "call_on_number", number=patient.phone_masked))
        else:
            lines.append(say(WORDING, "call_on_unknown_number"))
        offered = ("get_ready_button", "phone_tips_button")
    elif appointment.kind == "video":
        if appointment.video_link:
            lines.append(say(WORDING, "video_link", link=appointment.video_link))
        else:
            lines.append(say(WORDING, "no_video_link"))
        offered = ("get_ready_button", "video_tips_button")
    else:
        if appointment.location:
            lines.append(say(WORDING, "at_location", location=appointment.location))
        offered = ("clinic_button",)
    return Reply(" ".join(lines), wording_buttons(WORDING, *offered, "calendar_button"))


def nothing_booked_reply(patient: PatientView) -> Reply:
    """No upcoming appointment: point to the specialist nurse, named if on record."""
    return Reply(say(WORDING, "nothing_booked", nurse=nurse_contact(patient)))


def no_appointment_heard_reply(patient: PatientView, appointment: AppointmentView | None) -> Reply:
    """'I haven't heard about my appointment': show what is booked, or name their nurse."""
    if appointment is not None:
        return Reply(
            say(
                WORDING,
                "appointment_heard",
                kind=kind_name(appointment.kind),
                when=uk_datetime(appointment.start),
                nurse=nurse_contact(patient),
            )
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
        return Reply(say(WORDING, "stage_no_end_date", nurse=nurse_contact(patient)))
    where = position(patient.treatment_end_date, today, has_booked, last_checkup)
    since = describe_duration(where.months_since_treatment)
    lines = [
        say(WORDING, "stage", since=since, phase=where.phase.summary),
        say(WORDING, "stage_usual_pattern"),
    ]
    if where.overdue:
        lines.append(
            say(
                WORDING,
                "stage_overdue",
                months=where.phase.interval_months,
                nurse=nurse_contact(patient),
            )
        )
    return Reply(" ".join(lines), wording_buttons(WORDING, "how_often_button"))


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
    known = appointment.kind in KINDS
    summary = (
        say(WORDING, "ics_summary_kind", kind=kind_word(appointment.kind))
        if known
        else say(WORDING, "ics_summary")
    )
    parts = [say(WORDING, f"ics_description_{appointment.kind}")] if known else []
    if appointment.clinician:
        parts.append(say(WORDING, "ics_with_clinician", clinician=appointment.clinician))
    description = " ".join(parts)
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
        f"SUMMARY:{_ics_escape(summary)}",
        f"DESCRIPTION:{_ics_escape(description)}",
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
        say(WORDING, "calendar", when=uk_datetime(appointment.start)),
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
            say(WORDING, "already_face_to_face", when=when),
            wording_buttons(WORDING, "already_face_to_face"),
        )
    if not recorded:
        return Reply(
            say(WORDING, "face_to_face_already_asked", kind=kind_word(appointment.kind), when=when)
        )
    return Reply(
        say(
            WORDING,
            "face_to_face_requested",
            kind=kind_word(appointment.kind),
            when=when,
            nurse=nurse_contact(patient),
        )
    )
