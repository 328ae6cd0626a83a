"""The nurse helpline: number, hours, and whether it is open right now (UK time)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import send_answer
from bot import clock
from bot.care.content import load_library
from bot.care.helpline import describe_status, helpline_status


class ActionHelpline(Action):
    """Give the helpline details and say whether it is open now."""

    def name(self) -> str:
        """Rasa's action name."""
        return "action_helpline"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the helpline answer with today's opening status."""
        status = helpline_status(clock.now())
        send_answer(
            dispatcher,
            load_library().get("helpline"),
            extra=describe_status(status),
            tracker=tracker,
        )
        return []
