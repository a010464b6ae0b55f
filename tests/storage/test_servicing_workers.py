"""Several workers servicing one business date on one PostgreSQL book: the pages are shared
out (each worker does some), each is done once, the date is finished once, and the book
ends as one worker leaves it. A worker killed mid-page leaves its page to the others.

The reference is the same book serviced by one worker on SQLite; the comparison leaves out
what only says which worker was first (the order of rows, transfer ids)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from core.clock import FixedClock
from core.ports import Conflict
from core.services.servicing import RunCounts, ServicingPolicy, run_servicing
from storage.db import Database
from storage.migrate import migrate
from storage.pg.db import PostgresDatabase
from storage.uow import StorageUnitOfWorkFactory
from tests.support.dbcheck import q
from tests.support.ledger_checks import (
    assert_book_totals_match,
    assert_ledger_invariants,
    assert_receivables_match,
)
from tests.support.servicing_book import covered_bill, fund, person
from tests.support.servicing_flows import TZ

pytestmark = pytest.mark.postgres_only("several workers share a book only on PostgreSQL")

ROOT = Path(__file__).resolve().parents[2]
DUE1 = date(2026, 12, 29)
# The due date, a retry day and the default: debits, failures, retries, defaults, overdue
# marks and reminders, each step over several pages.
DAYS = [DUE1 - timedelta(days=1), DUE1, DUE1 + timedelta(days=1), DUE1 + timedelta(days=3)]
POLICY = ServicingPolicy(page=2, slices=4)
PAIRS = 12


async def wide_book(uow) -> None:
    """Twelve borrowers, each covered by their own friend; every other friend is funded,
    and a borrower in three covers only half of each instalment."""
    for n in range(PAIRS):
        await person(uow, 100 + n, date(1990, 1, 1 + n))
        await person(uow, 200 + n, date(1980, 1, 1 + n))
    for n in range(PAIRS):
        await covered_bill(uow, 100 + n, 200 + n, share=5_000 if n % 3 == 0 else 10_000)
        if n % 2 == 0:
            await fund(uow, 200 + n, 1000, f"f{n}")


def at(day: date) -> FixedClock:
    return FixedClock(datetime.combine(day, time(6), tzinfo=TZ))


async def one_worker(tmp: Path) -> Path:
    path = tmp / "one-worker.db"
    clock = at(DAYS[0])
    db = await Database(path).open()
    await migrate(db, clock)
    uow = StorageUnitOfWorkFactory(db, clock)
    await wide_book(uow)
    for day in DAYS:
        clock.set(datetime.combine(day, time(6), tzinfo=TZ))
        await run_servicing(uow, clock, TZ, POLICY, day)
    await db.close()
    return path


def book(target) -> dict[str, list]:
    """What servicing decided, in an order that does not depend on who was first."""
    def without_ids(data: str) -> str:
        facts = json.loads(data)
        for key in ("transfer", "last_payment"):  # transfer ids: in the order of commits
            facts.pop(key, None)
        return json.dumps(facts, sort_keys=True)

    code = dict(q(target, "SELECT id, code FROM accounts"))  # ids may have gaps on PostgreSQL
    return {
        "transfers": sorted((key, kind, [(code[a], fen) for a, fen in json.loads(legs)])
                            for key, kind, legs in q(
            target, "SELECT idem_key, kind, legs FROM transfers")),
        "balances": q(target, "SELECT code, balance FROM accounts ORDER BY code"),
        "instalments": q(target, "SELECT id, status, paid_amount, overdue_since"
                                 " FROM instalments ORDER BY id"),
        "parts": q(target, "SELECT agreement_id, instalment_id, status, attempts,"
                           " last_attempt_on, next_attempt_on FROM agreement_instalments"
                           " ORDER BY 1, 2"),
        "agreements": q(target, "SELECT id, status FROM agreements ORDER BY id"),
        "events": sorted((s, k, without_ids(d)) for s, k, d in q(
            target, "SELECT subject, kind, data FROM events")),
        "outbox": sorted((k, r, kind, json.dumps(json.loads(p), sort_keys=True), u, nb)
                         for k, r, kind, p, u, nb in q(
            target, "SELECT key, recipient_id, kind, params, urgent, not_before FROM outbox")),
        "runs": q(target, "SELECT business_date, debited, failed, retried, defaulted,"
                          " overdue_marked, completed, reminders_planned FROM servicing_runs"
                          " ORDER BY 1"),
        "slices": q(target, "SELECT business_date, kind, days, due_date, after_id, upto_id,"
                            " done_upto FROM servicing_slices ORDER BY 1, 2, 3, 5"),
        "debit_slices": q(target, "SELECT business_date, after_friend, upto_friend,"
                                  " finished_at IS NOT NULL FROM debit_slices ORDER BY 1, 2"),
    }


@pytest.fixture
async def workers(migrated_postgres_url):
    """Three workers' own connections to the book, and the book built through one."""
    clock = at(DAYS[0])
    dbs = [await PostgresDatabase(migrated_postgres_url).open() for _ in range(3)]
    await wide_book(StorageUnitOfWorkFactory(dbs[0], clock))
    yield clock, [StorageUnitOfWorkFactory(db, clock) for db in dbs]
    for db in dbs:
        await db.close()


async def test_three_workers_share_each_date_and_end_as_one(workers, migrated_postgres_url,
                                                            tmp_path):
    clock, uows = workers
    finishes: list[date] = []
    by_worker: list[list[RunCounts]] = [[] for _ in uows]
    for day in DAYS:
        clock.set(datetime.combine(day, time(6), tzinfo=TZ))

        async def finish(tx, day=day) -> None:
            finishes.append(day)

        runs = await asyncio.gather(*(run_servicing(u, clock, TZ, POLICY, day, finish)
                                      for u in uows))
        for mine, counts in zip(by_worker, runs, strict=True):
            mine.append(counts)
    assert finishes == DAYS  # each date finished once, its rules and report with it
    expected = book(await one_worker(tmp_path))
    got = book(migrated_postgres_url)
    for table in expected:
        assert got[table] == expected[table], table
    # Each worker's counts add up to the run's: no page was done twice, none skipped.
    for n, (day, *run) in enumerate(got["runs"]):
        assert day == DAYS[n].isoformat()
        names = ("debited", "failed", "retried", "defaulted", "overdue_marked", "completed",
                 "reminders_planned")
        summed = [sum(asdict(w[n])[name] for w in by_worker) for name in names]
        assert summed == list(run), day
    # And the work was shared: more than one worker took debit pages on the due date.
    due_date = DAYS.index(DUE1)
    assert sum(1 for w in by_worker if w[due_date].debited + w[due_date].failed) >= 2
    for check in (assert_ledger_invariants, assert_receivables_match, assert_book_totals_match):
        check(migrated_postgres_url)


async def test_a_worker_killed_mid_page_leaves_it_to_the_others(workers, migrated_postgres_url,
                                                                tmp_path):
    """A real process services the due date and is SIGKILLed in its first page of
    debits, holding its slice (tests.support.servicing_killer.hold_first_page); the worker
    servicing beside it passes the page over, does the rest, waits for it, and once the
    holder is dead takes it and finishes the date."""
    clock, uows = workers
    clock.set(datetime.combine(DAYS[0], time(6), tzinfo=TZ))
    await run_servicing(uows[0], clock, TZ, POLICY, DAYS[0])
    clock.set(datetime.combine(DUE1, time(6), tzinfo=TZ))
    hold = tmp_path / "kill-now"
    killed = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.servicing_killer", migrated_postgres_url,
        DUE1.isoformat(), "0", "never", cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env={**os.environ, "HOLD_FIRST_PAGE": str(hold)})
    held = Path(f"{hold}.held")
    for _ in range(1000):
        if held.exists() or killed.returncode is not None:  # noqa: ASYNC240
            break
        await asyncio.sleep(0.02)
    assert held.exists(), (await killed.stderr.read()).decode()  # noqa: ASYNC240
    waits = 0

    async def others_page() -> None:  # what is left is the killed worker's page: kill it
        nonlocal waits
        waits += 1
        hold.touch()
        await asyncio.sleep(0.02)

    mine = await asyncio.wait_for(
        run_servicing(uows[1], clock, TZ, POLICY, DUE1, wait=others_page), 60)
    hold.touch()  # if it never waited, the holder dies now, and the checks below fail
    await asyncio.wait_for(killed.wait(), 30)
    assert killed.returncode == -9, (await killed.stderr.read()).decode()
    assert waits > 0  # it met the held page, and waited for it
    run = dict(zip(("debited", "failed"), q(
        migrated_postgres_url, "SELECT debited, failed FROM servicing_runs WHERE"
                               " business_date = ?", DUE1.isoformat())[0], strict=True))
    assert (mine.debited, mine.failed) == (run["debited"], run["failed"])  # all of it
    for day in DAYS[2:]:
        clock.set(datetime.combine(day, time(6), tzinfo=TZ))
        await run_servicing(uows[2], clock, TZ, POLICY, day)
    expected = book(await one_worker(tmp_path))
    got = book(migrated_postgres_url)
    for table in expected:
        assert got[table] == expected[table], table
    for check in (assert_ledger_invariants, assert_receivables_match, assert_book_totals_match):
        check(migrated_postgres_url)


async def test_a_deadlock_is_a_conflict_and_nothing_of_it_stays(workers):
    """Two units that lock the same two rows in opposite orders: PostgreSQL ends one of
    them, which the unit of work says as core.ports.Conflict (a page taken again), with
    nothing it wrote kept."""
    _, uows = workers
    locked = asyncio.Event()
    both = asyncio.Barrier(2)

    async def unit(first: int, second: int) -> None:
        async with uows[first % 2]() as tx:
            conn = tx.servicing._conn
            await conn.execute("UPDATE users SET language = 'zh' WHERE id = ?", (first,))
            await both.wait()
            await conn.execute("UPDATE users SET language = 'zh' WHERE id = ?", (second,))
            await tx.commit()
        locked.set()

    results = await asyncio.gather(unit(100, 101), unit(101, 100), return_exceptions=True)
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], Conflict), results
    assert locked.is_set()  # the other went through
