"""Online backups with SQLite's backup API (consistent while the bot writes), and restores
that check what they restore before it replaces anything."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite

from storage.db import Database
from storage.migrate import available_migrations


class BackupRefused(RuntimeError):
    pass


async def backup(db: Database, target: Path) -> None:
    """Copy the live database to ``target``: a consistent snapshot even while writes go on
    (SQLite restarts the copy of pages that change underneath it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():  # noqa: ASYNC240 - one stat before a long copy
        raise BackupRefused(f"{target} exists; choose a new file")

    async with aiosqlite.connect(target) as out:
        await db.reader.backup(out)


def check(path: Path) -> int:
    """The file is a sound Daihuan database this version can run: returns its schema
    version. Raises ``BackupRefused`` with the reason otherwise."""
    if not path.is_file():
        raise BackupRefused(f"{path} is not a file")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise BackupRefused(f"{path} cannot be opened: {error}") from None
    try:
        (result,) = conn.execute("PRAGMA integrity_check").fetchone()
        if result != "ok":
            raise BackupRefused(f"{path} failed SQLite's integrity check: {result}")
        version = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
        latest = available_migrations()[-1].version
        if version is None or version > latest:
            raise BackupRefused(f"{path} has schema version {version}; this Daihuan knows "
                                f"1..{latest}")
        unbalanced = conn.execute(
            "SELECT COUNT(*) FROM (SELECT transfer_id FROM postings GROUP BY transfer_id"
            " HAVING SUM(amount) != 0)").fetchone()[0]
        drift = conn.execute(
            "SELECT COUNT(*) FROM accounts a WHERE a.balance != (SELECT COALESCE(SUM(amount),"
            " 0) FROM postings p WHERE p.account_id = a.id)").fetchone()[0]
        total = conn.execute("SELECT COALESCE(SUM(balance), 0) FROM accounts").fetchone()[0]
        if unbalanced or drift or total:
            raise BackupRefused(f"{path}: the ledger does not balance ({unbalanced} unbalanced "
                                f"transfers, {drift} drifted balances, sum {total})")
        return version
    except sqlite3.DatabaseError as error:
        raise BackupRefused(f"{path} is not a Daihuan database: {error}") from None
    finally:
        conn.close()


def restore(source: Path, target: Path) -> int:
    """Replace the database at ``target`` with a checked backup. Stop the bot first."""
    version = check(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # page by page, into the target's own journal: all or nothing
    finally:
        src.close()
        dst.close()
    return version
