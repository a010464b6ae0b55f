"""/start, /help, and deep links that lead nowhere."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.commands import help_text
from bot.context import language_of, services, text_for
from bot.editing import reply


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    name = update.effective_user.first_name if update.effective_user else ""
    await reply(update,
        await text_for(update, context, "start.greeting", name=name))


async def start_with_unknown_payload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A ``/start <payload>`` that no feature claims: say so, change nothing."""
    await reply(update, await text_for(update, context, "deeplink.invalid"))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = await language_of(update, context)
    await reply(update, help_text(services(context).texts, language))
