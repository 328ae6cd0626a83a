"""Short replies for a bare "yes" or "no" outside a checklist."""

from __future__ import annotations

from bot.care.appointments import Reply

WHAT_NEXT = Reply(
    "What would you like to know? You can ask me anything about your follow-up, or pick one "
    "of these.",
    (
        ("How often are check-ups?", "/ask_how_often"),
        ("What happens at clinic?", "/ask_face_to_face"),
        ("Getting ready for a call", "/ask_remote_prepare"),
    ),
)
NO_PROBLEM = Reply("No problem. If anything else comes up about your follow-up, just ask.")
