"""``daihuan``: the command line. ``daihuan run`` starts the bot; the other subcommands are for
operators and work beside a running bot (SQLite waits for the writer; WAL lets both read)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings

# Each command imports what it uses when it runs: `daihuan --help` and the operator commands
# start without loading Telegram, matplotlib or the settings machinery they do not need.


def _user_id(text: str) -> int:
    """A Telegram user id as typed: digits of any script, no signs, separators or overflow."""
    from core.numerals import parse_int

    value = parse_int(text, 1, 2**53)
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a Telegram user id")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="daihuan", description="Daihuan (代还) Telegram bot")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_parser = sub.add_parser("run", help="start the bot (long polling, or --webhook)")
    run_parser.add_argument("--webhook", action="store_true",
                            help="receive updates by webhook at WEBHOOK_URL instead of polling")
    demo = sub.add_parser("demo", help="see the whole product work without Telegram: the real "
                                       "bot and scripted people on an offline Bot API server")
    demo.add_argument("--lang", choices=("en", "zh"), default="en")
    demo.add_argument("--speed", type=float, default=1.0,
                      help="pace of the story: 2 is twice as fast, 0 as fast as it goes")
    demo.add_argument("--keep", type=Path, metavar="DB",
                      help="keep the demo database at this path (default: a temporary file)")
    demo.epilog = ("With DATABASE_URL set in the environment the story is told on that "
                   "PostgreSQL database instead, which must be empty.")
    sub.add_parser("migrate", help="create or upgrade the database, then exit")
    history = sub.add_parser("import-history",
                             help="load repayment history: user_id,bill_ref,due_date,"
                                  "paid_date,amount")
    history.add_argument("file", type=Path)
    bills = sub.add_parser("import-bills",
                           help="load bills issued elsewhere: bill_ref,user_id,merchant,"
                                "amount,instalments,purchase_date")
    bills.add_argument("file", type=Path)
    credit = sub.add_parser("credit-wallet",
                            help="record money a user sent by bank transfer into their wallet")
    credit.add_argument("user_id", type=_user_id)
    credit.add_argument("amount", help="in yuan, e.g. 100 or 99.50")
    credit.add_argument("--ref", required=True,
                        help="the transfer's reference: recording the same ref again posts "
                             "nothing")
    servicing = sub.add_parser("servicing",
                               help="run daily servicing for a business date (default: today "
                                    "in TIMEZONE), or show recent runs")
    servicing.add_argument("--date", help="business date YYYY-MM-DD")
    servicing.add_argument("--status", action="store_true",
                           help="show the last runs and the outbox instead of running")
    backup = sub.add_parser("backup", help="copy the database to PATH (safe while the bot runs)")
    backup.add_argument("path", type=Path)
    restore = sub.add_parser("restore", help="replace the database with the backup at PATH "
                                            "(stop the bot first)")
    restore.add_argument("path", type=Path)
    copy = sub.add_parser("copy-to-postgres",
                          help="copy the SQLite book at DATABASE_PATH into an empty "
                               "PostgreSQL database and check the copy (stop the bot first)")
    copy.add_argument("url", nargs="?", metavar="DATABASE_URL",
                      help="postgresql://user:password@host:port/database (default: the "
                           "DATABASE_URL setting)")
    audit = sub.add_parser("audit", help="export the event log for auditors")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    export = audit_sub.add_parser("export", help="every state change in a date range, with "
                                                 "actor and time (identity numbers masked)")
    export.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD (local)")
    export.add_argument("--to", dest="date_to", required=True, help="YYYY-MM-DD, inclusive")
    export.add_argument("--user", type=_user_id,
                        help="only what concerns this Telegram user id")
    export.add_argument("--format", choices=("csv", "jsonl"), default="jsonl")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        return demo(args.lang, args.speed, args.keep)  # needs no settings: nothing is real
    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"daihuan: {error}", file=sys.stderr)
        return 2
    if args.command == "run":
        return run(settings, webhook=args.webhook)
    from bot import operator_commands as ops

    commands: dict[str, Callable[..., Awaitable[int]]] = {
        "migrate": ops.migrate,
        "import-history": ops.import_history,
        "import-bills": ops.import_bills,
        "credit-wallet": ops.credit_wallet,
        "servicing": ops.servicing,
        "audit": ops.audit_export,
        "backup": ops.backup_database,
        "restore": ops.restore_database,
        "copy-to-postgres": ops.copy_to_postgres,
    }
    from storage.engine import BookUnavailable
    from storage.keys import KeyMismatch
    from storage.migrate import SchemaTooNew

    try:
        return asyncio.run(commands[args.command](settings, args))
    except (SchemaTooNew, KeyMismatch, BookUnavailable) as error:
        print(f"daihuan: {error}", file=sys.stderr)
        return 2


def run(settings: Settings, webhook: bool = False) -> int:
    from bot.logs import setup_logging
    from bot.serve import serve
    from storage.engine import BookUnavailable
    from storage.keys import KeyMismatch
    from storage.migrate import SchemaTooNew

    missing = settings.missing_for_webhook() if webhook else settings.missing_for_run()
    if missing:
        print("daihuan: cannot start — " + "; ".join(missing), file=sys.stderr)
        return 2
    secrets = [s.get_secret_value() for s in (settings.telegram_bot_token,
               settings.payment_provider_token, settings.webhook_secret, settings.id_hash_key,
               settings.database_url, *settings.id_hash_key_previous) if s is not None]
    secrets += settings.database_password()
    setup_logging(settings.log_level, secrets, settings.log_format)
    try:
        asyncio.run(serve(settings, webhook=webhook))
    except (SchemaTooNew, KeyMismatch, BookUnavailable) as error:
        print(f"daihuan: cannot start — {error}", file=sys.stderr)
        return 2
    return 0


def demo(lang: str, speed: float, keep: Path | None) -> int:
    import logging
    import os

    from bot.demo.story import run_demo
    from bot.logs import setup_logging
    from storage.engine import BookUnavailable

    setup_logging("ERROR", [])
    logging.getLogger("telegram").setLevel(logging.CRITICAL)  # the story says what happens
    # Only the environment's DATABASE_URL, not .env's: that file is the deployment's own.
    url = os.environ.get("DATABASE_URL") or None
    try:
        asyncio.run(run_demo(lang, speed, keep, database_url=url))
    except (FileExistsError, BookUnavailable) as error:
        print(f"daihuan: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
