"""What the units of work need of a database, whichever the engine: storage.db.Database
(SQLite) and storage.pg.db.PostgresDatabase both are one."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from storage.dialect import Dialect
from storage.sql import Sql


class BookTransaction(Protocol):
    conn: Sql
    open: bool

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class Book(Protocol):
    dialect: Dialect
    conflicts: tuple[type[BaseException], ...]  # errors that mean core.ports.Conflict
    where: str  # names the database in messages (a PostgreSQL password is never in it)

    async def open(self) -> Book: ...

    async def begin(self) -> BookTransaction: ...

    def transaction(self) -> AbstractAsyncContextManager[Sql]: ...

    def reading(self) -> AbstractAsyncContextManager[Sql]: ...

    def single_statement(self) -> AbstractAsyncContextManager[Sql]: ...

    async def close(self) -> None: ...
