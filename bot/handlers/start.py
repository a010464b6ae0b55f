"""/start, /help, and deep links that lead nowhere."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.commands import help_text
from bot.context import BotContext
from bot.editing import reply
from bot.handlers import PRIVATE


async def start(update: Update, context: BotContext) -> None:
    name = update.effective_user.first_name if update.effective_user else ""
    await reply(update,
        context.say("start.greeting", name=name))


async def start_with_unknown_payload(update: Update, context: BotContext) -> None:
    """A ``/start <payload>`` that no feature claims: say so, change nothing."""
    await reply(update, context.say("deeplink.invalid"))


async def help_command(update: Update, context: BotContext) -> None:
    language = context.say.language
    await reply(update, help_text(context.services.texts, language))


def handlers() -> list[BaseHandler]:
    return [CommandHandler("start", start_with_unknown_payload, filters=PRIVATE, has_args=True),
            CommandHandler("start", start, filters=PRIVATE),
            CommandHandler("help", help_command, filters=PRIVATE)]
