"""What happens when someone sends something other than the answer a step of a flow waits
for (a photo, a sticker, a file, text where buttons are expected): the step is asked again,
so nobody is left at "I can only read text". Commands still leave the flow to be handled as
usual, and payments and service messages are never taken for an answer."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram._utils.types import ReplyMarkup
from telegram.error import TelegramError
from telegram.ext import MessageHandler, filters

from bot.context import BotContext, Speaker
from bot.editing import reply

OFF_STEP = (filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND
            & ~filters.SUCCESSFUL_PAYMENT & ~filters.StatusUpdate.ALL)
# What may show an identity document: deleted on sight in a flow that asks for a number.
_PICTURES = filters.PHOTO | filters.Document.ALL | filters.VIDEO

Prompt = Callable[[Update, BotContext, Speaker],
                  Awaitable[tuple[str, ReplyMarkup | None]]]


def ask_again(prompt: Prompt, delete_pictures: bool = False) -> MessageHandler:
    """A handler for anything off the step: say the step again and stay at it. With
    ``delete_pictures``, a photo or file is deleted first and the person told why: an ID
    card photo must not linger in the chat."""
    async def repeat(update: Update, context: BotContext) -> None:
        say = context.say
        if delete_pictures and _PICTURES.check_update(update):
            with contextlib.suppress(TelegramError):
                await update.effective_message.delete()
            await reply(update, say("verify.picture_deleted"))
        text, markup = await prompt(update, context, say)
        await reply(update, text, reply_markup=markup)

    return MessageHandler(OFF_STEP, repeat)


def fixed(key: str, markup: Callable[[Speaker], ReplyMarkup | None] | None = None) -> Prompt:
    """A prompt that is one text, and optionally a keyboard."""
    async def prompt(update: Update, context: BotContext,
                     say: Speaker) -> tuple[str, ReplyMarkup | None]:
        return say(key), markup(say) if markup else None

    return prompt
