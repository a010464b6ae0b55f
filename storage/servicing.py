"""What daily servicing reads and writes on SQLite. Every query pages by key, so memory does
not grow with the book."""

from __future__ import annotations

from datetime import date

from core.clock import Clock, utc_iso
from core.due import DebitDue, DebitSlice, DueInstalment, OverdueMark, ReminderSlice, ServicingRun
from core.money import Money
from storage.dialect import SQLITE, Dialect
from storage.sql import Sql

RUN_COUNTERS = ("debited", "failed", "retried", "defaulted", "overdue_marked", "completed",
                "reminders_planned")


_NO_END = 2**63 - 1  # the last slice's end: no id is above it
_PART = "a.friend_id || ':' || ai.amount"  # one covered part, as 'friend:fen'


class ServicingStore:
    def __init__(self, conn: Sql, clock: Clock, dialect: Dialect = SQLITE,
                 locking: bool = False) -> None:
        self._conn = conn
        self._clock = clock
        self._d = dialect
        self._locks = locks = dialect.locker(locking)

        def skip_locked(*of: str) -> str:
            # A page several workers take at once: the rows another transaction holds are
            # passed over, not waited for (PostgreSQL; SQLite's one writer has no others).
            held = locks(*of)
            return f"{held} SKIP LOCKED" if held else ""

        self._skip_locked = skip_locked

    # -- runs ------------------------------------------------------------------------------
    async def start_run(self, day: date) -> None:
        await self._conn.execute(
            "INSERT INTO servicing_runs (business_date, started_at) VALUES (?, ?)"
            " ON CONFLICT (business_date) DO NOTHING",
            (day.isoformat(), utc_iso(self._clock.now())))

    async def finished(self, day: date) -> bool:
        rows = await self._conn.execute_fetchall(
            "SELECT 1 FROM servicing_runs WHERE business_date = ? AND finished_at IS NOT NULL",
            (day.isoformat(),))
        return bool(rows)

    async def add_counts(self, day: date, **counts: int) -> None:
        counts = {k: v for k, v in counts.items() if v}
        if not counts:
            return
        assert set(counts) <= set(RUN_COUNTERS)
        sets = ", ".join(f"{k} = {k} + ?" for k in counts)
        await self._conn.execute(f"UPDATE servicing_runs SET {sets} WHERE business_date = ?",
                                 (*counts.values(), day.isoformat()))

    async def finish_run(self, day: date) -> bool:
        """The date is done; the overdue amount at its end is kept with it for the report's
        history (past due and unpaid: what is at hand, a range of the unpaid index). False
        if another worker finished it first (its unit held the row; this one waited)."""
        rows = await self._conn.execute_fetchall(
            "UPDATE servicing_runs SET finished_at = ?, overdue_fen = (SELECT"
            " COALESCE(SUM(principal + fee - paid_amount), 0) FROM instalments"
            " WHERE status = 'unpaid' AND due_date < ?)"
            " WHERE business_date = ? AND finished_at IS NULL RETURNING business_date",
            (utc_iso(self._clock.now()), day.isoformat(), day.isoformat()))
        return bool(rows)

    async def runs(self, limit: int = 10) -> list[ServicingRun]:
        rows = await self._conn.execute_fetchall(
            f"SELECT business_date, started_at, finished_at, {', '.join(RUN_COUNTERS)}"
            " FROM servicing_runs ORDER BY business_date DESC LIMIT ?", (limit,))
        return [ServicingRun(date.fromisoformat(r[0]), r[1], r[2],
                             dict(zip(RUN_COUNTERS, r[3:], strict=True))) for r in rows]

    async def last_finished(self) -> date | None:
        rows = await self._conn.execute_fetchall(
            "SELECT MAX(business_date) FROM servicing_runs WHERE finished_at IS NOT NULL")
        return date.fromisoformat(rows[0][0]) if rows[0][0] else None

    # -- debits ----------------------------------------------------------------------------
    _DEBITS_DUE = (
        " FROM agreement_instalments ai JOIN agreements a ON a.id = ai.agreement_id"
        " JOIN instalments i ON i.id = ai.instalment_id JOIN bills b ON b.id = i.bill_id"
        " WHERE ai.status = 'covered' AND ai.next_attempt_on <= ? AND i.status = 'unpaid'")

    async def slice_debits(self, day: date, page: int, most: int) -> bool:
        """Cut ``day``'s debits into slices of friends, once (as ``slice_reminders``): the
        friends with parts due, by id, into up to ``most`` slices of about a page of parts
        or more each. A friend is in exactly one slice; the first starts below every id
        and the last has no end, so every friend is in one."""
        rows = await self._conn.execute_fetchall(
            "UPDATE servicing_runs SET debits_sliced_at = ? WHERE business_date = ?"
            " AND debits_sliced_at IS NULL RETURNING business_date",
            (utc_iso(self._clock.now()), day.isoformat()))
        if not rows:
            return False
        (count,), = await self._conn.execute_fetchall(
            "SELECT COUNT(*)" + self._DEBITS_DUE, (day.isoformat(),))
        parts = max(1, min(most, count // page))
        # Cut by the active agreements' friends, in the order of an index on them: what a
        # friend has due is about what they cover, and it needs no sort of the due parts. A
        # tile's last friend ends a slice; one with more than a tile ends two, hence a set.
        ends = sorted({r[0] for r in await self._conn.execute_fetchall(
            "SELECT MAX(friend) FROM (SELECT friend_id AS friend, ntile(?) OVER"
            " (ORDER BY friend_id) AS part FROM agreements WHERE status = 'active') AS cut"
            " GROUP BY part", (parts,))})
        starts = [0, *ends[:-1]]
        uptos: list[int | None] = [*ends[:-1], None]
        await self._conn.executemany(
            "INSERT INTO debit_slices (business_date, after_friend, upto_friend)"
            " VALUES (?, ?, ?)",
            [(day.isoformat(), after, upto) for after, upto in zip(starts, uptos, strict=True)]
            or [(day.isoformat(), 0, None)])
        return True

    async def take_debit_slice(self, day: date) -> DebitSlice | None:
        """A slice of ``day``'s debits not yet finished and not held by another worker,
        held until this unit ends."""
        rows = await self._conn.execute_fetchall(
            "SELECT after_friend, upto_friend FROM debit_slices"
            " WHERE business_date = ? AND finished_at IS NULL ORDER BY after_friend LIMIT 1"
            + self._skip_locked(), (day.isoformat(),))
        return DebitSlice(day, rows[0][0], rows[0][1]) if rows else None

    async def debit_slices_left(self, day: date) -> bool:
        """Whether a slice of the debits is unfinished, held by another worker or not: the
        debits are done when none is."""
        rows = await self._conn.execute_fetchall(
            "SELECT 1 FROM debit_slices WHERE business_date = ? AND finished_at IS NULL"
            " LIMIT 1", (day.isoformat(),))
        return bool(rows)

    async def debit_slice_finished(self, part: DebitSlice) -> None:
        await self._conn.execute(
            "UPDATE debit_slices SET finished_at = ? WHERE business_date = ?"
            " AND after_friend = ?",
            (utc_iso(self._clock.now()), part.business_date.isoformat(), part.after_friend))

    async def debits_due(self, part: DebitSlice, limit: int) -> list[DebitDue]:
        """The slice's friends' parts whose next attempt falls by its date, in the order
        they fell due: a range of the index on (status, next_attempt_on), read past the
        other slices' parts. Every attempt moves a part out of it (paid, or its next attempt
        later, or defaulted), so each page is the next of what is left, and a friend's
        parts are debited in their order however the pages cut them."""
        rows = await self._conn.execute_fetchall(
            "SELECT ai.agreement_id, ai.instalment_id, ai.amount, ai.attempts, a.friend_id,"
            " a.borrower_id, i.due_date, b.merchant, i.seq, b.plan" + self._DEBITS_DUE +
            " AND a.friend_id > ? AND a.friend_id <= ?"
            " ORDER BY ai.next_attempt_on, ai.agreement_id, ai.instalment_id LIMIT ?",
            (part.business_date.isoformat(), part.after_friend,
             part.upto_friend if part.upto_friend is not None else _NO_END, limit))
        return [DebitDue(r[0], r[1], Money(r[2]), r[3], r[4], r[5], date.fromisoformat(r[6]),
                         r[7], r[8], r[9]) for r in rows]

    async def hold_accounts(self, ids: list[int]) -> set[int]:
        """Of these accounts, those this unit now holds until it ends (in id order, as the
        ledger takes them), passing over any another unit holds instead of waiting: a page
        debits only where it will not queue behind another worker's page."""
        held = self._skip_locked()
        if not held or not ids:
            return set(ids)
        rows = await self._conn.execute_fetchall(
            f"SELECT id FROM accounts WHERE id IN ({', '.join('?' * len(ids))})"
            f" ORDER BY id{held}", sorted(ids))
        return {r[0] for r in rows}

    async def claim(self, debit: DebitDue) -> bool:
        """Whether the part is still the friend's to be debited now. Its agreement is held
        until the unit ends, so a termination (which holds it too) waits for this debit, or
        this debit sees the part it returned."""
        locks = self._locks()
        if locks:
            await self._conn.execute_fetchall(
                f"SELECT id FROM agreements WHERE id = ?{locks}", (debit.agreement_id,))
        rows = await self._conn.execute_fetchall(  # a fresh read, after the lock
            "SELECT status FROM agreement_instalments WHERE agreement_id = ?"
            " AND instalment_id = ?", (debit.agreement_id, debit.instalment_id))
        return bool(rows) and rows[0][0] == "covered"

    async def debit_succeeded(self, debit: DebitDue, day: date, transfer_id: int) -> None:
        await self._conn.execute(
            "UPDATE agreement_instalments SET status = 'paid', attempts = attempts + 1,"
            " last_attempt_on = ?, next_attempt_on = NULL, paid_transfer_id = ?"
            " WHERE agreement_id = ? AND instalment_id = ? AND status = 'covered'",
            (day.isoformat(), transfer_id, debit.agreement_id, debit.instalment_id))

    async def debit_failed(self, debit: DebitDue, day: date, next_on: date | None,
                           defaulted: bool) -> None:
        await self._conn.execute(
            "UPDATE agreement_instalments SET attempts = attempts + 1, last_attempt_on = ?,"
            " next_attempt_on = ?, status = CASE WHEN ? = 1 THEN 'defaulted' ELSE status END"
            " WHERE agreement_id = ? AND instalment_id = ? AND status = 'covered'",
            (day.isoformat(), next_on.isoformat() if next_on else None, int(defaulted),
             debit.agreement_id, debit.instalment_id))

    async def debit_set_aside(self, debit: DebitDue, next_on: date) -> None:
        """The book refused the debit: try again on ``next_on``, counting no attempt."""
        await self._conn.execute(
            "UPDATE agreement_instalments SET next_attempt_on = ?"
            " WHERE agreement_id = ? AND instalment_id = ? AND status = 'covered'",
            (next_on.isoformat(), debit.agreement_id, debit.instalment_id))

    async def return_future_parts(self, agreement_id: int, after: date) -> list[int]:
        rows = await self._conn.execute_fetchall(
            "UPDATE agreement_instalments SET status = 'returned' WHERE agreement_id = ?"
            " AND status = 'covered' AND instalment_id IN (SELECT id FROM instalments"
            " WHERE due_date > ?) RETURNING instalment_id", (agreement_id, after.isoformat()))
        return sorted(r[0] for r in rows)

    # -- overdue, completion -----------------------------------------------------------------
    _OVERDUE_UNMARKED = "status = 'unpaid' AND due_date < ? AND overdue_since IS NULL"

    async def overdue_left(self, day: date) -> bool:
        rows = await self._conn.execute_fetchall(
            f"SELECT 1 FROM instalments WHERE {self._OVERDUE_UNMARKED} LIMIT 1",
            (day.isoformat(),))
        return bool(rows)

    async def mark_overdue(self, day: date, limit: int) -> list[OverdueMark]:
        """Unpaid instalments past due and not yet marked, each with the friends whose part
        of it is still covered. Those another worker's page holds are passed over; marked
        is marked once (the outer test again, after any wait)."""
        rows = await self._conn.execute_fetchall(
            f"UPDATE instalments SET overdue_since = {self._d.day_after('due_date')}"
            " WHERE " + self._d.among(
                "id", "SELECT id FROM instalments WHERE " + self._OVERDUE_UNMARKED +
                " ORDER BY due_date, id LIMIT ?" + self._skip_locked()) +
            " AND overdue_since IS NULL RETURNING id,"
            " (SELECT borrower_id FROM bills WHERE bills.id = bill_id), due_date,"
            f" (SELECT {self._d.list_of('a.friend_id')} FROM agreement_instalments ai"
            "  JOIN agreements a ON a.id = ai.agreement_id"
            "  WHERE ai.instalment_id = instalments.id"
            f"  AND {self._d.not_by_index('ai.status')} = 'covered')",
            (day.isoformat(), limit))
        return sorted(OverdueMark(r[0], r[1], r[2],
                                  tuple(sorted({int(f) for f in (r[3] or "").split(",") if f})))
                      for r in rows)

    async def has_covered_parts(self, agreement_id: int) -> bool:
        rows = await self._conn.execute_fetchall(
            # +status: by the agreement's key, not by the status index (most of the book).
            "SELECT 1 FROM agreement_instalments WHERE agreement_id = ?"
            f" AND {self._d.not_by_index('status')} = 'covered' LIMIT 1", (agreement_id,))
        return bool(rows)

    # -- reminders -------------------------------------------------------------------------
    async def slice_reminders(self, day: date, schedule: list[tuple[date, str, int]],
                              page: int, most: int) -> bool:
        """Cut ``day``'s reminders into slices, once: the first worker to get here does it,
        in its unit, and one that waited on it sees the run sliced and does nothing. Each
        due date's unpaid instalments are cut into up to ``most`` slices of about a page
        or more, by id; the last one has no end (an instalment added since is in it)."""
        rows = await self._conn.execute_fetchall(
            "UPDATE servicing_runs SET sliced_at = ? WHERE business_date = ?"
            " AND sliced_at IS NULL RETURNING business_date",
            (utc_iso(self._clock.now()), day.isoformat()))
        if not rows:
            return False
        slices = []
        for step, (due, kind, days) in enumerate(schedule):
            (count,), = await self._conn.execute_fetchall(
                "SELECT COUNT(*) FROM instalments WHERE status = 'unpaid' AND due_date = ?",
                (due.isoformat(),))
            if not count:
                continue
            parts = max(1, min(most, count // page))
            ends = sorted(r[0] for r in await self._conn.execute_fetchall(
                "SELECT MAX(id) FROM (SELECT id, ntile(?) OVER (ORDER BY id) AS part"
                " FROM instalments WHERE status = 'unpaid' AND due_date = ?) AS cut"
                " GROUP BY part", (parts, due.isoformat())))
            starts = [0, *ends[:-1]]
            uptos: list[int | None] = [*ends[:-1], None]
            slices += [(day.isoformat(), kind, days, step, due.isoformat(), after, upto,
                        after) for after, upto in zip(starts, uptos, strict=True)]
        await self._conn.executemany(
            "INSERT INTO servicing_slices (business_date, kind, days, step, due_date,"
            " after_id, upto_id, done_upto) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", slices)
        return True

    async def take_slice(self, day: date) -> ReminderSlice | None:
        """A slice of ``day``'s reminders not yet finished and not held by another worker,
        held until this unit ends."""
        rows = await self._conn.execute_fetchall(
            "SELECT kind, days, due_date, after_id, upto_id, done_upto FROM servicing_slices"
            " WHERE business_date = ? AND finished_at IS NULL"
            " ORDER BY step, after_id LIMIT 1" + self._skip_locked(),  # the schedule's order
            (day.isoformat(),))
        if not rows:
            return None
        kind, days, due, after, upto, done = rows[0]
        return ReminderSlice(day, kind, days, date.fromisoformat(due), after, upto, done)

    async def slices_left(self, day: date) -> bool:
        rows = await self._conn.execute_fetchall(
            "SELECT 1 FROM servicing_slices WHERE business_date = ? AND finished_at IS NULL"
            " LIMIT 1", (day.isoformat(),))
        return bool(rows)

    async def slice_done_upto(self, part: ReminderSlice, upto: int, finished: bool) -> None:
        await self._conn.execute(
            "UPDATE servicing_slices SET done_upto = ?, finished_at = ? WHERE business_date = ?"
            " AND kind = ? AND days = ? AND after_id = ?",
            (upto, utc_iso(self._clock.now()) if finished else None,
             part.business_date.isoformat(), part.kind, part.days, part.after_id))

    async def unpaid_due_on(self, due: date, after_id: int, limit: int,
                            day: date, upto_id: int | None = None) -> list[DueInstalment]:
        rows = await self._conn.execute_fetchall(
            "SELECT i.id, b.borrower_id, i.due_date, i.principal + i.fee, i.paid_amount,"
            " b.merchant, i.seq, b.plan,"
            f" (SELECT {self._d.list_of(_PART)}"
            " FROM agreement_instalments ai"
            "  JOIN agreements a ON a.id = ai.agreement_id WHERE ai.instalment_id = i.id"
            "  AND ai.status = 'covered'),"
            f" (SELECT {self._d.list_of('a.friend_id')} FROM agreement_instalments ai"
            "  JOIN agreements a ON a.id = ai.agreement_id WHERE ai.instalment_id = i.id"
            "  AND ai.last_attempt_on = ?)"
            " FROM instalments i JOIN bills b ON b.id = i.bill_id WHERE i.status = 'unpaid'"
            " AND i.due_date = ? AND i.id > ? AND i.id <= ? ORDER BY i.id LIMIT ?",
            (day.isoformat(), due.isoformat(), after_id,
             upto_id if upto_id is not None else _NO_END, limit))
        found = []
        for r in rows:
            parts = tuple((int(f), Money(int(a))) for f, a in
                          (p.split(":") for p in (r[8] or "").split(",") if p))
            debited = tuple(int(f) for f in (r[9] or "").split(",") if f)
            found.append(DueInstalment(r[0], r[1], date.fromisoformat(r[2]), Money(r[3]),
                                       Money(r[4]), r[5], r[6], r[7], parts, debited))
        return found
