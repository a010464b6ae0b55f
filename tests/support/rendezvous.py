"""Two units of work made to race on PostgreSQL, deterministically.

``Rendezvous(db, pattern, ...)`` is the book with one change: in each writing unit, the first
statement whose SQL contains one of the patterns pauses once it has run (so the row locks it
took stay held) until every party has reached that point, or ``patience`` seconds pass.

- Without a lock, every party reads the same state, meets the others, and then all of them
  write on what they read: the race the rule must survive happens every time.
- With the lock, the second party's read waits for the first unit to end, so it never
  arrives; the first one waits out its patience alone, commits, and the second reads what
  the first wrote.

So a test that runs with the locks, then again with them dropped (``without_row_locks``),
shows both that the rule holds and that the lock is what holds it."""

from __future__ import annotations

import asyncio
from typing import Any

from storage import dialect


class Rendezvous:
    def __init__(self, db: Any, *patterns: str, parties: int = 2,
                 patience: float = 0.5) -> None:
        self._db = db
        self._patterns = patterns
        self._parties = parties
        self._patience = patience
        self._waiting = 0
        self._all_here = asyncio.Event()
        self.met = False  # every party reached the point together (no lock kept one out)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    async def begin(self) -> Any:
        tx = await self._db.begin()
        tx.conn = _Pausing(tx.conn, self)
        return tx

    def matches(self, sql: str) -> bool:
        return any(p in sql for p in self._patterns)

    async def arrive(self) -> None:
        if self._waiting + 1 >= self._parties:
            self.met = True  # everyone else is still waiting here: they meet
            self._all_here.set()
            return
        self._waiting += 1
        try:
            await asyncio.wait_for(self._all_here.wait(), self._patience)
        except TimeoutError:
            pass  # a lock kept the others out: go on alone
        finally:
            self._waiting -= 1


class _Pausing:
    def __init__(self, conn: Any, meeting: Rendezvous) -> None:
        self._conn = conn
        self._meeting = meeting
        self._paused = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def _after(self, sql: str) -> None:
        if not self._paused and self._meeting.matches(sql):
            self._paused = True
            await self._meeting.arrive()

    async def execute_fetchall(self, sql: str, parameters: Any = ()) -> Any:
        rows = await self._conn.execute_fetchall(sql, parameters)
        await self._after(sql)
        return rows

    async def execute(self, sql: str, parameters: Any = ()) -> Any:
        written = await self._conn.execute(sql, parameters)
        await self._after(sql)
        return written

    async def executemany(self, sql: str, rows: Any) -> None:
        await self._conn.executemany(sql, rows)
        await self._after(sql)


def without_row_locks(monkeypatch) -> None:
    """The repositories' ``FOR UPDATE`` dropped, as if nobody had written them."""
    monkeypatch.setattr(dialect.Dialect, "locker", lambda self, locking: dialect._no_locks)
