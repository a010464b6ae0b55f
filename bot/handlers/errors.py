"""The last resort: log without secrets, apologise to the user, keep the bot alive."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.context import BotContext
from core.users import Language

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    log.error("unhandled error while handling update %s",
              update.update_id if isinstance(update, Update) else "-",
              exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        # The error handler gets a context of its own: learn the language again.
        language = (await context.know(update)).language
    except Exception:  # the database may be what failed: fall back to Telegram's language
        user = update.effective_user
        language = Language.from_telegram(user.language_code if user else None)
    text = context.services.texts.get(language, "error.generic")
    if update.callback_query is not None:
        try:
            # A handler may have answered the press before it failed; Telegram takes one
            # answer per press, so a refused answer (False, bot.telegram_bot) means: say it
            # in the chat instead.
            if await update.callback_query.answer(text, show_alert=True):
                return
        except TelegramError:
            pass
    if update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id, text)
        except TelegramError:
            log.warning("could not tell the user about the error", exc_info=True)
