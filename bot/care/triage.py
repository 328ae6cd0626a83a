"""Triage: the rules and the semantic net together decide a message's safety tier.

A flag from either counts, crisis first, then act now, then team soon, unless the rules saw
the words and discounted them (negated, past, harmless), which the net cannot overrule for
the categories those words speak for. When the rules find an emergency and no crisis words,
their act-now answer leads the net's crisis guess, and the crisis key line goes with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

from bot.care.safety import CRISIS, READING_SIGNAL, Screening
from bot.care.safety_net import NetResult
from bot.config import get_settings

URGENCY = {None: 0, "team_soon": 1, "act_now": 2, "crisis": 3}


@dataclass(frozen=True)
class Triage:
    """The decision for one message: tier, the category or signal behind it, who found it."""

    tier: str | None
    reason: str | None = None
    found_by: str = "none"  # "rules", "net" or "none"
    # The other urgent answer ("crisis" or "act_now") whose key line goes with this one.
    also: str | None = None


@lru_cache(maxsize=1)
def signal_tiers() -> dict[str, str]:
    """Rule signal -> tier, from content/safety_terms.yml's `tiers` section."""
    with open(get_settings().safety_terms_file, encoding="utf-8") as handle:
        terms = yaml.safe_load(handle)
    return {name: spec["tier"] for name, spec in (terms.get("tiers") or {}).items()}


# The net's categories that each rule signal speaks for. When the rules saw a signal's words
# and discounted them ("no rash", "sick of waiting"), the net may not flag these categories;
# it may still flag others ("itchy all over for weeks, no rash" is a lasting new symptom).
_CRISIS_CATEGORIES = frozenset({"suicidal", "self_harm", "hopeless", "means"})
SPEAKS_FOR: dict[str, frozenset[str]] = {
    "fever": frozenset({"fever", "shivery_unwell"}),
    "temperature_reading": frozenset({"fever", "shivery_unwell"}),
    "shivering": frozenset({"shivery_unwell", "fever"}),
    "suddenly_unwell": frozenset({"shivery_unwell", "drowsy_confused"}),
    "bleeding": frozenset({"bleeding"}),
    "bruising": frozenset({"bruising_spots"}),
    "rash_spots": frozenset({"bruising_spots"}),
    "night_sweats": frozenset({"night_sweats"}),
    "tired_pale": frozenset({"tired_pale"}),
    "bone_pain": frozenset({"bone_pain"}),
    "infections": frozenset({"infections"}),
    "weight_loss": frozenset({"weight_loss"}),
    "lasting_symptom": frozenset({"persistent_new", "headache_vision"}),
    "breathless": frozenset({"breathing"}),
    "chest_pain": frozenset({"breathing"}),
    "confusion": frozenset({"drowsy_confused"}),
    "vomiting": frozenset({"vomiting"}),
    "severe_headache": frozenset({"headache_vision"}),
    "suicidal": _CRISIS_CATEGORIES,
    "self_harm": _CRISIS_CATEGORIES,
}


def vetoed(discounted: tuple[str, ...], category: str | None) -> bool:
    """Whether a discounted rule signal speaks for the net's category (unknown: it does)."""
    return any(category in SPEAKS_FOR.get(signal, {category}) for signal in discounted)


def rules_tier(screening: Screening) -> str | None:
    """The most urgent tier among the signals the rules found (unknown signals: act now)."""
    if screening.category == CRISIS:
        return "crisis"
    if not screening.category:
        return None
    tiers = signal_tiers()
    return max((tiers.get(s, "act_now") for s in screening.signals), key=URGENCY.get)


def decide(
    screening: Screening,
    net: NetResult | None,
    suppress: float = 9.0,
    short: bool = True,
    framed: float = -9.0,
) -> Triage:
    """Combine the rules' screening and the net's result.

    A symptom flag from the rules is set aside (the patient gets information, which still
    says what to do if it happens now) in a short message when either the net finds it much
    closer to the look-alikes than to any red flag (by `suppress`), or the words say it isn't
    happening now (past, resolved, a how-to question) and the net finds it no closer to a red
    flag than `framed`. The net's own team-soon flags are set aside on the same words. Crisis
    flags are never set aside, and neither is anything in a long message (`short` false),
    where a past symptom and a new one can sit side by side.
    """
    by_rules = rules_tier(screening)
    # Negated look-alikes are left out here (NetResult.aside): the rules scope negation.
    aside = 0.0 if net is None else net.margin if net.aside is None else net.aside
    not_now = short and net is not None and bool(screening.framing) and aside <= framed
    if by_rules not in (None, "crisis") and short and net is not None:
        # The net alone may not set aside an explicit reading ("38.4") or two act-now signals
        # at once ("gasping and his chest hurts"): only words that say "not now" can.
        # (Chosen on the fourth validation set: act now +2 of 114, look-alike alarms +1 of 202.)
        firm = (
            READING_SIGNAL in screening.signals
            or sum(signal_tiers().get(s, "act_now") == "act_now" for s in screening.signals) >= 2
        )
        looks_alike = net.tier is None and aside <= -suppress and not firm
        if looks_alike or not_now:
            return Triage(None, ",".join(screening.signals), "set_aside")
    by_net = None if net is None or vetoed(screening.discounted, net.category) else net.tier
    if by_rules is None and by_net == "team_soon" and not_now:
        # The same for the net's own team-soon flags ("used to get awful bone pain back
        # then"); never for act-now or crisis, where a miss costs more than an alarm.
        return Triage(None, net.category, "set_aside")
    if by_rules is None and by_net is None:
        return Triage(None)
    # Crisis language and a physical emergency can look alike ("burning up", "knuckles
    # bleed"): whichever answer goes first, the other's key line goes with it.
    seen = {by_rules, by_net, net.also if net else None}
    # The net's crisis guess against the rules' physical emergency ("my daughter is burning up"
    # sits near "my teen has been burning herself"): the act-now answer goes first, with the
    # crisis key line. The rules' own crisis words always go first.
    if by_net == "crisis" and by_rules == "act_now":
        by_net = None
    if URGENCY[by_net] > URGENCY[by_rules]:
        tier, reason, found_by = by_net, net.category if net else None, "net"
    else:
        tier, reason, found_by = by_rules, ",".join(screening.signals) or None, "rules"
    also = next((t for t in ("crisis", "act_now") if t in seen and t != tier), None)
    return Triage(tier, reason, found_by, also)
