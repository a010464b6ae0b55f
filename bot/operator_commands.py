"""The operators' subcommands of ``daihuan``: plain output, non-zero exit on refusal."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, time, timedelta

from bot.book import open_database
from bot.settings import Settings
from core.clock import SystemClock, business_date, utc_iso
from core.events import operator_actor
from core.imports import REFERENCE, ImportFailed, parse_bills, parse_history
from core.ledger import IdempotencyConflict
from core.money import MoneyError, parse_amount
from core.numerals import parse_date
from core.services import imports, wallet
from core.services.daily import run_daily
from core.services.servicing import business_dates_to_run
from storage.engine import schema_version
from storage.events import export
from storage.migrate import SchemaTooNew
from storage.uow import StorageUnitOfWorkFactory

CLI_ACTOR = operator_actor(0)  # the command line: an operator without a Telegram id


@asynccontextmanager
async def _storage(settings: Settings) -> AsyncIterator[StorageUnitOfWorkFactory]:
    clock = SystemClock()
    db = await open_database(settings, clock)
    try:
        yield StorageUnitOfWorkFactory(db, clock)
    finally:
        await db.close()


def _fail(message: str) -> int:
    print(f"daihuan: {message}", file=sys.stderr)
    return 1


def _read(path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"daihuan: cannot read {path}: {error}", file=sys.stderr)
        return None


async def migrate(settings: Settings, args: argparse.Namespace) -> int:
    try:
        async with _storage(settings) as uow:
            version = await schema_version(uow.db)
    except SchemaTooNew as error:
        return _fail(str(error))
    print(f"daihuan: database {settings.book_where} is at schema version {version}")
    return 0


def _today(settings: Settings):
    return business_date(SystemClock().now(), settings.tz)


def _report(error: ImportFailed, path) -> int:
    for row in error.errors:
        print(f"{path}: {row}", file=sys.stderr)
    return _fail(f"{len(error.errors)} problem(s) in {path}; nothing was loaded")


async def import_history(settings: Settings, args: argparse.Namespace) -> int:
    text = _read(args.file)
    if text is None:
        return 1
    try:
        rows = parse_history(text, _today(settings))
    except ImportFailed as error:
        return _report(error, args.file)
    async with _storage(settings) as uow:
        count = await imports.import_history(uow, SystemClock(), rows, CLI_ACTOR)
    users = len({r.user_id for r in rows})
    print(f"daihuan: loaded {count} history row(s) for {users} user(s); "
          "their ratings now include them")
    return 0


async def import_bills(settings: Settings, args: argparse.Namespace) -> int:
    text = _read(args.file)
    if text is None:
        return 1
    try:
        rows = parse_bills(text, _today(settings))
        async with _storage(settings) as uow:
            loaded, skipped = await imports.import_bills(uow, rows, settings.fees, CLI_ACTOR)
    except ImportFailed as error:
        return _report(error, args.file)
    print(f"daihuan: loaded {loaded} bill(s); {skipped} were already loaded")
    return 0


async def credit_wallet(settings: Settings, args: argparse.Namespace) -> int:
    try:
        amount = parse_amount(args.amount)
    except MoneyError as error:
        return _fail(f"AMOUNT {args.amount!r} is not an amount in yuan ({error.reason.value})")
    ref = args.ref.strip()
    if not REFERENCE.fullmatch(ref):
        return _fail("--ref must be 1-64 letters, digits or ASCII punctuation, no spaces")
    async with _storage(settings) as uow:
        try:
            posted = await wallet.top_up(uow, user_id=args.user_id, amount=amount,
                                         source="bank", ref=ref, actor=CLI_ACTOR)
        except IdempotencyConflict:
            return _fail(f"ref {ref} was already recorded for a different user or amount; "
                         "nothing posted")
        view = await wallet.wallet_view(uow, args.user_id, limit=1)
    if posted.replayed:
        print(f"daihuan: ref {ref} was already recorded (transfer #{posted.id}); nothing posted")
    else:
        print(f"daihuan: credited {amount} to user {args.user_id} (transfer #{posted.id}); "
              f"wallet balance {view.balance}")
    return 0


async def servicing(settings: Settings, args: argparse.Namespace) -> int:
    """Run servicing for a date (its notices wait in the outbox for the bot to send), or
    print the last runs and the outbox backlog."""
    if args.status:
        async with _storage(settings) as uow, uow.read() as tx:
            runs = await tx.servicing.runs(10)
            outbox = await tx.outbox.counts()
        print("business date  finished  debited failed retried defaulted overdue completed"
              " reminders")
        for run in runs:
            c = run.counts
            print(f"{run.business_date}     {'yes' if run.finished_at else 'NO '}       "
                  f"{c['debited']:7} {c['failed']:6} {c['retried']:7} {c['defaulted']:9} "
                  f"{c['overdue_marked']:7} {c['completed']:9} {c['reminders_planned']:9}")
        print("outbox: " + ", ".join(f"{k} {outbox.get(k, 0)}"
                                      for k in ("pending", "sent", "blocked", "failed")))
        return 0
    today = _today(settings)
    day = parse_date(args.date) if args.date else today
    if day is None:
        return _fail(f"--date {args.date!r} is not a date as YYYY-MM-DD")
    if day > today:
        return _fail(f"--date {day} is in the future; servicing runs for today or earlier")
    if not settings.operator_ids:
        print("daihuan: OPERATOR_IDS is not set here, so the daily report goes to no one; "
              "alerts reach the bot's operators when it next starts", file=sys.stderr)
    async with _storage(settings) as uow:
        if args.date:  # that date alone
            days = [day]
        else:  # as the bot's job does: every date not yet run, up to today
            async with uow.read() as tx:
                days = business_dates_to_run(await tx.servicing.last_finished(), today)
        result = await run_daily(uow, SystemClock(), settings.tz, settings.servicing_policy,
                                 settings.risk_policy, settings.operator_ids, days)
    for run_day, counts in result.runs:
        if counts.already_finished:
            print(f"daihuan: servicing for {run_day} already ran to the end; nothing to do")
            continue
        print(f"daihuan: servicing {run_day}: debited {counts.debited}, failed "
              f"{counts.failed}, retried {counts.retried}, defaulted {counts.defaulted}, "
              f"overdue {counts.overdue_marked}, completed {counts.completed}, reminders "
              f"planned {counts.reminders_planned}")
    if any(not counts.already_finished for _, counts in result.runs):
        report = (f"the daily report for {result.reported} planned for "
                  f"{len(settings.operator_ids)} operator(s)" if result.reported else
                  "no daily report (a later date has run; its report stands)")
        print(f"daihuan: risk rules raised {result.alerts_raised} alert(s); {report}; the "
              "running bot sends these")
    return 0


async def audit_export(settings: Settings, args: argparse.Namespace) -> int:
    """Events of the local business dates --from..--to, as CSV or JSON lines. Events hold
    masks only (identity and phone numbers are never stored in clear)."""
    first, last = parse_date(args.date_from), parse_date(args.date_to)
    if first is None or last is None:
        return _fail("--from and --to must be dates as YYYY-MM-DD")
    if last < first:
        return _fail("--to is before --from")
    start = datetime.combine(first, time(0), tzinfo=settings.tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=settings.tz)
    out = args.output.open("w", encoding="utf-8", newline="") if args.output else sys.stdout
    count = 0
    try:
        writer = csv.writer(out) if args.format == "csv" else None
        if writer is not None:
            writer.writerow(["id", "occurred_at", "actor", "subject", "kind", "data", "parties"])
        async with _storage(settings) as uow:
            async for event in export(uow.db.reader, utc_iso(start), utc_iso(end), args.user):
                row = {"id": event.id, "occurred_at": utc_iso(event.occurred_at),
                       "actor": event.actor, "subject": event.subject, "kind": event.kind,
                       "data": event.data, "parties": list(event.parties)}
                if writer is not None:
                    writer.writerow([*list(row.values())[:5],
                                     json.dumps(event.data, ensure_ascii=False, sort_keys=True),
                                     " ".join(map(str, event.parties))])
                else:
                    out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
    finally:
        if args.output:
            out.close()
    print(f"daihuan: exported {count} event(s)", file=sys.stderr)
    return 0


def _postgres_refusal(settings: Settings, what: str) -> int | None:
    """Backups of a PostgreSQL book are PostgreSQL's own tools' work: say exactly which."""
    if settings.database_url is None:
        return None
    url = settings.book_where
    command = (f"pg_dump --format=custom --file=BACKUP.dump '{url}'" if what == "backup" else
               f"pg_restore --clean --if-exists --no-owner --dbname='{url}' BACKUP.dump")
    return _fail(f"{what} works on the SQLite file; this book is on PostgreSQL. Use: {command}"
                 " (with the real password), then `daihuan migrate` to check the schema"
                 " version (docs/postgres.md, Backups)")


async def backup_database(settings: Settings, args: argparse.Namespace) -> int:
    from storage.backup import BackupRefused, backup, check

    if (refused := _postgres_refusal(settings, "backup")) is not None:
        return refused
    try:
        async with _storage(settings) as uow:
            await backup(uow.db, args.path)
        version = check(args.path)
    except BackupRefused as error:
        return _fail(str(error))
    print(f"daihuan: backed up {settings.database_path} to {args.path} (schema {version}, "
          "integrity and ledger checked)")
    return 0


async def restore_database(settings: Settings, args: argparse.Namespace) -> int:
    from storage.backup import BackupRefused, restore

    if (refused := _postgres_refusal(settings, "restore")) is not None:
        return refused
    try:
        version = restore(args.path, settings.database_path)
    except BackupRefused as error:
        return _fail(f"{error}; nothing was restored")
    print(f"daihuan: restored {settings.database_path} from {args.path} (schema {version}); "
          "start the bot to apply any newer migrations")
    return 0


async def copy_to_postgres(settings: Settings, args: argparse.Namespace) -> int:
    """The SQLite book at DATABASE_PATH into an empty PostgreSQL database, checked."""
    from storage.location import is_postgres_url, redacted
    from storage.pg.copy import CopyRefused
    from storage.pg.copy import copy_to_postgres as copy

    url = args.url or (settings.database_url.get_secret_value() if settings.database_url
                       else None)
    if url is None or not is_postgres_url(url):
        return _fail("copy-to-postgres needs a postgresql://user:password@host:port/database "
                     "URL, as an argument or in DATABASE_URL")
    source = settings.database_path
    if not source.is_file():
        return _fail(f"there is no SQLite book at {source} (DATABASE_PATH) to copy")
    try:
        report = await copy(source, url, SystemClock())
    except CopyRefused as error:
        return _fail(str(error))
    print(f"daihuan: copied {source} to {redacted(url)}: {report.total_rows} rows in "
          f"{len(report.rows)} tables at schema version {report.version}. Checked: every "
          f"table's row count, the ledger balanced over {report.accounts} accounts with the "
          f"source's balances, {report.signed_texts} signed agreement texts against their "
          "SHA-256. Set DATABASE_URL to this database and start the bot; keep the SQLite "
          "file as the last backup of the old book.")
    return 0
