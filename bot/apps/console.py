"""The staff console: sign-in, the work queue, audited patient pages and service figures.

`python -m bot.apps.console` serves on CONSOLE_HOST:CONSOLE_PORT (127.0.0.1:8081). It is its
own app and process, beside the widget's server (bot/apps/web.py), and shares only the
database. Libraries: aiohttp-session with `cryptography`'s Fernet keeps the session in an
encrypted, HttpOnly, SameSite=Strict cookie (Secure unless CONSOLE_SECURE_COOKIES=false); the
session carries a random CSRF token that every form posts back (the synchronizer-token
pattern, checked in `csrf_and_auth`); argon2-cffi checks passwords (bot/identity/staff.py);
`limits` rate-limits sign-in per username and per address; Jinja2 renders autoescaped HTML.

Every page that shows a patient's details writes an audit row first (bot/storage/audit.py).
Nothing here logs patient data.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp_session
from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from jinja2 import Environment, FileSystemLoader, select_autoescape
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from markupsafe import Markup, escape
from sqlalchemy.orm import Session, sessionmaker

from bot import clock
from bot.apps.serving import serve
from bot.care import questions as question_notes
from bot.care import requests as queue
from bot.care.schedule import describe_duration, position
from bot.care.timefmt import UK
from bot.config import Settings, get_settings
from bot.identity import staff as accounts
from bot.identity.staff import Staff
from bot.storage import audit, figures, records
from bot.storage.db import make_engine, make_session_factory, session_scope
from bot.storage.models import Patient

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "console_templates"
MAX_BODY_BYTES = 16 * 1024
SESSION_COOKIE = "console_session"
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)
DB_KEY: web.AppKey[sessionmaker] = web.AppKey("db", sessionmaker)
LIMITER_KEY: web.AppKey[Any] = web.AppKey("limiter", object)
STAFF_KEY = "staff"
# Reachable without signing in.
PUBLIC = {"/login", "/healthz", "/console.css", "/favicon.ico"}

_jinja = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False
)


def when(moment: datetime | None) -> str:
    """A moment in UK time, e.g. '02 Dec 2026 10:30'."""
    return moment.astimezone(UK).strftime("%d %b %Y %H:%M") if moment else "–"


def bar_chart(totals: list[tuple[str, int]], label: str) -> Markup:
    """A horizontal SVG bar chart (attributes only, so the CSP needs no inline styles)."""
    if not totals:
        return Markup("<p>No data in this range.</p>")
    top = max(n for _, n in totals) or 1
    height = 28 * len(totals)
    bars = []
    for i, (name, n) in enumerate(totals):
        y = i * 28
        width = round(300 * n / top)
        bars.append(
            f'<text x="0" y="{y + 19}">{escape(name)}</text>'
            f'<rect x="220" y="{y + 4}" width="{width}" height="20"></rect>'
            f'<text x="{226 + width}" y="{y + 19}">{n}</text>'
        )
    summary = "; ".join(f"{name}: {n}" for name, n in totals)
    # Every text in it went through escape() above.
    return Markup(  # noqa: S704
        f'<svg class="chart" role="img" aria-label="{escape(label)}. {escape(summary)}" '
        f'width="600" height="{height}" viewBox="0 0 600 {height}">{"".join(bars)}</svg>'
    )


def week_table(
    caption: str, what: str, weeks: list[date], keys: list[str], counts: Counter
) -> Markup:
    """A table of counts: one row per key, one column per week."""
    if not keys:
        return Markup("")
    head = "".join(f'<th scope="col">w/c {w.isoformat()}</th>' for w in weeks)
    rows = "".join(
        f'<tr><th scope="row">{escape(k)}</th>'
        + "".join(f"<td>{counts.get((w, k), 0)}</td>" for w in weeks)
        + "</tr>"
        for k in keys
    )
    # Every text in it went through escape().
    return Markup(  # noqa: S704
        f"<table><caption>{escape(caption)}</caption><thead><tr>"
        f'<th scope="col">{escape(what)}</th>{head}</tr></thead><tbody>{rows}</tbody></table>'
    )


_jinja.globals.update(when=when, chart=bar_chart, table=week_table)


def content_security_policy() -> str:
    """Only this server's own stylesheet; no scripts at all; forms post only here."""
    return (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )


def session_key(settings: Settings) -> bytes:
    """The 32-byte key for session cookies (Fernet), derived from CONSOLE_SECRET."""
    return hashlib.sha256(settings.console_secret.encode()).digest()


def csrf_token(session: aiohttp_session.Session) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _db(request: web.Request) -> Session:
    return session_scope(request.app[DB_KEY])


def render(request: web.Request, name: str, status: int = 200, **values: Any) -> web.Response:
    """Render a template with the signed-in staff member, CSRF token and any flash message."""
    session: aiohttp_session.Session = request["aiohttp_session"]
    flash = session.pop("flash", None)
    body = _jinja.get_template(name).render(
        staff=request.get(STAFF_KEY), csrf=csrf_token(session), flash=flash, **values
    )
    return web.Response(text=body, content_type="text/html", charset="utf-8", status=status)


def _flash(request: web.Request, message: str) -> None:
    request["aiohttp_session"]["flash"] = message


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on every response; pages hold patient data, so nothing is cached."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    response.headers["Content-Security-Policy"] = content_security_policy()
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    if isinstance(response, web.HTTPException):
        raise response
    return response


@web.middleware
async def csrf_and_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check the CSRF token on every POST, then require a live sign-in outside PUBLIC."""
    settings = request.app[SETTINGS_KEY]
    session = await aiohttp_session.get_session(request)
    request["aiohttp_session"] = session
    if request.method == "POST":
        form = await request.post()
        sent = form.get("csrf")
        expected = session.get("csrf")
        if not (
            isinstance(sent, str)
            and isinstance(expected, str)
            and hmac.compare_digest(sent.encode(), expected.encode())
        ):
            log.warning("console: form refused, missing or wrong CSRF token")
            raise web.HTTPForbidden(
                text="This form has expired. Please go back, reload the page and try again."
            )
    if request.path in PUBLIC:
        return await handler(request)
    staff_id, seen = session.get("staff_id"), session.get("seen")
    idle = settings.console_session_minutes * 60
    staff = None
    if isinstance(staff_id, int) and isinstance(seen, int | float) and time.time() - seen < idle:
        with _db(request) as db:
            staff = accounts.get_active(db, staff_id)
    if staff is None:
        if staff_id is not None:
            session.invalidate()
        raise web.HTTPSeeOther("/login")
    session["seen"] = int(time.time())
    request[STAFF_KEY] = staff
    return await handler(request)


def _staff(request: web.Request) -> Staff:
    return request[STAFF_KEY]


def _require_admin(request: web.Request) -> Staff:
    staff = _staff(request)
    if not staff.is_admin:
        raise web.HTTPForbidden(text="Only an admin can do that.")
    return staff


async def login_page(request: web.Request) -> web.Response:
    """The sign-in form."""
    return render(request, "login.html", title="Sign in", username="")


async def login(request: web.Request) -> web.Response:
    """Check the password (rate-limited per username and per address) and start a session."""
    form = await request.post()
    username = str(form.get("username") or "").strip().lower()[:80]
    password = str(form.get("password") or "")
    limiter, per_user, per_address, _ = request.app[LIMITER_KEY]
    address = request.remote or "unknown"
    # Both keys are hit every time so neither can be probed without counting.
    by_user = limiter.hit(per_user, "user", username)
    by_address = limiter.hit(per_address, "address", address)
    if not (by_user and by_address):
        log.warning("console: sign-in rate limit reached")
        return render(
            request,
            "login.html",
            status=429,
            title="Sign in",
            username=username,
            error="Too many sign-in attempts. Please wait a minute and try again.",
        )
    with _db(request) as db:
        staff = accounts.authenticate(db, username, password)
        if staff is not None:
            audit.record(db, "sign_in", staff.id)
    if staff is None:
        log.info("console: sign-in failed")
        return render(
            request,
            "login.html",
            status=401,
            title="Sign in",
            username=username,
            error="That username and password don't match an active account.",
        )
    session = request["aiohttp_session"]
    # A new session (and CSRF token) at sign-in, so a planted cookie is never promoted.
    session.invalidate()
    session = await aiohttp_session.new_session(request)
    request["aiohttp_session"] = session
    session["staff_id"] = staff.id
    session["seen"] = int(time.time())
    csrf_token(session)
    raise web.HTTPSeeOther("/queue")


async def logout(request: web.Request) -> web.Response:
    """End the session."""
    request["aiohttp_session"].invalidate()
    raise web.HTTPSeeOther("/login")


async def home(_: web.Request) -> web.Response:
    """The queue is the start page."""
    raise web.HTTPSeeOther("/queue")


async def queue_page(request: web.Request) -> web.Response:
    """Open requests, oldest first."""
    with _db(request) as db:
        views = queue.list_requests(db)
    return render(request, "queue.html", title="Work queue", section="queue", requests=views)


def _reference(request: web.Request) -> str:
    try:
        prefix, number = queue.parse_reference(request.match_info["ref"])
    except ValueError:
        raise web.HTTPNotFound(text="There is no such request.") from None
    return f"{prefix}-{number}"


async def request_page(request: web.Request) -> web.Response:
    """One request with its details and history (audited: it shows a patient's details)."""
    ref = _reference(request)
    with _db(request) as db:
        try:
            view = queue.get_request(db, ref)
        except LookupError:
            raise web.HTTPNotFound(text="There is no such request.") from None
        patient = records.patient_id(db, view.portal_id)
        audit.record(db, "view_request", _staff(request).id, patient, ref)
        history = audit.entries(db, reference=ref)
        active = [s for s, ok in accounts.list_staff(db) if ok]
    return render(
        request,
        "request.html",
        title=f"Request {ref}",
        section="queue",
        r=view,
        history=[e for e in history if e.action in ("assign", "note", "done")],
        active_staff=active,
    )


def _request_action(
    action: Callable[[Session, str, Staff, Any], str],
) -> Callable[[web.Request], Any]:
    async def handler(request: web.Request) -> web.Response:
        ref = _reference(request)
        form = await request.post()
        with _db(request) as db:
            try:
                message = action(db, ref, _staff(request), form)
            except LookupError as exc:
                raise web.HTTPNotFound(text=str(exc).capitalize() + ".") from None
            except ValueError as exc:
                message = f"Not saved: {exc}."
        _flash(request, message)
        # Back where the form was (a fixed choice, never a URL from the request).
        raise web.HTTPSeeOther("/queue" if form.get("back") == "queue" else f"/requests/{ref}")

    return handler


def _done(db: Session, ref: str, staff: Staff, _form: Any) -> str:
    changed = queue.mark_done(db, ref, staff.id)
    return f"{ref} marked done." if changed else f"{ref} was already done."


def _assign(db: Session, ref: str, staff: Staff, form: Any) -> str:
    assignee = str(form.get("assignee") or "")
    queue.assign(db, ref, staff.id, assignee)
    return f"{ref} assigned to {assignee.strip().lower()}."


def _note(db: Session, ref: str, staff: Staff, form: Any) -> str:
    queue.add_note(db, ref, staff.id, str(form.get("note") or ""))
    return f"Note added to {ref}."


def _patient_or_404(db: Session, portal_id: str) -> Patient:
    patient = records.patient_row(db, portal_id)
    if patient is None:
        raise web.HTTPNotFound(text="There is no patient with that id.")
    return patient


async def patient_page(request: web.Request) -> web.Response:
    """A patient's follow-up, questions and open requests; the view is audited first."""
    portal_id = request.match_info["portal_id"]
    now = clock.now()
    with _db(request) as db:
        patient = _patient_or_404(db, portal_id)
        audit.record(db, "view_patient", _staff(request).id, patient.id)
        appointment = records.next_appointment(db, portal_id, now)
        last = records.last_attended(db, portal_id, now)
        notes = question_notes.list_questions(db, portal_id)
        open_requests = queue.list_requests(db, portal_id=portal_id)
        stage = "no treatment end date on record"
        if patient.treatment_end_date:
            where = position(patient.treatment_end_date, now.date(), appointment is not None, last)
            stage = (
                f"{describe_duration(where.months_since_treatment)} since treatment ended; "
                f"typically {where.phase.summary}"
                + ("; a check-up looks overdue" if where.overdue else "")
            )
        details = {
            "portal_id": patient.portal_id,
            "name": " ".join(filter(None, [patient.given_name, patient.family_name])),
            "phone": patient.phone,
        }
    return render(
        request,
        "patient.html",
        title=f"Patient {portal_id}",
        section="queue",
        p=details,
        appointment=appointment,
        stage=stage,
        questions=notes,
        requests=open_requests,
    )


async def questions_page(request: web.Request) -> web.Response:
    """The patient's question list as a printable page (audited)."""
    portal_id = request.match_info["portal_id"]
    with _db(request) as db:
        patient = _patient_or_404(db, portal_id)
        audit.record(db, "view_questions", _staff(request).id, patient.id)
        page = question_notes.export_questions(db, portal_id)
    return render(request, "questions.html", title="Questions", portal_id=portal_id, page=page)


def _date_range(request: web.Request) -> tuple[date, date]:
    today = clock.now().astimezone(UK).date()
    try:
        end = date.fromisoformat(request.query.get("to") or today.isoformat())
        start = date.fromisoformat(
            request.query.get("from") or (end - timedelta(weeks=8)).isoformat()
        )
    except ValueError:
        raise web.HTTPBadRequest(text="Please give dates as YYYY-MM-DD.") from None
    if end < start:
        raise web.HTTPBadRequest(text="The 'to' date is before the 'from' date.")
    if (end - start).days > 366 * 2:
        raise web.HTTPBadRequest(text="Please choose at most two years.")
    return start, end


async def figures_page(request: web.Request) -> web.Response:
    """Charts and tables of the service figures for a date range."""
    start, end = _date_range(request)
    with _db(request) as db:
        found = figures.service_figures(db, start, end)
    topics = Counter()
    for (_, intent), n in found.questions.items():
        topics[intent] += n
    tiers = Counter()
    for (_, tier), n in found.safety.items():
        tiers[tier] += n
    return render(
        request,
        "figures.html",
        title="Figures",
        section="figures",
        f=found,
        topics=sorted(topics),
        tiers=sorted(tiers),
        topic_totals=topics.most_common(),
        safety_totals=tiers.most_common(),
    )


async def figures_csv(request: web.Request) -> web.Response:
    """The same figures as a CSV download."""
    start, end = _date_range(request)
    with _db(request) as db:
        found = figures.service_figures(db, start, end)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "week or day", "what", "count"])
    for row in found.rows():
        # A cell starting with = + - @ would run as a formula in a spreadsheet.
        writer.writerow([f"'{c}" if c and c[0] in "=+-@" else c for c in row])
    name = f"figures-{start.isoformat()}-to-{end.isoformat()}.csv"
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def audit_page(request: web.Request) -> web.Response:
    """The audit log, newest first (admins only)."""
    _require_admin(request)
    with _db(request) as db:
        found = audit.entries(db)
    return render(request, "audit.html", title="Audit log", section="audit", entries=found)


async def staff_page(request: web.Request) -> web.Response:
    """Accounts (admins only)."""
    _require_admin(request)
    with _db(request) as db:
        found = accounts.list_staff(db)
    return render(request, "staff.html", title="Accounts", section="staff", accounts=found)


async def staff_add(request: web.Request) -> web.Response:
    """Add an account (admins only)."""
    admin = _require_admin(request)
    form = await request.post()
    try:
        with _db(request) as db:
            added = accounts.add_staff(
                db,
                str(form.get("username") or ""),
                str(form.get("password") or ""),
                str(form.get("role") or ""),
            )
            audit.record(db, "staff_add", admin.id, detail=f"{added.username} ({added.role})")
        _flash(request, f"Account {added.username} added.")
    except ValueError as exc:
        _flash(request, f"Not added: {exc}.")
    raise web.HTTPSeeOther("/staff")


async def staff_disable(request: web.Request) -> web.Response:
    """Disable an account (admins only; not your own)."""
    admin = _require_admin(request)
    username = request.match_info["username"]
    if username == admin.username:
        _flash(request, "You can't disable your own account.")
        raise web.HTTPSeeOther("/staff")
    with _db(request) as db:
        try:
            accounts.disable_staff(db, username)
        except LookupError:
            raise web.HTTPNotFound(text="There is no such account.") from None
        audit.record(db, "staff_disable", admin.id, detail=username)
    _flash(request, f"Account {username} disabled.")
    raise web.HTTPSeeOther("/staff")


async def stylesheet(_: web.Request) -> web.Response:
    """The console's one stylesheet."""
    return web.Response(
        body=(TEMPLATES / "console.css").read_bytes(),
        headers={"Content-Type": "text/css; charset=utf-8"},
    )


async def health(_: web.Request) -> web.Response:
    """Liveness for scripts and tests."""
    return web.json_response({"status": "ok"})


async def no_favicon(_: web.Request) -> web.Response:
    """Browsers ask for one; there is none."""
    return web.Response(status=204)


def create_app(
    settings: Settings | None = None, factory: sessionmaker | None = None
) -> web.Application:
    """The console for `settings`, on the configured database unless given a session factory."""
    settings = settings or get_settings()
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    storage = EncryptedCookieStorage(
        session_key(settings),
        cookie_name=SESSION_COOKIE,
        httponly=True,
        secure=settings.console_secure_cookies,
        samesite="Strict",
        max_age=settings.console_session_minutes * 60,
    )
    app.middlewares.extend(
        [security_headers, aiohttp_session.session_middleware(storage), csrf_and_auth]
    )
    app[SETTINGS_KEY] = settings
    if factory is None:
        engine = make_engine(settings.database_url)
        factory = make_session_factory(engine)

        async def dispose(_: web.Application) -> None:
            engine.dispose()

        app.on_cleanup.append(dispose)
    app[DB_KEY] = factory
    # limits keeps only a weak reference to its storage, so the app holds the storage too.
    attempts = MemoryStorage()
    app[LIMITER_KEY] = (
        MovingWindowRateLimiter(attempts),
        parse(settings.console_login_limit),
        parse(settings.console_login_limit_per_address),
        attempts,
    )
    routes = [
        web.get("/", home),
        web.get("/login", login_page),
        web.post("/login", login),
        web.post("/logout", logout),
        web.get("/queue", queue_page),
        web.get("/requests/{ref}", request_page),
        web.post("/requests/{ref}/done", _request_action(_done)),
        web.post("/requests/{ref}/assign", _request_action(_assign)),
        web.post("/requests/{ref}/note", _request_action(_note)),
        web.get("/patients/{portal_id}", patient_page),
        web.get("/patients/{portal_id}/questions", questions_page),
        web.get("/figures", figures_page),
        web.get("/figures.csv", figures_csv),
        web.get("/audit", audit_page),
        web.get("/staff", staff_page),
        web.post("/staff", staff_add),
        web.post("/staff/{username}/disable", staff_disable),
        web.get("/console.css", stylesheet),
        web.get("/healthz", health),
        web.get("/favicon.ico", no_favicon),
    ]
    app.add_routes(routes)
    return app


def main(argv: list[str] | None = None) -> int:
    """Serve the console until interrupted."""
    settings = get_settings()
    return serve(
        "console",
        create_app,
        settings.console_host,
        settings.console_port,
        argv,
        description=__doc__.split("\n")[0],
    )


if __name__ == "__main__":
    raise SystemExit(main())
