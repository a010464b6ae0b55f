"""Units of work on either engine: one transaction with the repositories bound to it.

On SQLite (storage.db) a unit is one ``BEGIN IMMEDIATE`` transaction on the single writer; on
PostgreSQL (storage.pg.db) one READ COMMITTED transaction on a connection of the pool. The
repositories are the same; where the engines' SQL differs they ask the database's dialect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Self

from core.clock import Clock
from core.ports import Conflict
from storage.bills import BillStore
from storage.book import Book, BookTransaction
from storage.cover import CoverStore
from storage.events import EventStore
from storage.health import HealthStore
from storage.identities import IdentityStore
from storage.ledger import LedgerStore
from storage.outbox import OutboxStore
from storage.risk import RiskStore
from storage.servicing import ServicingStore
from storage.sql import Sql
from storage.users import UserStore


class _Repositories:
    """The repositories of one unit, bound to one connection."""

    users: UserStore
    ledger: LedgerStore
    identities: IdentityStore
    bills: BillStore
    cover: CoverStore
    servicing: ServicingStore
    outbox: OutboxStore
    risk: RiskStore
    health: HealthStore
    events: EventStore

    def __init__(self, db: Book, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def _bind(self, conn: Sql, locking: bool) -> None:
        # A writing unit locks the rows its decisions read (PostgreSQL; docs/postgres.md).
        d, clock = self._db.dialect, self._clock
        self.users = UserStore(conn, clock, d, locking)
        self.ledger = LedgerStore(conn, clock)
        self.identities = IdentityStore(conn, clock)
        self.bills = BillStore(conn, clock, d, locking)
        self.cover = CoverStore(conn, clock, d, locking)
        self.servicing = ServicingStore(conn, clock, d, locking)
        self.outbox = OutboxStore(conn, clock, d)
        self.risk = RiskStore(conn, clock, d)
        self.health = HealthStore(conn, clock)
        self.events = EventStore(conn, clock)


class StorageUnitOfWork(_Repositories):
    """``async with uow: … await uow.commit()``. Leaving the block without ``commit`` (or
    with an exception) rolls back everything the block wrote."""

    def __init__(self, db: Book, clock: Clock) -> None:
        super().__init__(db, clock)
        self._tx: BookTransaction | None = None
        self._savepoints = 0

    async def __aenter__(self) -> Self:
        self._tx = await self._db.begin()
        self._bind(self._tx.conn, locking=True)
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
        if exc is not None and isinstance(exc, self._db.conflicts):
            raise Conflict(str(exc)) from exc


class StorageReadUnit(_Repositories):
    """Repositories for reading only, never behind a writer, so a page of /bills never waits
    for a servicing run or a CLI import. On SQLite: the reader connection, each statement
    seeing the latest commit (query_only); on PostgreSQL: a READ ONLY transaction. A write
    through either fails instead of slipping out. There is no ``commit`` and no
    ``savepoint``: there is nothing to keep."""

    def __init__(self, db: Book, clock: Clock) -> None:
        super().__init__(db, clock)
        self._reading: AbstractAsyncContextManager[Sql] | None = None

    async def __aenter__(self) -> Self:
        self._reading = self._db.reading()
        self._bind(await self._reading.__aenter__(), locking=False)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        reading, self._reading = self._reading, None
        if reading is not None:
            await reading.__aexit__(exc_type, exc, tb)


class StorageUnitOfWorkFactory:
    def __init__(self, db: Book, clock: Clock) -> None:
        self.db = db
        self._clock = clock

    def __call__(self) -> StorageUnitOfWork:
        return StorageUnitOfWork(self.db, self._clock)

    def read(self) -> StorageReadUnit:
        return StorageReadUnit(self.db, self._clock)
