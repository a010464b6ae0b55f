"""Inline mode: the borrower types @bot in any chat and shares an invitation card. Results are
personal (never cached for another user), and only open requests not yet taken are offered."""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.ext import BaseHandler, InlineQueryHandler

from bot import keyboards
from bot.context import BotContext, Speaker
from bot.formatting import moment
from bot.links import invite_link
from bot.notify import display_name
from core.agreement import share_text
from core.cover import CoverStatus, Route, friend_part
from core.money import Money
from core.numerals import parse_int
from core.users import Language

CARD_STATUSES = (CoverStatus.PENDING, CoverStatus.OPENED)


async def inline_cards(update: Update, context: BotContext) -> None:
    query = update.inline_query
    found = context.services
    user_id = query.from_user.id
    wanted = query.query.strip()
    async with found.uow.read() as tx:
        mine = [r for r in await tx.cover.requests_of_borrower(user_id, limit=20)
                if r.status in CARD_STATUSES and r.friend_id is None
                and r.route is not Route.CONTACT and not r.is_expired(found.clock.now())]
        bills = {r.bill_id: await tx.bills.get(r.bill_id) for r in mine}
    request_id = parse_int(wanted, 1, 10**12)  # "@bot 12" narrows to request #12
    if request_id is not None:
        mine = [r for r in mine if r.id == request_id]
    name = await display_name(found, user_id)
    own = Speaker(found.texts, await found.people.language(user_id))
    results = []
    for request in mine[:10]:
        bill = bills[request.bill_id]
        chosen = [i for i in bill.unpaid if i.id in request.instalment_ids]
        total = Money(sum(friend_part(i.amount, request.share_bp).fen for i in chosen))
        params = dict(name=name, share=share_text(request.share_bp), count=len(chosen),
                      merchant=bill.merchant, total=total)
        # The card lands in someone else's chat, in a language we cannot know: both.
        card = "\n\n".join(
            found.texts.get(lang, "card.text", expires=moment(request.expires_at, found.tz, lang),
                            **params) for lang in (Language.ZH, Language.EN))
        label = " / ".join(found.texts.get(lang, "card.button") for lang in Language)
        results.append(InlineQueryResultArticle(
            id=str(request.id),
            title=own("card.title", id=request.id, merchant=bill.merchant, total=total),
            description=own("card.text", expires=moment(request.expires_at, found.tz,
                                                          own.language), **params)[:200],
            input_message_content=InputTextMessageContent(card),
            reply_markup=keyboards.open_link(invite_link(context, request), label)))
    await query.answer(results, is_personal=True, cache_time=5)


def handlers() -> list[BaseHandler]:
    return [InlineQueryHandler(inline_cards)]
