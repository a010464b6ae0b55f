"""/language: choose 中文 or English with a button; the choice is stored per user."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot import callbacks, keyboards
from bot.context import BotContext
from bot.editing import edit, reply
from bot.handlers import PRIVATE


async def ask(update: Update, context: BotContext) -> None:
    await reply(update, context.say("language.prompt"),
                reply_markup=keyboards.language_choice(context.say.language))


async def chosen(update: Update, context: BotContext,
                 press: callbacks.ChooseLanguage) -> None:
    query = update.callback_query
    language = press.language
    # The choice belongs to whoever pressed, so there is no one else to check for.
    await context.services.people.choose_language(query.from_user.id, language)
    await query.answer()
    await edit(query, context.speak(language)("language.set"))


def handlers() -> list[BaseHandler]:
    return [CommandHandler("language", ask, filters=PRIVATE),
            callbacks.ChooseLanguage.handler(chosen)]
