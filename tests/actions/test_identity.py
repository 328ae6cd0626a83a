"""The action server believes a patient only on the channel's signed claim (issue 12, finding 2).

On the old code `verified_patient` read ``metadata.verified_patient`` as given, so anything
that reached the action server could read or change any patient's record.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.appointments import ActionNextAppointment
from actions.common import auth_state, verified_patient
from bot.config import Settings
from bot.identity.claims import CLAIM_KEY, sign_claim
from bot.identity.tokens import AUTH_KEY, VERIFIED_PATIENT_KEY
from tests.actions.conftest import make_tracker, texts


def tracker_with(metadata: dict[str, Any], sender_id: str = "conv-1", message_id: str = "m-1"):
    return Tracker(
        sender_id=sender_id,
        slots={},
        latest_message={
            "intent": {"name": "ask_next_appointment", "confidence": 1.0},
            "entities": [],
            "text": "",
            "metadata": metadata,
            "message_id": message_id,
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def forged(patient: str = "demo-video", **extra: Any) -> dict[str, Any]:
    return {VERIFIED_PATIENT_KEY: patient, AUTH_KEY: "verified", **extra}


def test_valid_claim_names_the_patient() -> None:
    claim = sign_claim("conv-1", "demo-video", "m-1")
    tracker = tracker_with(forged(**{CLAIM_KEY: claim}))
    assert verified_patient(tracker) == "demo-video"
    assert auth_state(tracker) == "verified"


@pytest.mark.parametrize(
    "claim",
    [
        None,  # metadata alone, as any local process could send
        "c1.e30.AAAA",  # made up
        "garbage",
        sign_claim("other-conversation", "demo-video", "m-1"),  # replayed in another conversation
        sign_claim("conv-1", "demo-video", "m-0"),  # replayed for a later message
        sign_claim("conv-1", "demo-video", "m-1", now=time.time() - 3600),  # expired
        sign_claim("conv-1", "demo-clinic", "m-1"),  # a claim for someone else
        sign_claim("conv-1", None, "m-1"),  # an anonymous claim with a patient added
    ],
    ids=["none", "made-up", "garbage", "other-conv", "other-msg", "expired", "other", "anon"],
)
def test_forged_or_replayed_claims_are_anonymous(claim: object) -> None:
    metadata = forged() if claim is None else forged(**{CLAIM_KEY: claim})
    tracker = tracker_with(metadata)
    assert verified_patient(tracker) is None
    assert auth_state(tracker) == "anonymous"


def test_claim_signed_with_another_key_is_refused() -> None:
    other = Settings(jwt_secret="another-secret-that-is-long-enough-" + "z" * 20)
    tracker = tracker_with(forged(**{CLAIM_KEY: sign_claim("conv-1", "demo-video", "m-1", other)}))
    assert verified_patient(tracker) is None


def test_claim_body_cannot_be_edited() -> None:
    good = sign_claim("conv-1", "demo-clinic", "m-1")
    other = sign_claim("conv-1", "demo-video", "m-1")
    spliced = ".".join([good.split(".")[0], other.split(".")[1], good.split(".")[2]])
    assert verified_patient(tracker_with(forged(**{CLAIM_KEY: spliced}))) is None


async def test_forged_metadata_reads_no_record(dispatcher, seeded_db) -> None:
    tracker = tracker_with(forged("demo-video"))
    await ActionNextAppointment().run(dispatcher, tracker, {})
    said = texts(dispatcher)
    # Treated as anonymous: the general answer and a sign-in offer, nothing from the record.
    assert "If you sign in" in said and "abc123" not in said and "video appointment on" not in said


async def test_signed_claim_reads_the_record(dispatcher, seeded_db) -> None:
    tracker = make_tracker("ask_next_appointment", patient="demo-video")
    await ActionNextAppointment().run(dispatcher, tracker, {})
    assert "abc123" in texts(dispatcher)
