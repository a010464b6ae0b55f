"""Bills, instalments and repayment history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from core.bills import Bill, Instalment, InstalmentStatus, Quote
from core.clock import Clock, parse_utc_iso, utc_iso
from core.credit import RepaymentRecord
from core.money import Money
from storage.dialect import SQLITE, Dialect
from storage.sql import Sql

_INSTALMENT = (
    "SELECT i.id, i.bill_id, b.borrower_id, i.seq, b.plan, i.due_date, i.principal, i.fee,"
    " i.status, i.paid_at, i.paid_on, i.paid_by, i.paid_amount,"
    " (SELECT COALESCE(SUM(ai.amount), 0) FROM agreement_instalments ai"
    "  WHERE ai.instalment_id = i.id AND ai.status = 'covered') AS covered"
    " FROM instalments i JOIN bills b ON b.id = i.bill_id"
)
_BILL = ("SELECT id, borrower_id, merchant, principal, fee, plan, purchased_on, source"
         " FROM bills")


def _instalment(row: Any) -> Instalment:
    return Instalment(
        id=row["id"], bill_id=row["bill_id"], borrower_id=row["borrower_id"], seq=row["seq"],
        of=row["plan"], due_date=date.fromisoformat(row["due_date"]),
        principal=Money(row["principal"]), fee=Money(row["fee"]),
        status=InstalmentStatus(row["status"]),
        paid_at=parse_utc_iso(row["paid_at"]) if row["paid_at"] else None,
        paid_on=date.fromisoformat(row["paid_on"]) if row["paid_on"] else None,
        paid_by=row["paid_by"], paid=Money(row["paid_amount"]), covered=Money(row["covered"]))


class BillStore:
    def __init__(self, conn: Sql, clock: Clock, dialect: Dialect = SQLITE,
                 locking: bool = False) -> None:
        self._conn = conn
        self._clock = clock
        self._locks = dialect.locker(locking)

    async def add(self, borrower_id: int, quote: Quote, source: str, ref: str,
                  transfer_id: int) -> Bill:
        rows = await self._conn.execute_fetchall(
            "INSERT INTO bills (borrower_id, merchant, principal, fee, plan, purchased_on,"
            " source, ref, transfer_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (borrower_id, quote.merchant, quote.principal.fen, quote.fee.fen, quote.plan,
             quote.purchased_on.isoformat(), source, ref, transfer_id,
             utc_iso(self._clock.now())))
        bill_id = rows[0]["id"]
        await self._conn.executemany(
            "INSERT INTO instalments (bill_id, seq, due_date, principal, fee)"
            " VALUES (?, ?, ?, ?, ?)",
            [(bill_id, i.seq, i.due_date.isoformat(), i.principal.fen, i.fee.fen)
             for i in quote.instalments])
        bill = await self.get(bill_id)
        assert bill is not None
        return bill

    async def get(self, bill_id: int) -> Bill | None:
        rows = await self._conn.execute_fetchall(f"{_BILL} WHERE id = ?", (bill_id,))
        return (await self._with_instalments(rows))[0] if rows else None

    async def by_ref(self, ref: str) -> Bill | None:
        rows = await self._conn.execute_fetchall(f"{_BILL} WHERE ref = ?", (ref,))
        return (await self._with_instalments(rows))[0] if rows else None

    async def open_bills(self, borrower_id: int) -> list[Bill]:
        rows = await self._conn.execute_fetchall(
            f"{_BILL} WHERE borrower_id = ? AND EXISTS (SELECT 1 FROM instalments i"
            " WHERE i.bill_id = bills.id AND i.status = 'unpaid') ORDER BY id",
            (borrower_id,))
        return await self._with_instalments(rows)

    async def instalment(self, instalment_id: int) -> Instalment | None:
        """In a writing unit the instalment stays as read until the unit ends: paying it
        is decided on what this read saw."""
        rows = await self._conn.execute_fetchall(
            f"{_INSTALMENT} WHERE i.id = ?{self._locks('i')}", (instalment_id,))
        return _instalment(rows[0]) if rows else None

    async def record_payment(self, instalment_id: int, payer_id: int, amount: Money,
                             source: str, transfer_id: int, day: date) -> bool:
        """Book a payment towards an instalment; True when it is now paid in full."""
        await self._conn.execute(
            "INSERT INTO instalment_payments (instalment_id, payer_id, amount, source,"
            " transfer_id, business_date, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (instalment_id, payer_id, amount.fen, source, transfer_id, day.isoformat(),
             utc_iso(self._clock.now())))
        rows = await self._conn.execute_fetchall(
            "UPDATE instalments SET paid_amount = paid_amount + ?,"
            " status = CASE WHEN paid_amount + ? = principal + fee THEN 'paid' ELSE status END,"
            " paid_at = CASE WHEN paid_amount + ? = principal + fee THEN ? ELSE paid_at END,"
            " paid_on = CASE WHEN paid_amount + ? = principal + fee THEN ? ELSE paid_on END,"
            " paid_by = CASE WHEN paid_amount + ? = principal + fee THEN ? ELSE paid_by END,"
            " payment_transfer_id = CASE WHEN paid_amount + ? = principal + fee THEN ?"
            "  ELSE payment_transfer_id END"
            " WHERE id = ? AND status = 'unpaid' RETURNING status",
            (amount.fen, amount.fen, amount.fen, utc_iso(self._clock.now()), amount.fen,
             day.isoformat(), amount.fen, payer_id, amount.fen, transfer_id, instalment_id))
        if not rows:
            raise RuntimeError("payment towards an instalment that is not unpaid")
        return rows[0][0] == "paid"

    async def outstanding_principal(self, borrower_id: int) -> Money:
        rows = await self._conn.execute_fetchall(
            "SELECT COALESCE(SUM(i.principal), 0) FROM instalments i JOIN bills b"
            " ON b.id = i.bill_id WHERE b.borrower_id = ? AND i.status = 'unpaid'",
            (borrower_id,))
        return Money(rows[0][0])

    async def repayment_record(self, user_id: int, today: date) -> list[RepaymentRecord]:
        """Imported history plus Daihuan's own instalments that have fallen due."""
        rows = await self._conn.execute_fetchall(
            "SELECT due_date, paid_date, amount FROM credit_history WHERE user_id = ?"
            " UNION ALL"
            " SELECT i.due_date, i.paid_on, i.principal + i.fee"
            " FROM instalments i JOIN bills b ON b.id = i.bill_id"
            " WHERE b.borrower_id = ? AND i.due_date <= ?",
            (user_id, user_id, today.isoformat()))
        return [RepaymentRecord(date.fromisoformat(r[0]),
                                date.fromisoformat(r[1]) if r[1] else None, Money(r[2]))
                for r in rows]

    async def first_history_date(self, user_id: int) -> date | None:
        rows = await self._conn.execute_fetchall(
            "SELECT MIN(due_date) FROM credit_history WHERE user_id = ?", (user_id,))
        return date.fromisoformat(rows[0][0]) if rows[0][0] else None

    async def record_history(self, rows: Iterable[tuple[int, str, date, date | None, Money]],
                             at: datetime) -> int:
        params = [(u, ref, due.isoformat(), paid.isoformat() if paid else None, amount.fen,
                   utc_iso(at)) for u, ref, due, paid, amount in rows]
        await self._conn.executemany(
            "INSERT INTO credit_history (user_id, bill_ref, due_date, paid_date, amount,"
            " imported_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, bill_ref, due_date)"
            " DO UPDATE SET paid_date = excluded.paid_date, amount = excluded.amount,"
            " imported_at = excluded.imported_at", params)
        return len(params)

    async def _with_instalments(self, rows: list[Any]) -> list[Bill]:
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        found = await self._conn.execute_fetchall(
            f"{_INSTALMENT} WHERE i.bill_id IN ({','.join('?' * len(ids))})"
            " ORDER BY i.bill_id, i.seq", ids)
        by_bill: dict[int, list[Instalment]] = {}
        for row in found:
            by_bill.setdefault(row["bill_id"], []).append(_instalment(row))
        return [Bill(id=row["id"], borrower_id=row["borrower_id"], merchant=row["merchant"],
                     principal=Money(row["principal"]), fee=Money(row["fee"]), plan=row["plan"],
                     purchased_on=date.fromisoformat(row["purchased_on"]), source=row["source"],
                     instalments=tuple(by_bill.get(row["id"], ())))
                for row in rows]
