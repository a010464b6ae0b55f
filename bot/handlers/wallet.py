"""/wallet: balance, recent movements, and top-up by Telegram Payments when configured.

A successful payment is posted with Telegram's charge id as the idempotency key, so a
repeated update credits once; see bot/payments.py for why it is booked on arrival."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import LabeledPrice, Update
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    filters,
)

from bot import callbacks, keyboards, limits
from bot.context import BotContext, Speaker
from bot.editing import reply
from bot.formatting import local_day
from bot.handlers import PRIVATE
from bot.outbox_sender import send_now
from bot.payments import ALLOWED, CURRENCY, Payment, book, invoice_payload, valid
from core.ledger import TransferKind
from core.money import Money
from core.services.wallet import wallet_view

# What a wallet statement names; anything else (a purchase never touches a wallet) is "other".
SHOWN_KINDS = frozenset({TransferKind.TOP_UP, TransferKind.REPAYMENT, TransferKind.REVERSAL,
                         TransferKind.DEBIT})


def render(balance: Money, movements, say: Speaker, tz: ZoneInfo) -> str:
    lines = [say("wallet.header", balance=balance), ""]
    if not movements:
        lines.append(say("wallet.no_movements"))
    else:
        lines.append(say("wallet.movements"))
        for m in movements:
            kind = m.kind if m.kind in SHOWN_KINDS else "other"
            sign = "+" if m.amount.fen > 0 else ""
            lines.append(say("wallet.movement", date=local_day(m.posted_at, tz, say.language),
                             amount=f"{sign}{m.amount}", what=say(f"movement.{kind}")))
    return "\n".join(lines)


async def show(update: Update, context: BotContext) -> None:
    say = context.say
    found = context.services
    user_id = update.effective_user.id
    view = await wallet_view(found.uow, user_id)
    text = limits.cut(render(view.balance, view.movements, say, found.tz), limits.MESSAGE - 200)
    if found.payment_token:
        await reply(update,
            text + "\n\n" + say("wallet.topup_prompt"), reply_markup=keyboards.top_ups(say))
    else:
        await reply(update,
            text + "\n\n" + say("wallet.topup_offline", user_id=user_id))


async def show_from_button(update: Update, context: BotContext,
                           press: callbacks.ShowWallet) -> None:
    """"My wallet" under a reminder: the wallet, as a new message."""
    await update.callback_query.answer()
    await show(update, context)


async def ask_top_up(update: Update, context: BotContext,
                     press: callbacks.TopUp) -> None:
    query = update.callback_query
    say = context.say
    found = context.services
    fen = press.fen
    if fen not in ALLOWED or not found.payment_token:
        await query.answer(say("callback.invalid"), show_alert=True)
        return
    await query.answer()
    amount = Money(fen)
    await context.bot.send_invoice(
        chat_id=update.effective_user.id, title=say("wallet.invoice_title"),
        description=say("wallet.invoice_description", amount=amount),
        payload=invoice_payload(update.effective_user.id, fen),
        provider_token=found.payment_token, currency=CURRENCY,
        prices=[LabeledPrice(say("wallet.invoice_title"), fen)])


async def pre_checkout(update: Update, context: BotContext) -> None:
    """Telegram asks before charging: only our own invoices, for their payer, as issued."""
    query = update.pre_checkout_query
    if valid(query.invoice_payload, query.from_user.id, query.currency, query.total_amount):
        await query.answer(ok=True)
    else:
        await query.answer(ok=False,
                           error_message=context.say("wallet.payment_refused"))


async def paid(update: Update, context: BotContext) -> None:
    """Usually booked already as the update arrived (bot.payments); booking again changes
    nothing. The confirmation goes out through the outbox, planned with the booking."""
    payment = update.effective_message.successful_payment
    await book(context.services, Payment(
        update.effective_user.id, payment.currency, payment.total_amount,
        payment.invoice_payload, payment.telegram_payment_charge_id))
    await send_now(context)


def handlers() -> list[BaseHandler]:
    return [CommandHandler("wallet", show, filters=PRIVATE),
            callbacks.TopUp.handler(ask_top_up),
            callbacks.ShowWallet.handler(show_from_button),
            PreCheckoutQueryHandler(pre_checkout),
            MessageHandler(filters.SUCCESSFUL_PAYMENT, paid)]
