"""/verify: phone (own contact only) → legal name → resident ID number. /cancel at any step.

The phone and name wait in ``user_data`` until the last step succeeds: between updates, in
the person's draft in the book, sealed, for the flow's time (bot.drafts). The ID number is
never part of it, and the message with it is deleted once read.
"""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import callbacks, keyboards
from bot.context import BotContext
from bot.editing import reply
from bot.handlers import PRIVATE, friend
from bot.handlers.fallback import cancel_conversation
from bot.handlers.steps import ask_again, fixed
from bot.risk_check import check_risk
from core.identity import IdentityError, normalize_phone, parse_legal_name, parse_resident_id
from core.services.risk import ON_VERIFY
from core.services.verification import VerificationRefusal, VerificationRefused, verify

PHONE, NAME, ID_NUMBER = range(3)
DRAFT = "verify"


async def begin(update: Update, context: BotContext) -> int:
    return await _begin(update, context, then=None)


async def begin_for_friend(update: Update, context: BotContext,
                           press: callbacks.FriendPress) -> int:
    """"Verify now" after accepting a request: the friend's flow continues when done."""
    if not await context.services.cover.visible_to(press.request_id,
                                                   update.effective_user.id):
        # A guessed id: the same answer as for a request that does not exist.
        await update.callback_query.answer(
            context.say("invite.refused.not_found"), show_alert=True)
        return ConversationHandler.END
    await update.callback_query.answer()
    return await _begin(update, context, then=press.request_id)


async def _begin(update: Update, context: BotContext, then: int | None) -> int:
    say = context.say
    async with context.services.uow.read() as tx:
        identity = await tx.identities.get(update.effective_user.id)
    if identity is not None:
        if then is not None:
            await friend.ask_income(update, context, then)
            return ConversationHandler.END
        await reply(update,
            say("verify.already", name=identity.name_mask, id_mask=identity.id_mask))
        return ConversationHandler.END
    context.user_data[DRAFT] = {"then": then}
    await reply(update, say("verify.ask_phone"), reply_markup=keyboards.share_phone(say))
    return PHONE


async def phone(update: Update, context: BotContext) -> int:
    say = context.say
    contact = update.effective_message.contact
    # Telegram fills user_id on a contact shared from the user's own account: it cannot be
    # forged, and a contact of someone else carries their id or none at all.
    if contact.user_id != update.effective_user.id:
        await reply(update, say("verify.not_own_contact"))
        return PHONE
    try:
        number = normalize_phone(contact.phone_number)
    except IdentityError:
        await reply(update, say("verify.bad_phone"))
        return PHONE
    context.user_data.setdefault(DRAFT, {})["phone"] = number
    await reply(update, say("verify.ask_name"),
                                              reply_markup=keyboards.no_reply_keyboard())
    return NAME


async def phone_as_text(update: Update, context: BotContext) -> int:
    await reply(update, context.say("verify.use_button"))
    return PHONE


async def name(update: Update, context: BotContext) -> int:
    say = context.say
    try:
        legal_name = parse_legal_name(update.effective_message.text)
    except IdentityError:
        await reply(update, say("verify.bad_name"))
        return NAME
    context.user_data.setdefault(DRAFT, {})["name"] = legal_name
    await reply(update, say("verify.ask_id"))
    return ID_NUMBER


async def id_number(update: Update, context: BotContext) -> int:
    say = context.say
    found = context.services
    message = update.effective_message
    with contextlib.suppress(TelegramError):  # best effort: the number should not linger
        await message.delete()
    draft = context.user_data.get(DRAFT) or {}
    if "phone" not in draft or "name" not in draft:  # the flow was restarted underneath us
        context.user_data.pop(DRAFT, None)
        await reply(update, say("common.cancelled"), reply_markup=keyboards.no_reply_keyboard())
        return ConversationHandler.END
    try:
        resident = parse_resident_id(message.text, found.today())
    except IdentityError as error:
        await reply(update, say(f"verify.id.{error.reason.value}"))
        return ID_NUMBER
    try:
        identity = await verify(found.uow, found.hasher, user_id=update.effective_user.id,
                                phone=draft["phone"], legal_name=draft["name"],
                                resident=resident)
    except VerificationRefused as refused:
        context.user_data.pop(DRAFT, None)
        key = ("verify.duplicate" if refused.reason is VerificationRefusal.DUPLICATE_IDENTITY
               else "common.cancelled")
        await reply(update, say(key))
        if refused.reason is VerificationRefusal.DUPLICATE_IDENTITY:
            await check_risk(context, ON_VERIFY)
        return ConversationHandler.END
    context.user_data.pop(DRAFT, None)
    await reply(update, say("verify.done", name=identity.name_mask,
                                 id_mask=identity.id_mask, phone_mask=identity.phone_mask))
    if draft.get("then") is not None:  # a friend verifying to accept a request goes on
        await friend.ask_income(update, context, draft["then"])
    return ConversationHandler.END



def conversation() -> ConversationHandler:
    text = filters.TEXT & ~filters.COMMAND & PRIVATE
    return ConversationHandler(
        entry_points=[CommandHandler("verify", begin, filters=PRIVATE),
                      callbacks.FriendPress.handler(
                          begin_for_friend,
                          when=lambda press: press.action is callbacks.FriendAction.VERIFY)],
        states={
            # Anything else at a step asks it again; a photo or file (an ID card, say) is
            # deleted first, with a note that the number must be typed.
            PHONE: [MessageHandler(filters.CONTACT & PRIVATE, phone),
                    MessageHandler(text, phone_as_text),
                    ask_again(fixed("verify.use_button", keyboards.share_phone),
                              delete_pictures=True)],
            NAME: [MessageHandler(text, name),
                   ask_again(fixed("verify.ask_name"), delete_pictures=True)],
            ID_NUMBER: [MessageHandler(text, id_number),
                        ask_again(fixed("verify.ask_id"), delete_pictures=True)],
        },
        fallbacks=[CommandHandler("cancel", cancel_conversation(DRAFT), filters=PRIVATE)],
        name="verify",
        allow_reentry=True,
    )


def handlers() -> list[BaseHandler]:
    return [conversation(),]
