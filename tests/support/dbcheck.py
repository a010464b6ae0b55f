"""Reading what a test's book really stores, as an auditor would, past every repository.

``target`` is a SQLite file, a PostgreSQL URL, or an open database of either engine
(storage.db.Database, storage.pg.db.PostgresDatabase): what a harness calls its ``book``.
The reads are synchronous, so a check reads the same in a test and in a helper: on
PostgreSQL each runs on its own connection in a helper thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path


def _errors(sqlite: type[BaseException], postgres: str) -> tuple[type[BaseException], ...]:
    try:
        import asyncpg
    except ImportError:
        return (sqlite,)
    return (sqlite, getattr(asyncpg, postgres))


# What a constraint's refusal, and a write in a read-only unit, raise through a repository.
INTEGRITY_ERRORS = _errors(sqlite3.IntegrityError, "IntegrityConstraintViolationError")
READ_ONLY_ERRORS = _errors(sqlite3.OperationalError, "ReadOnlySQLTransactionError")


def is_postgres(target) -> bool:
    return _url(target) is not None


def _url(target) -> str | None:
    from storage.location import is_postgres_url

    if isinstance(target, str) and is_postgres_url(target):
        return target
    url = getattr(target, "url", None)  # a database, open or closed
    return url if isinstance(url, str) else None


def q(target, sql: str, *args: object) -> list[tuple]:
    """One statement on its own connection, with ``?`` parameters on either engine; a write
    (a test arranging what code cannot) is committed."""
    if is_postgres(target):
        return _postgres(_url(target), _numbered(sql), *args)
    conn = sqlite3.connect(sqlite_path(target))
    try:
        rows = conn.execute(sql, args).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def refused(target, sql: str) -> str:
    """Run one write as a tamperer would, on its own connection, committed if it is taken.
    Returns the database's refusal; fails the test if the database took it."""
    if is_postgres(target):
        import asyncpg

        try:
            _postgres(_url(target), sql)
        except asyncpg.PostgresError as refusal:
            return str(refusal)
    else:
        conn = sqlite3.connect(sqlite_path(target))
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(sql)
            conn.commit()
        except sqlite3.DatabaseError as refusal:
            return str(refusal)
        finally:
            conn.close()
    raise AssertionError(f"the database took: {sql}")


def dump(target) -> str:
    """Every row of every table as text, as someone with a copy of the database sees it."""
    if not is_postgres(target):
        conn = sqlite3.connect(sqlite_path(target))
        try:
            return "\n".join(conn.iterdump())
        finally:
            conn.close()
    return "\n".join(f"{table}: {row!r}" for table in tables(target)
                     for row in q(target, f'SELECT * FROM "{table}"'))


def json_int(target, column: str, key: str) -> str:
    """SQL for one integer field of a JSON column, in the target's dialect."""
    if is_postgres(target):
        return f"({column} ->> '{key}')::bigint"
    return f"json_extract({column}, '$.{key}')"


def columns(target, table: str) -> list[str]:
    if is_postgres(target):
        return [c for (c,) in q(target, "SELECT column_name FROM information_schema.columns"
                                        f" WHERE table_name = '{table}' ORDER BY ordinal_position")]
    return [c[1] for c in q(target, f"PRAGMA table_info({table})")]


def one(target, sql: str, *args: object) -> object:
    """The first column of the first row, or None."""
    rows = q(target, sql, *args)
    return rows[0][0] if rows else None


def tables(target) -> list[str]:
    if is_postgres(target):
        sql = ("SELECT table_name FROM information_schema.tables"
               " WHERE table_schema = 'public' ORDER BY table_name")
    else:
        sql = ("SELECT name FROM sqlite_master WHERE type = 'table'"
               " AND name NOT LIKE 'sqlite_%' ORDER BY name")
    return [t for (t,) in q(target, sql)]


def _numbered(sql: str) -> str:
    # The tests' own statements: no '?' inside their string literals.
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))


def _postgres(url: str, sql: str, *args: object) -> list[tuple]:
    from storage.pg.db import connect

    async def fetch() -> list[tuple]:
        conn = await connect(url)
        try:
            return [tuple(r) for r in await conn.fetch(sql, *args)]
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
