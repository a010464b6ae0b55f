"""One asyncpg connection seen the way the repositories see an aiosqlite one.

The repositories write their SQL once, with SQLite's ``?`` placeholders; this turns them
into PostgreSQL's ``$1, $2, …`` (once per distinct statement) and gives back what aiosqlite
would: rows that index by name and by position, and a ``rowcount`` for writes."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

_COUNT = re.compile("[0-9]+")


@functools.lru_cache(maxsize=2048)
def numbered(sql: str) -> str:
    """``?`` placeholders as ``$n``; a ``?`` inside a quoted literal or identifier stays."""
    out: list[str] = []
    n = 0
    quote: str | None = None
    for ch in sql:
        if quote is not None:
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
        elif ch == "?":
            n += 1
            out.append(f"${n}")
            continue
        out.append(ch)
    return "".join(out)


@dataclass(frozen=True)
class Written:
    """What aiosqlite's cursor tells after a write: how many rows it touched."""

    rowcount: int


def _rowcount(status: str) -> int:
    # asyncpg returns the command tag: "UPDATE 3", "INSERT 0 1", "DELETE 0".
    last = status.rsplit(" ", 1)[-1]
    return int(last) if _COUNT.fullmatch(last) else -1


class PgConnection:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.raw = conn

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()
                               ) -> list[asyncpg.Record]:
        return await self.raw.fetch(numbered(sql), *parameters)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Written:
        if parameters:
            return Written(_rowcount(await self.raw.execute(numbered(sql), *parameters)))
        return Written(_rowcount(await self.raw.execute(sql)))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            await self.raw.executemany(numbered(sql), rows)
