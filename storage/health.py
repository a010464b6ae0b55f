"""Counts for /healthz and /metrics, read in one go on the reader connection."""

from __future__ import annotations

from datetime import date, datetime

from core.clock import Clock, utc_iso
from core.health import HealthSnapshot
from storage.sql import Sql


class HealthStore:
    def __init__(self, conn: Sql, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock

    async def snapshot(self, now: datetime) -> HealthSnapshot:
        async def rows(sql: str, *args: object) -> list[tuple]:
            return list(await self._conn.execute_fetchall(sql, args))

        (last,), = await rows("SELECT MAX(business_date) FROM servicing_runs"
                              " WHERE finished_at IS NOT NULL")
        # Totals kept by trigger: the sent notices, the debits and the transfers only grow.
        totals = dict(await rows("SELECT name, SUM(value) FROM book_totals"
                                 " WHERE name = 'transfers'"
                                 " OR (name >= 'debits:' AND name < 'outbox;') GROUP BY name"))
        outbox = {name.removeprefix("outbox:"): n for name, n in totals.items()
                  if name.startswith("outbox:") and n}
        debits = {name.removeprefix("debits:"): n for name, n in totals.items()
                  if name.startswith("debits:") and n}
        (due,), = await rows("SELECT COUNT(*) FROM outbox WHERE status = 'pending'"
                             " AND next_attempt_at <= ?", utc_iso(now))
        (alerts,), = await rows("SELECT COUNT(*) FROM alerts WHERE status = 'open'")
        return HealthSnapshot(date.fromisoformat(last) if last else None, outbox, due, debits,
                              alerts, totals.get("transfers", 0))
