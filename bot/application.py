"""The Telegram application: handlers in the order they must match."""

from __future__ import annotations

import warnings

from telegram import Update
from telegram.ext import Application, TypeHandler
from telegram.warnings import PTBUserWarning

from bot.context import BotContext
from bot.handlers import (
    agreements,
    bills,
    buy,
    cards,
    cover,
    credit,
    errors,
    fallback,
    friend,
    language,
    ops,
    start,
    verify,
    wallet,
)


async def remember_sender(update: Update, context: BotContext) -> None:
    """Runs first for every update: the sender is known, and ``context.say`` speaks their
    language, before any handler needs them."""
    await context.know(update)


# Features in the order PTB must try them (one handler per update and group, first match):
# an invitation's deep link before the plain /start; the step-by-step flows before the
# commands and buttons, so a flow in progress reads its own input; what nobody took last.
FEATURES = (friend.deep_links, start.handlers, language.handlers, verify.handlers,
            buy.handlers, cover.handlers, credit.handlers, bills.handlers, wallet.handlers,
            friend.handlers, agreements.handlers, cards.handlers, ops.handlers,
            fallback.handlers)


def add_handlers(app: Application) -> None:
    app.add_handler(TypeHandler(Update, remember_sender), group=-1)
    with warnings.catch_warnings():
        # Button steps are tracked per user, not per message, on purpose: each button carries
        # the draft's nonce, which the step checks.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        for feature in FEATURES:
            app.add_handlers(feature())
    app.add_error_handler(errors.on_error)
