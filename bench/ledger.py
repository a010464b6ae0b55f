"""Ledger throughput against raw SQLite, measured in one run with the same durability
settings (WAL, synchronous=NORMAL), each on a fresh database file.

  ledger  transfers through ``GroupCommitLedger.post`` (the ledger API)
  (a)     the same logical writes as hand-written SQL through aiosqlite: per transfer
          BEGIN IMMEDIATE, insert the transfer, insert its two postings, update the two
          balances (the debit guarded by its limit), COMMIT
  (b)     one minimal insert per commit through aiosqlite: the price of a thread hop
  (c)     the same logical writes as (a) through the standard library's sqlite3,
          synchronously in one thread: the floor of this machine

Each runs one-at-a-time and with 64 concurrent submitters (for the ledger, concurrent posts
are group-committed; each transfer is still atomic and accepted or refused on its own; (a)
serialises its transactions on its one connection; (c) is one thread by definition).

On PostgreSQL (``--database-url``, each run in a fresh database on that server; see
bench/postgres.py) the baselines are the same logical writes through asyncpg
(bench/ledger_postgres.py), and there is no (c): the floor there is the server's commit.

    python -m bench.ledger [--transfers 50000] [--database-url postgresql://…|throwaway]

Goals: ledger/(a) one at a time >= 0.7; on SQLite ledger/(c) with 64 submitters >= 0.5; on
PostgreSQL the ledger with 64 submitters >= 3x the ledger one at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from bench import ledger_postgres, postgres
from core.clock import FixedClock
from core.ledger import AccountKind, AccountSpec, Transfer
from core.money import Money
from storage.engine import open_book
from storage.ledger import GroupCommitLedger
from storage.uow import StorageUnitOfWorkFactory

WALLETS = 1000
SUBMITTERS = 64
PRAGMAS = ("PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL",
           "PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 5000")
RAW_SCHEMA = """
CREATE TABLE accounts (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
    balance INTEGER NOT NULL DEFAULT 0, min_balance INTEGER, max_balance INTEGER,
    created_at TEXT NOT NULL);
CREATE TABLE transfers (id INTEGER PRIMARY KEY, idem_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL, legs TEXT NOT NULL, memo TEXT NOT NULL DEFAULT '',
    reverses INTEGER UNIQUE, content_hash TEXT NOT NULL, posted_at TEXT NOT NULL);
CREATE TABLE postings (transfer_id INTEGER NOT NULL, account_id INTEGER NOT NULL,
    amount INTEGER NOT NULL, PRIMARY KEY (transfer_id, account_id)) WITHOUT ROWID;
CREATE INDEX postings_by_account ON postings (account_id, transfer_id);
"""
NOW = "2026-11-29T00:00:00.000000+00:00"


def amount(i: int) -> int:
    return 100 + i % 997


def wallet(i: int) -> int:
    return 2 + i % WALLETS  # account 1 is the bank


# -- raw baselines --------------------------------------------------------------------------
def raw_setup(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    conn.executescript(RAW_SCHEMA)
    conn.execute("INSERT INTO accounts VALUES (1, 'external:bank', 'external', 0, NULL, NULL, ?)",
                 (NOW,))
    conn.executemany("INSERT INTO accounts VALUES (?, ?, 'wallet', 0, 0, NULL, ?)",
                     [(wallet(i), f"wallet:{i}", NOW) for i in range(WALLETS)])
    conn.close()


def raw_statements(i: int, prefix: str) -> tuple:
    legs = f"[[1,{-amount(i)}],[{wallet(i)},{amount(i)}]]"
    return ((f"{prefix}{i}", "topup", legs, "", None, "h" * 64, NOW),
            [(1, -amount(i)), (wallet(i), amount(i))])


INSERT_TRANSFER = ("INSERT INTO transfers (idem_key, kind, legs, memo, reverses, content_hash,"
                   " posted_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
GUARDED_UPDATE = ("UPDATE accounts SET balance = balance + ? WHERE id = ?"
                  " AND (min_balance IS NULL OR balance + ? >= min_balance)")


def sync_floor(path: Path, n: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    start = time.perf_counter()
    for i in range(n):
        transfer, legs = raw_statements(i, "c")
        conn.execute("BEGIN IMMEDIATE")
        tid = conn.execute(INSERT_TRANSFER, transfer).lastrowid
        conn.executemany("INSERT INTO postings VALUES (?, ?, ?)",
                         [(tid, acc, fen) for acc, fen in legs])
        for acc, fen in legs:
            conn.execute(GUARDED_UPDATE, (fen, acc, fen))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return n / elapsed


async def aio_connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        await conn.execute(pragma)
    return conn


async def aio_hand_written(path: Path, n: int, submitters: int) -> float:
    conn = await aio_connect(path)
    lock = asyncio.Lock()

    async def one(i: int) -> None:
        transfer, legs = raw_statements(i, "a")
        async with lock:  # one connection: transactions must not interleave
            await conn.execute("BEGIN IMMEDIATE")
            cursor = await conn.execute(INSERT_TRANSFER, transfer)
            tid = cursor.lastrowid
            await conn.executemany("INSERT INTO postings VALUES (?, ?, ?)",
                                   [(tid, acc, fen) for acc, fen in legs])
            for acc, fen in legs:
                await conn.execute(GUARDED_UPDATE, (fen, acc, fen))
            await conn.execute("COMMIT")

    elapsed = await run_submitters(one, n, submitters)
    await conn.close()
    return n / elapsed


async def aio_minimal(path: Path, n: int) -> float:
    conn = await aio_connect(path)
    await conn.execute("CREATE TABLE IF NOT EXISTS m (x INTEGER)")
    start = time.perf_counter()
    for i in range(n):
        await conn.execute("INSERT INTO m VALUES (?)", (i,))  # autocommit: one commit each
    elapsed = time.perf_counter() - start
    await conn.close()
    return n / elapsed


# -- the ledger -----------------------------------------------------------------------------
async def ledger_run(location: Path | str, n: int, submitters: int) -> float:
    clock = FixedClock(datetime(2026, 11, 29, tzinfo=UTC))
    db = await open_book(location, clock)
    uow = StorageUnitOfWorkFactory(db, clock)
    async with uow() as tx:
        bank = await tx.ledger.open_account(AccountSpec("external:bank", AccountKind.EXTERNAL))
        wallets = [await tx.ledger.open_account(AccountSpec.wallet(i)) for i in range(WALLETS)]
        await tx.commit()
    ids = [w.id for w in wallets]
    ledger = GroupCommitLedger(db, clock)

    async def one(i: int) -> None:
        await ledger.post(Transfer.between(f"l{i}", "topup", bank.id, ids[i % WALLETS],
                                           Money(amount(i))))

    elapsed = await run_submitters(one, n, submitters)
    rows = await db.reader.execute_fetchall("SELECT COUNT(*), SUM(balance) FROM accounts")
    count = await db.reader.execute_fetchall("SELECT COUNT(*) FROM transfers")
    await db.close()
    assert count[0][0] == n and rows[0][1] == 0, "ledger lost or unbalanced transfers"
    return n / elapsed


async def run_submitters(one, n: int, submitters: int) -> float:
    async def submitter(k: int) -> None:
        for i in range(k, n, submitters):
            await one(i)

    start = time.perf_counter()
    await asyncio.gather(*(submitter(k) for k in range(submitters)))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=50_000)
    parser.add_argument("--database-url", help="a PostgreSQL server to measure on (a fresh "
                        "database per run), or 'throwaway' to start one here")
    args = parser.parse_args()
    if args.database_url:
        with postgres.server(args.database_url) as url:
            print(f"{args.transfers:,} transfers each; {WALLETS} wallets; "
                  f"{asyncio.run(postgres.durability(url))}")
            report_postgres(measure_postgres(args.transfers, url))
        return
    n = args.transfers
    workdir = Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    counter = iter(range(1000))

    def fresh_raw() -> Path:
        path = workdir / f"raw{next(counter)}.db"
        raw_setup(path)
        return path

    def fresh() -> Path:
        return workdir / f"ledger{next(counter)}.db"

    print(f"{n:,} transfers each; WAL, synchronous=NORMAL; {WALLETS} wallets")
    try:
        results = measure(n, fresh, fresh_raw)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(results)


def measure(n: int, fresh, fresh_raw) -> dict[str, float]:
    return {
        "(c) sqlite3, one thread": sync_floor(fresh_raw(), n),
        "(b) aiosqlite, 1 insert/commit": asyncio.run(aio_minimal(fresh_raw(), n)),
        "(a) aiosqlite hand-written, 1 at a time": asyncio.run(aio_hand_written(fresh_raw(), n, 1)),
        "ledger, 1 at a time": asyncio.run(ledger_run(fresh(), n, 1)),
        f"(a) aiosqlite hand-written, {SUBMITTERS} submitters":
            asyncio.run(aio_hand_written(fresh_raw(), n, SUBMITTERS)),
        f"ledger, {SUBMITTERS} submitters": asyncio.run(ledger_run(fresh(), n, SUBMITTERS)),
    }


def measure_postgres(n: int, server: str) -> dict[str, float]:
    wallets = [(wallet(i), f"wallet:{i}") for i in range(WALLETS)]

    def hand_written(submitters: int) -> float:
        with postgres.fresh_database(server) as url:
            asyncio.run(ledger_postgres.setup(url, wallets, NOW))
            return asyncio.run(ledger_postgres.hand_written(url, n, submitters, raw_statements,
                                                            run_submitters))

    def ledger(submitters: int) -> float:
        with postgres.fresh_database(server) as url:
            return asyncio.run(ledger_run(url, n, submitters))

    def minimal() -> float:
        with postgres.fresh_database(server) as url:
            return asyncio.run(ledger_postgres.minimal(url, n))

    return {
        "(b) asyncpg, 1 insert/commit": minimal(),
        "(a) asyncpg hand-written, 1 at a time": hand_written(1),
        "ledger, 1 at a time": ledger(1),
        f"(a) asyncpg hand-written, {SUBMITTERS} submitters": hand_written(SUBMITTERS),
        f"ledger, {SUBMITTERS} submitters": ledger(SUBMITTERS),
    }


def _ledger_ratios(results: dict[str, float], driver: str) -> tuple[float, float]:
    """Print the rates and the ledger against the hand-written baseline; gives the ledger's
    rates one at a time and with many submitters."""
    rates(results)
    one_a = results[f"(a) {driver} hand-written, 1 at a time"]
    many_a = results[f"(a) {driver} hand-written, {SUBMITTERS} submitters"]
    one_l = results["ledger, 1 at a time"]
    many_l = results[f"ledger, {SUBMITTERS} submitters"]
    print(f"ledger/(a), 1 at a time:      {one_l / one_a:5.2f}   (goal >= 0.7)")
    print(f"ledger/(a), {SUBMITTERS} submitters:    {many_l / many_a:5.2f}")
    return one_l, many_l


def report_postgres(results: dict[str, float]) -> None:
    one_l, many_l = _ledger_ratios(results, "asyncpg")
    print(f"ledger, {SUBMITTERS} submitters / 1 at a time: {many_l / one_l:5.2f}   (goal >= 3)")


def rates(results: dict[str, float]) -> None:
    width = max(len(k) for k in results)
    for name, rate in results.items():
        print(f"  {name:<{width}}  {rate:>10,.0f} transfers/s")


def report(results: dict[str, float]) -> None:
    one_l, many_l = _ledger_ratios(results, "aiosqlite")
    floor = results["(c) sqlite3, one thread"]
    print(f"ledger/(c), 1 at a time:      {one_l / floor:5.2f}")
    print(f"ledger/(c), {SUBMITTERS} submitters:    {many_l / floor:5.2f}   (goal >= 0.5)")


if __name__ == "__main__":
    main()
