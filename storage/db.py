"""One SQLite database: a single writer connection (every write transaction is serialised
through it, so two handlers can never interleave half an operation) and a reader connection
for queries outside transactions (WAL lets it read while the writer writes)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from storage.dialect import SQLITE

BUSY_TIMEOUT_MS = 5000


class Database:
    dialect = SQLITE
    conflicts: tuple[type[BaseException], ...] = ()  # one writer: units never collide

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.where = f"database {self.path}"
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    async def open(self) -> Database:
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await _connect(self.path)
        self._reader = await _connect(self.path)
        # Reads never wait for the writer (WAL), and the reader can never write by mistake.
        await self._reader.execute("PRAGMA query_only = ON")
        return self

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise RuntimeError("database is not open")
        return self._reader

    async def begin(self) -> Transaction:
        """Take the writer and start ``BEGIN IMMEDIATE``; the caller must end it.

        IMMEDIATE takes SQLite's write lock up front, so another process (the CLI running
        servicing beside the bot) waits for ``busy_timeout`` instead of failing mid-way.
        """
        if self._writer is None:
            raise RuntimeError("database is not open")
        await self._write_lock.acquire()
        writer = self._writer
        try:
            await writer.execute("BEGIN IMMEDIATE")
        except BaseException:
            # Cancelled (or failed) while the BEGIN sat in aiosqlite's queue: it may still run.
            # Queue a rollback behind it before anyone else may write; aiosqlite runs calls in
            # order, so a later writer's BEGIN cannot overtake it.
            await _undo(writer)
            self._write_lock.release()
            raise
        return Transaction(writer, self._write_lock)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """The reader: each statement sees the latest commit, and never waits for the
        writer (WAL)."""
        yield self.reader

    @asynccontextmanager
    async def single_statement(self) -> AsyncIterator[aiosqlite.Connection]:
        """The writer, outside any transaction: each statement commits on its own.

        For a write that is one statement (SQLite makes a statement atomic, triggers and
        all), this saves the BEGIN and COMMIT round trips to aiosqlite's thread.
        """
        if self._writer is None:
            raise RuntimeError("database is not open")
        async with self._write_lock:
            if self._writer.in_transaction:  # never write into a transaction nobody owns
                raise RuntimeError("writer connection is inside a stray transaction")
            yield self._writer

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A transaction that commits when the block ends and rolls back on any exception."""
        tx = await self.begin()
        try:
            yield tx.conn
        except BaseException:
            await tx.rollback()
            raise
        await tx.commit()


class Transaction:
    """An open write transaction holding the writer until ``commit`` or ``rollback``."""

    def __init__(self, conn: aiosqlite.Connection, lock: asyncio.Lock) -> None:
        self.conn = conn
        self._lock = lock
        self.open = True

    async def commit(self) -> None:
        self._check_open()
        try:
            await self.conn.execute("COMMIT")
        except BaseException:
            await self._end_with_rollback()
            raise
        self._release()

    async def rollback(self) -> None:
        self._check_open()
        await self._end_with_rollback()

    async def _end_with_rollback(self) -> None:
        try:
            await _undo(self.conn)
        finally:
            self._release()

    def _check_open(self) -> None:
        if not self.open:
            raise RuntimeError("transaction already ended")

    def _release(self) -> None:
        self.open = False
        self._lock.release()


async def _undo(conn: aiosqlite.Connection) -> None:
    """Roll back whatever transaction is open once the calls already queued have run.

    Shielded: a second cancellation must not stop the rollback from being queued, and the
    task that queues it is created before the writer lock can pass to anyone else.
    """
    undo = asyncio.ensure_future(conn.rollback())  # sqlite3: a no-op outside a transaction
    with contextlib.suppress(asyncio.CancelledError):  # it runs anyway, ahead of later calls
        await asyncio.shield(undo)


async def _connect(path: Path) -> aiosqlite.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves; the driver adds nothing.
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute("PRAGMA synchronous = NORMAL")
    await conn.execute("PRAGMA foreign_keys = ON")
    return conn
