"""The friend's side: open an invitation (deep link, card or push), accept or decline,
verify if needed, declare income for the capacity review, read and sign the agreement.

Every press names a request id; the services re-check who presses and the request's state,
so a forwarded, replayed or stale button changes nothing."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot import callbacks, keyboards
from bot.context import BotContext, Services, Speaker
from bot.editing import edit, reply
from bot.formatting import day, moment
from bot.handlers import PRIVATE
from bot.notify import display_name
from bot.outbox_sender import send_now
from bot.risk_check import check_risk
from core.agreement import share_text
from core.capacity import Decision, ReviewOutcome
from core.cover import CoverRequest, friend_part
from core.money import Money
from core.services.cover import CoverRefusal, CoverRefused
from core.services.cover.desk import MessageRef
from core.services.risk import ON_COVER


async def review_text(found: Services, request: CoverRequest, say: Speaker) -> str:
    async with found.uow.read() as tx:
        bill = await tx.bills.get(request.bill_id)
    assert bill is not None
    chosen = [i for i in bill.unpaid if i.id in request.instalment_ids]
    parts = [(i, friend_part(i.amount, request.share_bp)) for i in chosen]
    lines = "\n".join(say("invite.line", seq=i.seq, count=i.of,
                          due=day(i.due_date, say.language), part=p) for i, p in parts)
    total = Money(sum(p.fen for _, p in parts))
    return say("invite.review", borrower=await display_name(found, request.borrower_id),
               share=share_text(request.share_bp), merchant=bill.merchant, lines=lines,
               total=total, retries="/".join(str(d) for d in found.cover.config.retry_days),
               notice=found.cover.config.notice_days,
               expires=moment(request.expires_at, found.tz, say.language))


async def _refuse(update: Update, say: Speaker, refused: CoverRefused) -> None:
    key = f"invite.refused.{refused.reason.value}"
    if update.callback_query is not None:
        await update.callback_query.answer(say(key), show_alert=True)
    else:
        await reply(update, say(key))


async def _opened(update: Update, context: BotContext, request_id: int,
                  say: Speaker) -> CoverRequest | None:
    found = context.services
    try:
        request, first = await found.cover.open_request(request_id=request_id,
                                                        user_id=update.effective_user.id)
    except CoverRefused as refused:
        await _refuse(update, say, refused)
        return None
    if first:
        await send_now(context)
    return request


async def open_invitation(update: Update, context: BotContext) -> None:
    """/start c_<token>: a link or a card's button. Opening it is what gives the right to
    the request."""
    say = context.say
    found = context.services
    try:
        request, first = await found.cover.open_by_token(payload=context.args[0],
                                                         user_id=update.effective_user.id)
    except CoverRefused as refused:
        await _refuse(update, say, refused)
        return
    if first:
        await send_now(context)
    await reply(update, await review_text(found, request, say),
                reply_markup=keyboards.accept_or_decline(request.id, say))


async def pressed(update: Update, context: BotContext,
                  press: callbacks.FriendPress) -> None:
    handler = {callbacks.FriendAction.VIEW: _view, callbacks.FriendAction.ACCEPT: _accept,
               callbacks.FriendAction.DECLINE: _decline}.get(press.action)
    if handler is None:  # "verify now" belongs to the verification conversation
        await update.callback_query.answer(
            context.say("callback.invalid"), show_alert=True)
        return
    await handler(update, context, press)


async def _view(update: Update, context: BotContext,
                press: callbacks.FriendPress) -> None:
    say = context.say
    request = await _opened(update, context, press.request_id, say)
    if request is None:
        return
    await update.callback_query.answer()
    await edit(update.callback_query, await review_text(context.services, request, say),
               keyboards.accept_or_decline(request.id, say))


async def _accept(update: Update, context: BotContext,
                  press: callbacks.FriendPress) -> None:
    say = context.say
    found = context.services
    user_id = update.effective_user.id
    try:
        request, first = await found.cover.accept(request_id=press.request_id,
                                                  user_id=user_id)
    except CoverRefused as refused:
        await _refuse(update, say, refused)
        return
    await update.callback_query.answer()
    if first:
        await send_now(context)
        await check_risk(context, ON_COVER)
    async with found.uow.read() as tx:
        verified = await tx.identities.get(user_id) is not None
    if verified:
        await edit(update.callback_query, say("friend.ask_income"),
                   keyboards.incomes(request.id, say))
    else:
        await edit(update.callback_query, say("friend.verify_first"),
                   keyboards.verify_now(request.id, say))


async def ask_income(update: Update, context: BotContext,
                     request_id: int) -> None:
    """Sent when verification finishes for a friend who was accepting a request."""
    say = context.say
    await reply(update, say("friend.ask_income"),
                                              reply_markup=keyboards.incomes(request_id, say))


async def _decline(update: Update, context: BotContext,
                   press: callbacks.FriendPress) -> None:
    say = context.say
    found = context.services
    user_id = update.effective_user.id
    try:
        request, ended = await found.cover.decline(request_id=press.request_id,
                                                   user_id=user_id)
    except CoverRefused as refused:
        await _refuse(update, say, refused)
        return
    await update.callback_query.answer()
    if not ended:  # a viewer of an open link: the request stays open for others
        await edit(update.callback_query, say("invite.dismissed"))
        return
    borrower = await display_name(found, request.borrower_id)
    await edit(update.callback_query, say("invite.declined", borrower=borrower))
    await send_now(context)


def _reasons(outcome: ReviewOutcome, say: Speaker) -> str:
    wanted = [r for r in outcome.reasons if r.code not in ("monthly", "exposure")]
    return say("reason.separator").join(say(f"reason.{r.code}", **r.detail) for r in wanted)


async def income(update: Update, context: BotContext,
                 press: callbacks.FriendIncome) -> None:
    say = context.say
    found = context.services
    user_id = update.effective_user.id
    try:
        outcome = await found.cover.review(request_id=press.request_id, friend_id=user_id,
                                           band=press.band)
    except CoverRefused as refused:
        await _refuse(update, say, refused)
        return
    await update.callback_query.answer()
    if outcome.decision is Decision.DECLINE:
        await edit(update.callback_query, say("review.decline", reasons=_reasons(outcome, say)))
        await send_now(context)
        return
    if outcome.decision is Decision.REDUCE:
        await edit(update.callback_query,
                   say("review.reduce", share=share_text(outcome.share_bp),
                       reasons=_reasons(outcome, say)),
                   keyboards.accept_reduced(press.request_id, outcome.share_bp, say))
        return
    monthly = outcome.reasons[0].detail
    await reply(update,
        say("review.approve", peak=monthly["peak"], limit=monthly["limit"]))
    await _show_agreement(update, context, press.request_id, outcome.share_bp, say)


async def reduced(update: Update, context: BotContext,
                  press: callbacks.FriendReduced) -> None:
    say = context.say
    await update.callback_query.answer()
    await _show_agreement(update, context, press.request_id, press.share_bp, say)


async def _show_agreement(update: Update, context: BotContext, request_id: int,
                          share_bp: int, say: Speaker) -> None:
    found = context.services
    try:
        text = await found.cover.preview(request_id=request_id,
                                         friend_id=update.effective_user.id,
                                         share_bp=share_bp, language=say.language)
    except CoverRefused as refused:
        await reply(update,
            say(f"invite.refused.{refused.reason.value}"))
        return
    await reply(update,
        say("agreement.show", text=text.text, version=text.version, sha=text.sha256),
        reply_markup=keyboards.sign_agreement(request_id, share_bp, text.sha256, say))


async def sign(update: Update, context: BotContext,
               press: callbacks.FriendSign) -> None:
    say = context.say
    found = context.services
    query = update.callback_query
    user_id = update.effective_user.id
    try:
        # What the friend saw is identified by the fingerprint's prefix in the button; the
        # text is rendered again now and must still carry that fingerprint.
        text = await found.cover.preview(request_id=press.request_id, friend_id=user_id,
                                         share_bp=press.share_bp, language=say.language)
        if not text.sha256.startswith(press.sha):
            raise CoverRefused(CoverRefusal.STALE)
        signed = await found.cover.sign(
            request_id=press.request_id, friend_id=user_id, share_bp=press.share_bp,
            shown_sha256=text.sha256, language=say.language,
            where=MessageRef(query.message.chat_id, query.message.message_id)
            if query.message else None)
    except CoverRefused as refused:
        if refused.reason is CoverRefusal.STALE:
            await query.answer(say("invite.refused.stale"), show_alert=True)
            await _show_agreement(update, context, press.request_id, press.share_bp, say)
            return
        await _refuse(update, say, refused)
        return
    await query.answer()
    if signed.already:
        return  # a second tap: the first one already did everything below
    await query.edit_message_reply_markup(None)  # the signed text stays on screen
    await reply(update, say("agreement.signed", id=signed.agreement.id))
    await send_now(context)
    await check_risk(context, ON_COVER)  # exposure, circular cover, many borrowers


def deep_links() -> list[BaseHandler]:
    """An invitation opened from its link; before the plain /start (PTB-NOTES: a deep link
    is a /start with a payload)."""
    return [CommandHandler("start", open_invitation,
                           filters=PRIVATE & filters.Regex(r"^/start c_"), has_args=1)]


def handlers() -> list[BaseHandler]:
    return [callbacks.FriendPress.handler(pressed),
            callbacks.FriendIncome.handler(income),
            callbacks.FriendReduced.handler(reduced),
            callbacks.FriendSign.handler(sign)]
