"""Reading what a test's book really stores, as an auditor would, past every repository.

``target`` is a SQLite file, or an open database of either engine (storage.db.Database,
storage.pg.db.PostgresDatabase). The reads are synchronous, so a check reads the same in a
test and in a helper: on PostgreSQL each runs on its own connection in a helper thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path


def is_postgres(target) -> bool:
    return hasattr(target, "pool")


def q(target, sql: str) -> list[tuple]:
    if is_postgres(target):
        return _postgres(target.url, sql)
    conn = sqlite3.connect(getattr(target, "path", target))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _postgres(url: str, sql: str) -> list[tuple]:
    import asyncpg

    from storage.pg.db import _setup

    async def fetch() -> list[tuple]:
        conn = await asyncpg.connect(url)
        try:
            await _setup(conn)
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    result: list = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.extend(asyncio.run(fetch()))
        except BaseException as error:  # re-raised in the caller's thread
            failure.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result


def sqlite_path(target) -> Path:
    return Path(getattr(target, "path", target))
