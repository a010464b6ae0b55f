"""Outbox throughput against a rate limit the Bot API server enforces, in one run.

20,000 reminders are planned for 500 people, then the real sender drains them through the
real bot (PTB's rate limiter set to the same limit) against the offline Bot API server, which
answers 429 with retry_after when the limit is exceeded. Prints the achieved rate over the
enforced limit, the 429s, duplicates and losses.

    python -m bench.outbox [--messages 20000] [--limit 200]

Goal: >= 0.9 of the limit, zero duplicates, zero lost.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path

from bot.context import services
from bot.outbox_sender import OutboxSender
from core.outbox import Notice
from tests.harness import BotHarness


async def run(messages: int, limit: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-outbox-") as tmp:
        async with BotHarness(Path(tmp), telegram_max_rate=limit) as harness:
            for name in ("outbox", "expire-cover-requests", "servicing"):
                for job in harness.app.job_queue.get_jobs_by_name(name):
                    job.schedule_removal()
            people = [harness.person(10_000 + i, f"P{i}", "en").id for i in range(500)]
            found = services(harness.app)
            notices = [Notice(f"bench:{k}", people[k % len(people)], "reminder_due",
                              {"amount": 100 + k, "due": "2026-12-29", "days": 0,
                               "merchant": "Shop", "seq": 1, "of": 3, "role": "borrower"},
                              urgent=True)
                       for k in range(messages)]
            async with found.uow() as tx:
                for start in range(0, messages, 5000):
                    await tx.outbox.plan([(n, found.clock.now())
                                          for n in notices[start:start + 5000]])
                await tx.commit()
            harness.api.rate_limit = limit
            sender = OutboxSender(harness.app.bot, found, batch=200)
            started = time.perf_counter()
            while True:
                counts = await sender.drain(max_batches=1000)
                async with found.uow() as tx:
                    left = await tx.outbox.counts()
                if not left.get("pending"):
                    break
                if counts.rate_limited:
                    await asyncio.sleep(1)  # the retry-after the server asked for
            elapsed = time.perf_counter() - started
            sent = Counter((o.chat_id, o.text) for o in harness.api.outputs
                           if o.kind == "message")
            duplicates = sum(n - 1 for n in sent.values())
            lost = messages - len(sent)
            rate = len(sent) / elapsed
            print(f"{messages:,} notices in {elapsed:.1f} s: {rate:.1f}/s against a limit of "
                  f"{limit}/s; 429s: {harness.api.rate_limited}; duplicates: {duplicates}; "
                  f"lost: {lost}; outbox: {left}")
            print(f"achieved / limit: {rate / limit:.2f}   (goal >= 0.9)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--limit", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.messages, args.limit))


if __name__ == "__main__":
    main()
