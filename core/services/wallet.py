"""Wallets: top-ups that post exactly once, self-repayment, and the statement."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from core.accounts import TOP_UP_SOURCES, receivable_of, repayment_key, top_up_key, wallet_of
from core.bills import Instalment, InstalmentStatus
from core.events import Event, user_actor
from core.ledger import (
    AboveMaximum,
    AccountSpec,
    InsufficientFunds,
    Movement,
    PostedTransfer,
    Transfer,
    TransferKind,
)
from core.money import ZERO, Money
from core.outbox import IMMEDIATELY, Lane, Notice, NoticeKind
from core.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)

# What a person may top up in the chat: the buttons /wallet offers, and the only amounts an
# invoice may carry (bot.payments refuses any other at pre-checkout).
TOP_UP_AMOUNTS = (Money.yuan(50), Money.yuan(100), Money.yuan(200), Money.yuan(500))


@dataclass(frozen=True, slots=True)
class WalletView:
    balance: Money
    movements: list[Movement]


async def wallet_view(uow: UnitOfWorkFactory, user_id: int, limit: int = 10) -> WalletView:
    async with uow.read() as tx:  # a look changes nothing: no wallet yet reads as empty
        wallet = await tx.ledger.account_by_code(AccountSpec.wallet(user_id).code)
        if wallet is None:
            return WalletView(Money.zero(), [])
        movements = await tx.ledger.statement(wallet.id, limit)
    return WalletView(wallet.balance, movements)


async def top_up(uow: UnitOfWorkFactory, *, user_id: int, amount: Money, source: str, ref: str,
                 actor: str, tell: bool = False) -> PostedTransfer:
    """Money arrived from outside. ``ref`` (the payment's charge id, or the bank reference)
    is the idempotency key: the same payment reported twice posts once. With ``tell``, the
    confirmation to the payer is planned in the same transaction, so it survives a crash
    between booking and replying and is planned once however often the payment is seen."""
    if not amount.is_positive:
        raise ValueError("top-up amount must be positive")
    async with uow() as tx:
        await tx.users.ensure(user_id)
        external = await tx.ledger.open_account(TOP_UP_SOURCES[source])
        wallet = await wallet_of(tx.ledger, user_id)
        posted = await tx.ledger.post(Transfer.between(
            top_up_key(source, ref), TransferKind.TOP_UP, external.id, wallet.id, amount,
            memo=source))
        if not posted.replayed:
            await tx.events.append(Event(actor, f"user:{user_id}", "wallet.topped_up",
                                         {"amount": amount.fen, "source": source,
                                          "transfer": posted.id}, parties=(user_id,)))
            if tell:
                balance = (await tx.ledger.account_by_code(wallet.code)).balance
                await tx.outbox.plan([(Notice(
                    top_up_key(source, ref), user_id, NoticeKind.TOPPED_UP,
                    {"amount": amount.fen, "balance": balance.fen}, urgent=True,
                    lane=Lane.NOW), IMMEDIATELY)])
        await tx.commit()
    return posted


class RepayRefusal(StrEnum):
    NOT_FOUND = "not_found"  # no such instalment, or not this user's
    INSUFFICIENT_FUNDS = "insufficient_funds"
    CHANGED = "changed"  # what is owed now is not what the person confirmed


class RepayRefused(Exception):
    def __init__(self, reason: RepayRefusal, balance: Money = ZERO,
                 amount: Money = ZERO) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.balance = balance
        self.amount = amount


@dataclass(frozen=True, slots=True)
class Repayment:
    instalment: Instalment
    already_paid: bool  # True: nothing was taken now (paid before, e.g. a double tap)


async def repay_from_wallet(uow: UnitOfWorkFactory, *, user_id: int, instalment_id: int,
                            confirmed: Money, today: date) -> Repayment:
    """The borrower pays their own part of one instalment (what no friend covers) from their
    wallet; once, whatever the taps: a second tap finds nothing left to pay. ``confirmed``
    is the amount the person saw and agreed to: if their part is another amount now (a
    friend's part came back to them, say), nothing is taken (``CHANGED``, with the new
    amount), so what a person confirmed is what is done."""
    async with uow() as tx:
        instalment = await tx.bills.instalment(instalment_id)
        if instalment is None or instalment.borrower_id != user_id:
            raise RepayRefused(RepayRefusal.NOT_FOUND)
        due = instalment.own_due
        if instalment.status is InstalmentStatus.PAID or not due:
            return Repayment(instalment, already_paid=True)
        if due != confirmed:
            raise RepayRefused(RepayRefusal.CHANGED, amount=due)
        wallet = await wallet_of(tx.ledger, user_id)
        receivable = await receivable_of(tx.ledger, user_id)
        try:
            posted = await tx.ledger.post(Transfer.between(
                repayment_key(instalment.id, instalment.paid.fen), TransferKind.REPAYMENT,
                wallet.id, receivable.id, due, memo=f"instalment {instalment.id}"))
        except InsufficientFunds:
            raise RepayRefused(RepayRefusal.INSUFFICIENT_FUNDS, wallet.balance, due) from None
        except AboveMaximum:
            # The receivable owes less than the instalment says: the book disagrees with
            # itself. Nothing is posted; operators read the log, the person is told the
            # amount is not what they confirmed.
            log.error("repayment of instalment %s would overpay receivable %s",
                      instalment.id, receivable.id)
            raise RepayRefused(RepayRefusal.CHANGED, amount=due) from None
        complete = await tx.bills.record_payment(instalment.id, user_id, due, "wallet",
                                                 posted.id, today)
        events = [Event(user_actor(user_id), f"instalment:{instalment.id}", "instalment.payment",
                        {"by": user_id, "source": "wallet", "amount": due.fen,
                         "transfer": posted.id}, parties=(user_id,))]
        if complete:
            events.append(Event(user_actor(user_id), f"instalment:{instalment.id}",
                                "instalment.paid", {"last_payment": posted.id},
                                parties=(user_id,)))
        await tx.events.append_many(events)
        paid = await tx.bills.instalment(instalment.id)
        await tx.commit()
    assert paid is not None
    return Repayment(paid, already_paid=False)
