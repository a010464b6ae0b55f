"""``daihuan``: the command line. ``daihuan run`` starts the bot; ``daihuan migrate`` prepares
the database."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.settings import Settings, SettingsError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="daihuan", description="Daihuan (代还) Telegram bot")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="start the bot (long polling)")
    sub.add_parser("migrate", help="create or upgrade the database, then exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"daihuan: {error}", file=sys.stderr)
        return 2
    if args.command == "run":
        return run(settings)
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    return 2


def run(settings: Settings) -> int:
    from bot.composition import ALLOWED_UPDATES, build_application
    from bot.logs import setup_logging
    from storage.migrate import SchemaTooNew

    missing = settings.missing_for_run()
    if missing:
        print("daihuan: cannot start — " + "; ".join(missing), file=sys.stderr)
        return 2
    secrets = [settings.telegram_bot_token.get_secret_value()]  # type: ignore[union-attr]
    setup_logging(settings.log_level, secrets)
    app = build_application(settings)
    try:
        app.run_polling(allowed_updates=ALLOWED_UPDATES)
    except SchemaTooNew as error:
        print(f"daihuan: {error}", file=sys.stderr)
        return 2
    return 0


async def _migrate(settings: Settings) -> int:
    from bot.composition import open_database
    from core.clock import SystemClock
    from storage.migrate import SchemaTooNew, current_version

    try:
        db = await open_database(settings, SystemClock())
    except SchemaTooNew as error:
        print(f"daihuan: {error}", file=sys.stderr)
        return 2
    version = await current_version(db)
    await db.close()
    print(f"daihuan: database {settings.database_path} is at schema version {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
