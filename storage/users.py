"""Users on SQLite."""

from __future__ import annotations

from typing import Any

from core.clock import Clock, parse_utc_iso, utc_iso
from core.users import Language, User
from storage.dialect import SQLITE, Dialect
from storage.sql import Sql

_COLUMNS = ("id, display_name, language, telegram_language, created_at, frozen_reason,"
            " blocked_at")


def _user(row: Any) -> User:
    return User(id=row["id"], display_name=row["display_name"],
                language=Language.parse(row["language"]) if row["language"] else None,
                telegram_language=row["telegram_language"],
                created_at=parse_utc_iso(row["created_at"]),
                frozen_reason=row["frozen_reason"], blocked=row["blocked_at"] is not None)


class UserStore:
    def __init__(self, conn: Sql, clock: Clock, dialect: Dialect = SQLITE,
                 locking: bool = False) -> None:
        self._conn = conn
        self._clock = clock
        self._locks = dialect.locker(locking)

    async def hold(self, *user_ids: int) -> None:
        """Decisions about these people's caps and state happen one unit at a time from
        here to the end of this unit: their rows are locked, in id order so that two
        units holding the same pair cannot deadlock."""
        locks = self._locks()
        if not locks or not user_ids:
            return
        ids = sorted(set(user_ids))
        await self._conn.execute_fetchall(
            f"SELECT id FROM users WHERE id IN ({','.join('?' * len(ids))}) ORDER BY id{locks}",
            ids)

    async def get(self, user_id: int) -> User | None:
        rows = await self._conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,))
        return _user(rows[0]) if rows else None

    async def upsert_seen(self, user_id: int, display_name: str,
                          telegram_language: str | None) -> User:
        now = utc_iso(self._clock.now())
        rows = await self._conn.execute_fetchall(
            "INSERT INTO users (id, display_name, telegram_language, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name,"
            " telegram_language = excluded.telegram_language, updated_at = excluded.updated_at,"
            " blocked_at = NULL"
            f" RETURNING {_COLUMNS}",
            (user_id, display_name, telegram_language, now, now))
        return _user(rows[0])

    async def ensure(self, user_id: int) -> None:
        """A user we have not met yet (named in an operator's import): a placeholder row
        that their first message fills in."""
        now = utc_iso(self._clock.now())
        await self._conn.execute(
            "INSERT INTO users (id, display_name, created_at, updated_at) VALUES (?, '', ?, ?)"
            " ON CONFLICT (id) DO NOTHING", (user_id, now, now))

    async def set_language(self, user_id: int, language: Language) -> None:
        await self._conn.execute(
            "UPDATE users SET language = ?, updated_at = ? WHERE id = ?",
            (language.value, utc_iso(self._clock.now()), user_id))
