"""Every inline keyboard the bot shows, built in one place."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    KeyboardButtonRequestUsers,
    ReplyKeyboardMarkup,
)

from bot import callbacks
from bot.context import Speaker
from core.agreement import share_text
from core.bills import Bill, Instalment, Quote
from core.money import Money
from core.users import Language

# Each language is offered in its own name, whatever the current language is.
_LANGUAGE_NAMES = {Language.ZH: "中文", Language.EN: "English"}
TOP_UP_AMOUNTS = (Money.yuan(50), Money.yuan(100), Money.yuan(200), Money.yuan(500))


def language_choice(current: Language) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(("✓ " if lang is current else "") + _LANGUAGE_NAMES[lang],
                             callback_data=callbacks.choose_language(lang))
        for lang in Language
    ]])


def plans(quotes: list[Quote], nonce: str, say: Speaker) -> InlineKeyboardMarkup:
    rows = []
    for quote in quotes:
        each = quote.instalments[0].amount
        label = (say("buy.plan_button_fee", count=quote.plan, each=each, fee=quote.fee)
                 if quote.fee else say("buy.plan_button", count=quote.plan, each=each))
        rows.append([InlineKeyboardButton(label,
                                          callback_data=callbacks.buy_plan(quote.plan, nonce))])
    rows.append([InlineKeyboardButton(say("buy.cancel_button"),
                                      callback_data=callbacks.buy_cancel(nonce))])
    return InlineKeyboardMarkup(rows)


def confirm_purchase(nonce: str, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(say("buy.confirm_button"), callback_data=callbacks.buy_confirm(nonce)),
        InlineKeyboardButton(say("buy.cancel_button"), callback_data=callbacks.buy_cancel(nonce)),
    ]])


def bills_page(payable: list[tuple[Instalment, str]], page: int, pages: int,
               say: Speaker) -> InlineKeyboardMarkup | None:
    rows = [[InlineKeyboardButton(
        say("bills.pay_button", seq=i.seq, count=i.of, merchant=merchant[:12], amount=i.own_due),
        callback_data=callbacks.pay_ask(i.id, page)),
        InlineKeyboardButton(say("bills.ask_button", merchant=merchant[:12]),
                             callback_data=callbacks.cover_instalment(i.id))]
        for i, merchant in payable if i.own_due]  # nothing to pay when friends cover it all
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(say("bills.prev"),
                                        callback_data=callbacks.bills_page(page - 1)))
    if page + 1 < pages:
        nav.append(InlineKeyboardButton(say("bills.next"),
                                        callback_data=callbacks.bills_page(page + 1)))
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(rows) if rows else None


def confirm_payment(instalment: Instalment, page: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(say("pay.confirm_button", amount=instalment.own_due),
                              callback_data=callbacks.pay_confirm(instalment.id, page))],
        [InlineKeyboardButton(say("pay.back_button"), callback_data=callbacks.bills_page(page))],
    ])


def back_to_bills(page: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("pay.back_button"), callback_data=callbacks.bills_page(page))]])


def top_ups(say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(say("wallet.topup_button", amount=amount),
                             callback_data=callbacks.top_up(amount.fen))
        for amount in TOP_UP_AMOUNTS
    ]])


# -- asking a friend -------------------------------------------------------------------------
SHARES_BP = (10_000, 5_000, 3_000, 2_000)
INCOME_BANDS = ("lt3k", "3k", "5k", "10k", "20k")


def cover_bills(bills: list[Bill], nonce: str, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("cover.bill_button", merchant=bill.merchant[:20], count=len(bill.unpaid),
            amount=Money(sum(i.amount.fen for i in bill.unpaid))),
        callback_data=callbacks.cover_step("b", bill.id, nonce))] for bill in bills])


def cover_shares(nonce: str, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("cover.share_button", share=share_text(bp)),
        callback_data=callbacks.cover_step("s", bp, nonce)) for bp in SHARES_BP]])


def cover_routes(nonce: str, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(say(f"cover.route.{route}"),
                              callback_data=callbacks.cover_step("r", code, nonce))]
        for code, route in callbacks.ROUTE_CODES.items()])


def pick_contact(request_id: int, say: Speaker) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup([[KeyboardButton(
        say("cover.pick_contact_button"),
        request_users=KeyboardButtonRequestUsers(request_id, user_is_bot=False,
                                                 max_quantity=1))]],
        resize_keyboard=True, one_time_keyboard=True)


def cancel_request(request_id: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("cover.cancel_button", id=request_id),
        callback_data=callbacks.cancel_request(request_id))]])


def revoke_request(request_id: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("cover.revoke_button", id=request_id),
        callback_data=callbacks.revoke_request(request_id))]])


def manage_requests(requests: list[tuple[int, bool]], say: Speaker
                    ) -> InlineKeyboardMarkup | None:
    """A cancel button per open request, or revoke once someone accepted it."""
    rows = [[InlineKeyboardButton(
        say("cover.revoke_button" if accepted else "cover.cancel_button", id=request_id),
        callback_data=(callbacks.revoke_request if accepted else callbacks.cancel_request)(
            request_id))] for request_id, accepted in requests]
    return InlineKeyboardMarkup(rows) if rows else None


def share_card(request_id: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(say("cover.card_button"), switch_inline_query=str(request_id))],
        [InlineKeyboardButton(say("cover.cancel_button", id=request_id),
                              callback_data=callbacks.cancel_request(request_id))]])


def view_request(request_id: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("invite.view_button"), callback_data=callbacks.friend("v", request_id))]])


def open_link(url: str, label: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, url=url)]])


def accept_or_decline(request_id: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(say("invite.accept_button"),
                             callback_data=callbacks.friend("a", request_id)),
        InlineKeyboardButton(say("invite.decline_button"),
                             callback_data=callbacks.friend("d", request_id))]])


def verify_now(request_id: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("friend.verify_button"), callback_data=callbacks.friend("y", request_id))]])


def incomes(request_id: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say(f"income.{band}"), callback_data=callbacks.friend_income(band, request_id))]
        for band in INCOME_BANDS])


def _decline(request_id: int, say: Speaker) -> InlineKeyboardButton:
    return InlineKeyboardButton(say("invite.decline_button"),
                                callback_data=callbacks.friend("d", request_id))


def accept_reduced(request_id: int, share_bp: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(say("review.accept_reduced", share=share_text(share_bp)),
                             callback_data=callbacks.friend_reduced(request_id, share_bp)),
        _decline(request_id, say)]])


def sign_agreement(request_id: int, share_bp: int, sha256: str,
                   say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(say("agreement.sign_button"),
                             callback_data=callbacks.friend_sign(request_id, share_bp, sha256)),
        _decline(request_id, say)]])


def agreement_documents(agreement_ids: list[int], say: Speaker) -> InlineKeyboardMarkup | None:
    if not agreement_ids:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("agreements.doc_button", id=i), callback_data=callbacks.agreement("f", i))]
        for i in agreement_ids])


def terminate_choices(choices: list[tuple[int, str]], say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("terminate.button", id=i, merchant=merchant[:20]),
        callback_data=callbacks.agreement("t", i))] for i, merchant in choices])


def terminate_confirm(agreement_id: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("terminate.confirm_button", id=agreement_id),
        callback_data=callbacks.agreement("T", agreement_id))]])
