"""Every inline keyboard the bot shows, built in one place."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.context import Speaker
from core.bills import Instalment, Quote
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
        say("bills.pay_button", seq=i.seq, count=i.of, merchant=merchant[:12], amount=i.amount),
        callback_data=callbacks.pay_ask(i.id, page))] for i, merchant in payable]
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
        [InlineKeyboardButton(say("pay.confirm_button", amount=instalment.amount),
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
