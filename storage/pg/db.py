"""One PostgreSQL book: a pool of asyncpg connections, with the same surface the units of
work use on SQLite's ``storage.db.Database`` (``begin``, ``transaction``, ``reading``,
``single_statement``, ``reader``).

Unlike SQLite, writers run in parallel, each in its own READ COMMITTED transaction on its own
connection; the rules that read before they write take row locks (the ledger's and the
over-cover triggers, ``FOR UPDATE`` in the repositories: docs/postgres.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import asyncpg

from storage.dialect import POSTGRES
from storage.location import redacted
from storage.pg.connection import PgConnection, Written

POOL_SIZE = 10


def _numeric(text: str) -> int | Decimal:
    # SQLite's SUM of integers is an integer, PostgreSQL's is numeric: read a whole number as
    # an int, so money sums are Money-ready on both engines. Nothing else is numeric here.
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else value


async def _setup(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("numeric", encoder=str, decoder=_numeric, schema="pg_catalog",
                              format="text")


async def _reset(conn: asyncpg.Connection) -> None:
    """What a connection needs on its way back to the pool: nothing more.

    asyncpg rolls back an open transaction itself before this runs. Its default reset then
    sends one more statement per release (RESET ALL, UNLISTEN, advisory unlock, CLOSE ALL),
    a round trip per unit of work for session state this code never leaves behind: no
    LISTEN, no cursors beyond a transaction, no session-level locks or settings."""


# Times are stored as UTC text; casts to timestamptz (storage.dialect) read them as UTC. A
# startup setting, not a SET: it holds for the connection's whole life, whatever the
# server's or the database's default time zone.
_SESSION = {"timezone": "UTC"}


async def connect(url: str) -> asyncpg.Connection:
    """One connection set up as the pool's are, for tools that need only one."""
    conn = await asyncpg.connect(url, server_settings=_SESSION)
    try:
        await _setup(conn)
    except BaseException:
        conn.terminate()
        raise
    return conn


class PostgresDatabase:
    dialect = POSTGRES
    # What the server says when it ends a unit to let another through (core.ports.Conflict).
    conflicts: tuple[type[BaseException], ...] = (asyncpg.DeadlockDetectedError,
                                                  asyncpg.SerializationError)
    path = None  # no file beside which to save reports

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self.where = redacted(url)
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> PostgresDatabase:
        self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=self._pool_size,
                                               init=_setup, reset=_reset,
                                               server_settings=_SESSION)
        return self

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def __aenter__(self) -> PostgresDatabase:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    @property
    def reader(self) -> PoolReader:
        """Each statement on a free connection, committed on its own (tests, exports)."""
        return PoolReader(self.pool)

    async def begin(self) -> PgTransaction:
        conn = await self.pool.acquire()
        try:
            tx = conn.transaction()
            await tx.start()
        except BaseException:
            # Cancelled mid-BEGIN, the connection's state is unknown: drop it (the server ends
            # whatever it began) rather than hand it back half-open.
            conn.terminate()
            await self.pool.release(conn)
            raise
        return PgTransaction(self.pool, conn, tx)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgConnection]:
        tx = await self.begin()
        try:
            yield tx.conn
        except BaseException:
            await tx.rollback()
            raise
        await tx.commit()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[PgConnection]:
        """A READ ONLY transaction: one snapshot for the whole read, and a write through
        it fails instead of slipping out."""
        async with self.pool.acquire() as conn, conn.transaction(readonly=True):
            yield PgConnection(conn)

    @asynccontextmanager
    async def single_statement(self) -> AsyncIterator[PgConnection]:
        async with self.pool.acquire() as conn:
            yield PgConnection(conn)


class PgTransaction:
    """An open transaction on a connection of the pool, held until commit or rollback."""

    def __init__(self, pool: asyncpg.Pool, raw: asyncpg.Connection,
                 tx: asyncpg.transaction.Transaction) -> None:
        self._pool = pool
        self._raw = raw
        self._tx = tx
        self.conn = PgConnection(raw)
        self.open = True

    async def commit(self) -> None:
        await self._end(self._tx.commit)

    async def rollback(self) -> None:
        await self._end(self._tx.rollback)

    async def _end(self, end: Callable[[], Awaitable[None]]) -> None:
        self._check_open()
        try:
            await end()
        except BaseException:
            # A COMMIT refused by the server has rolled back; one cancelled on the way has
            # an outcome only the server knows. Either way this connection's transaction
            # state is not ours to trust: close it, and the server rolls back what is open.
            self._raw.terminate()
            await self._release()
            raise
        await self._release()

    def _check_open(self) -> None:
        if not self.open:
            raise RuntimeError("transaction already ended")

    async def _release(self) -> None:
        self.open = False
        # The pool resets a connection it gets back, aborting anything left open on it.
        await self._pool.release(self._raw)


class PoolReader:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list:
        async with self._pool.acquire() as conn:
            return await PgConnection(conn).execute_fetchall(sql, parameters)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Written:
        async with self._pool.acquire() as conn:
            return await PgConnection(conn).execute(sql, parameters)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self._pool.acquire() as conn:
            await PgConnection(conn).executemany(sql, rows)
