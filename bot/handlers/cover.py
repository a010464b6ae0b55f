"""/cover: the borrower asks a friend. Bill → share → how to reach the friend (pick a
contact, share an inline card, or a link). Also "Ask a friend" on an instalment in /bills,
and cancelling or revoking a request."""

from __future__ import annotations

import secrets

from telegram import ReplyKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import callbacks, keyboards, limits
from bot.context import BotContext, Services, Speaker
from bot.editing import edit, reply
from bot.formatting import moment
from bot.handlers import PRIVATE
from bot.handlers.fallback import cancel_conversation
from bot.handlers.steps import ask_again, fixed
from bot.links import invite_link
from bot.notify import display_name
from bot.outbox_sender import send_now
from bot.risk_check import check_risk
from core.bills import Bill, InstalmentStatus
from core.cover import Route
from core.money import Money
from core.services import cover
from core.services.cover import CoverRefused
from core.services.risk import ON_COVER

BILL, SHARE, ROUTE, CONTACT = range(4)
DRAFT = "cover"


async def _open_bills(found: Services, user_id: int) -> list[Bill]:
    async with found.uow.read() as tx:
        return [b for b in await tx.bills.open_bills(user_id) if b.unpaid]


async def begin(update: Update, context: BotContext) -> int:
    say = context.say
    found = context.services
    user_id = update.effective_user.id
    async with found.uow.read() as tx:
        user = await tx.users.get(user_id)
    if user is not None and user.frozen:
        await reply(update, say("cover.refused.frozen"))
        return ConversationHandler.END
    bills = await _open_bills(found, user_id)
    if not bills:
        await reply(update, say("cover.no_bills"))
        return ConversationHandler.END
    nonce = secrets.token_hex(4)
    context.user_data[DRAFT] = {"nonce": nonce, "instalments": None}
    # One button a bill, and a keyboard holds a hundred: the others are reached from /bills.
    text = say("cover.choose_bill") if len(bills) <= limits.BUTTONS else "\n".join(
        [say("cover.choose_bill"), say("cover.more_bills", count=limits.BUTTONS)])
    await reply(update, text,
                reply_markup=keyboards.cover_bills(bills[:limits.BUTTONS], nonce, say))
    return BILL


def _share_prompt(bill: Bill, instalment_ids: list[int] | None, say: Speaker) -> str:
    chosen = [i for i in bill.unpaid if instalment_ids is None or i.id in instalment_ids]
    return say("cover.choose_share", merchant=bill.merchant, count=len(chosen),
               amount=Money(sum(i.amount.fen for i in chosen)))


async def from_bills(update: Update, context: BotContext,
                     press: callbacks.CoverInstalment) -> int:
    """"Ask a friend" on one instalment in /bills: the request covers just that one."""
    query = update.callback_query
    say = context.say
    found = context.services
    instalment_id = press.instalment_id
    async with found.uow.read() as tx:
        instalment = await tx.bills.instalment(instalment_id)
        bill = await tx.bills.get(instalment.bill_id) if instalment else None
    if (instalment is None or bill is None or instalment.borrower_id != update.effective_user.id
            or instalment.status is not InstalmentStatus.UNPAID):
        await query.answer(say("callback.invalid"), show_alert=True)
        return ConversationHandler.END
    nonce = secrets.token_hex(4)
    context.user_data[DRAFT] = {"nonce": nonce, "bill": bill.id, "instalments": [instalment.id]}
    await query.answer()
    await reply(update, _share_prompt(bill, [instalment.id], say),
                                   reply_markup=keyboards.cover_shares(nonce, say))
    return SHARE


async def _in_draft(update: Update, context: BotContext, nonce: str
                   ) -> tuple[dict | None, Speaker]:
    """The draft a step's button belongs to, or None (answered) for an older or forged one."""
    say = context.say
    draft = context.user_data.get(DRAFT) or {}
    if nonce != draft.get("nonce"):
        await update.callback_query.answer(say("callback.invalid"), show_alert=True)
        return None, say
    return draft, say


async def bill_chosen(update: Update, context: BotContext,
                      press: callbacks.CoverBill) -> int:
    draft, say = await _in_draft(update, context, press.nonce)
    if draft is None:
        return BILL
    bills = {b.id: b for b in await _open_bills(context.services, update.effective_user.id)}
    bill = bills.get(press.bill_id)
    if bill is None:  # not this user's, or paid off meanwhile
        await update.callback_query.answer(say("cover.refused.not_found"), show_alert=True)
        return BILL
    draft["bill"] = bill.id
    await update.callback_query.answer()
    await edit(update.callback_query, _share_prompt(bill, draft["instalments"], say),
               keyboards.cover_shares(draft["nonce"], say))
    return SHARE


async def share_chosen(update: Update, context: BotContext,
                       press: callbacks.CoverShare) -> int:
    draft, say = await _in_draft(update, context, press.nonce)
    if draft is None:
        return SHARE
    if press.share_bp not in keyboards.SHARES_BP:  # a share no button offers
        await update.callback_query.answer(say("callback.invalid"), show_alert=True)
        return SHARE
    draft["share"] = press.share_bp
    await update.callback_query.answer()
    await edit(update.callback_query,
               say("cover.choose_route", hours=context.services.cover.config.expiry_hours),
               keyboards.cover_routes(draft["nonce"], say))
    return ROUTE


async def route_chosen(update: Update, context: BotContext,
                       press: callbacks.CoverRoute) -> int:
    draft, say = await _in_draft(update, context, press.nonce)
    if draft is None:
        return ROUTE
    route = keyboards.ROUTES[press.route]
    query = update.callback_query
    await query.answer()
    if route is Route.CONTACT:
        # The choice stays on the message it was made on; the picker, a reply keyboard,
        # can only come with a new message, which asks the one question.
        await edit(query, say("cover.route_chosen", route=say("cover.route.contact")))
        await reply(update,
            say("cover.pick_contact"), reply_markup=keyboards.pick_contact(_picker(draft), say))
        return CONTACT
    created = await _create(update, context, route, None, say)
    if created is None:
        return ConversationHandler.END
    request = created.request
    found = context.services
    expires = moment(request.expires_at, found.tz, say.language)
    if route is Route.LINK:
        await edit(query, say("cover.link_ready", id=request.id, expires=expires,
                              link=invite_link(context, request)),
                   keyboards.cancel_request(request.id, say))
    else:
        await edit(query, say("cover.card_ready", id=request.id, expires=expires),
                   keyboards.share_card(request.id, say))
    return ConversationHandler.END


def _picker(draft: dict) -> int:
    """The request-users button's id (a signed 32-bit int): derived from the draft's nonce,
    so a contact shared from an older picker is not taken for this one."""
    return int(draft["nonce"], 16) % 2**31


async def contact_picked(update: Update, context: BotContext) -> int:
    say = context.say
    shared = update.effective_message.users_shared
    draft = context.user_data.get(DRAFT) or {}
    if not draft or shared.request_id != _picker(draft) or not shared.users:
        await reply(update, say("callback.invalid"))
        return CONTACT if draft else ConversationHandler.END
    picked = shared.users[0]
    friend_id = picked.user_id
    created = await _create(update, context, Route.CONTACT, friend_id, say)
    if created is None:
        return ConversationHandler.END
    request, reached = created.request, created.pushed
    found = context.services
    name = await display_name(found, friend_id)
    if name.startswith("#"):  # they never wrote to the bot: the name Telegram just gave
        name = " ".join(filter(None, (picked.first_name, picked.last_name))) or (
            f"@{picked.username}" if picked.username else name)
    await send_now(context)
    expires = moment(request.expires_at, found.tz, say.language)
    if reached:
        text = say("cover.sent_to_friend", id=request.id, name=name, expires=expires)
    else:  # they never started the bot: only a link reaches them, and only they can use it
        text = say("cover.friend_unreachable", name=name, link=invite_link(context, request))
    await reply(update, text, reply_markup=keyboards.no_reply_keyboard())
    return ConversationHandler.END


async def _create(update: Update, context: BotContext, route: Route,
                  friend_id: int | None, say: Speaker) -> cover.Created | None:
    found = context.services
    draft = context.user_data.pop(DRAFT, {})
    try:
        created = await found.cover.ask(
            borrower_id=update.effective_user.id, bill_id=draft["bill"],
            instalment_ids=draft.get("instalments"), share_bp=draft["share"], route=route,
            friend_id=friend_id)
    except CoverRefused as refused:
        await reply(update,
            say(f"cover.refused.{refused.reason.value}", **refused.detail),
            reply_markup=keyboards.no_reply_keyboard())
        return None
    await check_risk(context, ON_COVER)  # bursts, a new account on a fresh purchase, ...
    return created



async def manage(update: Update, context: BotContext,
                 press: callbacks.ManageRequest) -> None:
    """Cancel (nobody accepted yet) or revoke (accepted, not signed) a request."""
    query = update.callback_query
    say = context.say
    found = context.services
    cancelling = press.action is callbacks.ManageAction.CANCEL
    act = found.cover.cancel if cancelling else found.cover.revoke
    try:
        request = await act(request_id=press.request_id, borrower_id=update.effective_user.id)
    except CoverRefused as refused:
        await query.answer(say(f"cover.refused.{refused.reason.value}", **refused.detail),
                           show_alert=True)
        return
    await query.answer()
    key = "cover.cancelled" if cancelling else "cover.revoked"
    await edit(query, say(key, id=request.id))
    await send_now(context)


USE_BUTTONS = fixed("steps.use_buttons")


async def _picker_prompt(update: Update, context: BotContext, say: Speaker
                         ) -> tuple[str, ReplyKeyboardMarkup | None]:
    draft = context.user_data.get(DRAFT) or {}
    return say("cover.pick_contact"), (
        keyboards.pick_contact(_picker(draft), say) if "nonce" in draft else None)


def conversation() -> ConversationHandler:
    return ConversationHandler(
        entry_points=[CommandHandler("cover", begin, filters=PRIVATE),
                      callbacks.CoverInstalment.handler(from_bills)],
        states={  # anything off a step asks it again
            BILL: [callbacks.CoverBill.handler(bill_chosen), ask_again(USE_BUTTONS)],
            SHARE: [callbacks.CoverShare.handler(share_chosen), ask_again(USE_BUTTONS)],
            ROUTE: [callbacks.CoverRoute.handler(route_chosen), ask_again(USE_BUTTONS)],
            CONTACT: [MessageHandler(filters.StatusUpdate.USERS_SHARED & PRIVATE,
                                     contact_picked),
                      ask_again(_picker_prompt)],
        },
        fallbacks=[CommandHandler("cancel", cancel_conversation(DRAFT), filters=PRIVATE)],
        name="cover",
        allow_reentry=True,
        per_message=False,
    )


def handlers() -> list[BaseHandler]:
    return [conversation(),
            callbacks.ManageRequest.handler(manage)]
