"""Servicing time and memory against the size of the book, measured in one run.

For books of 10k, 100k and 1M instalments (fresh SQLite files, WAL, synchronous=NORMAL), 10%
fall due on the servicing date; a fifth of those are covered by friends (half of them funded,
so half the debits fail and are scheduled for retry), the rest are the borrowers' own. Time
per instalment compares these books. Time per due instalment compares books of each size
where the same 1,000 fall due: what the run costs for a day's work as the book grows. The
book is built with bulk SQL in one process; the daily run (``run_daily``: servicing, every
risk rule and the daily report, as the bot's job and ``daihuan servicing`` run it) runs in a
fresh process, whose peak RSS is what is reported.

    python -m bench.servicing [--sizes 10000,100000,1000000]
                              [--database-url postgresql://…|throwaway]

On PostgreSQL (``--database-url``: a fresh database per book on that server, bench/postgres.py)
each book is built the same way in SQLite and moved with ``daihuan copy-to-postgres``'s own
code (storage/pg/copy.py, which checks it on the way), then served from PostgreSQL.

Goals: time per instalment and per due instalment at 1M within 1.5x of 10k; peak RSS within
64 MiB.

With several workers (``--workers 1,2``, PostgreSQL): the largest book is built once and
served by N processes at once, each running the same daily run, which they share
(core.services.servicing): the time from the first one's start to the last one's end, and
the CPU they spent together. On 2 cores, the workers and PostgreSQL share the same CPUs.

    python -m bench.servicing --workers 1,2 --sizes 1000000 [--database-url …|throwaway]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import logging
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench import postgres
from core.clock import FixedClock
from core.risk import RiskPolicy
from core.services.daily import run_daily
from core.services.servicing import ServicingPolicy
from storage.db import Database
from storage.engine import open_book
from storage.location import is_postgres_url
from storage.migrate import migrate
from storage.pg.copy import copy_to_postgres
from storage.uow import StorageUnitOfWorkFactory

DAY = date(2027, 3, 15)
TZ = ZoneInfo("Asia/Shanghai")
BORROWERS = 5_000
FRIENDS = 500
NOW = "2027-01-01T00:00:00.000000+00:00"
TEXT = "t"  # the signed text of every agreement; its hash is real, as copying checks it


async def create(path: Path) -> None:
    db = await Database(path).open()
    await migrate(db, FixedClock(datetime(2027, 1, 1, tzinfo=UTC)))
    await db.close()


def build(path: Path, size: int, due_every: int = 10) -> None:
    """One single-instalment bill per instalment; one in ``due_every`` due on DAY."""
    asyncio.run(create(path))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("BEGIN")
    users = [(u, f"user{u}", NOW, NOW) for u in range(1, BORROWERS + FRIENDS + 1)]
    conn.executemany("INSERT INTO users (id, display_name, created_at, updated_at)"
                     " VALUES (?, ?, ?, ?)", users)
    merchant = conn.execute("INSERT INTO accounts (code, kind, created_at) VALUES"
                            " ('merchant:settlement', 'merchant', ?) RETURNING id", (NOW,)
                            ).fetchone()[0]
    bank = conn.execute("INSERT INTO accounts (code, kind, created_at) VALUES"
                        " ('external:bank', 'external', ?) RETURNING id", (NOW,)).fetchone()[0]
    receivable = {}
    for b in range(1, BORROWERS + 1):
        receivable[b] = conn.execute(
            "INSERT INTO accounts (code, kind, max_balance, created_at) VALUES (?, 'receivable',"
            " 0, ?) RETURNING id", (f"receivable:{b}", NOW)).fetchone()[0]
    wallets = {}
    for f in range(BORROWERS + 1, BORROWERS + FRIENDS + 1):
        wallets[f] = conn.execute(
            "INSERT INTO accounts (code, kind, min_balance, created_at) VALUES (?, 'wallet', 0,"
            " ?) RETURNING id", (f"wallet:{f}", NOW)).fetchone()[0]
        if f % 2:  # half the friends are funded
            conn.execute("INSERT INTO transfers (idem_key, kind, legs, content_hash, posted_at)"
                         " VALUES (?, 'topup', ?, 'h', ?)",
                         (f"fund:{f}", json.dumps([[bank, -10**9], [wallets[f], 10**9]]), NOW))
    amount = 10_000
    for start in range(0, size, 10_000):
        rows = range(start, min(size, start + 10_000))
        conn.executemany(
            "INSERT INTO transfers (id, idem_key, kind, legs, content_hash, posted_at)"
            " VALUES (?, ?, 'purchase', ?, 'h', ?)",
            [(k + 1_000_000, f"purchase:{k}", json.dumps(
                [[receivable[1 + k % BORROWERS], -amount], [merchant, amount]]), NOW)
             for k in rows])
        conn.executemany(
            "INSERT INTO bills (id, borrower_id, merchant, principal, fee, plan, purchased_on,"
            " source, ref, transfer_id, created_at) VALUES (?, ?, 'Shop', ?, 0, 1, ?, 'import',"
            " ?, ?, ?)",
            [(k + 1, 1 + k % BORROWERS, amount, "2027-01-01", f"b{k}", k + 1_000_000, NOW)
             for k in rows])
        conn.executemany(
            "INSERT INTO instalments (id, bill_id, seq, due_date, principal, fee)"
            " VALUES (?, ?, 1, ?, ?, 0)",
            [(k + 1, k + 1, _due(k, due_every).isoformat(), amount) for k in rows])
    # A fifth of what falls due is covered by a friend, through a signed agreement.
    due_today = [k for k in range(size) if k % due_every == 0]
    covered = due_today[::5]
    for n, k in enumerate(covered):
        friend = BORROWERS + 1 + n % FRIENDS
        conn.execute("INSERT INTO cover_requests (id, borrower_id, bill_id, share_bp, route,"
                     " friend_id, status, token_hash, token_salt, created_at, expires_at,"
                     " updated_at) VALUES (?, ?, ?, 10000, 'link', ?, 'signed', ?, ?, ?, ?, ?)",
                     (n + 1, 1 + k % BORROWERS, k + 1, friend, f"h{n}", f"s{n}", NOW, NOW, NOW))
        conn.execute("INSERT INTO agreements (id, request_id, borrower_id, friend_id, bill_id,"
                     " share_bp, version, language, text, text_sha256, signed_at) VALUES"
                     " (?, ?, ?, ?, ?, 10000, 'v', 'en', ?, ?, ?)",
                     (n + 1, n + 1, 1 + k % BORROWERS, friend, k + 1, TEXT,
                      hashlib.sha256(TEXT.encode()).hexdigest(), NOW))
        conn.execute("INSERT INTO agreement_instalments (agreement_id, instalment_id, amount)"
                     " VALUES (?, ?, ?)", (n + 1, k + 1, amount))
    conn.execute("COMMIT")
    conn.close()


def _due(k: int, due_every: int) -> date:
    if k % due_every == 0:
        return DAY
    # The rest later on, past the reminder days: nothing to do with them today, so books
    # of any size with the same instalments due have the same work.
    return DAY + timedelta(days=10 + k % 300)


async def serve(location: Path | str) -> float:
    # Each step's pages, waits and time per worker, on stderr (shown with --workers).
    logging.basicConfig(level=logging.WARNING, format=f"  worker {os.getpid()}: %(message)s")
    logging.getLogger("core.services.servicing").setLevel(logging.INFO)
    clock = FixedClock(datetime(2027, 3, 15, 2, tzinfo=UTC))
    db = await open_book(location, clock)
    uow = StorageUnitOfWorkFactory(db, clock)
    started, start, cpu = time.time(), time.perf_counter(), time.process_time()
    result = await run_daily(uow, clock, TZ, ServicingPolicy(), RiskPolicy(),
                             frozenset({9000}), [DAY])
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    await db.close()
    (_, counts), = result.runs
    print(json.dumps({"seconds": elapsed, "debited": counts.debited, "failed": counts.failed,
                      "reminders": counts.reminders_planned, "alerts": result.alerts_raised,
                      "reported": result.reported is not None, "cpu": cpu,
                      "started": started, "ended": started + elapsed,
                      "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    return elapsed


def measure_workers(workdir: Path, size: int, counts: list[int], server: str) -> None:
    """The book of ``size`` (10% due) served by each number of workers in ``counts``."""
    path = workdir / f"book-{size}.db"
    build(path, size)
    results = {}
    with postgres.fresh_database(server) as template:
        asyncio.run(copy_to_postgres(path, template, FixedClock(datetime(2027, 1, 1,
                                                                          tzinfo=UTC))))
        path.unlink()
        for n in counts:
            with postgres.fresh_database(server, template=template) as url:
                workers = [subprocess.Popen([sys.executable, "-m", "bench.servicing",
                                             "--serve", url], stdout=subprocess.PIPE,
                                            text=True) for _ in range(n)]
                runs = [json.loads(w.communicate()[0].strip().splitlines()[-1])
                        for w in workers]
                assert all(w.returncode == 0 for w in workers)
            wall = max(r["ended"] for r in runs) - min(r["started"] for r in runs)
            cpu = sum(r["cpu"] for r in runs)
            done = {k: sum(r[k] for r in runs) for k in ("debited", "failed", "reminders")}
            reports = sum(r["reported"] for r in runs)
            results[n] = wall
            print(f"{size:,} instalments, {n} worker{'s' if n > 1 else ' '}: {wall:7.2f} s,"
                  f" {cpu:7.2f} s CPU in the workers; debited {done['debited']}, failed"
                  f" {done['failed']}, reminders {done['reminders']}, shares "
                  f"{[r['debited'] + r['failed'] + r['reminders'] for r in runs]},"
                  f" reports {reports}", flush=True)
    first, most = min(counts), max(counts)
    print(f"servicing time, {most} workers / {first}: {results[most] / results[first]:.2f}"
          f"   ({os.cpu_count()} cores here, shared with PostgreSQL)")


def measure(workdir: Path, size: int, due_every: int, server: str | None) -> dict:
    path = workdir / f"book-{size}-{due_every}.db"
    started = time.perf_counter()
    build(path, size, due_every)
    if server is None:
        built = time.perf_counter() - started
        result = serve_apart(str(path))
    else:
        with postgres.fresh_database(server) as url:
            asyncio.run(copy_to_postgres(path, url, FixedClock(datetime(2027, 1, 1,
                                                                        tzinfo=UTC))))
            built = time.perf_counter() - started
            result = serve_apart(url)
    due = -(-size // due_every)
    result["due"] = due
    print(f"{size:>9,} instalments, {due:>7,} due (built in {built:5.1f} s): servicing "
          f"{result['seconds']:7.2f} s, {result['seconds'] / size * 1e6:6.2f} us per "
          f"instalment, {result['seconds'] / due * 1e6:7.1f} us per due one; "
          f"debited {result['debited']}, failed {result['failed']}, reminders "
          f"{result['reminders']}, alerts {result['alerts']}, report "
          f"{'planned' if result['reported'] else 'MISSING'}; peak RSS "
          f"{result['rss_kib'] / 1024:6.1f} MiB", flush=True)
    path.unlink()
    return result


def serve_apart(location: str) -> dict:
    """The daily run in a fresh process, so its peak RSS is its own."""
    out = subprocess.run([sys.executable, "-m", "bench.servicing", "--serve", location],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--due", type=int, default=1_000,
                        help="instalments due in the per-due-instalment books")
    parser.add_argument("--database-url", help="a PostgreSQL server to serve the books from "
                        "(a fresh database each), or 'throwaway' to start one here")
    parser.add_argument("--workers", help="worker counts to compare, e.g. 1,2 (PostgreSQL)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve if is_postgres_url(args.serve) else Path(args.serve)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.workers:
        workdir = Path(tempfile.mkdtemp(prefix="bench-servicing-"))
        try:
            with postgres.server(args.database_url or postgres.THROWAWAY) as server:
                print(asyncio.run(postgres.durability(server)), flush=True)
                measure_workers(workdir, max(sizes), [int(n) for n in args.workers.split(",")],
                                server)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    workdir = Path(tempfile.mkdtemp(prefix="bench-servicing-"))
    try:
        with contextlib.ExitStack() as stack:
            server = None
            if args.database_url:
                server = stack.enter_context(postgres.server(args.database_url))
                print(asyncio.run(postgres.durability(server)), flush=True)
            tenth = {size: measure(workdir, size, 10, server) for size in sizes}
            fixed = {size: measure(workdir, size, max(1, size // args.due), server)
                     for size in sizes}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    small, large = min(sizes), max(sizes)
    per = {s: tenth[s]["seconds"] / s for s in sizes}
    per_due = {s: fixed[s]["seconds"] / fixed[s]["due"] for s in sizes}
    print(f"time per instalment (10% due), {large:,} / {small:,}: "
          f"{per[large] / per[small]:.2f}   (goal <= 1.5)")
    print(f"time per due instalment ({args.due:,} due), {large:,} / {small:,}: "
          f"{per_due[large] / per_due[small]:.2f}   (goal <= 1.5)")
    peak = max(r["rss_kib"] for r in (*tenth.values(), *fixed.values())) / 1024
    print(f"peak RSS: {peak:.1f} MiB at most   (goal <= 64)")


if __name__ == "__main__":
    main()
