import sqlite3

import pytest

from storage.db import Database
from storage.migrate import SchemaTooNew, available_migrations, current_version, migrate
from tests.support.dbcheck import q, refused


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
    for sql in ("UPDATE events SET kind = 'x'", "DELETE FROM events"):
        assert "append-only" in refused(db, sql)


async def test_events_written_before_parties_existed_get_them(tmp_path, clock):
    """Migration 0009 works out the parties of old events from what they are about: a
    friend's debit of an old agreement names the friend and the borrower."""
    path = tmp_path / "m.db"
    async with Database(path) as db:
        await migrate(db, clock, target=8)
    conn = sqlite3.connect(path)
    now = "2026-11-01T00:00:00.000000+00:00"
    conn.executescript(f"""
        INSERT INTO users (id, display_name, created_at, updated_at) VALUES
            (1, 'Jane', '{now}', '{now}'), (2, 'Li', '{now}', '{now}');
        INSERT INTO accounts (id, code, kind, created_at) VALUES
            (1, 'receivable:1', 'receivable', '{now}'), (2, 'merchant', 'external', '{now}');
        INSERT INTO transfers (id, idem_key, kind, legs, content_hash, posted_at) VALUES
            (1, 'p', 'purchase', '[[1,-100],[2,100]]', 'h', '{now}');
        INSERT INTO bills VALUES (1, 1, 'JD', 100, 0, 1, '2026-11-01', 'chat', 'r', 1, '{now}');
        INSERT INTO instalments (id, bill_id, seq, due_date, principal, fee)
            VALUES (1, 1, 1, '2026-12-01', 100, 0);
        INSERT INTO cover_requests VALUES (1, 1, 1, 10000, 'link', 2, 'signed', 'th', 'ts',
            '5k', '{now}', '{now}', '{now}');
        INSERT INTO agreements (id, request_id, borrower_id, friend_id, bill_id, share_bp,
            version, language, text, text_sha256, signed_at)
            VALUES (1, 1, 1, 2, 1, 10000, 'v', 'en', 't', 's', '{now}');
        INSERT INTO events (occurred_at, actor, subject, kind, data) VALUES
            ('{now}', 'system', 'instalment:1', 'debit.failed', '{{"agreement": 1}}'),
            ('{now}', 'user:1', 'cover:1', 'cover.created', '{{}}'),
            ('{now}', 'operator:7', 'user:2', 'user.frozen', '{{}}');
    """)
    conn.commit()
    conn.close()
    async with Database(path) as db:
        await migrate(db, clock)
    assert q(path, "SELECT kind, parties FROM events ORDER BY id") == [
        ("debit.failed", "[1,2]"), ("cover.created", "[1,2]"), ("user.frozen", "[2,7]")]
    from tests.support.ledger_checks import assert_book_totals_match

    assert_book_totals_match(path)  # migration 0014 counted what was there
    assert q(path, "SELECT next_attempt_on FROM agreement_instalments") == []  # none covered
    assert q(path, "SELECT user_id, event_id FROM event_parties ORDER BY 1, 2") == [
        (1, 1), (1, 2), (2, 1), (2, 2), (2, 3), (7, 3)]
    conn = sqlite3.connect(path)
    for sql in ("UPDATE events SET parties = '[]'", "DELETE FROM event_parties"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    conn.close()


def test_the_parties_backfill_probes_by_key_instead_of_scanning():
    """Migration 0009 runs once per event on books with millions of them: every table it
    consults must be reached by its primary key, never scanned."""
    from storage.migrate import _statements

    conn = sqlite3.connect(":memory:")
    for migration in available_migrations():
        for statement in _statements(migration.sql):
            if migration.version == 9 and statement.startswith("UPDATE events"):
                plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement)]
                scans = [step for step in plan if step.startswith("SCAN ")
                         and not step.startswith(("SCAN CONSTANT ROW", "SCAN key",
                                                  "SCAN u VIRTUAL", "SCAN (subquery"))]
                assert scans == ["SCAN events"], scans
            conn.execute(statement)
