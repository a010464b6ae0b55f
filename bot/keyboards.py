"""Every inline keyboard the bot shows, built in one place."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    KeyboardButtonRequestUsers,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot import callbacks
from bot.context import Speaker
from core.agreement import share_text
from core.bills import Bill, Instalment, Quote
from core.capacity import IncomeBand
from core.cover import Route
from core.events import person_in
from core.money import Money
from core.services.wallet import TOP_UP_AMOUNTS
from core.users import Language

# Each language is offered in its own name, whatever the current language is.
_LANGUAGE_NAMES = {Language.ZH: "中文", Language.EN: "English"}


def language_choice(current: Language) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(("✓ " if lang is current else "") + _LANGUAGE_NAMES[lang],
                             callback_data=callbacks.ChooseLanguage(lang).pack())
        for lang in Language
    ]])


def share_phone(say: Speaker) -> ReplyKeyboardMarkup:
    """The button that shares the person's own number (Telegram fills in whose it is)."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(say("verify.share_button"), request_contact=True)]],
        resize_keyboard=True, one_time_keyboard=True)


def no_reply_keyboard() -> ReplyKeyboardRemove:
    """Takes away a contact or phone button once its step is over."""
    return ReplyKeyboardRemove()


def plans(quotes: list[Quote], nonce: str, say: Speaker) -> InlineKeyboardMarkup:
    rows = []
    for quote in quotes:
        each = quote.instalments[0].amount
        label = (say("buy.plan_button_fee", count=quote.plan, each=each, fee=quote.fee)
                 if quote.fee else say("buy.plan_button", count=quote.plan, each=each))
        rows.append([InlineKeyboardButton(
            label, callback_data=callbacks.BuyPlan(quote.plan, nonce).pack())])
    rows.append([InlineKeyboardButton(say("buy.cancel_button"),
                                      callback_data=callbacks.BuyCancel(nonce).pack())])
    return InlineKeyboardMarkup(rows)


def confirm_purchase(nonce: str, quote_fingerprint: str, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(say("buy.confirm_button"),
                             callback_data=callbacks.BuyConfirm(nonce, quote_fingerprint).pack()),
        InlineKeyboardButton(say("buy.cancel_button"),
                             callback_data=callbacks.BuyCancel(nonce).pack()),
    ]])


def bills_page(payable: list[tuple[Instalment, str]], page: int, pages: int,
               say: Speaker) -> InlineKeyboardMarkup | None:
    rows = [[InlineKeyboardButton(
        say("bills.pay_button", seq=i.seq, count=i.of, merchant=merchant[:12], amount=i.own_due),
        callback_data=callbacks.PayAsk(i.id, page).pack()),
        InlineKeyboardButton(say("bills.ask_button", merchant=merchant[:12]),
                             callback_data=callbacks.CoverInstalment(i.id).pack())]
        for i, merchant in payable if i.own_due]  # nothing to pay when friends cover it all
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(say("bills.prev"),
                                        callback_data=callbacks.BillsPage(page - 1).pack()))
    if page + 1 < pages:
        nav.append(InlineKeyboardButton(say("bills.next"),
                                        callback_data=callbacks.BillsPage(page + 1).pack()))
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(rows) if rows else None


def confirm_payment(instalment: Instalment, page: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(say("pay.confirm_button", amount=instalment.own_due),
                              callback_data=callbacks.PayConfirm(
                                  instalment.id, page, instalment.own_due.fen).pack())],
        [InlineKeyboardButton(say("pay.back_button"),
                              callback_data=callbacks.BillsPage(page).pack())],
    ])


def back_to_bills(page: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("pay.back_button"), callback_data=callbacks.BillsPage(page).pack())]])


def top_ups(say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(say("wallet.topup_button", amount=amount),
                             callback_data=callbacks.TopUp(amount.fen).pack())
        for amount in TOP_UP_AMOUNTS
    ]])


# -- asking a friend -------------------------------------------------------------------------
SHARES_BP = (10_000, 5_000, 3_000, 2_000)
ROUTES = {callbacks.RouteCode.CONTACT: Route.CONTACT, callbacks.RouteCode.CARD: Route.CARD,
          callbacks.RouteCode.LINK: Route.LINK}


def _friend(action: callbacks.FriendAction, request_id: int) -> str:
    return callbacks.FriendPress(action, request_id).pack()


def _agreement(action: callbacks.AgreementAction, agreement_id: int) -> str:
    return callbacks.AgreementPress(action, agreement_id).pack()


def cover_bills(bills: list[Bill], nonce: str, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("cover.bill_button", merchant=bill.merchant[:20], count=len(bill.unpaid),
            amount=Money(sum(i.amount.fen for i in bill.unpaid))),
        callback_data=callbacks.CoverBill(bill.id, nonce).pack())] for bill in bills])


def cover_shares(nonce: str, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("cover.share_button", share=share_text(bp)),
        callback_data=callbacks.CoverShare(bp, nonce).pack()) for bp in SHARES_BP]])


def cover_routes(nonce: str, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(say(f"cover.route.{ROUTES[code].value}"),
                              callback_data=callbacks.CoverRoute(code, nonce).pack())]
        for code in callbacks.RouteCode])


def pick_contact(request_id: int, say: Speaker) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup([[KeyboardButton(
        say("cover.pick_contact_button"),
        # The name and username come back with the choice: a friend who never wrote to the
        # bot is then shown by name, not as a number.
        request_users=KeyboardButtonRequestUsers(request_id, user_is_bot=False,
                                                 max_quantity=1, request_name=True,
                                                 request_username=True))]],
        resize_keyboard=True, one_time_keyboard=True)


def cancel_request(request_id: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("cover.cancel_button", id=request_id),
        callback_data=callbacks.ManageRequest(
            callbacks.ManageAction.CANCEL, request_id).pack())]])


def revoke_request(request_id: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("cover.revoke_button", id=request_id),
        callback_data=callbacks.ManageRequest(
            callbacks.ManageAction.REVOKE, request_id).pack())]])


def manage_requests(requests: list[tuple[int, bool]], say: Speaker
                    ) -> InlineKeyboardMarkup | None:
    """A cancel button per open request, or revoke once someone accepted it."""
    rows = [[InlineKeyboardButton(
        say("cover.revoke_button" if accepted else "cover.cancel_button", id=request_id),
        callback_data=callbacks.ManageRequest(
            callbacks.ManageAction.REVOKE if accepted else callbacks.ManageAction.CANCEL,
            request_id).pack())] for request_id, accepted in requests]
    return InlineKeyboardMarkup(rows) if rows else None


def share_card(request_id: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(say("cover.card_button"), switch_inline_query=str(request_id))],
        [InlineKeyboardButton(say("cover.cancel_button", id=request_id),
                              callback_data=callbacks.ManageRequest(
            callbacks.ManageAction.CANCEL, request_id).pack())]])


def view_request(request_id: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("invite.view_button"),
        callback_data=_friend(callbacks.FriendAction.VIEW, request_id))]])


def open_link(url: str, label: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, url=url)]])


def accept_or_decline(request_id: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(say("invite.accept_button"),
                             callback_data=_friend(callbacks.FriendAction.ACCEPT, request_id)),
        InlineKeyboardButton(say("invite.decline_button"),
                             callback_data=_friend(callbacks.FriendAction.DECLINE, request_id))]])


def verify_now(request_id: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("friend.verify_button"),
        callback_data=_friend(callbacks.FriendAction.VERIFY, request_id))]])


def incomes(request_id: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say(f"income.{band.value}"),
        callback_data=callbacks.FriendIncome(band, request_id).pack())]
        for band in IncomeBand])


def _decline(request_id: int, say: Speaker) -> InlineKeyboardButton:
    return InlineKeyboardButton(say("invite.decline_button"),
                                callback_data=_friend(callbacks.FriendAction.DECLINE, request_id))


def accept_reduced(request_id: int, share_bp: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(say("review.accept_reduced", share=share_text(share_bp)),
                             callback_data=callbacks.FriendReduced(request_id, share_bp).pack()),
        _decline(request_id, say)]])


def sign_agreement(request_id: int, share_bp: int, sha256: str,
                   say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(say("agreement.sign_button"),
                             callback_data=callbacks.FriendSign.of(request_id, share_bp,
                                                                    sha256).pack()),
        _decline(request_id, say)]])


def agreement_documents(agreement_ids: list[int], say: Speaker) -> InlineKeyboardMarkup | None:
    if not agreement_ids:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("agreements.doc_button", id=i),
        callback_data=_agreement(callbacks.AgreementAction.DOCUMENT, i))]
        for i in agreement_ids])


def terminate_choices(choices: list[tuple[int, str]], say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("terminate.button", id=i, merchant=merchant[:20]),
        callback_data=_agreement(callbacks.AgreementAction.ASK_END, i))]
        for i, merchant in choices])


def terminate_confirm(agreement_id: int, say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("terminate.confirm_button", id=agreement_id),
        callback_data=_agreement(callbacks.AgreementAction.END, agreement_id))]])


# -- notices and operators --------------------------------------------------------------------
def my_wallet(say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("notice.wallet_button"), callback_data=callbacks.ShowWallet().pack())]])


def my_bills(say: Speaker) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        say("notice.bills_button"), callback_data=callbacks.BillsPage(0).pack())]])


def _alert_row(alert_id: int, subject: str, say: Speaker) -> list[InlineKeyboardButton]:
    row = [InlineKeyboardButton(say("alert.ack_button", id=alert_id), callback_data=callbacks
                                .AlertPress(callbacks.AlertAction.ACKNOWLEDGE, alert_id).pack())]
    if person_in(subject) is not None:  # only a person can be frozen
        row.append(InlineKeyboardButton(
            say("alert.freeze_button", subject=subject),
            callback_data=callbacks.AlertPress(callbacks.AlertAction.FREEZE, alert_id).pack()))
    return row


def alert_actions(alerts: list[tuple[int, str]], say: Speaker) -> InlineKeyboardMarkup | None:
    """Acknowledge (and freeze, for a person) under each alert: (alert id, subject)."""
    rows = [_alert_row(alert_id, subject, say) for alert_id, subject in alerts]
    return InlineKeyboardMarkup(rows) if rows else None
