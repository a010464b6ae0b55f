"""/language: choose 中文 or English with a button; the choice is stored per user."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot import callbacks, keyboards
from bot.context import language_of, services
from bot.editing import edit, reply


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = await language_of(update, context)
    await reply(update,
        services(context).texts.get(language, "language.prompt"),
        reply_markup=keyboards.language_choice(language))


async def chosen(update: Update, context: ContextTypes.DEFAULT_TYPE,
                 press: callbacks.ChooseLanguage) -> None:
    query = update.callback_query
    language = press.language
    # The choice belongs to whoever pressed, so there is no one else to check for.
    await services(context).people.choose_language(query.from_user.id, language)
    await query.answer()
    await edit(query, services(context).texts.get(language, "language.set"))
