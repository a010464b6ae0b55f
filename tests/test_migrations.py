import sqlite3

import pytest

from storage.db import Database
from storage.migrate import SchemaTooNew, available_migrations, current_version, migrate


async def test_migrate_is_idempotent(tmp_path, clock):
    async with Database(tmp_path / "m.db") as db:
        first = await migrate(db, clock)
        again = await migrate(db, clock)
        assert first == [m.version for m in available_migrations()]
        assert again == []
        assert await current_version(db) == first[-1]


async def test_newer_database_is_refused(tmp_path, clock):
    async with Database(tmp_path / "m.db") as db:
        await migrate(db, clock)
    conn = sqlite3.connect(tmp_path / "m.db")
    conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'x')")
    conn.commit()
    conn.close()
    async with Database(tmp_path / "m.db") as db:
        with pytest.raises(SchemaTooNew, match="newer than this Daihuan"):
            await migrate(db, clock)


async def test_pragmas(tmp_path, clock):
    async with Database(tmp_path / "m.db") as db:
        for conn in (db.reader, db._writer):
            assert (await conn.execute_fetchall("PRAGMA journal_mode"))[0][0] == "wal"
            assert (await conn.execute_fetchall("PRAGMA foreign_keys"))[0][0] == 1
            assert (await conn.execute_fetchall("PRAGMA busy_timeout"))[0][0] == 5000


async def test_failed_unit_of_work_rolls_back_and_frees_the_writer(db, uow):
    with pytest.raises(RuntimeError):
        async with uow() as tx:
            await tx.users.upsert_seen(1, "A", None)
            raise RuntimeError("boom")
    async with uow() as tx:  # the writer is free again
        assert await tx.users.get(1) is None
        await tx.users.upsert_seen(1, "A", None)
        # no commit: leaving the block rolls back
    async with uow() as tx:
        assert await tx.users.get(1) is None


async def test_events_are_append_only(db, uow):
    from core.events import Event

    async with uow() as tx:
        recorded = await tx.events.append(Event("user:1", "user:1", "test.happened", {"a": 1}))
        await tx.commit()
    assert recorded.data == {"a": 1}
    conn = sqlite3.connect(db.path)
    for sql in ("UPDATE events SET kind = 'x'", "DELETE FROM events"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    conn.close()
