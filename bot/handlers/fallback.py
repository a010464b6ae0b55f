"""Everything no feature claimed: a polite pointer to /help, and nothing changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import ReplyKeyboardRemove, Update
from telegram.ext import ContextTypes, ConversationHandler

from bot.context import text_for
from bot.editing import reply


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, await text_for(update, context, "unknown.command"))


async def unknown_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, await text_for(update, context, "unknown.text"))


async def unsupported_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update,
        await text_for(update, context, "unsupported.message"))


async def not_private(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Commands in groups: point to the private chat; plain group chatter is ignored."""
    await reply(update, await text_for(update, context, "private.only"))


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Callback data no handler recognised: forged, truncated, or from an old version."""
    await update.callback_query.answer(
        await text_for(update, context, "callback.invalid"), show_alert=True)


async def nothing_to_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update,
        await text_for(update, context, "common.nothing_to_cancel"))


def cancel_conversation(draft: str) -> Callable[[Update, ContextTypes.DEFAULT_TYPE],
                                                Awaitable[int]]:
    """/cancel inside a flow: drop its draft, take away any reply keyboard, end it."""
    async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        context.user_data.pop(draft, None)
        await reply(update,
            await text_for(update, context, "common.cancelled"),
            reply_markup=ReplyKeyboardRemove())
        return ConversationHandler.END

    return cancel
