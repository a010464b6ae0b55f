"""The last resort: log without secrets, apologise to the user, keep the bot alive."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.context import language_of, services
from core.users import Language

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("unhandled error while handling update %s",
              update.update_id if isinstance(update, Update) else "-",
              exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        language = await language_of(update, context)
    except Exception:  # the database may be what failed: fall back to Telegram's language
        user = update.effective_user
        language = Language.from_telegram(user.language_code if user else None)
    try:
        text = services(context).texts.get(language, "error.generic")
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, text)
    except Exception:
        log.warning("could not tell the user about the error", exc_info=True)
