"""The inbox: Telegram's updates, kept from arrival until handled (migration 0019).

Each call is one statement on the writer outside any transaction, atomic by itself: the
inbox is written for every update, and this spares a BEGIN and COMMIT each time. Nor is
the database lock held across an await, where a busy event loop would keep it."""

from __future__ import annotations

from datetime import datetime

from core.clock import Clock, utc_iso
from storage.book import Book
from storage.leadership import LIVE_WORKERS

_ROWS_PER_INSERT = 100  # a getUpdates batch at most; 6 values a row


class InboxLog:
    def __init__(self, db: Book, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._d = db.dialect

    async def _rows(self, sql: str, params) -> list:
        async with self._db.single_statement() as conn:
            return list(await conn.execute_fetchall(sql, params))

    async def accept(self, updates: list[tuple[int, int | None, bytes, bytes]], worker: int
                     ) -> set[int]:
        """Keep (update id, whose, digest, sealed body) for ``worker`` to handle; gives ids
        that are ``worker``'s to handle: the new ones, and those it kept before and has not
        handled (a fetch that failed after keeping its batch). One another worker kept, or
        handled already (Telegram sending it again), is left as it is; a handled one whose
        digest differs is another update under a reused id, and is kept afresh."""
        now = utc_iso(self._clock.now())
        new: set[int] = set()
        for start in range(0, len(updates), _ROWS_PER_INSERT):
            chunk = updates[start:start + _ROWS_PER_INSERT]
            rows = await self._rows(
                "INSERT INTO inbox (update_id, user_key, digest, body, received_at, taken_by)"
                " VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk))
                + " ON CONFLICT (update_id) DO UPDATE SET taken_by = excluded.taken_by,"
                " user_key = excluded.user_key, digest = excluded.digest,"
                " body = excluded.body, received_at = excluded.received_at, handled_at = NULL"
                " WHERE (inbox.taken_by = excluded.taken_by AND inbox.handled_at IS NULL)"
                " OR (inbox.handled_at IS NOT NULL AND inbox.digest <> excluded.digest)"
                " RETURNING update_id",
                [v for update_id, who, digest, body in chunk
                 for v in (update_id, who, digest, body, now, worker)])
            new.update(update_id for (update_id,) in rows)
        return new

    async def handled(self, update_ids: list[int]) -> None:
        """Done with: their bodies are emptied at once (they may hold what people typed)."""
        if not update_ids:
            return
        now = utc_iso(self._clock.now())
        for start in range(0, len(update_ids), _ROWS_PER_INSERT):
            chunk = update_ids[start:start + _ROWS_PER_INSERT]
            await self._rows(
                "UPDATE inbox SET handled_at = ?, body = NULL WHERE handled_at IS NULL"
                f" AND update_id IN ({', '.join(['?'] * len(chunk))})", (now, *chunk))

    async def waiting(self, user: int, upto: int) -> list[tuple[int, bytes | None]]:
        """``user``'s updates not yet handled, up to ``upto``, in order, whoever kept them:
        read under the user's turn (storage.leadership.WorkerPresence.turn)."""
        return [(update_id, body) for update_id, body in await self._rows(
            "SELECT update_id, body FROM inbox WHERE user_key = ? AND handled_at IS NULL"
            " AND update_id <= ? ORDER BY update_id", (user, upto))]

    async def orphans(self, worker: int, limit: int) -> list[tuple[int, bytes | None]]:
        """Updates kept but not handled by a worker that is gone (on SQLite: an earlier
        run of the one process), taken for ``worker`` to handle, oldest first."""
        gone = (f"taken_by NOT IN ({LIVE_WORKERS})" if self._d.postgres
                else "1 = 1")  # one process at a time: another id is an earlier run
        skip = " FOR UPDATE SKIP LOCKED" if self._d.postgres else ""
        pick = ("SELECT update_id FROM inbox WHERE handled_at IS NULL"
                f" AND (taken_by IS NULL OR (taken_by <> ? AND {gone}))"
                f" ORDER BY update_id LIMIT ?{skip}")
        rows = await self._rows(
            f"UPDATE inbox SET taken_by = ? WHERE {self._d.among('update_id', pick)}"
            " RETURNING update_id, body", (worker, worker, limit))
        return sorted((update_id, body) for update_id, body in rows)

    async def forget_handled(self, before: datetime, limit: int = 1000) -> int:
        """Handled updates older than ``before`` removed, a bounded batch at a time."""
        gone = await self._rows(
            "DELETE FROM inbox WHERE " + self._d.among(
                "update_id", "SELECT update_id FROM inbox WHERE handled_at IS NOT NULL"
                " AND handled_at < ? ORDER BY handled_at LIMIT ?") + " RETURNING update_id",
            (utc_iso(before), limit))
        return len(gone)
