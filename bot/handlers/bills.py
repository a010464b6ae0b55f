"""/bills: open bills and their instalments, a page at a time, with "Pay" on each unpaid
instalment (confirm, then paid from the wallet once, whatever the taps)."""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot import callbacks, keyboards, limits
from bot.context import BotContext, Speaker
from bot.editing import edit, reply
from bot.formatting import day
from bot.handlers import PRIVATE
from core.bills import Bill, Instalment, InstalmentStatus
from core.money import Money
from core.services.wallet import RepayRefusal, RepayRefused, repay_from_wallet, wallet_view

BILLS_PER_PAGE = 3  # at most; fewer when long names and many instalments fill a page
PAYABLE_PER_PAGE = (limits.BUTTONS - 2) // 2  # two buttons each, and a row to turn pages
HEADER_ROOM = 80  # "Open bills — page 12 of 12" in either language, and the blank after it


@dataclass
class Page:
    lines: list[str] = field(default_factory=list)
    payable: list[tuple[Instalment, str]] = field(default_factory=list)
    bills: set[int] = field(default_factory=set)
    size: int = 0

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.size += limits.length(line) + 1


def _status(instalment: Instalment, today, say: Speaker, covers: list[tuple[str, Money]]) -> str:
    if instalment.status is InstalmentStatus.PAID:
        paid = instalment.paid_on or today  # a business date, in the platform's timezone
        return say("status.paid", date=day(paid, say.language))
    own = say("status.overdue" if instalment.is_overdue(today) else "status.unpaid")
    friends = [say("status.covered", name=name, part=part) for name, part in covers]
    if friends and sum(p.fen for _, p in covers) >= instalment.amount.fen:
        return "; ".join(friends)  # nothing of it is the borrower's to pay
    return "; ".join([own, *friends])


def paginate(bills: list[Bill], today, say: Speaker,
             covering: dict[int, list[tuple[str, Money]]]) -> list[Page]:
    """Bills on pages by their measured size: at most three bills, a message's length and
    a keyboard's buttons a page. A bill too long for one page (a dozen instalments, each
    covered by friends with long names) goes on over the next, its title repeated."""
    budget = limits.MESSAGE - HEADER_ROOM
    pages = [Page()]

    def turn() -> Page:
        pages.append(Page())
        return pages[-1]

    for bill in bills:
        title = say("bills.bill", merchant=bill.merchant, total=bill.total, count=bill.plan,
                    bought=day(bill.purchased_on, say.language))
        lines = [(i, limits.cut(say("bills.instalment", seq=i.seq, count=bill.plan,
                                    due=day(i.due_date, say.language), amount=i.amount,
                                    status=_status(i, today, say, covering.get(i.id, []))),
                                budget // 2)) for i in bill.instalments]
        need = limits.length(title) + 2 + sum(limits.length(line) + 1 for _, line in lines)
        buttons = sum(1 for i in bill.unpaid if i.own_due)
        page = pages[-1]
        if page.lines and (len(page.bills) >= BILLS_PER_PAGE or page.size + need > budget
                           or len(page.payable) + buttons > PAYABLE_PER_PAGE):
            page = turn()
        page.add("")
        page.add(title)
        page.bills.add(bill.id)
        for instalment, line in lines:
            pays = instalment.status is InstalmentStatus.UNPAID and bool(instalment.own_due)
            if page.size + limits.length(line) + 1 > budget or (
                    pays and len(page.payable) >= PAYABLE_PER_PAGE):
                page = turn()
                page.add("")
                page.add(title)
                page.bills.add(bill.id)
            page.add(line)
            if instalment.status is InstalmentStatus.UNPAID:
                page.payable.append((instalment, bill.merchant))
    return pages


def render_page(bills: list[Bill], page: int, today, say: Speaker,
                covering: dict[int, list[tuple[str, Money]]] | None = None):
    pages = paginate(bills, today, say, covering or {})
    page = min(max(page, 0), len(pages) - 1)
    shown = pages[page]
    lines = [say("bills.header", page=page + 1, pages=len(pages)), *shown.lines]
    return "\n".join(lines), keyboards.bills_page(shown.payable, page, len(pages), say)


async def _open_bills(context: BotContext, user_id: int
                      ) -> tuple[list[Bill], dict[int, list[tuple[str, Money]]]]:
    """Open bills, and who covers which instalment (by the friend's display name)."""
    async with context.services.uow.read() as tx:
        bills = await tx.bills.open_bills(user_id)
        covering = await tx.cover.cover_parts_of_borrower(user_id)
    return bills, {i: [(part.friend.shown(), part.amount) for part in parts]
                   for i, parts in covering.items()}


async def show(update: Update, context: BotContext) -> None:
    say = context.say
    bills, covering = await _open_bills(context, update.effective_user.id)
    if not bills:
        await reply(update, say("bills.none"))
        return
    text, markup = render_page(bills, 0, context.services.today(), say, covering)
    await reply(update, text, reply_markup=markup)


async def turn_page(update: Update, context: BotContext,
                    press: callbacks.BillsPage) -> None:
    say = context.say
    await update.callback_query.answer()
    await _edit_to_page(update, context, press.page, say)


async def _edit_to_page(update: Update, context: BotContext, page: int,
                        say: Speaker) -> None:
    bills, covering = await _open_bills(context, update.effective_user.id)
    if not bills:
        await edit(update.callback_query, say("bills.none"))
        return
    text, markup = render_page(bills, page, context.services.today(), say, covering)
    await edit(update.callback_query, text, reply_markup=markup)


async def _payable(update: Update, context: BotContext, instalment_id: int,
                   page: int, say: Speaker) -> tuple[Instalment, Bill] | None:
    """The presser's own unpaid instalment, or None once the press has been answered."""
    query = update.callback_query
    async with context.services.uow.read() as tx:
        instalment = await tx.bills.instalment(instalment_id)
        bill = await tx.bills.get(instalment.bill_id) if instalment else None
    # The button says which instalment; whether the presser may pay it is checked here.
    if instalment is None or bill is None or instalment.borrower_id != update.effective_user.id:
        await query.answer(say("callback.invalid"), show_alert=True)
        return None
    if instalment.status is InstalmentStatus.PAID or not instalment.own_due:
        await query.answer(say("pay.already"), show_alert=True)
        await _edit_to_page(update, context, page, say)
        return None
    return instalment, bill


async def _show_confirmation(update: Update, context: BotContext,
                             instalment: Instalment, bill: Bill, page: int,
                             say: Speaker) -> None:
    """What will be taken, with a button that carries exactly that amount."""
    found = context.services
    balance = (await wallet_view(found.uow, update.effective_user.id, limit=0)).balance
    text = say("pay.confirm", seq=instalment.seq, count=instalment.of, merchant=bill.merchant,
               amount=instalment.own_due, due=day(instalment.due_date, say.language),
               balance=balance)
    await edit(update.callback_query, text, keyboards.confirm_payment(instalment, page, say))


async def ask_to_pay(update: Update, context: BotContext,
                     press: callbacks.PayAsk) -> None:
    say = context.say
    payable = await _payable(update, context, press.instalment_id, press.page, say)
    if payable is None:
        return
    await update.callback_query.answer()
    await _show_confirmation(update, context, *payable, press.page, say)


async def pay(update: Update, context: BotContext,
              press: callbacks.PayConfirm) -> None:
    query = update.callback_query
    say = context.say
    user_id = update.effective_user.id
    payable = await _payable(update, context, press.instalment_id, press.page, say)
    if payable is None:
        return
    instalment, bill = payable
    found = context.services
    try:
        result = await repay_from_wallet(found.uow, user_id=user_id, instalment_id=instalment.id,
                                         confirmed=Money(press.amount), today=found.today())
    except RepayRefused as refused:
        if refused.reason is RepayRefusal.INSUFFICIENT_FUNDS:
            await query.answer(say("pay.insufficient", balance=refused.balance,
                                   amount=refused.amount), show_alert=True)
        elif refused.reason is RepayRefusal.CHANGED:
            # What was confirmed is no longer what is owed (a friend's part came back, say):
            # nothing is taken, and the new amount is shown for a new confirmation.
            await query.answer(say("pay.changed", amount=refused.amount), show_alert=True)
            async with found.uow.read() as tx:
                fresh = await tx.bills.instalment(instalment.id)
            if fresh is not None and fresh.own_due:
                await _show_confirmation(update, context, fresh, bill, press.page, say)
            else:
                await _edit_to_page(update, context, press.page, say)
        else:
            await query.answer(say("callback.invalid"), show_alert=True)
        return
    if result.already_paid:
        await query.answer(say("pay.already"), show_alert=True)
        await _edit_to_page(update, context, press.page, say)
        return
    balance = (await wallet_view(found.uow, user_id, limit=0)).balance
    await query.answer()
    paid = result.instalment.paid - instalment.paid
    text = say("pay.done", seq=instalment.seq, count=instalment.of, merchant=bill.merchant,
               amount=paid, balance=balance)
    await edit(query, text, keyboards.back_to_bills(press.page, say))


def handlers() -> list[BaseHandler]:
    return [CommandHandler("bills", show, filters=PRIVATE),
            callbacks.BillsPage.handler(turn_page),
            callbacks.PayAsk.handler(ask_to_pay),
            callbacks.PayConfirm.handler(pay)]
