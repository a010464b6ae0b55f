"""Verified identities on SQLite: hashes and masks only."""

from __future__ import annotations

from typing import Any

from core.clock import Clock, utc_iso
from core.identity import VerifiedIdentity
from storage.sql import Sql

_COLUMNS = "user_id, legal_name, id_hash, id_mask, phone_mask"


def _identity(row: Any) -> VerifiedIdentity:
    return VerifiedIdentity(user_id=row["user_id"], legal_name=row["legal_name"],
                            id_hash=row["id_hash"], id_mask=row["id_mask"],
                            phone_mask=row["phone_mask"])


class IdentityStore:
    def __init__(self, conn: Sql, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock

    async def get(self, user_id: int) -> VerifiedIdentity | None:
        rows = await self._conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM identities WHERE user_id = ?", (user_id,))
        return _identity(rows[0]) if rows else None

    async def by_id_hashes(self, id_hashes: list[str]) -> VerifiedIdentity | None:
        marks = ",".join("?" * len(id_hashes))
        rows = await self._conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM identities WHERE id_hash IN ({marks})", id_hashes)
        return _identity(rows[0]) if rows else None

    async def add(self, identity: VerifiedIdentity) -> None:
        await self._conn.execute(
            f"INSERT INTO identities ({_COLUMNS}, verified_at) VALUES (?, ?, ?, ?, ?, ?)",
            (identity.user_id, identity.legal_name, identity.id_hash, identity.id_mask,
             identity.phone_mask, utc_iso(self._clock.now())))
