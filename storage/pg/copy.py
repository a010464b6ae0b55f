"""Moving a SQLite book into an empty PostgreSQL database, checked before anything commits.

The copy is one PostgreSQL transaction: either the whole book arrives and passes every
check, or the target is left as it was (migrated, and empty). Rows are copied as they are,
ids included, so every reference, signed text and event means what it meant. While they
arrive the target's own triggers are off: they derive what the source already holds (a
transfer's postings, the balances, the event index, the book totals) and would add it a
second time. CHECK, UNIQUE and foreign-key constraints stay on. Then the copy is checked
against the source:

- every table holds as many rows as the source's;
- the ledger balances (each transfer sums to zero, each cached balance is its postings'
  sum, all balances sum to zero) and every account's balance is the source's;
- every signed agreement text still hashes to the SHA-256 recorded when it was signed, and
  each agreement's hash is the source's.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import asyncpg

from core.clock import Clock
from storage.backup import BackupRefused, check
from storage.location import redacted
from storage.migrate import available_migrations
from storage.pg.db import connect
from storage.pg.migrate import current_version
from storage.pg.migrate import migrate as migrate_postgres

BATCH = 5_000  # rows per COPY: memory stays flat, round trips stay few
# Not copied: each engine keeps its own record of the migrations it ran.
OWN_TABLES = frozenset({"schema_migrations"})
# Filled by the target's migrations with zeros; replaced by the source's running totals.
SEEDED_TABLES = frozenset({"book_totals"})


class CopyRefused(RuntimeError):
    """The copy did not start, or was rolled back: the message says why."""


@dataclass(frozen=True)
class CopyReport:
    version: int
    rows: dict[str, int] = field(default_factory=dict)  # per table
    accounts: int = 0
    signed_texts: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


async def copy_to_postgres(source: Path, url: str, clock: Clock,
                           batch: int = BATCH) -> CopyReport:
    where = redacted(url)
    try:
        version = check(source)  # integrity, a known schema, a balanced ledger
    except BackupRefused as error:
        raise CopyRefused(str(error)) from None
    latest = available_migrations()[-1].version
    if version != latest:
        raise CopyRefused(f"{source} is at schema version {version}, this Daihuan's is "
                          f"{latest}: run `daihuan migrate` on it first (with DATABASE_URL "
                          "unset), then copy")
    try:
        conn = await connect(url)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise CopyRefused(f"cannot open {where}: {type(error).__name__}: "
                          f"{str(error).replace(url, where)}") from None
    try:
        await _refuse_unless_empty(conn, where)
        await migrate_postgres(conn, clock, where=where)
        if await current_version(conn) != version:
            raise CopyRefused(f"{where} migrated to schema {await current_version(conn)}, "
                              f"the source is at {version}")
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            src.execute("BEGIN")  # one snapshot of the source for the copy and the checks
            tables = await _copy_order(conn, _source_tables(src), where)
            async with conn.transaction():
                report = await _copy(src, conn, tables, version, batch)
        finally:
            src.close()
        # The planner knows nothing of rows that arrived by COPY until autovacuum gets to
        # them; without statistics it picks plans for empty tables on a full book.
        await conn.execute("ANALYZE")
    except (asyncpg.PostgresError, sqlite3.Error) as error:
        raise CopyRefused(f"the copy to {where} failed and was rolled back: "
                          f"{type(error).__name__}: {error}") from None
    finally:
        await conn.close()
    return report


async def what_it_holds(conn: asyncpg.Connection) -> str | None:
    """Why this database is not an empty book, or None: no tables at all, or a Daihuan
    schema holding only what migrating puts in, is empty."""
    tables = {t for (t,) in await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
    if not tables:
        return None
    if "schema_migrations" not in tables:
        return (f"it is not empty and is not a Daihuan book (it has "
                f"{', '.join(sorted(tables)[:5])}…)")
    held = []
    for table in sorted(tables - OWN_TABLES):
        if table in SEEDED_TABLES:
            count = await conn.fetchval(f'SELECT COUNT(*) FROM "{table}" WHERE value != 0')
        else:
            count = await conn.fetchval(f'SELECT COUNT(*) FROM "{table}"')
        if count:
            held.append(f"{table} ({count} rows)")
    return f"it is not empty: {', '.join(held)}" if held else None


async def _refuse_unless_empty(conn: asyncpg.Connection, where: str) -> None:
    held = await what_it_holds(conn)
    if held:
        raise CopyRefused(f"{where}: {held}. The copy goes only into an empty database: drop "
                          "and create it again, or choose another")


def _source_tables(src: sqlite3.Connection) -> dict[str, list[str]]:
    names = [n for (n,) in src.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        if n not in OWN_TABLES]
    return {n: [c[1] for c in src.execute(f'PRAGMA table_info("{n}")')] for n in names}


async def _copy_order(conn: asyncpg.Connection, source: dict[str, list[str]],
                      where: str) -> list[tuple[str, list[str]]]:
    """The source's tables, each after the tables it refers to, with their columns; the two
    schemas must hold the same tables and columns (they are one schema version)."""
    target: dict[str, set[str]] = {}
    for table, column in await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public'"):
        if table not in OWN_TABLES:
            target.setdefault(table, set()).add(column)
    differ = sorted(t for t in source.keys() | target.keys()
                    if set(source.get(t, ())) != target.get(t, set()))
    if differ:
        raise CopyRefused(f"the SQLite and PostgreSQL schemas differ in {', '.join(differ)}:"
                          " this is a bug in Daihuan's migrations; nothing was copied")
    graph: dict[str, set[str]] = {t: set() for t in source}
    for child, parent in await conn.fetch(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint"
            " WHERE contype = 'f' AND connamespace = 'public'::regnamespace"):
        if child != parent and child in graph:  # a table's own references: rows in id order
            graph[child].add(parent)
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        raise CopyRefused(f"tables refer to each other in a cycle: {error.args[1]}") from None
    return [(t, source[t]) for t in order]


async def _copy(src: sqlite3.Connection, conn: asyncpg.Connection,
                tables: list[tuple[str, list[str]]], version: int, batch: int) -> CopyReport:
    for table, _ in tables:
        await conn.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
    for table in SEEDED_TABLES:
        await conn.execute(f'DELETE FROM "{table}"')
    rows: dict[str, int] = {}
    for table, columns in tables:
        names = ", ".join(f'"{c}"' for c in columns)
        order = ' ORDER BY "id"' if "id" in columns else ""  # a row after those it reverses
        cursor = src.execute(f'SELECT {names} FROM "{table}"{order}')
        rows[table] = 0
        while chunk := cursor.fetchmany(batch):
            await conn.copy_records_to_table(table, records=chunk, columns=columns)
            rows[table] += len(chunk)
    for table, columns in tables:
        await conn.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
        if "id" in columns and await conn.fetchval(
                "SELECT pg_get_serial_sequence($1, 'id')", table) is not None:
            # The next id the target gives is after the last one copied.
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f' COALESCE(MAX("id"), 1), MAX("id") IS NOT NULL) FROM "{table}"')
    await _check_counts(src, conn, rows)
    return CopyReport(version, rows, accounts=await _check_ledger(src, conn),
                      signed_texts=await _check_signed_texts(src, conn))


async def _check_counts(src: sqlite3.Connection, conn: asyncpg.Connection,
                        rows: dict[str, int]) -> None:
    for table, copied in rows.items():
        (expected,) = src.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()
        found = await conn.fetchval(f'SELECT COUNT(*) FROM "{table}"')
        if not expected == copied == found:
            raise CopyRefused(f"{table}: the source has {expected} rows, {copied} were sent "
                              f"and the target holds {found}; rolled back")


async def _check_ledger(src: sqlite3.Connection, conn: asyncpg.Connection) -> int:
    unbalanced = await conn.fetchval(
        "SELECT COUNT(*) FROM (SELECT transfer_id FROM postings GROUP BY transfer_id"
        " HAVING SUM(amount) != 0) AS t")
    drift = await conn.fetchval(
        "SELECT COUNT(*) FROM accounts a WHERE a.balance != (SELECT COALESCE(SUM(amount), 0)"
        " FROM postings p WHERE p.account_id = a.id)")
    total = await conn.fetchval("SELECT COALESCE(SUM(balance), 0) FROM accounts")
    if unbalanced or drift or total:
        raise CopyRefused(f"the copied ledger does not balance ({unbalanced} unbalanced "
                          f"transfers, {drift} drifted balances, sum {total}); rolled back")
    expected = dict(src.execute("SELECT id, balance FROM accounts"))
    found = {r["id"]: r["balance"] for r in await conn.fetch("SELECT id, balance FROM accounts")}
    if found != expected:
        wrong = sorted(k for k in expected.keys() | found.keys()
                       if expected.get(k) != found.get(k))
        raise CopyRefused(f"balances differ from the source's for accounts {wrong[:10]}; "
                          "rolled back")
    return len(found)


async def _check_signed_texts(src: sqlite3.Connection, conn: asyncpg.Connection) -> int:
    expected = dict(src.execute("SELECT id, text_sha256 FROM agreements"))
    count = 0
    async with conn.transaction():  # a cursor needs one; nested: a savepoint
        async for row in conn.cursor("SELECT id, text, text_sha256 FROM agreements"):
            digest = hashlib.sha256(row["text"].encode("utf-8")).hexdigest()
            if digest != row["text_sha256"] or expected.get(row["id"]) != digest:
                raise CopyRefused(f"agreement #{row['id']}: its signed text does not hash to "
                                  "the SHA-256 recorded when it was signed; rolled back")
            count += 1
    if count != len(expected):
        raise CopyRefused(f"{len(expected)} signed agreements in the source, {count} copied")
    return count
