"""Drafts of flows under way, one row per person (migration 0021), sealed by the caller
(bot.drafts). Each call is one statement outside any transaction, as the inbox's are: it is
read before and written after each update of a person in a flow, under their turn."""

from __future__ import annotations

from datetime import datetime

from core.clock import Clock, utc_iso
from storage.book import Book


class DraftStore:
    def __init__(self, db: Book, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._d = db.dialect

    async def _rows(self, sql: str, params) -> list:
        async with self._db.single_statement() as conn:
            return list(await conn.execute_fetchall(sql, params))

    async def get(self, user_id: int) -> bytes | None:
        """``user_id``'s sealed draft, unless its time is over."""
        rows = await self._rows("SELECT body FROM drafts WHERE user_id = ? AND expires_at > ?",
                                (user_id, utc_iso(self._clock.now())))
        return bytes(rows[0][0]) if rows else None

    async def put(self, user_id: int, body: bytes, expires_at: datetime) -> None:
        now = utc_iso(self._clock.now())
        await self._rows(
            "INSERT INTO drafts (user_id, body, expires_at, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET body = excluded.body,"
            " expires_at = excluded.expires_at, updated_at = excluded.updated_at",
            (user_id, body, utc_iso(expires_at), now))

    async def drop(self, user_id: int) -> None:
        await self._rows("DELETE FROM drafts WHERE user_id = ?", (user_id,))

    async def forget_expired(self, limit: int = 1000) -> int:
        """Drafts whose time is over removed (a phone number and a name may wait in one),
        a bounded batch at a time."""
        gone = await self._rows(
            "DELETE FROM drafts WHERE " + self._d.among(
                "user_id", "SELECT user_id FROM drafts WHERE expires_at <= ?"
                " ORDER BY expires_at LIMIT ?") + " RETURNING user_id",
            (utc_iso(self._clock.now()), limit))
        return len(gone)
