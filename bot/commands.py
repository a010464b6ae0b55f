"""The command menu: one list feeds Telegram's menu (per language) and /help."""

from __future__ import annotations

from telegram import BotCommand

from bot.i18n import Texts
from core.users import Language

# (command, key of its description). Only commands that exist are listed.
MENU: tuple[tuple[str, str], ...] = (
    ("start", "cmd.start"),
    ("help", "cmd.help"),
    ("verify", "cmd.verify"),
    ("credit", "cmd.credit"),
    ("buy", "cmd.buy"),
    ("bills", "cmd.bills"),
    ("wallet", "cmd.wallet"),
    ("cover", "cmd.cover"),
    ("requests", "cmd.requests"),
    ("agreements", "cmd.agreements"),
    ("terminate", "cmd.terminate"),
    ("language", "cmd.language"),
    ("cancel", "cmd.cancel"),
)


def bot_commands(texts: Texts, language: Language) -> list[BotCommand]:
    return [BotCommand(name, texts.get(language, key)) for name, key in MENU]


def help_text(texts: Texts, language: Language) -> str:
    lines = [texts.get(language, "help.header"), ""]
    lines += [f"/{name} — {texts.get(language, key)}" for name, key in MENU]
    lines += ["", texts.get(language, "help.footer")]
    return "\n".join(lines)
