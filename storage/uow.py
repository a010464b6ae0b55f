"""The SQLite unit of work: one ``BEGIN IMMEDIATE`` transaction with repositories bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self

import aiosqlite

from core.clock import Clock
from storage.bills import SqliteBills
from storage.cover import SqliteCover
from storage.db import Database, Transaction
from storage.events import SqliteEventLog
from storage.health import SqliteHealth
from storage.identities import SqliteIdentities
from storage.ledger import SqliteLedger
from storage.outbox import SqliteOutbox
from storage.risk import SqliteRisk
from storage.servicing import SqliteServicing
from storage.users import SqliteUsers


class _SqliteRepositories:
    """The repositories of one unit, bound to one connection."""

    users: SqliteUsers
    ledger: SqliteLedger
    identities: SqliteIdentities
    bills: SqliteBills
    cover: SqliteCover
    servicing: SqliteServicing
    outbox: SqliteOutbox
    risk: SqliteRisk
    health: SqliteHealth
    events: SqliteEventLog

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def _bind(self, conn: aiosqlite.Connection) -> None:
        self.users = SqliteUsers(conn, self._clock)
        self.ledger = SqliteLedger(conn, self._clock)
        self.identities = SqliteIdentities(conn, self._clock)
        self.bills = SqliteBills(conn, self._clock)
        self.cover = SqliteCover(conn, self._clock)
        self.servicing = SqliteServicing(conn, self._clock)
        self.outbox = SqliteOutbox(conn, self._clock)
        self.risk = SqliteRisk(conn, self._clock)
        self.health = SqliteHealth(conn, self._clock)
        self.events = SqliteEventLog(conn, self._clock)


class SqliteUnitOfWork(_SqliteRepositories):
    """``async with uow: … await uow.commit()``. Leaving the block without ``commit`` (or
    with an exception) rolls back everything the block wrote."""

    def __init__(self, db: Database, clock: Clock) -> None:
        super().__init__(db, clock)
        self._tx: Transaction | None = None
        self._savepoints = 0

    async def __aenter__(self) -> Self:
        self._tx = await self._db.begin()
        self._bind(self._tx.conn)
        return self

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested step that can fail alone: its writes are undone, the unit goes on."""
        if self._tx is None:
            raise RuntimeError("unit of work is not open")
        conn = self._tx.conn
        self._savepoints += 1
        name = f"step{self._savepoints}"
        await conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            await conn.execute(f"ROLLBACK TO {name}")
            await conn.execute(f"RELEASE {name}")
            raise
        await conn.execute(f"RELEASE {name}")

    async def commit(self) -> None:
        if self._tx is None:
            raise RuntimeError("unit of work is not open")
        await self._tx.commit()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        tx, self._tx = self._tx, None
        if tx is not None and tx.open:
            await tx.rollback()


class SqliteReadOnlyUnitOfWork(_SqliteRepositories):
    """Repositories on the reader connection: no write lock, so a page of /bills never waits
    behind a servicing run or a CLI import. Each statement sees the latest commit; the
    connection is query_only, so a write through it fails instead of slipping out. It has
    no ``commit`` and no ``savepoint``: there is nothing to keep."""

    async def __aenter__(self) -> Self:
        self._bind(self._db.reader)
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class SqliteUnitOfWorkFactory:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self._clock = clock

    def __call__(self) -> SqliteUnitOfWork:
        return SqliteUnitOfWork(self.db, self._clock)

    def read(self) -> SqliteReadOnlyUnitOfWork:
        return SqliteReadOnlyUnitOfWork(self.db, self._clock)
