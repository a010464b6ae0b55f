"""PostgreSQL for the benchmarks: a fresh database per measurement on the server that
``--database-url`` names (the role needs CREATEDB), dropped afterwards; or, with
``--database-url throwaway``, a server of its own started like the tests' (Debian's binaries
in a temporary folder) but with PostgreSQL's default durability: fsync on, synchronous
commit on, so every COMMIT waits for its WAL flush, as in a deployment."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from storage.location import redacted

THROWAWAY = "throwaway"
_names = itertools.count()


@contextmanager
def server(url: str) -> Iterator[str]:
    """The URL of a server to create databases on: the one given, or a throwaway one."""
    if url != THROWAWAY:
        yield url
        return
    from tests.support.postgres import ThrowawayPostgres, server_binaries

    bindir = server_binaries()
    if bindir is None:
        raise SystemExit("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin) here")
    pg = ThrowawayPostgres(bindir, durable=True)
    try:
        yield pg.start()
    finally:
        pg.stop()


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextmanager
def fresh_database(url: str, template: str | None = None) -> Iterator[str]:
    """A new empty database on the server at ``url`` (or a copy of the database at the URL
    ``template``, which nobody may be connected to); dropped when the block ends."""
    name = f"daihuan_bench_{next(_names)}"
    copy = f" TEMPLATE {urlsplit(template).path.lstrip('/')}" if template else ""

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"DROP DATABASE IF EXISTS {name}"))
    asyncio.run(admin(f"CREATE DATABASE {name}{copy}"))
    try:
        yield _with_database(url, name)
    finally:
        asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


async def durability(url: str) -> str:
    """What a COMMIT waits for on this server, for the benchmark's header."""
    conn = await asyncpg.connect(url)
    try:
        fsync = await conn.fetchval("SHOW fsync")
        commit = await conn.fetchval("SHOW synchronous_commit")
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    return f"PostgreSQL {version} at {redacted(url)}; fsync={fsync}, synchronous_commit={commit}"
