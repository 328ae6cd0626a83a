"""The safety answer, sent first whenever the screen finds urgent symptoms or crisis language."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import as_buttons, patient_record
from bot.care.signposting import also_message, carry_on_prompt, safety_message
from bot.care.wording import buttons as wording_buttons
from bot.care.wording import say

logger = logging.getLogger(__name__)

# Intents that are worth offering to carry on with after the safety answer.
NOT_RESUMABLE = {
    "urgent_symptom",
    "crisis",
    "symptom_info",
    "nlu_fallback",
    "out_of_scope",
    None,
}


def tier_for(intent: str | None, safety: dict[str, Any]) -> str:
    """Which answer: crisis, act now, team soon, or information about a past symptom."""
    if intent == "crisis":
        return "crisis"
    if intent == "symptom_info":
        return "info"
    tier = safety.get("tier")
    return tier if tier in ("act_now", "team_soon") else "act_now"


class ActionSafety(Action):
    """Urgent symptoms: the 24-hour line now, or 999. Crisis: Samaritans, 999, their team."""

    def name(self) -> str:
        """Rasa's action name."""
        return "action_safety"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the safety answer, using the patient's own hospital line when signed in."""
        message = tracker.latest_message or {}
        intent = (message.get("intent") or {}).get("name")
        safety = message.get("safety") or {}
        # The safety answer goes out even if the records database is down (then: no record).
        patient = patient_record(tracker)
        tier = tier_for(intent, safety)
        text = safety_message(
            tier,
            advice_line=patient.hospital_advice_line if patient else None,
            hospital=patient.hospital_name if patient else None,
            nurse_name=patient.nurse_name if patient else None,
            someone_else=bool(safety.get("about_someone_else")),
        )
        offered: list[tuple[str, str]] = []
        original = safety.get("classifier_intent")
        if original not in NOT_RESUMABLE:
            offered.append((say("safety_replies", "carry_on_title"), f"/{original}"))
        offered += wording_buttons("safety_replies", "capabilities_button")
        buttons = as_buttons(offered)
        dispatcher.utter_message(text=text)
        also = safety.get("also")
        if also in ("act_now", "crisis") and also != tier and tier != "info":
            dispatcher.utter_message(
                text=also_message(
                    also,
                    advice_line=patient.hospital_advice_line if patient else None,
                    hospital=patient.hospital_name if patient else None,
                )
            )
        dispatcher.utter_message(text=carry_on_prompt(), buttons=buttons)
        logger.info("safety answer sent: %s (%s)", intent, tier)
        return []
