"""A person's answer while the outbox works through a backlog, against the same bot idle,
measured in one run.

Friends open invitation links, one every 300 ms: the bot answers with the request and plans
a notice to the borrower ("… opened your request"), on the outbox's interactive lane. First
with the outbox empty (idle), then with 10,000 reminders pending and the periodic drain
sending them at Telegram's bulk limit of 30 a second, which the offline Bot API server
enforces (429 with retry_after above it). For each phase: p50 and p99 from the link being
opened to the friend's answer, and to the borrower's notice.

    python -m bench.interactive [--backlog 10000] [--samples 40] [--limit 30]

Goal: backlog p99 within 2x of idle p99, for the answer and for the notice.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from bot.context import services
from core.bills import make_quote
from core.cover import Route
from core.identity import parse_resident_id
from core.money import Money
from core.outbox import Notice
from core.services.purchases import record_bill
from core.services.verification import verify
from tests.support.harness import BotHarness
from tests.support.idnumbers import resident_id

BORROWER = 5000


async def requests(found, count: int) -> list[str]:
    """``count`` open links of one borrower, a bill for every three."""
    async with found.uow() as tx:
        await tx.users.upsert_seen(BORROWER, "Jane", "en")
        await tx.commit()
    await verify(found.uow, found.hasher, user_id=BORROWER, phone="+8613800138000",
                 legal_name="Jane Smith", resident=parse_resident_id(
                     resident_id(date(1990, 5, 17)), found.today()))
    links = []
    for k in range(count):
        if k % 3 == 0:
            async with found.uow() as tx:
                bill = await record_bill(tx, BORROWER, make_quote(
                    f"Shop {k}", Money.yuan(300), 3, found.today(), found.fees), "chat",
                    f"bench-{k}")
                await tx.commit()
        created = await found.cover.ask(borrower_id=BORROWER, bill_id=bill.id,
                                        instalment_ids=None, share_bp=2_000, route=Route.LINK,
                                        friend_id=None)
        links.append(found.cover.tokens.payload(created.request.token_salt))
    return links


async def phase(harness: BotHarness, links: list[str], first_friend: int
                ) -> tuple[list[float], list[float]]:
    """Open each link as a new friend; the seconds to their answer and to the notice."""
    api = harness.api
    answers, notices = [], []
    for n, link in enumerate(links):
        friend = harness.person(first_friend + n, f"F{n}", "en")
        after = api.last_seq
        started = time.monotonic()
        await friend.open_link(link)
        answer = await api.wait_output(lambda o, f=friend.id: o.chat_id == f, after, 120)
        told = await api.wait_output(
            lambda o, name=f"F{n} ": o.chat_id == BORROWER and (o.text or "").startswith(name),
            after, 120)
        answers.append(answer.at - started)
        notices.append(told.at - started)
        await asyncio.sleep(0.3)
    return answers, notices


def p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


async def run(backlog: int, samples: int, limit: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-interactive-") as tmp:
        async with BotHarness(Path(tmp), telegram_max_rate=limit, invites_per_day=100,
                              outbox_interval_seconds=1.0) as harness:
            found = services(harness.app)
            harness.person(BORROWER, "Jane", "en")  # her chat exists: the notices reach her
            links = await requests(found, 2 * samples)
            harness.api.rate_limit = limit  # Telegram's bulk limit, enforced by the server
            await asyncio.sleep(2)  # the drain sends what building the book planned
            idle = await phase(harness, links[:samples], 700_000)
            people = [harness.person(800_000 + i, f"P{i}", "en").id for i in range(500)]
            async with found.uow() as tx:
                await tx.outbox.plan([(Notice(
                    f"bench:{k}", people[k % len(people)], "reminder_due",
                    {"amount": 100 + k, "due": "2026-12-29", "days": 1, "merchant": "Shop",
                     "seq": 1, "of": 3, "role": "borrower"}), found.clock.now())
                    for k in range(backlog)])
                await tx.commit()
            await asyncio.sleep(2)  # the periodic drain is under way
            busy = await phase(harness, links[samples:], 900_000)
            async with found.uow.read() as tx:
                left = (await tx.outbox.counts()).get("pending", 0)
            sent = sum(1 for o in harness.api.outputs if o.chat_id in set(people))
    print(f"backlog {backlog:,} reminders at {limit}/s; {sent:,} sent during the busy phase, "
          f"{left:,} still pending at its end; {samples} friends per phase")
    for name, (idle_values, busy_values) in (("answer", (idle[0], busy[0])),
                                             ("notice", (idle[1], busy[1]))):
        ratio = p(busy_values, 99) / p(idle_values, 99)
        print(f"{name:6}: idle p50 {p(idle_values, 50):6.1f} ms  p99 {p(idle_values, 99):6.1f} ms"
              f" | backlog p50 {p(busy_values, 50):6.1f} ms  p99 {p(busy_values, 99):6.1f} ms"
              f" | p99 backlog/idle {ratio:.2f}  (goal <= 2)")


def main() -> None:
    import logging

    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: still running"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--limit", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(run(args.backlog, args.samples, args.limit))


if __name__ == "__main__":
    main()
