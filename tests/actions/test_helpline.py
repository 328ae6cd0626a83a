from datetime import datetime
from zoneinfo import ZoneInfo

from actions.helpline import ActionHelpline
from tests.actions.conftest import make_tracker, texts

UK = ZoneInfo("Europe/London")


async def test_weekend_says_closed_and_next_opening(dispatcher, fixed_now):
    await ActionHelpline().run(dispatcher, make_tracker("ask_helpline"), {})
    said = texts(dispatcher)
    assert "0808 800 40 40" in said
    assert "closed right now because it's the weekend" in said
    assert "Monday 30 November 2026 at 9am" in said


async def test_weekday_afternoon_says_open(dispatcher, fixed_now):
    fixed_now(datetime(2026, 12, 2, 14, 0, tzinfo=UK))
    await ActionHelpline().run(dispatcher, make_tracker("ask_helpline"), {})
    assert "It's open right now (UK time), until 5pm today." in texts(dispatcher)
