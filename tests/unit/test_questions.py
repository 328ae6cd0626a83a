import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot import clock
from bot.care.questions import (
    MAX_CHARS,
    QuestionView,
    Removal,
    add_question,
    apply_removal,
    classify_kind,
    export_questions,
    extract_question,
    list_questions,
    parse_removal,
    remove_questions,
    render_export,
)
from bot.care.wording import say
from bot.storage.models import Appointment, Patient, PatientQuestion

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("add a question: can I go back to work?", "Can I go back to work?"),
        ("Add question when will my hair grow back", "When will my hair grow back"),
        ("add: can I travel abroad this summer?", "Can I travel abroad this summer?"),
        ("add to my list: ask about fertility", "Ask about fertility"),
        ("New question - what about vaccines", "What about vaccines"),
        ("note down that I'm tired all the time", "I'm tired all the time"),
        ("Note down my tingling feet", "My tingling feet"),
        ("remind me to ask the doctor about my blood results", "My blood results"),
        ("Remind me to ask about driving", "Driving"),
        ("Remind me to mention my sore knee", "My sore knee"),
        ("I want to ask the doctor about going back to the gym", "Going back to the gym"),
        ("I want to ask them about holidays", "Holidays"),
        ("can you note that I sleep badly", "I sleep badly"),
        ("save this: is it ok to drink alcohol?", "Is it ok to drink alcohol?"),
        ("add tiredness to my list please", "Tiredness"),
        ("Add a question: ask about driving, save it", "Ask about driving"),
        ("please add   my   sore back\n\n to my list", "My sore back"),
        ("hi, add a question: is a cold worse for me now? thanks", "Is a cold worse for me now?"),
        ('Add: "how often are blood tests?"', "How often are blood tests?"),
        ("ADD QUESTION: WHAT ABOUT THE VACCINES", "WHAT ABOUT THE VACCINES"),
        ("Add a question: remind me to ask about the fatigue", "The fatigue"),
        # No lead-in: the message is the question.
        ("Can I go back to work?", "Can I go back to work?"),
        # Lead-in words inside ordinary words or sentences are left alone.
        ("add questionnaire results", "Add questionnaire results"),
        ("save money on prescriptions?", "Save money on prescriptions?"),
        # Emoji, HTML and SQL-looking text are stored as typed, never interpreted.
        ("add: 😊 can I travel abroad?", "😊 can I travel abroad?"),
        ("add: can I swim? 🏊‍♀️", "Can I swim? 🏊‍♀️"),
        ("save this: <script>alert(1)</script>", "<script>alert(1)</script>"),
        ("add a question: <b>bold</b> & more", "<b>bold</b> & more"),
        (
            "Save it: Robert'); DROP TABLE patient_questions;--",
            "Robert'); DROP TABLE patient_questions;--",
        ),
        ("add: 1 OR 1=1", "1 OR 1=1"),
    ],
)
def test_extract_question(message: str, expected: str) -> None:
    assert extract_question(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        "add a question",
        "add question:",
        "Add a new question",
        "save it",
        "note down",
        "",
        "   ",
        "add: 🙂",
        "add: ...",
        "add a question please",
    ],
)
def test_extract_question_with_nothing_left(message: str) -> None:
    assert extract_question(message) is None


def test_extract_question_caps_length_and_collapses_whitespace() -> None:
    result = extract_question("add: " + "why " * 400)
    assert result is not None
    assert len(result) <= MAX_CHARS
    assert "  " not in result and result.startswith("Why why")
    assert extract_question("add:\tcan  I\x00 swim?\r\n") == "Can I swim?"


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("add a question: can I go back to work?", "question"),
        ("remind me to mention the side effects of my tablets", "side_effect"),
        ("add: side-effect of the steroids", "side_effect"),
        ("add: a symptom I've noticed", "symptom"),
        ("remind me to mention my knee", "symptom"),
        ("add: I'm tired all the time", "symptom"),
        ("add: tiredness", "symptom"),
        ("add: fatigue in the afternoons", "symptom"),
        ("add: pain in my legs", "symptom"),
        ("add: headaches", "symptom"),
        ("add: I can't sleep", "symptom"),
        ("add: poor appetite", "symptom"),
        ("add: my hair is thin", "symptom"),
        ("add: numb fingers", "symptom"),
        ("add: update my phone number", "question"),
        ("add: painting the house", "question"),
    ],
)
def test_classify_kind(message: str, kind: str) -> None:
    assert classify_kind(message) == kind


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("remove question 2", Removal(number=2)),
        ("delete number 2", Removal(number=2)),
        ("delete the 2nd one", Removal(number=2)),
        ("delete #3", Removal(number=3)),
        ("delete the first one", Removal(number=1)),
        ("remove question one", Removal(number=1)),
        ("remove the last one", Removal(last=True)),
        ("take tiredness off my list", Removal(keyword="tiredness")),
        ("delete the one about work", Removal(keyword="work")),
        ("get rid of the bit about my hair please", Removal(keyword="hair")),
        ("cross holidays off the list", Removal(keyword="holidays")),
        ("remove 'driving'", Removal(keyword="driving")),
        ("remove the question about all my tablets", Removal(keyword="all my tablets")),
        ("clear my questions", Removal(all=True)),
        ("remove all", Removal(all=True)),
        ("delete everything", Removal(all=True)),
        ("remove it", Removal()),
        ("remove a question", Removal()),
    ],
)
def test_parse_removal(message: str, expected: Removal) -> None:
    result = parse_removal(message)
    assert result == expected
    assert result.keyword == expected.keyword
    assert result.is_empty == (expected == Removal())


def test_removal_repr_hides_the_keyword() -> None:
    assert "tiredness" not in repr(Removal(keyword="tiredness"))


def test_apply_removal() -> None:
    items = ["Work", "Tiredness in the day", "Holidays", "more TIREDNESS"]
    assert apply_removal(items, Removal(number=2)) == (
        ["Work", "Holidays", "more TIREDNESS"],
        ["Tiredness in the day"],
    )
    assert apply_removal(items, Removal(keyword="tiredness")) == (
        ["Work", "Holidays"],
        ["Tiredness in the day", "more TIREDNESS"],
    )
    assert apply_removal(items, Removal(last=True)) == (items[:3], items[3:])
    assert apply_removal(items, Removal(all=True)) == ([], items)
    assert apply_removal(items, Removal(number=9)) == (items, [])
    assert apply_removal(items, Removal()) == (items, [])
    assert items == ["Work", "Tiredness in the day", "Holidays", "more TIREDNESS"]


# --- the database-backed notebook, on SQLite and PostgreSQL ---


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """A clock that moves on a minute each time it is read, so ordering is deterministic."""
    ticks = [NOW]

    def tick() -> datetime:
        ticks[0] += timedelta(minutes=1)
        return ticks[0]

    monkeypatch.setattr(clock, "now", tick)
    return ticks


def _patient(session, portal_id: str = "P-1") -> Patient:
    patient = Patient(portal_id=portal_id, given_name="Ada")
    session.add(patient)
    session.flush()
    return patient


def _appt(session, patient: Patient, key: str, start: datetime, **fields) -> Appointment:
    appt = Appointment(
        patient_id=patient.id,
        external_id=f"test:{patient.portal_id}:{key}",
        start=start,
        kind=fields.pop("kind", "telephone"),
        status=fields.pop("status", "booked"),
        **fields,
    )
    session.add(appt)
    session.flush()
    return appt


def test_add_and_list_questions(session, fixed_clock) -> None:
    p = _patient(session)
    appt = _appt(session, p, "next", NOW + timedelta(days=5))
    first = add_question(session, "P-1", "Can I go back to work?", "question", appt.id)
    second = add_question(session, "P-1", "  Tired   all day ", "symptom", appt.id)
    assert first == QuestionView(1, first.id, "Can I go back to work?", "question", appt.id)
    assert second.number == 2 and second.text == "Tired all day" and second.kind == "symptom"
    session.commit()
    assert list_questions(session, "P-1") == [first, second]
    row = session.get(PatientQuestion, first.id)
    assert row.patient_id == p.id and row.appointment_id == appt.id and row.removed_at is None


def test_questions_belong_to_their_patient(session, fixed_clock) -> None:
    _patient(session, "P-1")
    _patient(session, "P-2")
    add_question(session, "P-1", "Mine", "question", None)
    add_question(session, "P-2", "Theirs", "question", None)
    assert [q.text for q in list_questions(session, "P-1")] == ["Mine"]
    assert list_questions(session, "nobody") == []


def test_add_question_is_stored_exactly_as_typed(session, fixed_clock) -> None:
    _patient(session)
    tricky = ["Robert'); DROP TABLE patient_questions;--", "<img src=x onerror=alert(1)>", "😊🏊‍♀️"]
    for text in tricky:
        add_question(session, "P-1", text)
    session.commit()
    assert [q.text for q in list_questions(session, "P-1")] == tricky


def test_add_question_refuses_bad_input(session, fixed_clock) -> None:
    p = _patient(session)
    other = _patient(session, "P-2")
    theirs = _appt(session, other, "x", NOW + timedelta(days=1))
    with pytest.raises(ValueError, match="kind"):
        add_question(session, "P-1", "Hello", "worry")
    with pytest.raises(ValueError, match="empty"):
        add_question(session, "P-1", "   ")
    with pytest.raises(LookupError):
        add_question(session, "nobody", "Hello")
    with pytest.raises(LookupError):
        add_question(session, "P-1", "Hello", "question", theirs.id)
    assert list_questions(session, p.portal_id) == []


def test_remove_by_number_soft_deletes_and_renumbers(session, fixed_clock) -> None:
    _patient(session)
    for text in ["Work", "Tiredness", "Holidays"]:
        add_question(session, "P-1", text)
    removed = remove_questions(session, "P-1", Removal(number=2))
    assert [(q.number, q.text) for q in removed] == [(2, "Tiredness")]
    session.commit()
    assert [(q.number, q.text) for q in list_questions(session, "P-1")] == [
        (1, "Work"),
        (2, "Holidays"),
    ]
    row = session.get(PatientQuestion, removed[0].id)
    assert row.removed_at == NOW + timedelta(minutes=4)
    # Soft delete: the row is still there.
    assert len(session.execute(select(PatientQuestion)).scalars().all()) == 3


def test_remove_by_keyword_last_and_all(session, fixed_clock) -> None:
    _patient(session)
    for text in ["Work", "tiredness in the day", "Holidays", "More TIREDNESS", "Driving"]:
        add_question(session, "P-1", text)
    removed = remove_questions(session, "P-1", parse_removal("take tiredness off my list"))
    assert [q.text for q in removed] == ["tiredness in the day", "More TIREDNESS"]
    assert [q.text for q in remove_questions(session, "P-1", Removal(last=True))] == ["Driving"]
    assert remove_questions(session, "P-1", Removal(keyword="nothing like it")) == []
    assert remove_questions(session, "P-1", Removal(number=7)) == []
    assert remove_questions(session, "P-1", Removal()) == []
    assert remove_questions(session, "nobody", Removal(all=True)) == []
    removed = remove_questions(session, "P-1", parse_removal("clear my questions"))
    assert [q.text for q in removed] == ["Work", "Holidays"]
    session.commit()
    assert list_questions(session, "P-1") == []
    # Removing again finds nothing: removed questions stay removed.
    assert remove_questions(session, "P-1", Removal(all=True)) == []


def test_export_questions(session, fixed_clock) -> None:
    p = _patient(session)
    _appt(session, p, "past", NOW - timedelta(days=5), status="attended")
    appt = _appt(session, p, "next", datetime(2030, 5, 7, 9, 30, tzinfo=timezone.utc), kind="video")
    add_question(session, "P-1", "Can I go back to work?", "question", appt.id)
    add_question(session, "P-1", "Tired in the afternoons", "symptom", appt.id)
    add_question(session, "P-1", "Rash from the tablets", "side_effect", appt.id)
    add_question(session, "P-1", "Gone", "question", appt.id)
    remove_questions(session, "P-1", Removal(keyword="gone"))
    page = export_questions(session, "P-1", now=NOW)
    lines = page.splitlines()
    assert lines[0] == say("questions", "list_title")
    # UK summer time: 09:30 UTC is 10:30am in London.
    assert "Video appointment: Tuesday 7 May 2030 at 10:30am" in lines
    assert "1. Can I go back to work?" in lines
    assert "2. Tired in the afternoons (symptom to mention)" in lines
    assert "3. Rash from the tablets (side effect to mention)" in lines
    assert "Gone" not in page
    # No personal data beyond the patient's own questions.
    assert "Ada" not in page and "P-1" not in page


def test_export_questions_without_appointment_or_questions(session) -> None:
    _patient(session)
    page = export_questions(session, "P-1", now=NOW)
    assert page.startswith(say("questions", "list_title"))
    assert "appointment:" not in page
    assert "No questions added yet." in page
    with pytest.raises(LookupError):
        export_questions(session, "nobody", now=NOW)


def test_render_export_is_plain_text() -> None:
    page = render_export([QuestionView(1, 5, "<b>Hi</b>\x1b[2J", "question", None)])
    assert "1. <b>Hi</b> [2J" in page
    assert "\x1b" not in page


def test_question_view_repr_hides_the_text() -> None:
    view = QuestionView(1, 2, "my private worry", "question", None)
    assert "private" not in repr(view)
    assert dataclasses.is_dataclass(view)
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.text = "changed"  # type: ignore[misc]


def test_extract_question_limit_applies_after_the_lead_in() -> None:
    body = "x" * (MAX_CHARS - 1) + "yz"
    assert extract_question("add a question: " + body) == "X" + body[1:MAX_CHARS]
