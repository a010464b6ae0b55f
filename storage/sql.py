"""What a repository needs of a connection: aiosqlite's Connection has it, and so does
storage.pg.connection.PgConnection for asyncpg. Rows index by column name and by position
on both (aiosqlite.Row, asyncpg.Record)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol


class Sql(Protocol):
    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ...
                               ) -> Iterable[Any]: ...

    async def execute(self, sql: str, parameters: Sequence[Any] = ...) -> Any: ...

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Any: ...
