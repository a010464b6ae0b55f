"""The throwaway PostgreSQL server the suite runs its PostgreSQL half on: it starts from the
machine's binaries, takes connections through asyncpg, and gives each test its own database."""

from __future__ import annotations

import asyncpg


async def test_a_throwaway_server_takes_connections_and_keeps_databases_apart(postgres_url):
    conn = await asyncpg.connect(postgres_url)
    try:
        version = await conn.fetchval("SHOW server_version_num")
        assert int(version) >= 130000
        await conn.execute("CREATE TABLE probe (id bigint PRIMARY KEY, fen bigint NOT NULL)")
        await conn.execute("INSERT INTO probe VALUES (1, 12345)")
        assert await conn.fetchval("SELECT fen FROM probe WHERE id = 1") == 12345
        assert await conn.fetchval("SELECT current_database()") == postgres_url.rsplit("/", 1)[1]
    finally:
        await conn.close()
