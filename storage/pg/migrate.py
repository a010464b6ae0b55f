"""PostgreSQL's numbered migrations (storage/migrations/postgres), applied in order at start.

The numbers are SQLite's: 0014 brings an empty database to the schema SQLite has after its
0001-0014, and each later migration exists for both engines under one number, so a schema
version means the same book on either. Several processes may start at once: the first takes
an advisory lock for the whole run and the others wait for it, then find nothing to do."""

from __future__ import annotations

import asyncpg

from core.clock import Clock, utc_iso
from storage.migrate import Migration, SchemaTooNew, available_migrations

FIRST_VERSION = 14
# pg_advisory_xact_lock's key for migrating: any fixed number no other lock of ours uses.
MIGRATION_LOCK = 0x44414948  # "DAIH"


def postgres_migrations() -> list[Migration]:
    return available_migrations("storage.migrations.postgres", first=FIRST_VERSION)


async def current_version(conn: asyncpg.Connection) -> int:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    return await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")


async def migrate(conn: asyncpg.Connection, clock: Clock, where: str = "the database",
                  target: int | None = None) -> list[int]:
    """Apply what is missing (up to ``target``), all in one transaction: a failing
    migration leaves the database exactly as it was. Returns the versions applied now."""
    migrations = postgres_migrations()
    latest = migrations[-1].version
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        version = await current_version(conn)
        if version > latest:
            raise SchemaTooNew(
                f"{where} has schema version {version}, newer than this Daihuan knows "
                f"({latest}); upgrade Daihuan or use a backup from this version")
        for migration in migrations:
            if migration.version <= version or (target is not None
                                                 and migration.version > target):
                continue
            await conn.execute(migration.sql)  # a script: no parameters, many statements
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                migration.version, migration.name, utc_iso(clock.now()))
            applied.append(migration.version)
    return applied
