"""Everything no feature claimed: a polite pointer to /help, and nothing changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import keyboards
from bot.context import BotContext
from bot.editing import reply
from bot.handlers import PRIVATE


async def unknown_command(update: Update, context: BotContext) -> None:
    await reply(update, context.say("unknown.command"))


async def unknown_text(update: Update, context: BotContext) -> None:
    await reply(update, context.say("unknown.text"))


async def unsupported_message(update: Update, context: BotContext) -> None:
    await reply(update,
        context.say("unsupported.message"))


async def not_private(update: Update, context: BotContext) -> None:
    """Commands in groups: point to the private chat; plain group chatter is ignored."""
    await reply(update, context.say("private.only"))


async def stale_button(update: Update, context: BotContext) -> None:
    """Callback data no handler recognised: forged, truncated, or from an old version."""
    await update.callback_query.answer(
        context.say("callback.invalid"), show_alert=True)


async def nothing_to_cancel(update: Update, context: BotContext) -> None:
    await reply(update,
        context.say("common.nothing_to_cancel"))


def cancel_conversation(draft: str) -> Callable[[Update, BotContext],
                                                Awaitable[int]]:
    """/cancel inside a flow: drop its draft, take away any reply keyboard, end it."""
    async def cancel(update: Update, context: BotContext) -> int:
        context.user_data.pop(draft, None)
        await reply(update,
            context.say("common.cancelled"),
            reply_markup=keyboards.no_reply_keyboard())
        return ConversationHandler.END

    return cancel


def handlers() -> list[BaseHandler]:
    """Last: what no feature took gets a polite answer."""
    return [CommandHandler("cancel", nothing_to_cancel, filters=PRIVATE),
            CallbackQueryHandler(stale_button),
            MessageHandler(filters.COMMAND & ~PRIVATE, not_private),
            MessageHandler(filters.COMMAND & PRIVATE & filters.UpdateType.MESSAGE,
                           unknown_command),
            MessageHandler(filters.TEXT & PRIVATE & filters.UpdateType.MESSAGE, unknown_text),
            MessageHandler(~filters.TEXT & PRIVATE & filters.UpdateType.MESSAGE,
                           unsupported_message)]
