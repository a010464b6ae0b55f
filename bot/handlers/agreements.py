"""/requests, /agreements (with the full text as a document) and /terminate."""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.ext import BaseHandler, CommandHandler

from bot import callbacks, keyboards, limits
from bot.context import BotContext, Speaker
from bot.editing import edit, reply
from bot.formatting import day, local_day
from bot.handlers import PRIVATE
from bot.links import invite_link
from bot.outbox_sender import send_now
from core.agreement import AgreementStatus, share_text
from core.cover import CoverStatus, Route
from core.services.cover import CoverRefused


async def requests(update: Update, context: BotContext) -> None:
    say = context.say
    found = context.services
    user_id = update.effective_user.id
    async with found.uow.read() as tx:
        views = await tx.cover.request_views_of_borrower(user_id, limit=10)
    if not views:
        await reply(update, say("requests.none"))
        return
    mine = [view.request for view in views]
    items = []
    for view in views:
        request = view.request
        who = say("requests.who", name=view.friend.shown()) if view.friend else ""
        item = [say("requests.item", id=request.id, merchant=view.merchant,
                    share=share_text(request.share_bp),
                    status=say(f"request_status.{request.status.value}"), who=who)]
        if request.status.is_open and request.friend_id is None and \
                request.route is not Route.CONTACT:
            item.append(f"  {invite_link(context, request)}")
        items.append(item)
    # Whole requests, as many as fit; buttons for exactly those shown.
    text, shown = limits.fit([say("requests.header")], items, say("list.more_recent"))
    await reply(update, text, reply_markup=keyboards.manage_requests(
        [(r.id, r.status is CoverStatus.ACCEPTED) for r in mine[:shown]
         if r.status in (CoverStatus.PENDING, CoverStatus.OPENED, CoverStatus.ACCEPTED)], say))


def _role(say: Speaker, is_friend: bool, other: str) -> str:
    return say("role.friend" if is_friend else "role.borrower", name=other)


async def agreements(update: Update, context: BotContext) -> None:
    say = context.say
    found = context.services
    user_id = update.effective_user.id
    async with found.uow.read() as tx:
        views = await tx.cover.agreement_views_of(user_id)
    if not views:
        await reply(update, say("agreements.none"))
        return
    mine = [view.agreement for view in views]
    items = []
    for view in views:
        a = view.agreement
        is_friend = a.friend_id == user_id
        other = view.other_party(user_id).shown()
        items.append([say("agreements.item", id=a.id, role=_role(say, is_friend, other),
                          merchant=view.merchant,
                          share=share_text(a.share_bp),
                          signed=local_day(a.signed_at, found.tz, say.language),
                          status=say(f"agreement_status.{a.status.value}"))])
    text, shown = limits.fit([say("agreements.header")], items, say("list.more_recent"))
    await reply(update, text, reply_markup=keyboards.agreement_documents(
        [a.id for a in mine[:shown]], say))


async def pressed(update: Update, context: BotContext,
                  press: callbacks.AgreementPress) -> None:
    if press.action is callbacks.AgreementAction.DOCUMENT:
        await document(update, context, press.agreement_id)
    else:
        await terminate_pressed(update, context, press)


async def document(update: Update, context: BotContext,
                   agreement_id: int) -> None:
    """The exact signed text as a file, for either party only. Someone who reads another
    language than the one it was signed in gets the translation kept with it first, marked
    as a translation, and the signed original after it."""
    query = update.callback_query
    say = context.say
    async with context.services.uow.read() as tx:
        agreement = await tx.cover.agreement(agreement_id)
    if agreement is None or update.effective_user.id not in (agreement.friend_id,
                                                             agreement.borrower_id):
        await query.answer(say("callback.invalid"), show_alert=True)
        return
    await query.answer()
    me = update.effective_user.id  # private: the person who pressed, message or not
    name = f"daihuan-agreement-{agreement.id}-{agreement.version}"
    translation = (agreement.text_in(say.language)
                   if agreement.language is not say.language else None)
    if translation is not None:
        original = say(f"language.name.{agreement.language.value}")
        marked = say("agreements.translation_header", original=original,
                     sha=agreement.text_sha256) + "\n\n" + translation
        await context.bot.send_document(
            me, InputFile(marked.encode("utf-8"), filename=f"{name}-{say.language.value}.txt"),
            caption=say("agreements.translation_caption", id=agreement.id, original=original))
    await context.bot.send_document(
        me, InputFile(agreement.text.encode("utf-8"), filename=f"{name}.txt"),
        caption=say("agreements.caption", id=agreement.id, version=agreement.version,
                    sha=agreement.text_sha256))


async def terminate(update: Update, context: BotContext) -> None:
    say = context.say
    found = context.services
    async with found.uow.read() as tx:
        active = [v for v in await tx.cover.agreement_views_of(update.effective_user.id)
                  if v.agreement.status is AgreementStatus.ACTIVE]
    if not active:
        await reply(update, say("terminate.none"))
        return
    choices = [(v.agreement.id, v.merchant) for v in active]
    await reply(update,
        say("terminate.choose"), reply_markup=keyboards.terminate_choices(choices, say))


async def terminate_pressed(update: Update, context: BotContext,
                            press: callbacks.AgreementPress) -> None:
    query = update.callback_query
    say = context.say
    found = context.services
    agreement_id = press.agreement_id
    user_id = update.effective_user.id
    async with found.uow.read() as tx:
        agreement = await tx.cover.agreement(agreement_id)
    if agreement is None or user_id not in (agreement.friend_id, agreement.borrower_id):
        await query.answer(say("terminate.refused.not_found"), show_alert=True)
        return
    is_friend = user_id == agreement.friend_id
    if press.action is callbacks.AgreementAction.ASK_END:
        await query.answer()
        await edit(query, say("terminate.confirm_friend" if is_friend
                              else "terminate.confirm_borrower", id=agreement.id),
                   keyboards.terminate_confirm(agreement.id, say))
        return
    try:
        done = await found.cover.terminate(agreement_id=agreement.id, user_id=user_id)
    except CoverRefused as refused:
        detail = refused.detail
        await query.answer(say(f"terminate.refused.{refused.reason.value}",
                               notice=detail.get("notice_days", ""),
                               due=day(detail["next_due"], say.language)
                               if "next_due" in detail else ""), show_alert=True)
        return
    await query.answer()
    await edit(query, say("terminate.done", id=agreement.id, returned=len(done.returned),
                          kept=len(done.kept)))
    await send_now(context)


def handlers() -> list[BaseHandler]:
    return [CommandHandler("requests", requests, filters=PRIVATE),
            CommandHandler("agreements", agreements, filters=PRIVATE),
            CommandHandler("terminate", terminate, filters=PRIVATE),
            callbacks.AgreementPress.handler(pressed)]
