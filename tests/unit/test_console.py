"""The staff console over HTTP (aiohttp's test server) on SQLite and PostgreSQL.

Sign-in, sessions, CSRF, roles, rate limiting, the queue, audited patient pages, figures.
The browser tests are in tests/e2e/test_console.py.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot import clock
from bot.apps.console import create_app
from bot.care.requests import file_callback, list_requests, record_number_correction
from bot.config import Settings
from bot.identity.staff import add_staff
from bot.storage.db import session_scope
from bot.storage.demo import seed_demo
from bot.storage.models import AuditEntry

PASSWORD = "correct horse battery"


@pytest.fixture
def console_db(session_factory):
    with session_scope(session_factory) as s:
        seed_demo(s, clock.now())
        add_staff(s, "nina", PASSWORD, "nurse")
        add_staff(s, "ada", PASSWORD, "admin")
        record_number_correction(s, "demo-telephone", "07700 900999")
        file_callback(s, "demo-video", "morning")
    return session_factory


def make_settings(**overrides) -> Settings:
    values = {
        "console_secure_cookies": False,
        "console_secret": "unit-test-console-secret",
        "console_login_limit": "5/minute",
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
async def client(console_db) -> AsyncIterator[TestClient]:
    app = create_app(make_settings(), console_db)
    async with TestClient(TestServer(app), cookie_jar=CookieJar(unsafe=True)) as c:
        yield c


async def csrf_of(client: TestClient, path: str) -> str:
    page = await (await client.get(path)).text()
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


async def sign_in(client: TestClient, username: str = "nina", password: str = PASSWORD):
    token = await csrf_of(client, "/login")
    return await client.post(
        "/login",
        data={"csrf": token, "username": username, "password": password},
        allow_redirects=False,
    )


def audit_count(factory, action: str) -> int:
    with factory() as s:
        return s.execute(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        ).scalar_one()


async def test_everything_but_sign_in_needs_a_session(client) -> None:
    for path in ("/", "/queue", "/patients/demo-video", "/figures", "/figures.csv", "/audit"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/login", path
    login = await client.get("/login")
    assert login.status == 200
    assert "default-src 'none'" in login.headers["Content-Security-Policy"]
    assert login.headers["Cache-Control"] == "no-store"


async def test_session_cookie_is_httponly_samesite_strict_and_secure_by_default(console_db):
    app = create_app(make_settings(console_secure_cookies=True), console_db)
    async with TestClient(TestServer(app)) as c:
        response = await c.get("/login")
        cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("console_session=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    assert "Max-Age=1800" in cookie


async def test_sign_in_then_queue_oldest_first_without_patient_details(client) -> None:
    response = await sign_in(client)
    assert response.status == 303 and response.headers["Location"] == "/queue"
    page = await (await client.get("/queue")).text()
    assert "Signed in as nina (nurse)" in page
    assert page.index("phone-1") < page.index("cb-1")
    # Numbers and reasons are on the (audited) request page, not in the list.
    assert "07700 900999" not in page


async def test_wrong_password_is_refused_kindly(client) -> None:
    response = await sign_in(client, password="wrong password!!")
    assert response.status == 401
    assert "don't match an active account" in html.unescape(await response.text())
    assert (await client.get("/queue", allow_redirects=False)).status == 303


async def test_sign_in_is_rate_limited_per_address_too(console_db) -> None:
    app = create_app(make_settings(console_login_limit_per_address="3/minute"), console_db)
    async with TestClient(TestServer(app), cookie_jar=CookieJar(unsafe=True)) as c:
        names = ["nina", "ada", "someone", "nina"]
        statuses = [(await sign_in(c, name, "wrong password!!")).status for name in names]
    assert statuses == [401, 401, 401, 429]


async def test_sign_in_is_rate_limited(client) -> None:
    statuses = [(await sign_in(client, password="wrong password!!")).status for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    # Even the right password waits now.
    response = await sign_in(client)
    assert response.status == 429 and "Too many sign-in attempts" in await response.text()


async def test_forms_without_the_csrf_token_are_refused(client) -> None:
    response = await client.post(
        "/login", data={"username": "nina", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403
    await sign_in(client)
    done = await client.post("/requests/cb-1/done", data={"csrf": "forged"}, allow_redirects=False)
    assert done.status == 403
    # A token from another session does not work either.
    app = client.server.app
    async with TestClient(TestServer(app), cookie_jar=CookieJar(unsafe=True)) as other:
        other_token = await csrf_of(other, "/login")
    done = await client.post("/requests/cb-1/done", data={"csrf": other_token})
    assert done.status == 403


async def test_mark_done_from_the_queue_is_audited_with_who(client, console_db) -> None:
    await sign_in(client)
    token = await csrf_of(client, "/queue")
    response = await client.post("/requests/cb-1/done", data={"csrf": token, "back": "queue"})
    page = await response.text()
    assert str(response.url).endswith("/queue")
    assert "cb-1 marked done." in page and 'id="cb-1"' not in page and 'id="phone-1"' in page
    with console_db() as s:
        assert [v.reference for v in list_requests(s)] == ["phone-1"]
    assert audit_count(console_db, "done") == 1


async def test_request_page_assign_note_and_history(client, console_db) -> None:
    await sign_in(client)
    page = await (await client.get("/requests/phone-1")).text()
    assert "07700 900999" in page and "new number" in page
    assert audit_count(console_db, "view_request") == 1
    token = await csrf_of(client, "/requests/phone-1")
    await client.post("/requests/phone-1/assign", data={"csrf": token, "assignee": "ada"})
    page = await (
        await client.post("/requests/phone-1/note", data={"csrf": token, "note": "<b>rang</b>"})
    ).text()
    assert "Note added to phone-1." in page
    assert "&lt;b&gt;rang&lt;/b&gt;" in page and "<b>rang</b>" not in page
    assert re.search(r"<td>nina</td><td>assign</td><td>ada</td>", page)
    assert (await client.get("/requests/phone-99")).status == 404
    assert (await client.get("/requests/nonsense")).status == 404


async def test_every_patient_page_view_is_audited(client, console_db) -> None:
    await sign_in(client)
    page = await (await client.get("/patients/demo-video")).text()
    assert "Patient demo-video" in page and "video" in page and "cb-1" in page
    assert "since treatment ended" in page
    await client.get("/patients/demo-video")
    assert audit_count(console_db, "view_patient") == 2
    questions = await client.get("/patients/demo-video/questions")
    assert questions.status == 200
    assert audit_count(console_db, "view_questions") == 1
    assert (await client.get("/patients/nobody")).status == 404
    assert audit_count(console_db, "view_patient") == 2


async def test_nurses_cannot_read_the_audit_log_or_manage_accounts(client) -> None:
    await sign_in(client)
    assert (await client.get("/audit")).status == 403
    assert (await client.get("/staff")).status == 403
    token = await csrf_of(client, "/queue")
    response = await client.post(
        "/staff", data={"csrf": token, "username": "x1", "password": PASSWORD, "role": "admin"}
    )
    assert response.status == 403


async def test_admins_read_the_audit_log_and_manage_accounts(client, console_db) -> None:
    await sign_in(client, "ada")
    await client.get("/patients/demo-telephone")
    page = await (await client.get("/audit")).text()
    assert re.search(r"<td>ada</td><td>view patient</td><td>demo-telephone</td>", page)
    token = await csrf_of(client, "/staff")
    page = await (
        await client.post(
            "/staff", data={"csrf": token, "username": "Tom", "password": PASSWORD, "role": "nurse"}
        )
    ).text()
    assert "Account tom added." in page
    page = await (await client.post("/staff/nina/disable", data={"csrf": token})).text()
    assert "Account nina disabled." in page
    page = await (
        await client.post(
            "/staff", data={"csrf": token, "username": "t2", "password": "short", "role": "nurse"}
        )
    ).text()
    assert "Not added: a password needs at least 12 characters." in page


async def test_disabling_an_account_ends_its_session(client, console_db) -> None:
    await sign_in(client)
    assert (await client.get("/queue", allow_redirects=False)).status == 200
    from bot.identity.staff import disable_staff

    with session_scope(console_db) as s:
        disable_staff(s, "nina")
    assert (await client.get("/queue", allow_redirects=False)).status == 303


async def test_an_idle_session_times_out(client, monkeypatch) -> None:
    import time as real_time

    await sign_in(client)
    assert (await client.get("/queue", allow_redirects=False)).status == 200
    later = real_time.time() + 31 * 60
    monkeypatch.setattr("bot.apps.console.time.time", lambda: later)
    assert (await client.get("/queue", allow_redirects=False)).status == 303


async def test_sign_out(client) -> None:
    await sign_in(client)
    token = await csrf_of(client, "/queue")
    response = await client.post("/logout", data={"csrf": token}, allow_redirects=False)
    assert response.status == 303
    assert (await client.get("/queue", allow_redirects=False)).status == 303


async def test_figures_requests_and_csv(client, console_db) -> None:
    await sign_in(client)
    today = clock.now().date()
    query = f"from={(today - timedelta(days=7)).isoformat()}&to={today.isoformat()}"
    page = await (await client.get(f"/figures?{query}")).text()
    assert "Service figures" in page
    assert re.search(r'<th scope="row">callback</th><td>1</td><td>0</td>', page)
    csv_response = await client.get(f"/figures.csv?{query}")
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_response.headers["Content-Disposition"]
    body = await csv_response.text()
    assert body.splitlines()[0] == "section,week or day,what,count"
    assert "requests,,number_correction opened,1" in body
    assert "demo-" not in body
    bad = await client.get("/figures?from=2026-13-01")
    assert bad.status == 400 and "YYYY-MM-DD" in await bad.text()
