"""Staff accounts for the console: argon2id password hashes (argon2-cffi), roles, disabling.

Usernames are stored lower-case. A disabled account keeps its row (the audit log points at
it) but can no longer sign in. Nothing here logs a password or a hash.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import clock
from bot.storage.models import STAFF_ROLES, StaffMember

MIN_PASSWORD_LENGTH = 12
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")


@dataclass(frozen=True)
class Staff:
    """A signed-in staff member as the console sees them."""

    id: int
    username: str
    role: str

    @property
    def is_admin(self) -> bool:
        """Admins also manage accounts and read the audit log."""
        return self.role == "admin"


def normalise_username(username: str) -> str:
    """Lower-case and check a username (ValueError with a plain reason if unusable)."""
    name = (username or "").strip().lower()
    if not _USERNAME.match(name):
        raise ValueError(
            "a username is 2 to 80 characters: letters, digits, dots, dashes or underscores"
        )
    return name


def check_password(password: str) -> None:
    """Refuse a password that is too short (ValueError saying why)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def _view(member: StaffMember) -> Staff:
    return Staff(id=member.id, username=member.username, role=member.role)


def _find(session: Session, username: str) -> StaffMember | None:
    return session.execute(
        select(StaffMember).where(func.lower(StaffMember.username) == username.strip().lower())
    ).scalar_one_or_none()


def add_staff(session: Session, username: str, password: str, role: str) -> Staff:
    """Create an account; ValueError for a bad name, password or role, or a taken name."""
    name = normalise_username(username)
    if role not in STAFF_ROLES:
        raise ValueError(f"role must be one of {', '.join(STAFF_ROLES)}")
    check_password(password)
    if _find(session, name) is not None:
        raise ValueError(f"there is already an account called {name}")
    member = StaffMember(username=name, password_hash=_hasher.hash(password), role=role)
    session.add(member)
    session.flush()
    return _view(member)


def disable_staff(session: Session, username: str) -> bool:
    """Stop an account signing in; False if it was already disabled. LookupError if unknown."""
    member = _find(session, username)
    if member is None:
        raise LookupError(f"no account called {username.strip().lower()}")
    if member.disabled_at is not None:
        return False
    member.disabled_at = clock.now()
    session.flush()
    return True


def authenticate(session: Session, username: str, password: str) -> Staff | None:
    """The active account these credentials belong to, or None (same answer for every failure)."""
    member = _find(session, username or "")
    if member is None or member.disabled_at is not None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password or "")
        return None
    try:
        _hasher.verify(member.password_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(member.password_hash):
        member.password_hash = _hasher.hash(password)
    return _view(member)


def get_active(session: Session, staff_id: int) -> Staff | None:
    """The account with this id if it may still sign in (sessions end when it is disabled)."""
    member = session.get(StaffMember, staff_id)
    if member is None or member.disabled_at is not None:
        return None
    return _view(member)


def list_staff(session: Session) -> list[tuple[Staff, bool]]:
    """Every account with whether it is active, by username."""
    rows = session.execute(select(StaffMember).order_by(StaffMember.username)).scalars()
    return [(_view(m), m.disabled_at is None) for m in rows]
