"""Outbox throughput against a rate limit the Bot API server enforces, in one run.

For each limit (Telegram's bulk limit of 30/s, and 200/s), notices for 500 people are
planned, enough for about --seconds of sending, then the real sender drains them through
the real bot (its transport and rate limiter set to the same limit) in a process of its
own, as in production, against the offline Bot API server, which answers 429 with
retry_after above the limit. Prints the rate achieved over the limit, the 429s,
duplicates and losses, and the SQL statements and HTTP requests per notice.

    python -m bench.outbox [--limits 30,200] [--seconds 100]

Goal: >= 0.9 of each limit, zero duplicates, zero lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bot.demo.botapi import FakeBotApi
from core.clock import FixedClock
from core.outbox import Notice
from storage.db import Database
from storage.migrate import migrate
from storage.uow import StorageUnitOfWorkFactory
from tests.support.harness import TEST_ID_KEY, TEST_TOKEN

PEOPLE = 500


async def plan(path: Path, messages: int) -> None:
    clock = FixedClock(datetime.now(UTC))
    db = await Database(path).open()
    await migrate(db, clock)
    uow = StorageUnitOfWorkFactory(db, clock)
    async with uow() as tx:
        for p in range(PEOPLE):
            await tx.users.upsert_seen(10_000 + p, f"P{p}", "en")
        notices = [Notice(f"bench:{k}", 10_000 + k % PEOPLE, "reminder_due",
                          {"amount": 100 + k, "due": "2026-12-29", "days": 0, "merchant": "Shop",
                           "seq": 1, "of": 3, "role": "borrower"}, urgent=True)
                   for k in range(messages)]
        await tx.outbox.plan([(n, clock.now()) for n in notices])
        await tx.commit()
    await db.close()


async def send(path: Path, base_url: str, limit: int) -> None:
    """The child: the real bot's application (storage, services, transport) draining the
    outbox until nothing is pending; prints what it took."""
    from bot.composition import build_application
    from bot.context import services
    from bot.outbox_sender import sender
    from bot.settings import Settings

    # The benchmark's own SQLite book, named both ways: an exported DATABASE_URL (someone's
    # real book) is never written to.
    settings = Settings(_env_file=None, telegram_bot_token=TEST_TOKEN,
                        telegram_api_base_url=base_url, database_path=path, database_url=None,
                        id_hash_key=TEST_ID_KEY, telegram_max_rate=limit, web_port=0)
    app = build_application(settings)
    await app.initialize()
    await app.post_init(app)
    statements = 0
    kinds: Counter = Counter()
    last = ""

    def count(sql: str) -> None:
        # SQLite reports a statement again for each trigger program it runs: count it once.
        nonlocal statements, last
        if sql != last:
            statements += 1
            kinds[" ".join(sql.split()[:3])] += 1
        last = sql

    found = services(app)
    for conn in (found.uow.db.reader, found.uow.db._writer):
        await conn.set_trace_callback(count)
    outbox = sender(app)
    started = time.perf_counter()
    cpu = time.process_time()
    while True:
        counts = await outbox.drain(max_batches=1000)
        async with found.uow.read() as tx:
            left = await tx.outbox.counts()
        if not left.get("pending"):
            break
        if counts.rate_limited:
            await asyncio.sleep(1)  # the retry-after the server asked for
    print(json.dumps({"seconds": time.perf_counter() - started,
                      "cpu": time.process_time() - cpu, "statements": statements,
                      "kinds": kinds.most_common(8), "left": left}))
    await app.shutdown()
    await app.post_shutdown(app)


async def run(limit: int, seconds: float) -> float:
    messages = int(limit * seconds)
    with tempfile.TemporaryDirectory(prefix="bench-outbox-") as tmp:
        path = Path(tmp) / "outbox.db"
        await plan(path, messages)
        api = FakeBotApi(TEST_TOKEN)
        base_url = await api.start()
        for p in range(PEOPLE):
            api.person(10_000 + p, f"P{p}", "en")
        api.rate_limit = limit
        try:
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.outbox", "--send", str(path), "--base-url",
                base_url, "--limit", str(limit), stdout=asyncio.subprocess.PIPE,
                env={**os.environ, "LOG_LEVEL": "WARNING"})
            out, _ = await child.communicate()
        finally:
            await api.stop()
        result = json.loads(out.decode().strip().splitlines()[-1])
        sent = Counter((o.chat_id, o.text) for o in api.outputs if o.kind == "message")
        calls = Counter(method for method, _ in api.calls)
    duplicates = sum(n - 1 for n in sent.values())
    lost = messages - len(sent)
    rate = len(sent) / result["seconds"]
    print(f"limit {limit}/s: {messages:,} notices in {result['seconds']:.1f} s: {rate:.1f}/s; "
          f"429s: {api.rate_limited}; duplicates: {duplicates}; lost: {lost}; "
          f"{result['statements'] / messages:.1f} SQL statements and "
          f"{calls['sendMessage'] / messages:.2f} sendMessage calls per notice; sender CPU "
          f"{result['cpu'] / messages * 1000:.2f} ms per notice; outbox: {result['left']}")
    print("  statements: " + ", ".join(f"{k} x{n / messages:.2f}" for k, n in result["kinds"]))
    print(f"achieved / limit at {limit}/s: {rate / limit:.2f}   (goal >= 0.9)")
    return rate / limit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limits", default="30,200")
    parser.add_argument("--seconds", type=float, default=100)
    parser.add_argument("--send", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.send:
        asyncio.run(send(Path(args.send), args.base_url, args.limit))
        return
    for limit in (int(x) for x in args.limits.split(",")):
        asyncio.run(run(limit, args.seconds))


if __name__ == "__main__":
    main()
