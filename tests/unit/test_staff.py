"""Staff accounts: argon2 hashes, roles, disabling, and the `bot staff` commands."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from bot.apps.cli import main
from bot.identity import staff
from bot.storage import audit
from bot.storage.models import StaffMember

PASSWORD = "correct horse battery"


def test_password_is_stored_as_an_argon2_hash(session) -> None:
    added = staff.add_staff(session, "Nurse.One", PASSWORD, "nurse")
    assert added.username == "nurse.one" and added.role == "nurse" and not added.is_admin
    stored = session.execute(select(StaffMember.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_authenticate(session) -> None:
    staff.add_staff(session, "admin1", PASSWORD, "admin")
    assert staff.authenticate(session, "ADMIN1", PASSWORD).is_admin
    assert staff.authenticate(session, "admin1", PASSWORD + "x") is None
    assert staff.authenticate(session, "nobody", PASSWORD) is None
    assert staff.authenticate(session, "admin1", "") is None


def test_disabled_accounts_cannot_sign_in_or_keep_a_session(session) -> None:
    added = staff.add_staff(session, "nurse2", PASSWORD, "nurse")
    assert staff.get_active(session, added.id) == added
    assert staff.disable_staff(session, "nurse2") is True
    assert staff.disable_staff(session, "nurse2") is False
    assert staff.authenticate(session, "nurse2", PASSWORD) is None
    assert staff.get_active(session, added.id) is None
    with pytest.raises(LookupError):
        staff.disable_staff(session, "ghost")


@pytest.mark.parametrize(
    ("username", "password", "role", "why"),
    [
        ("ok-name", "short", "nurse", "at least 12"),
        ("bad name!", PASSWORD, "nurse", "username"),
        ("ok-name", PASSWORD, "doctor", "role must be"),
    ],
)
def test_bad_accounts_are_refused_kindly(session, username, password, role, why) -> None:
    with pytest.raises(ValueError, match=why):
        staff.add_staff(session, username, password, role)


def test_usernames_are_unique_whatever_the_case(session) -> None:
    staff.add_staff(session, "nurse3", PASSWORD, "nurse")
    with pytest.raises(ValueError, match="already an account"):
        staff.add_staff(session, "NURSE3", PASSWORD, "admin")


def test_cli_staff_add_disable_list(db_url, env_settings, monkeypatch, capsys, session_factory):
    env_settings(database_url=db_url)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["staff", "add", "Sam", "--role", "admin", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["staff-add", "kim", "--password-stdin"]) == 0
    assert main(["staff", "disable", "kim"]) == 0
    assert main(["staff", "list"]) == 0
    out = capsys.readouterr().out
    assert "added sam (admin)" in out and "added kim (nurse)" in out and "disabled kim" in out
    listing = out.splitlines()[-2:]
    assert listing[0].split() == ["kim", "nurse", "disabled"]
    assert listing[1].split() == ["sam", "admin", "active"]
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["staff", "add", "lee", "--password-stdin"]) == 1
    assert "at least 12" in capsys.readouterr().err
    assert main(["staff", "disable", "ghost"]) == 1
    with session_factory() as s:
        actions = [e.action for e in audit.entries(s)]
    assert actions.count("staff_add") == 2 and "staff_disable" in actions
