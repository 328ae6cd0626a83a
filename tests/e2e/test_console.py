"""The care team's side end to end, on SQLite and PostgreSQL: widget -> Rasa -> action ->
database -> console queue + a real SMTP mailbox (aiosmtpd), then a nurse in Chromium.

The issue's "done when": a face-to-face request made in the widget shows up in the queue and
the mailbox; a nurse marks it done and the audit log shows who; a callback request works the
same way; the figures page shows real counts from a scripted set of conversations; axe finds
no serious or critical problems on the console's pages.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bot.care.timefmt import UK
from bot.care.wording import say
from tests.conftest import DATABASE_KINDS, Mailbox, fresh_database_url
from tests.e2e.servers import MODEL, ROOT, VENV_BIN, Servers, free_port, start_servers
from tests.e2e.test_rest import token_for
from tests.e2e.test_widget import (
    AXE,
    CHROMIUM,
    LAUNCH_ARGS,
    TIMEOUT_MS,
    ask,
    serious_violations,
    sign_in,
    wait_for_turn,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.port = free_port()
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def team(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox
) -> Iterator[Servers]:
    """Action server, Rasa, the widget and the console, mailing the test mailbox."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    mailbox.messages.clear()
    workdir = tmp_path_factory.mktemp(f"e2e-console-{request.param}")
    with fresh_database_url(request.param, workdir) as url:
        running = start_servers(workdir, url, mailbox.env(), web=True, console=True)
        try:
            for name, role in (("nurse1", "nurse"), ("admin1", "admin")):
                subprocess.run(
                    [
                        str(VENV_BIN / "bot"),
                        "staff",
                        "add",
                        name,
                        "--role",
                        role,
                        "--password-stdin",
                    ],
                    input=PASSWORD + "\n",
                    env=running.env,
                    cwd=ROOT,
                    check=True,
                    capture_output=True,
                    text=True,
                )
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not AXE.exists():
        pytest.fail("node_modules/axe-core missing: run `make install` (npm ci)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


def new_page(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.add_init_script(path=str(AXE))
    return page


def console_sign_in(page: Page, team: Servers, username: str) -> None:
    page.goto(f"{team.console_url}/queue")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Work queue")).to_be_visible()


def http_sign_in(team: Servers, username: str) -> requests.Session:
    """A signed-in console session for plain HTTP checks."""
    client = requests.Session()
    page = client.get(f"{team.console_url}/login", timeout=10).text
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    response = client.post(
        f"{team.console_url}/login",
        data={"csrf": token, "username": username, "password": PASSWORD},
        timeout=30,
    )
    assert response.url.endswith("/queue"), response.text
    return client


def reference_in(mailbox: Mailbox, prefix: str, count: int) -> str:
    messages = mailbox.wait_for(count)
    subjects = [m["Subject"] for m in messages if m["Subject"].split()[-1].startswith(prefix)]
    assert subjects, [m["Subject"] for m in messages]
    return subjects[-1].split()[-1]


def test_face_to_face_from_the_widget_to_the_queue_mailbox_and_done_by_a_nurse(
    team: Servers, mailbox: Mailbox, browser: Browser
) -> None:
    patient = new_page(browser)
    try:
        sign_in(patient, team, "demo-telephone")
        answer = ask(patient, "I'd rather come in instead because I find the phone hard")
        assert "passed on your request" in answer
    finally:
        patient.context.close()
    reference = reference_in(mailbox, "f2f-", 1)
    [mail] = [m for m in mailbox.messages if reference in m["Subject"]]
    body = mail.get_content()
    assert f"{team.console_url}/queue#{reference}" in body
    assert "phone hard" not in body and "demo-telephone" not in body and "Jamie" not in body

    nurse = new_page(browser)
    try:
        console_sign_in(nurse, team, "nurse1")
        row = nurse.locator(f"tr#{reference}")
        expect(row).to_contain_text("face to face")
        expect(row).to_contain_text("demo-telephone")
        assert serious_violations(nurse) == []
        # The request page shows the reason, and its view is audited.
        row.get_by_role("link", name=reference).click()
        expect(nurse.get_by_role("heading", name=f"Request {reference}")).to_be_visible()
        expect(nurse.locator("dl")).to_contain_text("I find the phone hard")
        nurse.get_by_label("Note").fill("Booked into Thursday clinic")
        nurse.get_by_role("button", name="Add note").click()
        expect(nurse.get_by_role("status")).to_have_text(f"Note added to {reference}.")
        assert serious_violations(nurse) == []
        # The patient page: next appointment, stage, printable questions, open requests.
        nurse.get_by_role("link", name="demo-telephone").first.click()
        expect(nurse.get_by_role("heading", name="Patient demo-telephone")).to_be_visible()
        expect(nurse.locator("main")).to_contain_text("telephone")
        expect(nurse.locator("main")).to_contain_text(reference)
        assert serious_violations(nurse) == []
        nurse.goto(f"{team.console_url}/queue")
        nurse.get_by_role("button", name=f"Mark done {reference}").click()
        expect(nurse.get_by_role("status")).to_have_text(f"{reference} marked done.")
        expect(nurse.get_by_role("heading", name="Work queue")).to_be_visible()
        expect(nurse.locator(f"tr#{reference}")).to_have_count(0)
        # A nurse cannot read the audit log.
        assert nurse.goto(f"{team.console_url}/audit").status == 403
    finally:
        nurse.context.close()

    admin = new_page(browser)
    try:
        console_sign_in(admin, team, "admin1")
        admin.get_by_role("link", name="Audit log").click()
        rows = admin.locator("tbody tr")
        expect(rows.filter(has_text="done").filter(has_text=reference)).to_contain_text("nurse1")
        expect(rows.filter(has_text="view patient").first).to_contain_text("demo-telephone")
        assert serious_violations(admin) == []
        admin.get_by_role("link", name="Accounts").click()
        expect(admin.locator("tbody")).to_contain_text("nurse1")
        assert serious_violations(admin) == []
    finally:
        admin.context.close()


def test_callback_from_the_widget_to_the_queue_mailbox_and_done(
    team: Servers, mailbox: Mailbox, browser: Browser
) -> None:
    before = len(mailbox.messages)
    patient = new_page(browser)
    try:
        sign_in(patient, team, "demo-video")
        answer = ask(patient, "can a nurse call me")
        assert "0808 800 40 40" in answer and "number ending 0234" in answer
        patient.get_by_role("button", name="Afternoon, 12 noon to 5pm").click()
        expect(patient.locator(".allchat-log")).to_contain_text("I've asked your team to call")
        wait_for_turn(patient)
        log = patient.locator(".allchat-log").inner_text()
        assert "in the afternoon (12 noon to 5pm)" in log and "999" in log
    finally:
        patient.context.close()
    reference = reference_in(mailbox, "cb-", before + 1)

    client = http_sign_in(team, "nurse1")
    queue = client.get(f"{team.console_url}/queue", timeout=10).text
    assert f'id="{reference}"' in queue and "callback" in queue
    detail = client.get(f"{team.console_url}/requests/{reference}", timeout=10).text
    assert "afternoon (12 noon to 5pm), on 07700 900234" in detail
    token = re.search(r'name="csrf" value="([^"]+)"', detail).group(1)
    done = client.post(
        f"{team.console_url}/requests/{reference}/done", data={"csrf": token}, timeout=10
    )
    assert f"{reference} marked done." in done.text
    admin = http_sign_in(team, "admin1")
    audit = admin.get(f"{team.console_url}/audit", timeout=10).text
    assert re.search(rf"<td>nurse1</td><td>done</td><td>demo-video</td><td>{reference}</td>", audit)


def test_an_anonymous_visitor_asking_for_a_person_gets_the_helpline(team: Servers) -> None:
    text = team.say("can I talk to a real person please", sender="anon-person")
    assert "0808 800 40 40" in text and "999" in text
    assert say("appointments", "sign_in") not in text  # no sign-in wall


# Typed, as a patient would: a "/" payload counts only when the assistant offered it.
HOW_OFTEN = "how often are check-ups?"
GET_READY = "please help me get ready for my telephone appointment"
SCRIPT = [
    # (sender, token for, messages)
    ("fig-a", None, [HOW_OFTEN, HOW_OFTEN, "I have a temperature of 38.5"]),
    ("fig-b", None, [HOW_OFTEN, "I want to kill myself"]),
    ("fig-c", None, ["Robin Example wants the football score from 2024"]),
    ("fig-d", "demo-telephone", [GET_READY, "/affirm"]),
    (
        "fig-e",
        "demo-telephone",
        [GET_READY] + ["/affirm"] * 6,
    ),
]


def test_figures_show_real_counts_from_scripted_conversations(
    team: Servers, browser: Browser
) -> None:
    for sender, patient, messages in SCRIPT:
        token = token_for(team, patient) if patient else None
        for message in messages:
            team.say(message, sender=sender, token=token)
    client = http_sign_in(team, "nurse1")
    today = datetime.now(UK).date()
    query = f"from={(today - timedelta(days=6)).isoformat()}&to={today.isoformat()}"
    rows = list(csv.reader(io.StringIO(client.get(f"{team.console_url}/figures.csv?{query}").text)))
    assert rows[0] == ["section", "week or day", "what", "count"]
    table = {(r[0], r[2]): float(r[3]) for r in rows[1:] if r[0] != "could not answer" and r[3]}
    totals: dict[tuple[str, str], int] = {}
    for r in rows[1:]:
        if r[0] in ("questions per topic", "safety answers"):
            totals[(r[0], r[2])] = totals.get((r[0], r[2]), 0) + int(r[3])
    assert totals[("questions per topic", "ask_how_often")] == 3
    assert totals[("safety answers", "urgent_symptom")] == 1
    assert totals[("safety answers", "crisis")] == 1
    unanswered = [r[2] for r in rows if r[0] == "could not answer"]
    assert unanswered == ["[name] Example wants the football score from [number]"]
    assert table[("checklists", "started")] == 2
    assert table[("checklists", "completed")] == 1
    # The two requests the earlier tests made, both closed by the nurse.
    assert table[("requests", "face_to_face opened")] == 1
    assert table[("requests", "face_to_face closed")] == 1
    assert table[("requests", "callback opened")] == 1
    assert table[("requests", "callback closed")] == 1
    assert not any("demo-" in cell or "Robin" in cell for row in rows for cell in row)

    page = new_page(browser)
    try:
        console_sign_in(page, team, "nurse1")
        page.get_by_role("link", name="Figures").click()
        expect(page.get_by_role("heading", name="Service figures")).to_be_visible()
        chart = page.get_by_role("img", name=re.compile("Questions per topic"))
        expect(chart).to_have_attribute("aria-label", re.compile(r"ask_how_often: 3"))
        expect(page.locator("#unanswered + table")).to_contain_text("[number]")
        assert serious_violations(page) == []
        with page.expect_download() as download:
            page.get_by_role("link", name="Download these figures as CSV").click()
        assert download.value.suggested_filename.startswith("figures-")
    finally:
        page.context.close()
