"""/buy: merchant → amount → plan (buttons) → schedule → confirm (buttons). /cancel stops.

The draft lives in ``user_data``; its nonce is in every button, so a button from an older
draft, or pressed twice, cannot buy twice: the purchase's idempotency key is the nonce.
"""

from __future__ import annotations

import secrets
from datetime import date

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import callbacks, keyboards
from bot.context import BotContext, Speaker
from bot.editing import edit, reply
from bot.formatting import day
from bot.handlers import PRIVATE
from bot.handlers.fallback import cancel_conversation
from bot.handlers.steps import ask_again, fixed
from core.bills import PLANS, PurchaseError, Quote, make_quote, parse_merchant
from core.credit import Tier
from core.money import Money, MoneyError, parse_amount
from core.services.credit import credit_report
from core.services.purchases import PurchaseRefused, buy

MERCHANT, AMOUNT, PLAN, CONFIRM = range(4)
DRAFT = "buy"


async def begin(update: Update, context: BotContext) -> int:
    say = context.say
    found = context.services
    user_id = update.effective_user.id
    async with found.uow.read() as tx:
        user = await tx.users.get(user_id)
        verified = await tx.identities.get(user_id) is not None
    if user is not None and user.frozen:
        await reply(update, say("common.frozen"))
        return ConversationHandler.END
    if not verified:
        await reply(update, say("buy.unverified"))
        return ConversationHandler.END
    rating = await credit_report(found.uow, user_id, found.today(), found.credit_policy)
    if rating.tier is Tier.E or not rating.available:
        await reply(update, say(
            "buy.no_credit", tier=rating.tier.value, used=rating.used, line=rating.line))
        return ConversationHandler.END
    context.user_data[DRAFT] = {"nonce": secrets.token_hex(4)}
    await reply(update, say("buy.ask_merchant"))
    return MERCHANT


async def merchant(update: Update, context: BotContext) -> int:
    say = context.say
    try:
        name = parse_merchant(update.effective_message.text)
    except PurchaseError:
        await reply(update, say("buy.bad_merchant"))
        return MERCHANT
    draft = context.user_data.setdefault(DRAFT, {"nonce": secrets.token_hex(4)})
    draft["merchant"] = name
    available = await _available(update, context)
    await reply(update, say("buy.ask_amount", available=available))
    return AMOUNT


async def amount(update: Update, context: BotContext) -> int:
    say = context.say
    available = await _available(update, context)
    try:
        principal = parse_amount(update.effective_message.text, maximum=available)
    except MoneyError as error:
        await reply(update,
            say(f"buy.amount.{error.reason.value}", available=available))
        return AMOUNT
    draft = context.user_data.get(DRAFT)
    if not draft or "merchant" not in draft:
        return await cancel_conversation(DRAFT)(update, context)
    found = context.services
    try:
        quotes = [make_quote(draft["merchant"], principal, plan, found.today(), found.fees)
                  for plan in (1, 3, 6, 12)]
    except PurchaseError:
        await reply(update, say("buy.amount.too_small"))
        return AMOUNT
    draft["principal"] = principal.fen
    draft["purchased_on"] = found.today().isoformat()  # the schedule shown is the one booked
    await reply(update,
        say("buy.choose_plan", merchant=draft["merchant"], amount=principal),
        reply_markup=keyboards.plans(quotes, draft["nonce"], say))
    return PLAN


async def _draft_for(update: Update, context: BotContext, nonce: str,
                     needs: str) -> tuple[dict | None, Speaker]:
    """The draft a button belongs to, if it is the current one and has reached this step;
    otherwise the press is answered as stale and None comes back."""
    say = context.say
    draft = context.user_data.get(DRAFT) or {}
    if nonce != draft.get("nonce") or needs not in draft:
        await update.callback_query.answer(say("callback.invalid"), show_alert=True)
        return None, say
    return draft, say


def _stay(context: BotContext) -> int | None:
    """After a stale press: stay at the current step (None), or end if the draft is gone."""
    return None if context.user_data.get(DRAFT) else ConversationHandler.END


def _quote(context: BotContext, plan: int) -> Quote:
    draft, found = context.user_data[DRAFT], context.services
    return make_quote(draft["merchant"], Money(draft["principal"]), plan,
                      date.fromisoformat(draft["purchased_on"]), found.fees)


async def plan(update: Update, context: BotContext,
               press: callbacks.BuyPlan) -> int | None:
    draft, say = await _draft_for(update, context, press.nonce, "principal")
    if draft is None:
        return _stay(context)
    if press.plan not in PLANS:
        await update.callback_query.answer(say("callback.invalid"), show_alert=True)
        return PLAN
    quote = _quote(context, press.plan)
    draft["plan"] = press.plan
    await update.callback_query.answer()
    await edit(update.callback_query, schedule_text(quote, say),
               keyboards.confirm_purchase(draft["nonce"], quote.fingerprint[:12], say))
    return CONFIRM


async def confirm(update: Update, context: BotContext,
                  press: callbacks.BuyConfirm) -> int | None:
    draft, say = await _draft_for(update, context, press.nonce, "plan")
    if draft is None:
        return _stay(context)
    query = update.callback_query
    found = context.services
    user_id = update.effective_user.id
    quote = _quote(context, draft["plan"])
    if not quote.fingerprint.startswith(press.quote):
        # Not the schedule this button was shown with: buy nothing, show the current one.
        await query.answer(say("buy.changed"), show_alert=True)
        await edit(query, schedule_text(quote, say),
                   keyboards.confirm_purchase(draft["nonce"], quote.fingerprint[:12], say))
        return CONFIRM
    await query.answer()
    try:
        bill = await buy(found.uow, borrower_id=user_id, quote=quote,
                         ref=f"chat:{user_id}:{draft['nonce']}", today=found.today(),
                         policy=found.credit_policy)
    except PurchaseRefused as refused:
        context.user_data.pop(DRAFT, None)
        await edit(query, say(f"buy.refused.{refused.reason.value}",
                                          available=refused.available))
        return ConversationHandler.END
    context.user_data.pop(DRAFT, None)
    await edit(query, say(
        "buy.done", merchant=bill.merchant, total=bill.total, count=bill.plan,
        first_due=day(bill.instalments[0].due_date, say.language)))
    return ConversationHandler.END


def schedule_text(quote: Quote, say: Speaker) -> str:
    lines = "\n".join(
        say("buy.schedule_line", seq=i.seq, count=quote.plan, due=day(i.due_date, say.language),
            amount=i.amount)
        for i in quote.instalments)
    return say("buy.schedule", merchant=quote.merchant, principal=quote.principal, fee=quote.fee,
               total=quote.total, count=quote.plan, lines=lines)



async def cancel_by_button(update: Update, context: BotContext,
                           press: callbacks.BuyCancel) -> int | None:
    if press.nonce != (context.user_data.get(DRAFT) or {}).get("nonce"):
        await update.callback_query.answer(
            context.say("callback.invalid"), show_alert=True)
        return _stay(context)
    context.user_data.pop(DRAFT, None)
    await update.callback_query.answer()
    await edit(update.callback_query, context.say("common.cancelled"))
    return ConversationHandler.END



async def _available(update: Update, context: BotContext) -> Money:
    found = context.services
    rating = await credit_report(found.uow, update.effective_user.id, found.today(),
                                 found.credit_policy)
    return rating.available


async def _amount_prompt(update: Update, context: BotContext,
                         say: Speaker) -> tuple[str, None]:
    return say("buy.ask_amount", available=await _available(update, context)), None


def conversation() -> ConversationHandler:
    text = filters.TEXT & ~filters.COMMAND & PRIVATE
    return ConversationHandler(
        entry_points=[CommandHandler("buy", begin, filters=PRIVATE)],
        states={  # anything off a step asks it again
            MERCHANT: [MessageHandler(text, merchant), ask_again(fixed("buy.ask_merchant"))],
            AMOUNT: [MessageHandler(text, amount), ask_again(_amount_prompt)],
            PLAN: [callbacks.BuyPlan.handler(plan), callbacks.BuyCancel.handler(cancel_by_button),
                   ask_again(fixed("steps.use_buttons"))],
            CONFIRM: [callbacks.BuyConfirm.handler(confirm),
                      callbacks.BuyCancel.handler(cancel_by_button),
                      ask_again(fixed("steps.use_buttons"))],
        },
        fallbacks=[CommandHandler("cancel", cancel_conversation(DRAFT), filters=PRIVATE)],
        name="buy",
        allow_reentry=True,
        per_message=False,
    )


def handlers() -> list[BaseHandler]:
    return [conversation(),]
