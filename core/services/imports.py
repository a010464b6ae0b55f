"""Loading operators' CSV files: all rows in one transaction, or none."""

from __future__ import annotations

from core.bills import FeeSchedule, PurchaseError, make_quote
from core.clock import Clock
from core.events import Event
from core.imports import BillRow, HistoryRow, ImportFailed, RowError
from core.ports import UnitOfWorkFactory
from core.services.purchases import record_bill


async def import_history(uow: UnitOfWorkFactory, clock: Clock, rows: list[HistoryRow],
                         actor: str) -> int:
    async with uow() as tx:
        count = await tx.bills.record_history(
            [(r.user_id, r.bill_ref, r.due_date, r.paid_date, r.amount) for r in rows],
            clock.now())
        users = sorted({r.user_id for r in rows})
        await tx.events.append_many([Event(actor, f"user:{u}", "history.imported",
                                           {"rows": sum(r.user_id == u for r in rows)},
                                           parties=(u,)) for u in users])
        await tx.commit()
    return count


async def import_bills(uow: UnitOfWorkFactory, rows: list[BillRow], fees: FeeSchedule,
                       actor: str) -> tuple[int, int]:
    """Returns (loaded, already loaded). A bill_ref loaded before with other content is an
    error for that row, and then nothing of the file is loaded."""
    errors: list[RowError] = []
    loaded = skipped = 0
    async with uow() as tx:
        for row in rows:
            ref = f"import:{row.bill_ref}"
            try:
                quote = make_quote(row.merchant, row.amount, row.plan, row.purchase_date, fees)
            except PurchaseError as error:
                errors.append(RowError(row.line, "amount", f"refused ({error.reason.value})"))
                continue
            existing = await tx.bills.by_ref(ref)
            if existing is not None:
                same = (existing.borrower_id, existing.principal, existing.plan,
                        existing.purchased_on, existing.merchant) == (
                    row.user_id, quote.principal, quote.plan, quote.purchased_on,
                    quote.merchant)
                if not same:
                    errors.append(RowError(row.line, "bill_ref",
                                           "already imported with different content"))
                skipped += 1
                continue
            await tx.users.ensure(row.user_id)
            await record_bill(tx, row.user_id, quote, "import", ref, actor)
            loaded += 1
        if errors:
            raise ImportFailed(errors)  # leaving without commit loads nothing
        await tx.commit()
    return loaded, skipped

