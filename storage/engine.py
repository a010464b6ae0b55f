"""Choosing the engine: a PostgreSQL URL opens a PostgreSQL book, anything else is a SQLite
file. Both open migrated, so callers (the bot, the command line, benchmarks, tests) never
branch on the engine themselves."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.clock import Clock
from storage.book import Book
from storage.db import Database
from storage.dialect import POSTGRES
from storage.location import is_postgres_url


def book_for(location: str | Path) -> Book:
    """An unopened book: PostgreSQL for a ``postgresql://`` URL, else a SQLite file."""
    if is_postgres_url(location):
        from storage.pg.db import PostgresDatabase  # asyncpg only for those who use it

        return PostgresDatabase(str(location))
    return Database(location)


def _refused_by_server(error: Exception) -> bool:
    import asyncpg

    return isinstance(error, asyncpg.PostgresError | asyncpg.InterfaceError)


async def migrate_book(db: Book, clock: Clock, target: int | None = None) -> list[int]:
    """Apply the engine's missing migrations; return the versions applied now."""
    if db.dialect is POSTGRES:
        from storage.pg.migrate import migrate as migrate_postgres

        async with db.pool.acquire() as conn:  # type: ignore[attr-defined]
            return await migrate_postgres(conn, clock, where=db.where, target=target)
    from storage.migrate import migrate

    return await migrate(db, clock, target=target)  # type: ignore[arg-type]


async def schema_version(db: Book) -> int:
    if db.dialect is POSTGRES:
        from storage.pg.migrate import current_version

        async with db.pool.acquire() as conn:  # type: ignore[attr-defined]
            return await current_version(conn)
    from storage.migrate import current_version as sqlite_version

    return await sqlite_version(db)  # type: ignore[arg-type]


class BookUnavailable(RuntimeError):
    """The book cannot be reached (no server, wrong password, no such database)."""


async def open_book(location: str | Path, clock: Clock) -> Book:
    """Open and migrate; closed again if migrating fails."""
    book = book_for(location)
    try:
        db = await book.open()
    except OSError as error:
        raise BookUnavailable(f"cannot reach {book.where}: {error}") from None
    except Exception as error:
        if not is_postgres_url(location) or not _refused_by_server(error):
            raise
        # The server's own words (wrong password, no such database); they never hold the
        # password, and the URL is named with it starred out.
        raise BookUnavailable(f"{book.where} refused the connection: {error}") from None
    try:
        await migrate_book(db, clock)
    except BaseException:
        await db.close()
        raise
    return db


async def what_the_book_holds(location: str | Path) -> str | None:
    """Why ``location`` is not a fresh book, or None: for a SQLite file, that it exists;
    for PostgreSQL, that the database holds something beyond an empty schema."""
    if not is_postgres_url(location):
        return "it exists" if await asyncio.to_thread(Path(location).exists) else None
    from storage.location import redacted
    from storage.pg.copy import what_it_holds
    from storage.pg.db import connect

    try:
        conn = await connect(str(location))
    except Exception as error:
        if isinstance(error, OSError) or _refused_by_server(error):
            raise BookUnavailable(f"cannot reach {redacted(str(location))}: "
                                  f"{type(error).__name__}") from None
        raise
    try:
        return await what_it_holds(conn)
    finally:
        await conn.close()
