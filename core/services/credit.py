"""The borrower's rating, computed from history whenever it is asked for, so it always
reflects the latest imports, purchases and repayments."""

from __future__ import annotations

from datetime import date

from core.clock import business_date
from core.credit import CreditPolicy, Rating, rate
from core.ports import UnitOfWork, UnitOfWorkFactory


async def rating_in(tx: UnitOfWork, user_id: int, today: date, policy: CreditPolicy) -> Rating:
    user = await tx.users.get(user_id)
    first_seen = business_date(user.created_at, policy.tz) if user is not None else today
    history_start = await tx.bills.first_history_date(user_id)
    if history_start is not None:
        first_seen = min(first_seen, history_start)
    return rate(records=await tx.bills.repayment_record(user_id, today),
                verified=await tx.identities.get(user_id) is not None,
                first_seen=first_seen,
                outstanding=await tx.bills.outstanding_principal(user_id),
                today=today, policy=policy)


async def credit_report(uow: UnitOfWorkFactory, user_id: int, today: date,
                        policy: CreditPolicy) -> Rating:
    async with uow.read() as tx:
        return await rating_in(tx, user_id, today, policy)
