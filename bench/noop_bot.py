"""The baseline bot for bench/updates.py: a true no-op. The same transport as Daihuan (the
bot with its limits, retries and rate limiter, update fetching, per-user ordering) through
the same run loop (bot/serve.py), with no storage, no jobs and one handler that answers
every update at once. What Daihuan costs beyond it is what its features cost.

It used to be Daihuan's whole application with the handlers swapped: it opened and migrated
the database, ran servicing and the outbox jobs, and missed the run loop's gc.freeze(), so
it paid for storage and full garbage collections that the real bot did not, and came out
slower than the bot it was meant to bound."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import Application, TypeHandler

from bot.composition import METRICS, transport
from bot.metrics import Metrics
from bot.serve import serve
from bot.settings import Settings, load_settings


async def answer_everything(update: Update, context) -> None:
    if update.callback_query:
        await update.callback_query.answer()
    elif update.effective_message:
        await update.effective_message.reply_text("ok")


def baseline(settings: Settings) -> Application:
    metrics = Metrics()
    app = transport(settings, metrics).build()
    app.bot_data[METRICS] = metrics
    app.add_handler(TypeHandler(Update, answer_everything))
    return app


def main() -> None:
    settings = load_settings()
    asyncio.run(serve(settings, app=baseline(settings)))


if __name__ == "__main__":
    main()
