"""The `bot` command line: database setup, demo data, FHIR import, test tokens and staff tools."""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from bot.config import UnsafeSettings, get_settings
from bot.security import redaction

Handler = Callable[[argparse.Namespace], int]


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[sessionmaker]:
    from bot.storage.db import make_engine, make_session_factory, upgrade

    # Import and seed migrate first so they work on a fresh checkout; it is a no-op later.
    upgrade(args.database_url)
    engine = make_engine(args.database_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def _db_upgrade(args: argparse.Namespace) -> int:
    from bot.storage.db import upgrade

    upgrade(args.database_url)
    print("database is up to date")
    return 0


def _seed_demo(args: argparse.Namespace) -> int:
    from bot.storage.db import session_scope
    from bot.storage.demo import seed_demo
    from bot.storage.models import utcnow

    if not get_settings().development:
        print(
            "error: demo patients are seeded only when ENVIRONMENT=development "
            f"(this is {get_settings().environment}); nothing was changed",
            file=sys.stderr,
        )
        return 1
    with _database(args) as factory, session_scope(factory) as session:
        patients = seed_demo(session, utcnow())
    for p in patients:
        state = "created" if p.created else "refreshed"
        print(f"{p.portal_id:<16} {state:<9} {p.description}")
    return 0


def _import_fhir(args: argparse.Namespace) -> int:
    from bot.storage.db import session_scope
    from bot.storage.fhir_import import FhirImportError, import_bundle

    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return 1
    try:
        with _database(args) as factory, session_scope(factory) as session:
            report = import_bundle(session, path)
    except FhirImportError as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return 1
    print(
        f"patients: {report.patients_created} created, {report.patients_updated} updated, "
        f"{report.patients_unchanged} unchanged\n"
        f"appointments: {report.appointments_created} created, "
        f"{report.appointments_updated} updated, {report.appointments_unchanged} unchanged"
        + (f"\nskipped {report.skipped} other resources" if report.skipped else "")
    )
    return 0


def _token(args: argparse.Namespace) -> int:
    from bot.identity.tokens import issue_token

    settings = get_settings()
    print(issue_token(args.patient_id, settings, minutes=args.minutes))
    return 0


# `requests` and `export-questions` are staff tools: they print patients' own words and new
# numbers to the terminal on purpose (never to logs).
# Patients' text reaches a staff terminal: drop control characters so it cannot move the
# cursor or change the terminal (escape sequences), and keep each row on one line.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable(text: str | None) -> str:
    return " ".join(_UNPRINTABLE.sub(" ", text or "").split())


def _when(moment: datetime | None) -> str:
    from bot.care.timefmt import UK

    if moment is None:
        return "-"
    return moment.astimezone(UK).strftime("%d %b %Y %H:%M")


def _requests(args: argparse.Namespace) -> int:
    from bot.care.requests import list_requests
    from bot.storage.db import session_scope

    if args.action == "done":
        return _requests_done(args)
    with _database(args) as factory, session_scope(factory) as session:
        views = list_requests(session, include_done=args.all)
    if not views:
        print("no requests" if args.all else "no pending requests")
        return 0
    kinds = {
        "face_to_face": "face to face",
        "number_correction": "new number",
        "callback": "callback",
    }
    header = ["REF", "TYPE", "PATIENT", "APPOINTMENT", "CREATED (UK)"]
    if args.all:
        header.append("STATUS")
    header.append("DETAIL")
    rows = []
    for v in views:
        row = [
            v.reference,
            kinds.get(v.kind, v.kind),
            _printable(v.portal_id),
            _when(v.appointment_start) + (f" {v.appointment_kind}" if v.appointment_kind else ""),
            _when(v.created),
        ]
        if args.all:
            row.append(v.status)
        row.append(_printable(v.detail) or "-")
        rows.append(row)
    # The last column (free text) is not padded, so long reasons do not widen the table.
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    return 0


def _requests_done(args: argparse.Namespace) -> int:
    from bot.care.requests import mark_done, parse_reference
    from bot.storage.db import session_scope

    errors = []
    for ref in args.refs:
        try:
            parse_reference(ref)
        except ValueError as exc:
            errors.append(str(exc))
    if errors:
        for error in errors:
            print(f"error: {error}", file=sys.stderr)
        return 1
    messages = []
    with _database(args) as factory, session_scope(factory) as session:
        for ref in args.refs:
            shown = ref.strip().lower()
            try:
                changed = mark_done(session, ref)
            except LookupError:
                errors.append(f"unknown request {shown}")
                continue
            messages.append(f"{shown} marked done" if changed else f"{shown} was already done")
        if errors:
            # All or nothing, so a typo does not leave staff unsure which ones went through.
            session.rollback()
    if errors:
        for error in errors:
            print(f"error: {error}", file=sys.stderr)
        print("error: nothing was marked done", file=sys.stderr)
        return 1
    print("\n".join(messages))
    return 0


def _export_questions(args: argparse.Namespace) -> int:
    from bot.care.questions import export_questions
    from bot.storage.db import session_scope

    try:
        with _database(args) as factory, session_scope(factory) as session:
            page = export_questions(session, args.patient_id)
    except LookupError:
        print(f"error: no patient with portal id {args.patient_id!r}", file=sys.stderr)
        return 1
    print(page)
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("Password (at least 12 characters): ")
    if getpass.getpass("Same password again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _staff(args: argparse.Namespace) -> int:
    from bot.identity import staff
    from bot.storage import audit
    from bot.storage.db import session_scope

    if args.action == "add":
        password = _read_password(args)
        with _database(args) as factory, session_scope(factory) as session:
            added = staff.add_staff(session, args.username, password, args.role)
            audit.record(session, "staff_add", detail=f"{added.username} ({added.role})")
        print(f"added {added.username} ({added.role})")
        return 0
    if args.action == "disable":
        try:
            with _database(args) as factory, session_scope(factory) as session:
                changed = staff.disable_staff(session, args.username)
                if changed:
                    audit.record(session, "staff_disable", detail=args.username.strip().lower())
        except LookupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        name = args.username.strip().lower()
        print(f"disabled {name}" if changed else f"{name} was already disabled")
        return 0
    with _database(args) as factory, session_scope(factory) as session:
        rows = staff.list_staff(session)
    if not rows:
        print("no staff accounts: add one with `bot staff add USERNAME --role admin`")
    for member, active in rows:
        print(f"{member.username:<24} {member.role:<6} {'active' if active else 'disabled'}")
    return 0


def _erase(args: argparse.Namespace) -> int:
    from bot.storage.db import session_scope
    from bot.storage.retention import erase_patient

    with _database(args) as factory, session_scope(factory) as session:
        removed = erase_patient(session, args.patient_id)
    if removed.total == 0:
        print(f"error: nothing stored for portal id {args.patient_id!r}", file=sys.stderr)
        return 1
    print(f"erased {args.patient_id!r}:")
    for line in removed.lines():
        print(f"  {line}")
    return 0


def _purge(args: argparse.Namespace) -> int:
    from bot.storage.db import session_scope
    from bot.storage.models import utcnow
    from bot.storage.retention import parse_period, purge

    period = parse_period(args.older_than or f"{get_settings().retention_days}d")
    with _database(args) as factory, session_scope(factory) as session:
        removed = purge(session, period, utcnow())
    print(f"removed what was older than {period.days} days:" if period.days else "removed:")
    for line in removed.lines():
        print(f"  {line}")
    return 0


REPORT_FIELDS = (
    "concern",
    "file",
    "key",
    "kind",
    "text",
    "payload",
    "buttons",
    "source",
    "section",
    "reviewer",
    "review_date",
    "note",
    "used_in",
)


def _report_rows() -> Iterator[dict[str, str]]:
    from bot.care.wording import all_wording
    from bot.config import PROJECT_ROOT

    for file in all_wording():
        for entry in file.entries.values():
            yield {
                "concern": file.concern,
                "file": str(file.path.relative_to(PROJECT_ROOT)),
                "key": entry.key,
                "kind": "quick reply" if entry.payload else "text",
                "text": entry.text,
                "payload": entry.payload or "",
                "buttons": " | ".join(f"{title} -> {payload}" for title, payload in entry.buttons),
                "source": entry.source,
                "section": entry.section or "",
                "reviewer": entry.reviewer,
                "review_date": entry.review_date.isoformat(),
                "note": entry.note or "",
                "used_in": ", ".join(file.used_in),
            }


def _report_text(rows: list[dict[str, str]]) -> Iterator[str]:
    files = list(dict.fromkeys(row["file"] for row in rows))
    quick = sum(row["kind"] == "quick reply" for row in rows)
    titles = sum(len(row["buttons"].split(" | ")) for row in rows if row["buttons"])
    yield (
        f"Patient-facing wording for clinical sign-off: {len(rows)} entries "
        f"({len(rows) - quick} texts, {quick} quick replies) with {titles} more button "
        f"titles, from {len(files)} files."
    )
    yield "{name} marks a part the assistant fills in (a date, a name, another entry)."
    for file in files:
        group = [row for row in rows if row["file"] == file]
        yield ""
        yield f"== {group[0]['concern']}: {file}, {len(group)} entries =="
        yield f"   used in {group[0]['used_in']}"
        for row in group:
            yield ""
            label = f"  [quick reply -> {row['payload']}]" if row["payload"] else ""
            yield f"{row['concern']}.{row['key']}{label}"
            yield from (f"    {line}" for line in row["text"].splitlines())
            for button in filter(None, row["buttons"].split(" | ")):
                yield f"    [button] {button}"
            if row["note"]:
                yield f"  note: {row['note']}"
            section = f', section "{row["section"]}"' if row["section"] else ""
            yield f"  source: {row['source']}{section}"
            yield f"  reviewed by: {row['reviewer']}, {row['review_date']}"


def _content_report(args: argparse.Namespace) -> int:
    rows = list(_report_rows())
    if args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=REPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return 0
    for line in _report_text(rows):
        print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser; add a subcommand with `sub.add_parser` + set_defaults(func)."""
    parser = argparse.ArgumentParser(prog="bot", description=__doc__)
    parser.add_argument(
        "--database-url",
        default=None,
        help="SQLAlchemy URL (default: DATABASE_URL from the environment or .env)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("db-upgrade", help="run database migrations to the latest version")
    p.set_defaults(func=_db_upgrade)

    p = sub.add_parser(
        "seed-demo", help="create or refresh the five demo patients (development only)"
    )
    p.set_defaults(func=_seed_demo)

    p = sub.add_parser("import-fhir", help="import patients and appointments from a FHIR Bundle")
    p.add_argument("file", metavar="FILE", help="FHIR R4 Bundle (JSON)")
    p.set_defaults(func=_import_fhir)

    p = sub.add_parser("token", help="print a signed token for a portal patient id (testing)")
    p.add_argument("patient_id", metavar="PATIENT_ID", help="the portal id (token 'sub')")
    p.add_argument("--minutes", type=int, default=None, help="lifetime (default: TOKEN_MINUTES)")
    p.set_defaults(func=_token)

    p = sub.add_parser("requests", help="list patients' pending requests, or mark them done")
    p.add_argument("--all", action="store_true", help="include requests already done")
    p.set_defaults(func=_requests, action=None)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    done = actions.add_parser("done", help="mark requests done, e.g. `bot requests done f2f-3`")
    done.add_argument(
        "refs", nargs="+", metavar="REF", help="a reference such as f2f-3, phone-5 or cb-2"
    )

    p = sub.add_parser("staff", help="console accounts: add, disable or list")
    p.set_defaults(func=_staff)
    staff_actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = staff_actions.add_parser("add", help="add an account (asks for the password)")
    add.add_argument("username", metavar="USERNAME")
    add.add_argument("--role", choices=["nurse", "admin"], default="nurse")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    disable = staff_actions.add_parser("disable", help="stop an account signing in")
    disable.add_argument("username", metavar="USERNAME")
    staff_actions.add_parser("list", help="list the accounts")
    # `bot staff-add` is the same as `bot staff add`.
    p = sub.add_parser("staff-add", help="same as `bot staff add`")
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--role", choices=["nurse", "admin"], default="nurse")
    p.add_argument("--password-stdin", action="store_true")
    p.set_defaults(func=_staff, action="add")

    p = sub.add_parser(
        "erase",
        help="delete a patient's record, appointments, questions, requests and conversations",
    )
    p.add_argument("patient_id", metavar="PATIENT_ID", help="the patient's portal id")
    p.set_defaults(func=_erase)

    p = sub.add_parser(
        "purge", help="delete conversations (and removed questions) past the retention period"
    )
    p.add_argument(
        "--older-than",
        default=None,
        metavar="PERIOD",
        help="e.g. 30d, 12h or 2w (default: RETENTION_DAYS, 30 days)",
    )
    p.set_defaults(func=_purge)

    p = sub.add_parser("export-questions", help="print a patient's questions as a printable page")
    p.add_argument("patient_id", metavar="PATIENT_ID", help="the patient's portal id")
    p.set_defaults(func=_export_questions)

    p = sub.add_parser(
        "content-report",
        help="print every patient-facing string with its source, reviewer and review date",
    )
    p.add_argument(
        "--format", choices=["text", "csv"], default="text", help="text (default) or CSV"
    )
    p.set_defaults(func=_content_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.func
    redaction.install()
    try:
        # Like every process: no development or short secret, no DEBUG, outside development.
        get_settings().check()
    except UnsafeSettings as exc:
        print(f"error: refusing to run: {exc}", file=sys.stderr)
        return 1
    try:
        return handler(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OperationalError as exc:
        # Connection problems: the driver's first line says what is wrong.
        first_line = str(getattr(exc, "orig", exc)).strip().splitlines()[:1]
        print(f"error: database unavailable: {''.join(first_line)}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        # Only the class name: other driver messages can quote patient data.
        print(f"error: database problem ({type(exc).__name__})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
