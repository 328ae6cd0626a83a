"""The semantic net and the triage that combines it with the rules (real encoder, real anchors)."""

import pytest

from bot.care.safety import Screening
from bot.care.safety_net import (
    Lookalikes,
    NetResult,
    Ordinary,
    SafetyNet,
    get_net,
    is_short,
    pieces,
)
from bot.care.triage import decide, rules_tier


@pytest.fixture(scope="module")
def net():
    return get_net()


def test_every_part_of_a_long_message_is_in_some_piece():
    text = "Question about parking. " * 200 + "My gums keep bleeding."
    assert any("gums keep bleeding" in p for p in pieces(text))
    assert len(pieces(text)) <= 48


@pytest.mark.parametrize(
    ("text", "tier"),
    [
        ("honestly what is even the point of carrying on with any of this", "crisis"),
        ("I've been hoarding my painkillers in a drawer", "crisis"),
        ("my legs ache deep in the bones every night and it wakes me", "team_soon"),
        ("he is struggling to breathe and his lips look blue", "act_now"),
    ],
)
def test_lay_phrasings_are_flagged_in_their_tier(net, text, tier):
    assert net.check(text).tier == tier


@pytest.mark.parametrize(
    "text",
    [
        "how often will my check ups be now I've finished treatment",
        "can my mum sit in on the video call with me",
        "what's the weather like in Leeds tomorrow",
        # unrelated requests are ordinary too (ordinary_questions: unrelated)
        "how to get my kids to sleep earlier",
        "yoga breathing techniques for beginners",
    ],
)
def test_ordinary_questions_are_not_flagged(net, text):
    assert net.check(text).tier is None


def test_a_bad_tier_in_the_anchors_is_refused(net):
    with pytest.raises(ValueError, match="tier"):
        SafetyNet({"categories": {"x": {"tier": "later", "anchors": ["a"]}}}, encoder=None)


FEVER = Screening(category="urgent", signals=("fever",))
FAR_LOOKALIKE = NetResult(None, None, 0.4, -0.3)


def test_rules_flag_stands_when_the_net_sees_nothing_in_a_long_message():
    assert decide(FEVER, FAR_LOOKALIKE, suppress=0.05, short=False).tier == "act_now"


def test_short_lookalike_gets_information_instead_of_an_alarm():
    result = decide(FEVER, FAR_LOOKALIKE, suppress=0.05, short=True)
    assert result.tier is None and result.found_by == "set_aside"


def test_crisis_is_never_set_aside():
    crisis = Screening(category="crisis", signals=("suicidal",))
    assert decide(crisis, FAR_LOOKALIKE, suppress=0.05, short=True).tier == "crisis"


def test_the_more_urgent_of_the_two_nets_wins():
    bruising = Screening(category="urgent", signals=("bruising",))
    assert rules_tier(bruising) == "team_soon"
    net_says = NetResult("bleeding", "act_now", 0.7, 0.2)
    result = decide(bruising, net_says)
    assert result.tier == "act_now" and result.found_by == "net"


def test_discounted_words_keep_the_net_quiet():
    negated = Screening(category=None, discounted=("fever",))
    assert decide(negated, NetResult("fever", "act_now", 0.6, 0.1)).tier is None


def test_is_short():
    assert is_short("had a temp last week, fine now")
    assert not is_short("word " * 40)


NEAR_FLAG = NetResult(None, None, 0.44, 0.08)


def test_not_now_words_set_a_rule_flag_aside_only_while_the_net_agrees():
    framed = Screening(category="urgent", signals=("fever",), framing="resolved")
    assert decide(framed, NEAR_FLAG, suppress=0.1, short=True, framed=0.1).found_by == "set_aside"
    closer = NetResult("fever", "act_now", 0.7, 0.2)
    assert decide(framed, closer, suppress=0.1, short=True, framed=0.1).tier == "act_now"
    # Without the framing words the same margin keeps the alarm.
    assert decide(FEVER, NEAR_FLAG, suppress=0.1, short=True, framed=0.1).tier == "act_now"


def test_crisis_with_a_physical_emergency_sends_both_key_lines():
    # The rules see an emergency and no crisis words: the act-now answer leads.
    bleeding = Screening(category="urgent", signals=("bleeding",))
    result = decide(bleeding, NetResult("self_harm", "crisis", 0.6, 0.3))
    assert result.tier == "act_now" and result.also == "crisis"
    # The rules' own crisis words lead.
    both = Screening(category="crisis", signals=("bleeding", "self_harm"))
    result = decide(both, NetResult("bleeding", "act_now", 0.6, 0.3))
    assert result.tier == "crisis" and result.also == "act_now"
    near_crisis = NetResult("fever", "act_now", 0.58, 0.12, also="crisis")
    assert decide(FEVER, near_crisis).also == "crisis"


def test_a_child_burning_up_gets_the_act_now_answer(net):
    from bot.care.safety import get_screener

    text = "my daughter is burning up"
    result = decide(get_screener().screen(text), net.check(text), net.suppress, True, net.framed)
    assert result.tier == "act_now" and result.also == "crisis"


def test_an_appointment_question_is_not_a_symptom(net):
    # It sits near a persistent_new anchor ("a new thing since my last check up") but much
    # nearer ordinary questions (ordinary_margin).
    assert net.check("when is my next check up?").tier is None


def test_a_symptom_after_an_appointment_question_is_read_on_its_own(net):
    result = net.check("when is my next check up? also my bones have been aching for 3 weeks")
    assert result.tier == "team_soon" and result.category == "bone_pain"


def test_a_negation_in_another_clause_does_not_set_a_flag_aside(net):
    # The encoder reads "no temperature ... bleeding" as close to a negated look-alike; the
    # rules scope "no" to its clause, so negated look-alikes are not the net's counterweight.
    from bot.care.safety import get_screener

    text = "no temperature but my nose has been bleeding for an hour"
    screening = get_screener().screen(text)
    result = decide(screening, net.check(text), net.suppress, is_short(text), net.framed)
    assert result.tier == "act_now"


def test_set_aside_reads_the_margin_without_negated_lookalikes():
    # Near a negated look-alike only: the net's own margin is low, but a rule flag stands.
    fever = Screening(category="urgent", signals=("fever",))
    near_negated = NetResult(None, None, 0.5, -0.3, aside=0.05)
    assert decide(fever, near_negated, suppress=0.1, short=True).tier == "act_now"
    assert decide(fever, NetResult(None, None, 0.5, -0.3), suppress=0.1).tier is None


@pytest.mark.parametrize(
    "text", ["not had any fevers since clinic, feeling fine", "no temps, no bruises, eating well"]
)
def test_negated_lookalikes_still_keep_the_net_quiet(net, text):
    # Without the negated look-alikes among its counterweights the net flags both.
    assert net.check(text).tier is None


def test_a_framed_short_message_sets_aside_the_nets_team_soon_flag_only():
    past = Screening(category=None, signals=(), framing="past")
    aches = NetResult("bone_pain", "team_soon", 0.62, 0.05)
    assert decide(past, aches, framed=0.1, short=True).found_by == "set_aside"
    assert decide(past, aches, framed=0.1, short=False).tier == "team_soon"
    fever = NetResult("fever", "act_now", 0.62, 0.05)
    assert decide(past, fever, framed=0.1, short=True).tier == "act_now"


def test_when_treatment_ended_does_not_frame_the_symptom():
    # "finished treatment last year" dates the treatment, not tonight's fever.
    from bot.care.safety import get_screener

    screener = get_screener()
    assert screener.screen("temp 38.6 tonight, he finished treatment last year").framing is None
    assert screener.screen("I had a fever during chemo last year").framing == "past"


def test_a_discounted_signal_vetoes_only_the_net_categories_it_speaks_for():
    # "no rash" discounts the rash rule; a lasting itch is another matter.
    no_rash = Screening(category=None, signals=(), discounted=("rash_spots",))
    assert decide(no_rash, NetResult("bruising_spots", "team_soon", 0.7, 0.1)).tier is None
    assert decide(no_rash, NetResult("persistent_new", "team_soon", 0.7, 0.1)).tier == "team_soon"
    # Discounted crisis words ("killing myself laughing") keep every crisis category quiet.
    laughing = Screening(category=None, signals=(), discounted=("self_harm",))
    assert decide(laughing, NetResult("hopeless", "crisis", 0.6, 0.1)).tier is None


def test_only_not_now_words_can_set_aside_a_reading_or_two_act_now_signals():
    reading = Screening(category="urgent", signals=("temperature_reading",))
    two = Screening(category="urgent", signals=("breathless", "chest_pain"))
    for screening in (reading, two):
        assert decide(screening, FAR_LOOKALIKE, suppress=0.05, short=True).tier == "act_now"
    framed = Screening(category="urgent", signals=("temperature_reading",), framing="question")
    result = decide(framed, FAR_LOOKALIKE, suppress=0.05, short=True, framed=0.1)
    assert result.found_by == "set_aside"


def test_a_lasting_symptom_needs_a_smaller_lead_over_the_lookalikes(net):
    best = dict.fromkeys(net._categories, 0.3)
    best["persistent_new"] = 0.7
    near = Lookalikes(0.72, 0.72)
    assert net.judge(best, near, net.thresholds, net.margin).tier is None
    lasting = net.judge(best, near, net.thresholds, net.margin, lasting=True)
    assert lasting.tier == "team_soon"
    # Act-now categories get no such slack.
    best = dict.fromkeys(net._categories, 0.3)
    best["bleeding"] = 0.7
    assert net.judge(best, near, net.thresholds, net.margin, lasting=True).tier is None


def test_crisis_language_may_not_trail_unrelated_requests_by_much(net):
    best = dict.fromkeys(net._categories, 0.3)
    best["hopeless"] = 0.6
    far = Lookalikes(0.4, 0.4)
    assert net.judge(best, far, net.thresholds, net.margin, Ordinary(0.4, 0.65)).tier == "crisis"
    # "wake me up at half six": much nearer everyday requests than any crisis phrasing
    assert net.judge(best, far, net.thresholds, net.margin, Ordinary(0.4, 0.75)).tier is None


@pytest.mark.parametrize(
    "text",
    [
        "when is my next appointment",
        "find a garage near me",
        "my legs have ached every night for weeks",
        "he's burning up and won't wake properly",
        "i don't see the point in anything any more",
        "I had a nosebleed during chemo, is that why they check my bloods?",
    ],
)
@pytest.mark.parametrize("lasting", [False, True])
def test_check_skips_only_work_that_cannot_change_the_answer(net, text, lasting):
    # `check` reads the ordinary questions only when a category is over its threshold.
    best, negative, ordinary = net.scores(text)
    full = net.judge(best, negative, net.thresholds, net.margin, ordinary, lasting)
    assert net.check(text, lasting) == full


def test_every_rule_signal_says_which_net_categories_it_speaks_for(net):
    # triage.SPEAKS_FOR is kept by hand: a new rule signal without an entry would veto every
    # net category when its words are discounted ("no rash" silencing a lasting cough).
    import yaml

    from bot.care import triage
    from bot.config import get_settings

    with open(get_settings().safety_terms_file, encoding="utf-8") as handle:
        terms = yaml.safe_load(handle)
    signals = {name for section in ("urgent", "crisis") for name in terms[section]}
    assert signals <= set(triage.SPEAKS_FOR)
    assert set(triage.signal_tiers()) <= set(triage.SPEAKS_FOR)
    known = set(net._categories)
    assert all(categories <= known for categories in triage.SPEAKS_FOR.values())
