"""Both engines' schemas keep the same guarantees by themselves, and stay in step.

Each tampering below is tried with plain SQL, past every repository, on a small book in
SQLite and in PostgreSQL: both must refuse it (an error, or a statement that writes nothing)
and the book must be unchanged after it."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, datetime

import aiosqlite
import asyncpg
import pytest

from core.clock import FixedClock
from storage.db import Database
from storage.migrate import available_migrations
from storage.migrate import migrate as migrate_sqlite
from storage.pg.connection import PgConnection
from storage.pg.migrate import FIRST_VERSION, postgres_migrations
from storage.pg.migrate import migrate as migrate_postgres

CLOCK = FixedClock(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
REFUSED = (sqlite3.Error, asyncpg.PostgresError)
NOW = "2026-12-01T02:00:00.000000+00:00"


@pytest.fixture(params=["sqlite", "postgres"])
def engine_url(request) -> str | None:
    # Sync on purpose: an async fixture cannot ask for another while its loop runs.
    return request.getfixturevalue("postgres_url") if request.param == "postgres" else None


@pytest.fixture
async def engine(engine_url, tmp_path):
    """A migrated, empty book: an aiosqlite connection, or asyncpg behind PgConnection."""
    if engine_url is None:
        async with Database(tmp_path / "book.db") as db:
            await migrate_sqlite(db, CLOCK)
        conn = await aiosqlite.connect(tmp_path / "book.db", isolation_level=None)
        await conn.execute("PRAGMA foreign_keys = ON")
        yield conn
        await conn.close()
    else:
        raw = await asyncpg.connect(engine_url)
        await migrate_postgres(raw, CLOCK)
        yield PgConnection(raw)
        await raw.close()


async def one(conn, sql: str, *params):
    rows = await conn.execute_fetchall(sql, params)
    return rows[0][0] if rows else None


async def seed(conn) -> dict[str, int]:
    """Ann borrows 30.00 on one instalment; Bob, verified, covers 20.00 of it from a wallet
    he topped up with 100.00; one open alert."""
    for uid, name in ((1, "Ann"), (2, "Bob"), (3, "Cy")):
        await conn.execute("INSERT INTO users (id, display_name, created_at, updated_at)"
                           " VALUES (?, ?, ?, ?)", (uid, name, NOW, NOW))
    ids: dict[str, int] = {}
    for code, lo, hi in (("bank", None, None), ("wallet:2", 0, None),
                         ("receivable:1", None, 0), ("merchant", None, None)):
        ids[code] = await one(conn, "INSERT INTO accounts (code, kind, min_balance, max_balance,"
                              " created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                              code, code.split(":")[0], lo, hi, NOW)

    async def post(key: str, legs, reverses=None):
        return await one(conn, "INSERT INTO transfers (idem_key, kind, legs, memo, reverses,"
                         " content_hash, posted_at) VALUES (?, 'test', ?, '', ?, ?, ?)"
                         " ON CONFLICT (idem_key) DO NOTHING RETURNING id",
                         key, json.dumps(legs), reverses, "h-" + key, NOW)

    ids["topup"] = await post("topup", [[ids["bank"], -10000], [ids["wallet:2"], 10000]])
    ids["purchase"] = await post("purchase", [[ids["receivable:1"], -3000],
                                              [ids["merchant"], 3000]])
    ids["refund"] = await post("refund", [[ids["receivable:1"], 3000],
                                          [ids["merchant"], -3000]], ids["purchase"])
    ids["purchase2"] = await post("purchase2", [[ids["receivable:1"], -3000],
                                                [ids["merchant"], 3000]])
    ids["bill"] = await one(conn, "INSERT INTO bills (borrower_id, merchant, principal, fee,"
                            " plan, purchased_on, source, ref, transfer_id, created_at)"
                            " VALUES (1, 'JD', 3000, 0, 1, '2026-11-30', 'chat', 'b1', ?, ?)"
                            " RETURNING id", ids["purchase2"], NOW)
    ids["instalment"] = await one(conn, "INSERT INTO instalments (bill_id, seq, due_date,"
                                  " principal, fee) VALUES (?, 1, '2026-12-10', 3000, 0)"
                                  " RETURNING id", ids["bill"])
    ids["request"] = await one(conn, "INSERT INTO cover_requests (borrower_id, bill_id,"
                               " share_bp, route, friend_id, status, token_hash, token_salt,"
                               " created_at, expires_at, updated_at) VALUES (1, ?, 6667,"
                               " 'link', 2, 'signed', 'th', 'ts', ?, ?, ?) RETURNING id",
                               ids["bill"], NOW, NOW, NOW)
    ids["agreement"] = await one(conn, "INSERT INTO agreements (request_id, borrower_id,"
                                 " friend_id, bill_id, share_bp, version, language, text,"
                                 " text_sha256, signed_at) VALUES (?, 1, 2, ?, 6667, 'v1', 'en',"
                                 " 'Bob pays 20.00', 'sha', ?) RETURNING id",
                                 ids["request"], ids["bill"], NOW)
    await conn.execute("INSERT INTO agreement_instalments (agreement_id, instalment_id, amount)"
                       " VALUES (?, ?, 2000)", (ids["agreement"], ids["instalment"]))
    # Cy signed for the rest (10.00) too, and has no part yet.
    ids["request2"] = await one(conn, "INSERT INTO cover_requests (borrower_id, bill_id,"
                                " share_bp, route, friend_id, status, token_hash, token_salt,"
                                " created_at, expires_at, updated_at) VALUES (1, ?, 3333,"
                                " 'link', 3, 'signed', 'th2', 'ts2', ?, ?, ?) RETURNING id",
                                ids["bill"], NOW, NOW, NOW)
    ids["agreement2"] = await one(conn, "INSERT INTO agreements (request_id, borrower_id,"
                                  " friend_id, bill_id, share_bp, version, language, text,"
                                  " text_sha256, signed_at) VALUES (?, 1, 3, ?, 3333, 'v1',"
                                  " 'en', 'Cy pays 10.00', 'sha2', ?) RETURNING id",
                                  ids["request2"], ids["bill"], NOW)
    await conn.execute("INSERT INTO identities (user_id, legal_name, id_hash, id_mask,"
                       " phone_mask, verified_at) VALUES (2, 'Bob Legal', 'hash-b',"
                       " '1101**********0011', '138****0000', ?)", (NOW,))
    await conn.execute("INSERT INTO events (occurred_at, actor, subject, kind, data, parties)"
                       " VALUES (?, 'user:1', 'agreement:1', 'agreement.signed', '{}', '[1, 2]')",
                       (NOW,))
    await conn.execute("INSERT INTO alerts (key, rule, severity, subject, raised_at)"
                       " VALUES ('burst:1', 'burst', 'high', 'user:1', ?)", (NOW,))
    await conn.execute("INSERT INTO outbox (key, recipient_id, kind, not_before, next_attempt_at,"
                       " created_at, status, sent_at) VALUES ('n1', 2, 'x', ?, ?, ?, 'sent', ?)",
                       (NOW, NOW, NOW, NOW))
    return ids


async def snapshot(conn) -> list:
    queries = [
        "SELECT id, balance FROM accounts ORDER BY id",
        "SELECT id, idem_key, memo, reverses FROM transfers ORDER BY id",
        "SELECT transfer_id, account_id, amount FROM postings ORDER BY transfer_id, account_id",
        "SELECT id, kind, subject FROM events ORDER BY id",
        "SELECT user_id, event_id FROM event_parties ORDER BY user_id, event_id",
        "SELECT id, text, status FROM agreements ORDER BY id",
        "SELECT agreement_id, instalment_id, amount, status FROM agreement_instalments",
        "SELECT user_id, legal_name, id_hash FROM identities ORDER BY user_id",
        "SELECT id, status, paid_amount FROM instalments ORDER BY id",
        "SELECT id, key, status FROM alerts ORDER BY id",
        "SELECT id, status FROM cover_requests ORDER BY id",
        "SELECT id, status FROM outbox ORDER BY id",
        "SELECT COUNT(*) FROM bills",
    ]
    return [[tuple(r) for r in await conn.execute_fetchall(q)] for q in queries]


# name, statement, parameters (by seed id name or literal)
TAMPERING = [
    ("edit a transfer", "UPDATE transfers SET memo = 'forged' WHERE id = ?", ["topup"]),
    ("delete a transfer", "DELETE FROM transfers WHERE id = ?", ["topup"]),
    ("edit a posting", "UPDATE postings SET amount = amount * 2 WHERE transfer_id = ?",
     ["topup"]),
    ("delete a posting", "DELETE FROM postings WHERE transfer_id = ?", ["topup"]),
    ("delete an account", "DELETE FROM accounts WHERE id = ?", ["merchant"]),
    ("post an unbalanced transfer", "INSERT INTO transfers (idem_key, kind, legs, memo,"
     " content_hash, posted_at) VALUES ('x1', 'test', ?, '', 'h', '2026-12-01')",
     [("legs", [["bank", -500], ["wallet:2", 400]])]),
    ("take a wallet below zero", "INSERT INTO transfers (idem_key, kind, legs, memo,"
     " content_hash, posted_at) VALUES ('x2', 'test', ?, '', 'h', '2026-12-01')",
     [("legs", [["wallet:2", -10001], ["bank", 10001]])]),
    ("take a receivable above zero", "INSERT INTO transfers (idem_key, kind, legs, memo,"
     " content_hash, posted_at) VALUES ('x3', 'test', ?, '', 'h', '2026-12-01')",
     [("legs", [["receivable:1", 3001], ["merchant", -3001]])]),
    ("post to an unknown account", "INSERT INTO transfers (idem_key, kind, legs, memo,"
     " content_hash, posted_at) VALUES ('x4', 'test', ?, '', 'h', '2026-12-01')",
     [("legs", [["bank", -1], [999999, 1]])]),
    ("reverse a transfer twice", "INSERT INTO transfers (idem_key, kind, legs, memo, reverses,"
     " content_hash, posted_at) VALUES ('x5', 'test', ?, '', ?, 'h', '2026-12-01')",
     [("legs", [["receivable:1", 3000], ["merchant", -3000]]), "purchase"]),
    ("a reversal that does not mirror", "INSERT INTO transfers (idem_key, kind, legs, memo,"
     " reverses, content_hash, posted_at) VALUES ('x6', 'test', ?, '', ?, 'h', '2026-12-01')",
     [("legs", [["bank", 5000], ["wallet:2", -5000]]), "topup"]),
    ("a wallet balance set below zero", "UPDATE accounts SET balance = -1 WHERE id = ?",
     ["wallet:2"]),
    ("a receivable balance set above zero", "UPDATE accounts SET balance = 1 WHERE id = ?",
     ["receivable:1"]),
    ("edit an event", "UPDATE events SET kind = 'forged'", []),
    ("delete an event", "DELETE FROM events", []),
    ("delete an event's party", "DELETE FROM event_parties", []),
    ("edit a signed agreement's text", "UPDATE agreements SET text = 'Bob pays 2000.00'", []),
    ("edit a signed agreement's share", "UPDATE agreements SET share_bp = 10000", []),
    ("delete an agreement", "DELETE FROM agreements", []),
    ("cover more than is left", "INSERT INTO agreement_instalments (agreement_id,"
     " instalment_id, amount) VALUES (?, ?, 1001)", ["agreement2", "instalment"]),
    ("change a verified identity", "UPDATE identities SET legal_name = 'Mallory'", []),
    ("delete a verified identity", "DELETE FROM identities", []),
    ("one identity on a second account", "INSERT INTO identities (user_id, legal_name,"
     " id_hash, id_mask, phone_mask, verified_at) VALUES (3, 'Cy', 'hash-b', 'm', 'p', 'now')",
     []),
    ("a second open alert for one finding", "INSERT INTO alerts (key, rule, severity, subject,"
     " raised_at) VALUES ('burst:1', 'burst', 'high', 'user:1', 'now')", []),
    ("delete an alert", "DELETE FROM alerts", []),
    ("un-pay an instalment's payment", "UPDATE instalments SET paid_amount = -1", []),
    ("pay an instalment past its amount", "UPDATE instalments SET paid_amount = 3001", []),
    ("delete an instalment", "DELETE FROM instalments", []),
    ("delete a bill", "DELETE FROM bills", []),
    ("reopen an ended cover request", "UPDATE cover_requests SET status = 'pending'", []),
    ("delete a cover request", "DELETE FROM cover_requests", []),
    ("send a sent notice again", "UPDATE outbox SET status = 'pending'", []),
]


def _params(ids: dict[str, int], raw: list) -> tuple:
    out = []
    for p in raw:
        if isinstance(p, tuple):  # ("legs", [[account name or id, fen], ...])
            out.append(json.dumps([[ids.get(a, a), f] for a, f in p[1]]))
        else:
            out.append(ids.get(p, p))
    return tuple(out)


@pytest.mark.parametrize("name, sql, raw", TAMPERING, ids=[t[0] for t in TAMPERING])
async def test_the_schema_refuses(engine, name, sql, raw):
    ids = await seed(engine)
    before = await snapshot(engine)
    with contextlib.suppress(*REFUSED):  # refused loudly, or it wrote nothing
        await engine.execute(sql, _params(ids, raw))
    assert await snapshot(engine) == before, f"{name}: the book changed"


async def test_a_part_that_left_cover_never_comes_back(engine):
    ids = await seed(engine)
    await engine.execute("UPDATE agreement_instalments SET status = 'returned'")
    with pytest.raises(REFUSED):
        await engine.execute("UPDATE agreement_instalments SET status = 'covered'")
    assert await one(engine, "SELECT status FROM agreement_instalments"
                     " WHERE agreement_id = ?", ids["agreement"]) == "returned"


async def test_a_cleared_alert_lets_the_finding_open_again(engine):
    await seed(engine)
    await engine.execute("UPDATE alerts SET status = 'cleared', cleared_at = 'now'")
    await engine.execute("INSERT INTO alerts (key, rule, severity, subject, raised_at)"
                         " VALUES ('burst:1', 'burst', 'high', 'user:1', 'now')")
    assert await one(engine, "SELECT COUNT(*) FROM alerts WHERE key = 'burst:1'") == 2


async def test_the_triggers_keep_balances_and_totals(engine):
    ids = await seed(engine)
    balances = dict(tuple(r) for r in await engine.execute_fetchall(
        "SELECT code, balance FROM accounts"))
    assert balances == {"bank": -10000, "wallet:2": 10000, "receivable:1": -3000,
                        "merchant": 3000}
    totals = dict(tuple(r) for r in await engine.execute_fetchall(
        "SELECT name, SUM(value) FROM book_totals GROUP BY name"))
    assert totals["users"] == 3 and totals["active_agreements"] == 2
    assert totals["covered_fen"] == 2000 and totals["outstanding_fen"] == 3000
    assert totals["outbox:sent"] == 1
    assert await one(engine, "SELECT fen FROM friend_exposure WHERE friend_id = 2") == 2000
    assert await one(engine, "SELECT next_attempt_on FROM agreement_instalments"
                     " WHERE instalment_id = ?", ids["instalment"]) == "2026-12-10"
    parties = await engine.execute_fetchall("SELECT user_id FROM event_parties ORDER BY 1")
    assert [r[0] for r in parties] == [1, 2]


async def test_postgres_refuses_truncating_what_is_append_only(postgres_url):
    raw = await asyncpg.connect(postgres_url)
    try:
        await migrate_postgres(raw, CLOCK)
        for table in ("transfers", "postings", "events", "agreements", "identities",
                      "accounts", "instalment_payments", "alerts"):
            with pytest.raises(asyncpg.PostgresError):
                await raw.execute(f"TRUNCATE {table} CASCADE")
    finally:
        await raw.close()


async def test_both_schemas_have_the_same_tables_and_columns(tmp_path, postgres_url):
    async with Database(tmp_path / "book.db") as db:
        await migrate_sqlite(db, CLOCK)
        tables = [r[0] for r in await db.reader.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        sqlite_columns = {t: sorted(r[1] for r in await db.reader.execute_fetchall(
            f"PRAGMA table_info({t})")) for t in tables}
    raw = await asyncpg.connect(postgres_url)
    try:
        await migrate_postgres(raw, CLOCK)
        rows = await raw.fetch("SELECT table_name, column_name FROM information_schema.columns"
                               " WHERE table_schema = 'public'")
        version = await raw.fetchval("SELECT MAX(version) FROM schema_migrations")
    finally:
        await raw.close()
    postgres_columns: dict[str, list[str]] = {}
    for r in rows:
        postgres_columns.setdefault(r["table_name"], []).append(r["column_name"])
    assert {t: sorted(c) for t, c in postgres_columns.items()} == sqlite_columns
    assert version == available_migrations()[-1].version


def test_migrations_are_numbered_in_step():
    # Every SQLite migration after the one PostgreSQL starts from has a PostgreSQL twin
    # under the same number (and name), so a schema version means one book on both.
    sqlite_later = [(m.version, m.name) for m in available_migrations()
                    if m.version > FIRST_VERSION]
    postgres_later = [(m.version, m.name) for m in postgres_migrations()
                      if m.version > FIRST_VERSION]
    assert sqlite_later == postgres_later
    assert postgres_migrations()[0].version == FIRST_VERSION
