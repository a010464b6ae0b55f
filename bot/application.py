"""The Telegram application: handlers in the order they must match."""

from __future__ import annotations

import warnings

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import callbacks
from bot.context import services
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

PRIVATE = filters.ChatType.PRIVATE


async def remember_sender(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs first for every update: the sender is known before any handler needs them."""
    user = update.effective_user
    if user is not None and not user.is_bot:
        await services(context).people.seen(user.id, user.full_name, user.language_code)


def add_handlers(app: Application) -> None:
    app.add_handler(TypeHandler(Update, remember_sender), group=-1)

    # Deep links with a payload come before the plain /start (PTB-NOTES).
    app.add_handler(CommandHandler("start", friend.open_invitation,
                                   filters=PRIVATE & filters.Regex(r"^/start c_"), has_args=1))
    app.add_handler(CommandHandler("start", start.start_with_unknown_payload,
                                   filters=PRIVATE, has_args=True))
    app.add_handler(CommandHandler("start", start.start, filters=PRIVATE))
    app.add_handler(CommandHandler("help", start.help_command, filters=PRIVATE))
    app.add_handler(CommandHandler("language", language.ask, filters=PRIVATE))
    app.add_handler(callbacks.ChooseLanguage.handler(language.chosen))

    with warnings.catch_warnings():
        # Button steps are tracked per user, not per message, on purpose: each button carries
        # the draft's nonce, which the step checks.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        app.add_handler(verify.conversation())
        app.add_handler(buy.conversation())
        app.add_handler(cover.conversation())
    app.add_handler(CommandHandler("credit", credit.show, filters=PRIVATE))
    app.add_handler(CommandHandler("bills", bills.show, filters=PRIVATE))
    app.add_handler(callbacks.BillsPage.handler(bills.turn_page))
    app.add_handler(callbacks.PayAsk.handler(bills.ask_to_pay))
    app.add_handler(callbacks.PayConfirm.handler(bills.pay))
    app.add_handler(CommandHandler("wallet", wallet.show, filters=PRIVATE))
    app.add_handler(callbacks.TopUp.handler(wallet.ask_top_up))
    app.add_handler(callbacks.ShowWallet.handler(wallet.show_from_button))
    app.add_handler(PreCheckoutQueryHandler(wallet.pre_checkout))
    app.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, wallet.paid))
    app.add_handler(callbacks.ManageRequest.handler(cover.manage))
    app.add_handler(callbacks.FriendPress.handler(friend.pressed))
    app.add_handler(callbacks.FriendIncome.handler(friend.income))
    app.add_handler(callbacks.FriendReduced.handler(friend.reduced))
    app.add_handler(callbacks.FriendSign.handler(friend.sign))
    app.add_handler(CommandHandler("requests", agreements.requests, filters=PRIVATE))
    app.add_handler(CommandHandler("agreements", agreements.agreements, filters=PRIVATE))
    app.add_handler(CommandHandler("terminate", agreements.terminate, filters=PRIVATE))
    app.add_handler(callbacks.AgreementPress.handler(agreements.pressed))
    app.add_handler(InlineQueryHandler(cards.inline_cards))
    app.add_handler(CommandHandler("ops", ops.ops, filters=PRIVATE))
    app.add_handler(CommandHandler("freeze", ops.freeze, filters=PRIVATE))
    app.add_handler(CommandHandler("unfreeze", ops.unfreeze, filters=PRIVATE))
    app.add_handler(callbacks.AlertPress.handler(ops.alert_pressed))
    app.add_handler(CommandHandler("cancel", fallback.nothing_to_cancel, filters=PRIVATE))

    app.add_handler(CallbackQueryHandler(fallback.stale_button))
    app.add_handler(MessageHandler(filters.COMMAND & ~PRIVATE, fallback.not_private))
    app.add_handler(MessageHandler(filters.COMMAND & PRIVATE & filters.UpdateType.MESSAGE,
                                   fallback.unknown_command))
    app.add_handler(MessageHandler(filters.TEXT & PRIVATE & filters.UpdateType.MESSAGE,
                                   fallback.unknown_text))
    app.add_handler(MessageHandler(~filters.TEXT & PRIVATE & filters.UpdateType.MESSAGE,
                                   fallback.unsupported_message))
    app.add_error_handler(errors.on_error)
