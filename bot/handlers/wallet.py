"""/wallet: balance, recent movements, and top-up by Telegram Payments when configured.

A successful payment is posted with Telegram's charge id as the idempotency key, so a
repeated update credits once."""

from __future__ import annotations

import logging
import re
import secrets

from telegram import LabeledPrice, Update
from telegram.ext import ContextTypes

from bot import callbacks, keyboards
from bot.context import Speaker, services, speaker
from bot.editing import reply
from bot.formatting import day
from core.events import user_actor
from core.money import Money
from core.services.wallet import top_up, wallet_view

log = logging.getLogger(__name__)
CURRENCY = "CNY"
_PAYLOAD = re.compile(r"^topup:(\d{1,15}):(\d{1,9}):([0-9a-f]{8})$")
_ALLOWED = {amount.fen for amount in keyboards.TOP_UP_AMOUNTS}


def render(balance: Money, movements, say: Speaker) -> str:
    lines = [say("wallet.header", balance=balance), ""]
    if not movements:
        lines.append(say("wallet.no_movements"))
    else:
        lines.append(say("wallet.movements"))
        for m in movements:
            kind = m.kind if m.kind in ("topup", "repayment", "reversal") else "other"
            sign = "+" if m.amount.fen > 0 else ""
            lines.append(say("wallet.movement", date=day(m.posted_at.date(), say.language),
                             amount=f"{sign}{m.amount}", what=say(f"movement.{kind}")))
    return "\n".join(lines)


async def show(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    say = await speaker(update, context)
    found = services(context)
    user_id = update.effective_user.id
    view = await wallet_view(found.uow, user_id)
    text = render(view.balance, view.movements, say)
    if found.payment_token:
        await reply(update,
            text + "\n\n" + say("wallet.topup_prompt"), reply_markup=keyboards.top_ups(say))
    else:
        await reply(update,
            text + "\n\n" + say("wallet.topup_offline", user_id=user_id))


async def show_from_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"My wallet" under a reminder: the wallet, as a new message."""
    await update.callback_query.answer()
    await show(update, context)


async def ask_top_up(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    say = await speaker(update, context)
    found = services(context)
    fen = callbacks.parse_top_up(query.data)
    if fen not in _ALLOWED or not found.payment_token:
        await query.answer(say("callback.invalid"), show_alert=True)
        return
    await query.answer()
    amount = Money(fen)
    await context.bot.send_invoice(
        chat_id=update.effective_user.id, title=say("wallet.invoice_title"),
        description=say("wallet.invoice_description", amount=amount),
        payload=f"topup:{update.effective_user.id}:{fen}:{secrets.token_hex(4)}",
        provider_token=found.payment_token, currency=CURRENCY,
        prices=[LabeledPrice(say("wallet.invoice_title"), fen)])


def _valid(payload: str, user_id: int, currency: str, total: int) -> bool:
    match = _PAYLOAD.match(payload or "")
    return (match is not None and int(match.group(1)) == user_id
            and int(match.group(2)) == total and total in _ALLOWED and currency == CURRENCY)


async def pre_checkout(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Telegram asks before charging: only our own invoices, for their payer, as issued."""
    query = update.pre_checkout_query
    if _valid(query.invoice_payload, query.from_user.id, query.currency, query.total_amount):
        await query.answer(ok=True)
    else:
        await query.answer(ok=False,
                           error_message=(await speaker(update, context))("wallet.payment_refused"))


async def paid(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    payment = update.effective_message.successful_payment
    user_id = update.effective_user.id
    if payment.currency != CURRENCY:
        # Telegram took money we cannot book as CNY: an operator must sort it out.
        log.error("payment %s in %s cannot be booked", payment.telegram_payment_charge_id,
                  payment.currency)
        return
    if not _valid(payment.invoice_payload, user_id, payment.currency, payment.total_amount):
        log.warning("payment %s does not match its invoice; booking what was paid",
                    payment.telegram_payment_charge_id)
    found = services(context)
    amount = Money(payment.total_amount)
    posted = await top_up(found.uow, user_id=user_id, amount=amount, source="telegram",
                          ref=payment.telegram_payment_charge_id, actor=user_actor(user_id))
    if posted.replayed:
        return  # Telegram repeated the update: credited once, told once
    balance = (await wallet_view(found.uow, user_id, limit=0)).balance
    say = await speaker(update, context)
    await reply(update, say("wallet.topped_up", amount=amount,
                                                  balance=balance))
