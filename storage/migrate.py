"""Numbered SQL migrations, applied in order at start. Re-running is a no-op; a database
written by a newer Daihuan is refused rather than misread."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

from core.clock import Clock, utc_iso
from storage.db import Database

_NAME = re.compile(r"^([0-9]{4})_([a-z0-9_]+)\.sql$")


class SchemaTooNew(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations(package: str = "storage.migrations",
                         first: int = 1) -> list[Migration]:
    """The migrations in ``package``, numbered ``first``..n without gaps: SQLite's from 1,
    PostgreSQL's (storage.migrations.postgres) from the version it starts at."""
    found = []
    for entry in resources.files(package).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(first, first + len(found))):
        raise RuntimeError(f"migrations in {package} must be numbered {first}..n without gaps,"
                           f" found {versions}")
    return found


async def current_version(db: Database) -> int:
    rows = await db.reader.execute_fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    if not rows:
        return 0
    rows = await db.reader.execute_fetchall("SELECT MAX(version) FROM schema_migrations")
    return rows[0][0] or 0


async def migrate(db: Database, clock: Clock, target: int | None = None) -> list[int]:
    """Apply what is missing (up to ``target``, for tests of a migration on an older
    book); return the versions applied now."""
    migrations = [m for m in available_migrations() if target is None or m.version <= target]
    latest = available_migrations()[-1].version
    applied: list[int] = []
    async with db.transaction() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    version = await current_version(db)
    if version > latest:
        raise SchemaTooNew(
            f"database {db.path} has schema version {version}, newer than this Daihuan "
            f"knows ({latest}); upgrade Daihuan or use a backup from this version")
    for migration in migrations:
        if migration.version <= version:
            continue
        async with db.transaction() as conn:
            # Each statement runs inside this one transaction: a failing migration leaves
            # the database exactly at the previous version.
            for statement in _statements(migration.sql):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, utc_iso(clock.now())))
        applied.append(migration.version)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration into statements; triggers contain ';' inside BEGIN … END."""
    statements, buffer = [], []
    for line in sql.splitlines():
        stripped = line.split("--", 1)[0].rstrip()
        if not stripped.strip():
            continue
        buffer.append(stripped)
        candidate = "\n".join(buffer)
        if sqlite3.complete_statement(candidate):
            statements.append(candidate)
            buffer = []
    if buffer and "\n".join(buffer).strip():
        raise ValueError("migration ends with an unterminated statement")
    return statements

