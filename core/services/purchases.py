"""Buying on instalments: refused over the available line, for unverified or frozen users;
otherwise one bill, its instalments, their events and one ledger entry, atomically."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from core.accounts import FEE_INCOME, MERCHANT_SETTLEMENT, purchase_key, receivable_of
from core.bills import Bill, Quote
from core.credit import CreditPolicy
from core.events import SYSTEM, Event, user_actor
from core.ledger import Leg, Transfer, TransferKind
from core.money import ZERO, Money
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.services.credit import rating_in


class PurchaseRefusal(StrEnum):
    UNVERIFIED = "unverified"
    FROZEN = "frozen"
    OVER_LINE = "over_line"


class PurchaseRefused(Exception):
    def __init__(self, reason: PurchaseRefusal, available: Money = ZERO) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.available = available


async def buy(uow: UnitOfWorkFactory, *, borrower_id: int, quote: Quote, ref: str,
              today: date, policy: CreditPolicy) -> Bill:
    """Confirm a quoted purchase. ``ref`` makes a repeated confirmation return the same bill."""
    async with uow() as tx:
        existing = await tx.bills.by_ref(ref)
        if existing is not None:
            if existing.borrower_id != borrower_id:
                raise ValueError("purchase reference belongs to another user")
            return existing
        user = await tx.users.get(borrower_id)
        if user is not None and user.frozen:
            raise PurchaseRefused(PurchaseRefusal.FROZEN)
        if await tx.identities.get(borrower_id) is None:
            raise PurchaseRefused(PurchaseRefusal.UNVERIFIED)
        rating = await rating_in(tx, borrower_id, today, policy)
        if quote.principal > rating.available:
            raise PurchaseRefused(PurchaseRefusal.OVER_LINE, rating.available)
        bill = await record_bill(tx, borrower_id, quote, "chat", ref, user_actor(borrower_id))
        await tx.commit()
    return bill


async def record_bill(tx: UnitOfWork, borrower_id: int, quote: Quote, source: str, ref: str,
                      actor: str = SYSTEM) -> Bill:
    """The bill, its instalments, their events and the purchase entry, in ``tx``."""
    receivable = await receivable_of(tx.ledger, borrower_id)
    merchant = await tx.ledger.open_account(MERCHANT_SETTLEMENT)
    legs = [Leg(receivable.id, -quote.total), Leg(merchant.id, quote.principal)]
    if quote.fee:
        income = await tx.ledger.open_account(FEE_INCOME)
        legs.append(Leg(income.id, quote.fee))
    posted = await tx.ledger.post(Transfer(purchase_key(ref), TransferKind.PURCHASE, tuple(legs),
                                           memo=quote.merchant[:200]))
    bill = await tx.bills.add(borrower_id, quote, source, ref, posted.id)
    events = [Event(actor, f"bill:{bill.id}", "bill.created",
                    {"borrower": borrower_id, "merchant": bill.merchant,
                     "principal": bill.principal.fen, "fee": bill.fee.fen, "plan": bill.plan,
                     "source": source, "transfer": posted.id}, parties=(borrower_id,))]
    events += [Event(actor, f"instalment:{i.id}", "instalment.scheduled",
                     {"bill": bill.id, "seq": i.seq, "due_date": i.due_date.isoformat(),
                      "amount": i.amount.fen}, parties=(borrower_id,))
               for i in bill.instalments]
    await tx.events.append_many(events)
    return bill
