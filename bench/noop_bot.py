"""The baseline bot for bench/updates.py: Daihuan's own Application settings (rate limiter,
per-user ordering, defaults), with one handler that answers every update at once."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, TypeHandler

from bot.composition import ALLOWED_UPDATES, build_application
from bot.settings import load_settings


async def answer_everything(update: Update, context) -> None:
    if update.callback_query:
        await update.callback_query.answer()
    elif update.effective_message:
        await update.effective_message.reply_text("ok")


def main() -> None:
    app: Application = build_application(load_settings())
    app.handlers.clear()
    app.add_handler(TypeHandler(Update, answer_everything))
    app.run_polling(allowed_updates=ALLOWED_UPDATES)


if __name__ == "__main__":
    main()
