"""Where to send a patient who needs a person now: the words of the safety answers."""

from __future__ import annotations

GENERIC_ADVICE_LINE = "the 24-hour number your hospital team gave you"


def urgent_message(advice_line: str | None, hospital: str | None, someone_else: bool) -> str:
    """The urgent-symptoms answer, with the patient's own 24-hour line when we know it."""
    if advice_line:
        where = f"{hospital}'s 24-hour advice line on {advice_line}" if hospital else advice_line
        call = f"call {where}"
    else:
        call = f"call {GENERIC_ADVICE_LINE}"
    who = "What you've described about them" if someone_else else "What you've described"
    return (
        f"{who} could need urgent medical attention. Please {call} now, "
        "and don't wait for the next appointment.\n\n"
        "If it feels severe or life-threatening, call 999 or go to A&E straight away.\n\n"
        "I'm an automated assistant and can't assess symptoms."
    )


def crisis_message(nurse_name: str | None) -> str:
    """The gentle answer to crisis language: Samaritans, 999 and their team."""
    team = f"your specialist nurse, {nurse_name}," if nurse_name else "your hospital team"
    return (
        "I'm really sorry you're feeling like this. You don't have to cope with it on your own.\n\n"
        "You can talk to Samaritans for free, any time, day or night, on 116 123.\n\n"
        "If you're in immediate danger or might act on these thoughts, please call 999 now.\n\n"
        f"It may also help to let {team} know how you've been feeling; they are there to "
        "support you with this as well as with your physical health."
    )


CARRY_ON_PROMPT = "When you're ready, I can carry on helping with your follow-up questions."
