"""Safety screening: the evaluation table, thresholds, negation and robustness."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import bot.understanding.nlp
from bot.care import safety
from bot.care.safety import (
    CRISIS,
    URGENT,
    Screener,
    Screening,
    TermsError,
    evaluate_table,
    get_screener,
    load_terms,
    normalise,
)
from bot.config import PROJECT_ROOT, get_settings

TABLE_PATH = PROJECT_ROOT / "tests" / "safety" / "phrases.yml"
TERMS_PATH = PROJECT_ROOT / "content" / "safety_terms.yml"
TABLE = yaml.safe_load(TABLE_PATH.read_text(encoding="utf-8"))


def _entries(section: str) -> list:
    return [pytest.param(e["text"], e["expect"], id=e["text"][:60]) for e in TABLE[section]]


@pytest.fixture(scope="session")
def terms() -> dict:
    return load_terms(TERMS_PATH)


@pytest.fixture(scope="session")
def screener(nlp, terms) -> Screener:
    return Screener(terms, nlp, fever_threshold_c=37.5)


@pytest.fixture(scope="session")
def low_threshold(nlp, terms) -> Screener:
    return Screener(terms, nlp, fever_threshold_c=37.0)


# ---------------------------------------------------------------- the table


def test_table_is_big_enough() -> None:
    assert len(TABLE["urgent"]) >= 60
    assert len(TABLE["crisis"]) >= 15
    assert len(TABLE["lookalikes"]) >= 20
    for section in ("urgent", "crisis"):
        for entry in TABLE[section]:
            assert entry["text"] and entry["expect"], entry


@pytest.mark.parametrize(("text", "expect"), _entries("urgent"))
def test_urgent_phrasings_are_caught(screener: Screener, text: str, expect: list[str]) -> None:
    result = screener.screen(text)
    assert result.category == URGENT, result
    assert set(expect) & set(result.signals), result


@pytest.mark.parametrize(("text", "expect"), _entries("crisis"))
def test_crisis_phrasings_are_caught(screener: Screener, text: str, expect: list[str]) -> None:
    result = screener.screen(text)
    assert result.category == CRISIS, result
    assert set(expect) & set(result.signals), result


@pytest.mark.parametrize("text", [pytest.param(t, id=t[:60]) for t in TABLE["lookalikes"]])
def test_lookalikes_are_not_flagged(screener: Screener, text: str) -> None:
    result = screener.screen(text)
    assert not result.is_flagged, result


def test_evaluate_table_reports_sensitivity_and_misses(screener: Screener) -> None:
    report = evaluate_table(screener, TABLE)
    assert report["urgent"]["sensitivity"] == 1.0
    assert report["crisis"]["sensitivity"] == 1.0
    assert report["lookalikes"]["false_alarms"] == 0
    assert report["misses"] == []

    small = {
        "urgent": [{"text": "my temp is 38.6", "expect": ["temperature_reading"]}],
        "crisis": [{"text": "what time is clinic", "expect": ["suicidal"]}],
        "lookalikes": ["I have a fever"],
    }
    report = evaluate_table(screener, small)
    assert report["urgent"] == {"total": 1, "caught": 1, "sensitivity": 1.0}
    assert report["crisis"] == {"total": 1, "caught": 0, "sensitivity": 0.0}
    assert report["lookalikes"]["false_alarms"] == 1
    assert report["lookalikes"]["false_alarm_rate"] == 1.0
    assert [m["section"] for m in report["misses"]] == ["crisis", "lookalikes"]
    assert report["misses"][1]["signals"] == ["fever"]


def test_evaluate_table_with_empty_sections(screener: Screener) -> None:
    report = evaluate_table(screener, {})
    assert report["urgent"]["sensitivity"] is None
    assert report["lookalikes"]["false_alarm_rate"] is None


# ------------------------------------------------------- temperature numbers


def test_threshold_is_configurable(screener: Screener, low_threshold: Screener) -> None:
    assert not screener.screen("my temp is 37.4").is_flagged
    assert low_threshold.screen("my temp is 37.4").signals == ("temperature_reading",)
    assert not low_threshold.screen("my temp is 36.9").is_flagged


def test_threshold_is_inclusive(screener: Screener) -> None:
    assert screener.screen("temp 37.5").signals == ("temperature_reading",)
    assert not screener.screen("temp 37.49").is_flagged


def test_default_threshold_comes_from_settings(monkeypatch: pytest.MonkeyPatch, nlp) -> None:
    monkeypatch.setenv("FEVER_THRESHOLD_C", "37.0")
    get_settings.cache_clear()
    get_screener.cache_clear()
    monkeypatch.setattr(bot.understanding.nlp, "load_pipeline", lambda path=None: nlp)
    try:
        assert get_screener().fever_threshold_c == 37.0
        assert get_screener().screen("temp 37.2").is_flagged
    finally:
        get_settings.cache_clear()
        get_screener.cache_clear()


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("temp 101F", True),
        ("temperature 100.4 f", True),
        ("101 degrees fahrenheit", True),
        ("temp 99.5F", True),  # exactly 37.5 C
        ("temp 98.6F", False),
        ("temp 99F", False),
        ("my temp is 100", True),  # no unit: read as Fahrenheit by range
        ("38.5C", True),
        ("38°C", True),
        ("38 degrees", True),
        ("38.2 °c", True),
        ("temp thirty eight point five", True),
        ("temp 37,8", True),  # decimal comma
        ("temp 36,9", False),
    ],
)
def test_units_and_fahrenheit_conversion(screener: Screener, text: str, flagged: bool) -> None:
    assert screener.screen(text).is_flagged is flagged


@pytest.mark.parametrize(
    "text",
    [
        "I'm 38 years old",
        "room 38",
        "my appointment on the 38th",
        "38",
        "my platelets were 38 last time",
        "pulse 101, temperature fine",
        "can I come at 10:38?",
        "it's 38 degrees outside today",
        "my blood pressure was 138/85",
        "temp 380",
    ],
)
def test_numbers_that_are_not_temperatures(screener: Screener, text: str) -> None:
    assert not screener.screen(text).is_flagged


# ------------------------------------------------------------------ negation


@pytest.mark.parametrize(
    ("text", "signals"),
    [
        ("I haven't had any fever, what happens at clinic?", ()),
        ("no fever", ()),
        ("never had a fever since treatment", ()),
        ("no sign of fever", ()),
        ("denies fever", ()),
        ("without any bleeding", ()),
        ("no temperature but my nose has been bleeding for an hour", ("bleeding",)),
        ("Not feverish but temp is 38.4", ("temperature_reading",)),
        ("no fever; however I am short of breath", ("breathless",)),
        ("no fever though I keep being sick", ("vomiting",)),
        ("no fever and my gums are bleeding", ("bleeding",)),
        ("my temperature hasn't gone over 38", ()),
        ("not sure if it's a fever", ("fever",)),
        ("I can't stop shivering", ("shivering",)),
        ("I've never felt so ill", ("suddenly_unwell",)),
    ],
)
def test_negation_scope_ends_at_clause_boundaries(
    screener: Screener, text: str, signals: tuple[str, ...]
) -> None:
    assert screener.screen(text).signals == signals


def test_negation_does_not_hide_crisis_language(screener: Screener) -> None:
    # Deliberate (safety_terms.yml): denials still get the gentle crisis reply.
    assert screener.screen("I'm not suicidal but I do think about it").category == CRISIS


def test_anchored_phrase_must_end_the_clause(screener: Screener) -> None:
    assert screener.screen("I don't want to be here.").category == CRISIS
    assert not screener.screen("I don't want to be here all day at clinic").is_flagged


# ------------------------------------------- hypothetical and administrative


@pytest.mark.parametrize(
    "text",
    [
        "Should I worry about a fever?",
        "what temperature counts as a fever?",
        "what should I do if I get a temperature",
    ],
)
def test_hypothetical_fever_questions_are_flagged(screener: Screener, text: str) -> None:
    assert screener.screen(text).signals == ("fever",)


@pytest.mark.parametrize(
    "text",
    [
        "they'll check my temperature and blood pressure at clinic?",
        "what do they check at a face to face appointment, like temperature and weight",
        "they took my temperature at clinic",
        "do I need to have a temperature check first?",
    ],
)
def test_administrative_temperature_is_harmless(screener: Screener, text: str) -> None:
    assert not screener.screen(text).is_flagged


def test_measured_temperature_with_a_fever_number_still_flags(screener: Screener) -> None:
    result = screener.screen("they took my temperature and it was 38.5")
    assert result.signals == ("temperature_reading",)


# ------------------------------------------------------ who, and precedence


@pytest.mark.parametrize(
    ("text", "someone_else"),
    [
        ("my daughter is burning up", True),
        ("my son has a temperature", True),
        ("my husband is shivering and confused", True),
        ("my little one has a rash", True),
        ("she's got a temp of 38.6", True),
        ("I am burning up", False),
        ("I have a temperature of 38.5", False),
    ],
)
def test_third_person_detection(screener: Screener, text: str, someone_else: bool) -> None:
    result = screener.screen(text)
    assert result.is_flagged
    assert result.about_someone_else is someone_else


def test_crisis_outranks_urgent(screener: Screener) -> None:
    result = screener.screen("temp is 38.9 and I want to kill myself")
    assert result.category == CRISIS
    assert result.signals == ("suicidal", "temperature_reading")


def test_signals_are_sorted_and_unique(screener: Screener) -> None:
    result = screener.screen("fever, fever, shivery, rigors and a nosebleed, temp 39")
    assert result.signals == ("bleeding", "fever", "shivering", "temperature_reading")


def test_screening_value_object() -> None:
    empty = Screening(category=None)
    assert not empty.is_flagged
    assert empty.signals == ()
    assert Screening(category=URGENT, signals=("fever",)).is_flagged
    with pytest.raises(dataclasses.FrozenInstanceError):
        empty.category = URGENT  # type: ignore[misc]


# ------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n\n\t",
        "😀🎉👍",
        "<b></b>",
        "<script>alert('hi')</script>",
        "'; DROP TABLE appointments; --",
        "1; SELECT * FROM users WHERE name = '' OR 1=1 --",
        "\x00\x01\x02",
        "a" * 20_000,
        "?!.,;:" * 100,
        "&lt;&gt;&amp;&#x27;",
        "\u200b\u200b",
    ],
)
def test_odd_input_is_safe(screener: Screener, text: str) -> None:
    assert screener.screen(text) == Screening(category=None)


def test_none_is_treated_as_empty(screener: Screener) -> None:
    assert not screener.screen(None).is_flagged  # type: ignore[arg-type]


def test_symptoms_inside_markup_and_emoji_are_found(screener: Screener) -> None:
    assert screener.screen("<p>temp <b>38.7</b> &amp; shivery</p>").signals == (
        "shivering",
        "temperature_reading",
    )
    assert screener.screen("🤒🤒 feel awful").signals == ("fever",)
    assert screener.screen("can\u2019t catch my breath 😰").signals == ("breathless",)


def test_huge_input_is_capped_but_both_ends_are_screened(screener: Screener) -> None:
    filler = "I have a question about my appointment letter. " * 5_000
    start = time.perf_counter()
    assert screener.screen("my temp is 38.9. " + filler).signals == ("temperature_reading",)
    assert screener.screen(filler + " and now I'm coughing up blood").signals == ("bleeding",)
    assert not screener.screen(filler).is_flagged
    # A guard against run-away (quadratic) matching, not a speed test (that is `make bench`):
    # with about 2,400 patterns one clipped message takes about 2 s on the CI machines.
    assert time.perf_counter() - start < 20


def test_message_text_never_reaches_the_logs(
    screener: Screener, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Zebedee"
    caplog.set_level(logging.DEBUG, logger="bot.care.safety")
    screener.screen(f"{secret} here, temp 38.8 and I want to end it all")
    screener.screen(f"{secret} asks about parking")
    screener.screen(f"{secret} " * 3_000)
    assert caplog.records, "expected the screen to log its outcome"
    for record in caplog.records:
        rendered = record.getMessage()
        assert secret not in rendered
        assert "38.8" not in rendered
        assert "end it all" not in rendered
    flagged = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert flagged == [
        "safety screen flagged: category=crisis signals=suicidal,temperature_reading"
    ]


# ---------------------------------------------------- construction and terms


def test_get_screener_is_lazy_and_cached(monkeypatch: pytest.MonkeyPatch, nlp) -> None:
    calls: list[object] = []

    def fake_load(path: Path | None = None):
        calls.append(path)
        return nlp

    get_screener.cache_clear()
    monkeypatch.setattr(bot.understanding.nlp, "load_pipeline", fake_load)
    try:
        first = get_screener()
        assert get_screener() is first
        assert len(calls) == 1
        assert first.screen("my son has a temperature").is_flagged
    finally:
        get_screener.cache_clear()


def test_importing_the_module_loads_nothing_heavy() -> None:
    code = "import sys, bot.care.safety; print('spacy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_module_does_not_import_rasa() -> None:
    source = Path(safety.__file__).read_text(encoding="utf-8")
    assert "import rasa" not in source
    assert "from rasa" not in source


def test_terms_missing_a_signal_are_rejected(terms: dict, nlp) -> None:
    broken = {**terms, "urgent": {k: v for k, v in terms["urgent"].items() if k != "bleeding"}}
    with pytest.raises(TermsError, match="bleeding"):
        Screener(broken, nlp)


def test_unquoted_yaml_no_is_rejected(terms: dict, nlp) -> None:
    broken = {**terms, "negation": {**terms["negation"], "cues": [False, "not"]}}
    with pytest.raises(TermsError, match="quote"):
        Screener(broken, nlp)


@pytest.mark.parametrize(
    "phrase",
    ["(unclosed group", "... leading gap", "trailing gap ...", "[only optional]", "a $ b"],
)
def test_bad_phrase_syntax_is_reported(terms: dict, nlp, phrase: str) -> None:
    urgent = {**terms["urgent"], "fever": {"phrases": [phrase]}}
    with pytest.raises(TermsError):
        Screener({**terms, "urgent": urgent}, nlp)


def test_raw_spacy_patterns_are_supported(terms: dict, nlp) -> None:
    urgent = {**terms["urgent"], "chest_pain": {"patterns": [[{"LOWER": "angina"}]]}}
    custom = Screener({**terms, "urgent": urgent}, nlp)
    assert custom.screen("I think it is angina").signals == ("chest_pain",)


def test_pipeline_without_lemmas_is_refused(terms: dict) -> None:
    import spacy

    with pytest.raises(ValueError, match="lemmatiser"):
        Screener(terms, spacy.blank("en"))


@pytest.mark.parametrize(
    ("text", "framing"),
    [
        ("back in treatment i was vomiting every day", "past"),
        ("had a nosebleed yesterday that stopped after 5 mins, all fine now", "resolved"),
        ("what should i do if he ever gets a nosebleed that wont stop?", "question"),
        ("the nosebleeds are back again like during chemo", None),  # "again": happening now
        ("my nose is bleeding and won't stop", None),
        # "started" only in its own form: "if I start being sick" is still a question
        ("what do we do if she starts vomiting in the night", "question"),
        ("the vomiting started an hour ago", None),
        # "some sort of fit" is not "sorted"
        ("he had some sort of fit and now he's very drowsy", None),
        ("bled from the gums, dentist sorted it", "resolved"),
        ("the nosebleeds before he was diagnosed were awful", "past"),
        # an animal's symptom, even "today"; but not when the animal only caused a person's
        ("the dog has been sick twice today", "animal"),
        ("the dog knocked me over and now my nose won't stop bleeding", None),
        ("was sick twice but kept fluids down since", "resolved"),
        # a reading now, asked about, is still a reading now
        ("her temp is 37.9, do we wait for 38 before ringing", None),
    ],
)
def test_framing_says_when_a_symptom_is_not_happening_now(screener, text, framing):
    result = screener.screen(text)
    assert result.is_flagged and result.framing == framing


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("my son had a fit", True),
        ("she is fitting", True),
        ("he started fitting again", True),
        ("she went limp in my arms", True),
        ("he's gone all limp", True),
        ("mum is slurring her words", True),
        # "fit" and "limp" in their everyday senses
        ("does this coat fit", False),
        ("best family car that fits a big buggy", False),
        ("fitting the new car seat tomorrow", False),
        ("my dog has a limp", False),
        ("walking with a limp since I twisted my ankle at football", False),
    ],
)
def test_fits_and_limp_only_as_a_state(screener: Screener, text: str, flagged: bool) -> None:
    assert screener.screen(text).is_flagged is flagged


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("i have nothing left to live for", True),
        ("honestly not much to live for these days", True),
        ("not sure ill still be here by the next check up", True),
        ("doubt i'll be alive by christmas", True),
        # the same words about diaries and hobbies
        ("not sure I'll be around next week, I might be away", False),
        ("I live for the weekend", False),
        ("honestly I'd rather not be around at all", True),
        ("not sure I want to make it to my next birthday", True),
        ("I don't think I can keep myself safe tonight", True),
        ("I keep pinching myself till it bruises", True),
        ("I had to pinch myself when they said all clear", False),
        ("finished with the checklist, what next", False),
    ],
)
def test_quiet_crisis_phrasings(screener: Screener, text: str, flagged: bool) -> None:
    assert (screener.screen(text).category == CRISIS) is flagged


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("dad is so confused, doesn't recognise the kitchen", URGENT),
        ("bit confused, is my appointment on the 4th or the 5th", None),
        ("she has been cutting herself again", CRISIS),
        ("he scratched himself on a bramble", None),
        ("part of me is hoping the cancer comes back", CRISIS),
        ("i just feel like there's no point to me", CRISIS),
    ],
)
def test_third_person_and_oblique_phrasings(screener: Screener, text: str, category) -> None:
    assert screener.screen(text).category == category


def test_framing_is_read_without_a_rule_signal(screener: Screener) -> None:
    assert screener.screen("my knees used to ache back then").framing == "past"
    assert screener.screen("more tired than i was on chemo").framing is None


@pytest.mark.parametrize(
    "text",
    [
        "shaking with nerves before my driving test",
        "out of breath from laughing at my little brother",
        "the gas bill makes me want to throw up",
        "collapsed into bed after a double shift",
    ],
)
def test_everyday_figures_of_speech(screener: Screener, text: str) -> None:
    assert not screener.screen(text).is_flagged


def test_couldnt_keep_anything_down_is_not_a_present_word(screener: Screener) -> None:
    assert screener.screen("couldn't keep anything down during induction").framing == "past"
    assert screener.screen("i keep being sick, it started during induction").framing is None


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("i burn my leg with a lighter when it gets too much", CRISIS),
        ("banging my head against the wall again tonight", CRISIS),
        ("part of me thinks if i just didn't wake up that would be fine", CRISIS),
        ("i want to just stop existing", CRISIS),
        ("been thinking about jumping off the multi storey", CRISIS),
        ("thought about steering into a tree on the bypass", CRISIS),
        # the same words, everyday
        ("thinking about jumping on the trampoline with the kids", None),
        ("we've picked a date and booked the venue", None),
        ("i hit my head on the door frame", None),
        ("the car skidded and we nearly went into the barrier", None),
    ],
)
def test_crisis_told_through_the_body_or_a_plan(screener: Screener, text: str, category) -> None:
    assert screener.screen(text).category == category


def test_having_had_leukaemia_long_ago_does_not_frame_a_symptom(screener: Screener) -> None:
    assert screener.screen("temp 38.4, I had leukaemia as a child").framing is None


@pytest.mark.parametrize(
    ("text", "lasting"),
    [
        ("my joints have ached for a few weeks now", True),
        ("cough not clearing even with antibiotics", True),
        ("been off my food for about three weeks", True),
        ("my joints ache after football", False),
    ],
)
def test_lasting_words_are_read(screener: Screener, text: str, lasting: bool) -> None:
    assert screener.screen(text).lasting is lasting


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("ear thermometer says 39 point something", "temperature_reading"),
        ("she cannae keep a drink down", "vomiting"),
        ("blood soaking through the plaster, been pressing for ages", "bleeding"),
        ("mum doesn't know who we are this evening", "confusion"),
        ("sweating through the sheets every night", "night_sweats"),
        ("he's gasping and can't talk properly", "breathless"),
    ],
)
def test_lay_descriptions_found_by_the_rules(screener: Screener, text: str, signal: str) -> None:
    assert signal in screener.screen(text).signals


@pytest.mark.parametrize(
    "text",
    ["I'm gasping for a cuppa after that clinic queue", "38 point something miles to the hospital"],
)
def test_lay_description_lookalikes(screener: Screener, text: str) -> None:
    assert not screener.screen(text).is_flagged


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # chosen on the fifth validation set; these sentences are new, not its own
        ("honestly i might not be here by next week", CRISIS),
        ("nobody would even notice if i went", CRISIS),
        ("there's nothing left for me", CRISIS),
        ("made cuts on my thighs again last night", CRISIS),
        ("his girlfriend saw cuts on his wrists", CRISIS),
        ("the scratches she gave herself are getting deeper", CRISIS),
        # the same words, everyday
        ("the nurse might not be here by then, she's on leave", None),
        ("there's nothing left for lunch", None),
        ("the pen made marks on my arm", None),
    ],
)
def test_crisis_wording_from_the_fifth_set(screener: Screener, text: str, category) -> None:
    assert screener.screen(text).category == category


@pytest.mark.parametrize(
    "text",
    ["i wake up soaked with sweat every night", "sheets wet from sweating most nights"],
)
def test_waking_wet_is_night_sweats(screener: Screener, text: str) -> None:
    assert "night_sweats" in screener.screen(text).signals


@pytest.mark.parametrize(
    "text",
    [
        # a present emergency told beside an all-clear or a question stays present
        "she was absolutely fine this morning and now she's burning up, 39.2",
        "his temp broke 39 an hour ago",
        "temp 38.6, how long before we should ring?",
        "he's 38.9 and shivering, if he feels worse should we come in",
    ],
)
def test_an_emergency_told_beside_an_all_clear_or_a_question(screener: Screener, text) -> None:
    result = screener.screen(text)
    assert result.category == "urgent" and result.framing is None


def test_shaking_negated_with_shivery(screener: Screener) -> None:
    """'Shaking' is the symptom here, not a verb that takes the negation away from it."""
    screening = screener.screen("i haven't been shaking or shivering at all")
    assert not screening.is_flagged and "shivering" in screening.discounted
    assert screener.screen("i can't shake off this shivering").is_flagged


# Chosen on the sixth validation set; these sentences are new, not copied from it.
@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("she's been so pale and tired for a fortnight", "tired_pale"),
        ("knackered and grey looking every day", "tired_pale"),
        ("the smallest walk wears him out", "tired_pale"),
        ("his bones ache, worse at bedtime", "bone_pain"),
        ("her legs hurt every night and she cries", "bone_pain"),
        ("could it just be growing pains?", "bone_pain"),
        ("cold after cold since september", "infections"),
        ("that's his third course of antibiotics", "infections"),
        ("I've dropped a stone without even trying", "weight_loss"),
        ("his school trousers are hanging off him", "weight_loss"),
        ("a cough that just won't go away", "lasting_symptom"),
        ("headaches every morning this week", "lasting_symptom"),
        ("my pee looks bright red", "bleeding"),
        ("mum's gone all vacant and quiet", "confusion"),
        ("he keeps forgetting where he is", "confusion"),
        ("shivering under the duvet with my coat on", "shivering"),
        ("bokin all day", "vomiting"),
    ],
)
def test_sixth_set_signals(screener: Screener, text: str, signal: str) -> None:
    assert signal in screener.screen(text).signals


@pytest.mark.parametrize(
    "text",
    [
        "thinking of checking out for good",
        "it'd be easier for everyone if I just wasn't around",
        "I've been researching methods online",
        "he has his morphine saved up",
        "i scalded myself on purpose",
        "it keeps bleeding, on purpose",
        "there's nae point",
        "I've stopped hoping",
        "everything feels pointless",
        "would that be enough to not wake up",
    ],
)
def test_sixth_set_crisis_wording(screener: Screener, text: str) -> None:
    assert screener.screen(text).category == "crisis"


@pytest.mark.parametrize(
    "text",
    [
        # "... or anything" and "no point" end many ordinary clauses: not crisis words.
        "i'm not shaking or hot or anything, just asking about parking",
        "no point ringing them now, it's sorted",
        "we tied the knot in may",
        "can I check out of the ward before lunch",
        "would that be enough notice to move my appointment",
        "I've lost my appointment letter",
        # Found by a review of the sixth-set rules: ordinary questions they had caught.
        "can I collect my tablets from the pharmacy on Friday?",
        "is hand gel enough to kill the bug?",
        "would that be enough to stop me getting a parking fine?",
        "I looked up how to do it on the website",
        "I've given up hoping they'll ring me back",
        "what's the point of any of this paperwork?",
        "will the hand rail in the bathroom take my weight?",
        "I scalded my hand on the kettle making tea",
        "I forgot where I was supposed to go for my bloods",
        "I'm all confused about the new appointment times",
        "this is the second time this month my appointment has been cancelled",
        "I keep getting sick of waiting on hold",
        "I dropped my phone without meaning to",
        "his school trousers are hanging up in the wardrobe",
        "I've been scratching my head for days about this letter",
        "I'm shattered after a flight home",
    ],
)
def test_sixth_set_look_alikes_stay_quiet(screener: Screener, text: str) -> None:
    assert not screener.screen(text).is_flagged


@pytest.mark.parametrize(
    ("text", "framing"),
    [
        # An all-clear is about the symptom, not "has stopped playing" or "won't go away".
        ("he has stopped playing football because his legs hurt at night", None),
        ("a rash that won't go away", None),
        ("the nosebleed has stopped", "resolved"),
        ("the rash went away with the cream", "resolved"),
        # Worse than ever on treatment is about now.
        ("shaking and feels worse than she ever did on chemo", None),
        # Unsure whether she has a temperature is about now, not some day.
        ("she's shaking and I can't tell if she's got a temp", None),
    ],
)
def test_sixth_set_framing(screener: Screener, text: str, framing: str | None) -> None:
    assert screener.screen(text).framing == framing


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("he is running hot, 38.5", True),
        ("she's red hot and floppy", True),
        ("my engine's running hot, I might be late", False),
        ("the oven is red hot", False),
        ("wimbledon fever in our house this week", False),
        # "baby fever" is a baby with a fever, not an event's "fever".
        ("my baby fever won't come down", True),
    ],
)
def test_running_hot_is_a_person_not_a_machine(
    screener: Screener, text: str, flagged: bool
) -> None:
    assert ("fever" in screener.screen(text).signals) is flagged


# Chosen on the seventh validation set and narrowed by a review; these sentences are new,
# not copied from it.
@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("he's roastin, 38.9", "temperature_reading"),
        ("the wean's chitterin wi the cold under three blankets", "shivering"),
        ("her wee has gone a dark pink colour", "bleeding"),
        ("I have to stop on the stairs to catch my breath", "breathless"),
        ("his ribs are sucking in with every breath", "breathless"),
        ("she had a jerking fit in the bath", "confusion"),
        ("had another shaking episode this morning", "confusion"),
    ],
)
def test_seventh_set_signals(screener: Screener, text: str, signal: str) -> None:
    assert signal in screener.screen(text).signals


@pytest.mark.parametrize(
    "text",
    [
        "how many would it take to never wake up",
        "what would it take to end it all",
        "cannae stop hurtin masel",
        "had the urge to sh again last night",
    ],
)
def test_seventh_set_crisis_wording(screener: Screener, text: str) -> None:
    assert screener.screen(text).category == "crisis"


@pytest.mark.parametrize(
    "text",
    [
        # Found by a review of the seventh-set rules: ordinary messages they had caught.
        "I won't be around next week, can we move my appointment?",
        "We're in Spain all of August so I won't be around.",
        "this is my last message for today, I'll ring tomorrow",
        "Please ignore my last message to you, I got the date wrong",
        "I've made my peace with having phone appointments",
        "we're keeping the party quiet so nobody suspects",
        "how long does it take to die down after the jab?",
        "what would it take to not wake up at 5am on the steroids?",
        "ugh sh again, the appointment's been cancelled",
        "cut masel on a tin of beans making the dinner",
        "I can walk to school now without stopping to catch my breath",
        "the pilates teacher says keep your tummy pulled in",
        "his chest going in and out while he sleeps looks normal",
        "a lovely bit of chitter chatter with the nurses",
        "the birds were chittering away all morning",
        "my eyelid has had a twitching spell all week",
        "the bus took a jerky turn and I spilled my coffee",
        "my hands go clammy when I'm nervous, I've got 38 questions ready",
    ],
)
def test_seventh_set_look_alikes_stay_quiet(screener: Screener, text: str) -> None:
    result = screener.screen(text)
    assert result.category != "crisis"
    assert not {"breathless", "confusion", "shivering", "temperature_reading"} & set(result.signals)


@pytest.mark.parametrize(
    ("text", "framing"),
    [
        # Going back into hospital is about now; "back in 2019" is the past.
        ("temp 38.6 and I don't want to go back in", None),
        ("back in 2019 I had fevers all the time", "past"),
        # When ALL treatment ended dates the treatment, not the symptom.
        ("temp 38 exactly, finished ALL in 2022", None),
        ("ALL finished last year, he's burning up", None),
        ("was out of breath after the run but soon got my breath back", "resolved"),
        # Found by the review: a fever back, and a fit that stopped, are not all-clears.
        ("thought her fever had broken but she's got it back, 38.9", None),
        ("the fit stopped quickly but he's really drowsy", None),
    ],
)
def test_seventh_set_framing(screener: Screener, text: str, framing: str | None) -> None:
    assert screener.screen(text).framing == framing


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        # Scots and Northern English words that hid a phrase's own words (eighth set).
        ("cannae stop hurtin masel", "cannot stop hurtin masel"),
        ("nowt's worth owt", "nothing's worth anything"),
        ("nae temp, nae rash", "no temp, no rash"),
        ("she winnae settle", "she will not settle"),
        ("i dinnae want to be here nae mair", "i do not want to be here anymore"),
        # Listed in the crisis terms as Scots: left alone.
        ("there's nae point", "there's nae point"),
        # Only whole words: "nae" inside a word, or a name, stays.
        ("naebody knows, Owtram said", "naebody knows, owtram said"),
    ],
)
def test_dialect_words_are_read_as_their_standard_words(text: str, normalised: str) -> None:
    assert normalise(text) == normalised


def test_a_dropped_g_is_restored_only_where_the_ing_form_is_a_word(screener: Screener) -> None:
    assert screener.screen("been thinkin aboot endin it aw").category == "crisis"
    assert screener.screen("cannae stop shiverin an shakin").category == "urgent"
    for ordinary in ("my skin is dry again", "a pumpkin muffin from the cabin", "my cousin Robin"):
        assert screener.screen(ordinary).category is None, ordinary


@pytest.mark.parametrize(
    "text",
    [
        # A present word inside an all-clear clause doesn't undo the all-clear (eighth set).
        "her nosebleed stopped after ten minutes, she's back playing outside now",
        "the sickness went away after a day and he's back running about now",
        "the rash cleared up with cream and he's back to his usual self today",
    ],
)
def test_an_all_clear_keeps_its_framing_beside_a_present_word(
    screener: Screener, text: str
) -> None:
    assert screener.screen(text).framing in ("resolved", "past")


@pytest.mark.parametrize(
    "text",
    [
        # Written against the all-clear rule: each is about now and must keep its flag.
        "he was fine this morning but now he's burning up and floppy",
        "the nosebleed stopped after 10 mins but it's bleeding again now",
        "back at school today and the school rang, he's got a temperature of 38.4",
        "she's back at nursery today but has come out in tiny purple spots all over her legs",
        "the rash cleared up, he's fine in himself today but covered in new bruises",
        "his fever went away after calpol but he's back at school today and feels shivery",
        "the bleeding stopped, she's happily playing but her gums are bleeding again today",
        "the sickness passed, he's back to normal today apart from some blood in his wee",
        "the rash cleared up, he's not fine today though, really pale",
    ],
)
def test_an_all_clear_elsewhere_leaves_a_present_symptom_flagged(
    screener: Screener, text: str
) -> None:
    result = screener.screen(text)
    assert result.is_flagged and result.framing is None


@pytest.mark.parametrize(
    "text",
    [
        # Crisis wording chosen on the eighth validation set (my own phrasings of each kind).
        "been thinkin aboot toppin masel",
        "I'm 80 and there's no reason for me to stay alive now",
        "nothing will ever be ok again",
        "i can't keep doing this",
        "i dont even care if the leukaemia comes back",
        "honestly it'd be a relief if a bus hit me",
        "I've sorted out who gets my stuff",
        "I've got the pills lined up on my bed",
        "burnt myself on the pan on purpose",
        "I've been cutting up my arms again",
        "thinking about topping myself up with all his oxycodone",
        "tied a rope to the beam in the garage",
        "I burn my arms with cigarettes",
        "I dig my nails into my palms until they bleed",
        "I've been cutting.",
        "ive been cutting my legs",
    ],
)
def test_eighth_set_crisis_wording(screener: Screener, text: str) -> None:
    assert screener.screen(text).category == "crisis"


@pytest.mark.parametrize(
    "text",
    [
        "i keep thinking about topping myself up with fluids",
        "my social life is over lol",
        # Found by the review of the first drafts.
        "Is it okay if the bus takes me to clinic on my own?",
        "Arguing with my sister about who gets my room when I go to uni",
        "Got his meds lined up for the holiday, do I need a letter?",
        "It's freezing, tied my scarf round my neck and went out",
        "I've been cutting my tablets in half, is that ok?",
        "I've been cutting dairy out to see if it helps his tummy",
        "Mum took my phone, my life is over lol",
        "I don't care if it comes back curly or straight, just want my hair back",
        "She shouldn't keep doing this, picking at her scabs",
        "I don't know how I'm going to top myself after that birthday cake",
        "no reason for me to live in halls next year if I'm commuting",
        "Bruised masel on the coffee table again",
        "i can't keep doing this 2 hour drive every month",
        "who gets my appointment letter, me or my mum?",
        "I've lined up all my questions for clinic",
        "I've been cutting out sugar",
        "i've been cutting the grass all day",
        "I cut myself on a tin of beans",
    ],
)
def test_eighth_set_look_alikes_stay_quiet(screener: Screener, text: str) -> None:
    assert screener.screen(text).category != "crisis"


@pytest.mark.parametrize(
    "text",
    [
        # Told by comparison with the past, or as something that keeps happening: about now.
        "my legs ache like they did when I was first diagnosed",
        "he's pale and keeps falling asleep at school like he did before diagnosis",
        "I keep nodding off in the afternoons since my last check up",
    ],
)
def test_a_comparison_with_back_then_is_about_now(screener: Screener, text: str) -> None:
    assert screener.screen(text).framing is None


@pytest.mark.parametrize(
    "text",
    [
        # Red flags the first drafts of the eighth-set changes had hidden (the review's).
        "He was fine this morning, now he's burning up like during induction",
        "She was happy this morning, now she's floppy and pale like when she was first diagnosed",
        "She was fine this morning, now she's not keeping fluids down",
        "His gums are bleeding like during chemo, is that normal still?",
        "He's got a fever like during maintenance, is it alright to give calpol tonight?",
        "Checked his temp and it went up to 39, he's happy enough today",
        "She's got that rash she had during maintenance, she's fine today otherwise",
        "He's bleeding from his nose like years ago, he's alright today otherwise",
        "nae joke his nose has been bleedin for an hour",
        "No lie her lips are blue",
        "I'm nae sure if it's a fever but he's roastin",
        "I couldnae believe his temp was 39.5",
        "Isnae it worrying that he's been sick six times?",
        "Without a break he's been sick all night",
        "She's been sick 5 times and kept nowt since lunch",
        "He's not fine now, his temp is 38.9",
        "I didn't think a nosebleed could last this long, it's been an hour",
        "I don't think it's a fever but he's boiling",
    ],
)
def test_eighth_set_review_red_flags_stay_flagged(screener: Screener, text: str) -> None:
    result = screener.screen(text)
    assert result.is_flagged and result.framing is None, result
