"""Several workers drain one outbox on PostgreSQL, through the Bot API over HTTP, at once:
every notice reaches its recipient once, and each recipient's in the order planned."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.demo.botapi import FakeBotApi
from bot.outbox_sender import OutboxSender
from core.clock import FixedClock
from core.outbox import Lane, Notice
from storage.engine import open_book
from storage.leadership import WorkerPresence
from storage.uow import StorageUnitOfWorkFactory
from tests.support.dbcheck import q
from tests.support.harness import TEST_TOKEN
from tests.support.scheduled_work import services_for

NOW = datetime(2026, 12, 29, 2, tzinfo=UTC)  # 10:00 in Shanghai: not quiet
PEOPLE, EACH = 24, 6


@pytest.mark.postgres_only
async def test_workers_draining_one_outbox_send_each_notice_once_in_order(
        engine, migrated_postgres_url):
    api = FakeBotApi(TEST_TOKEN)
    await api.start()
    clock = FixedClock(NOW)
    db = await open_book(migrated_postgres_url, clock)
    people = [5000 + i for i in range(PEOPLE)]
    for person in people:
        api.person(person, f"P{person}")  # a chat the bot may write to
    workers, bots = [], []
    try:
        uow = StorageUnitOfWorkFactory(db, clock)
        async with uow() as tx:
            await tx.outbox.plan([
                (Notice(f"{p}:{k}", p, "reminder_due",
                        {"amount": 10000 + k, "due": "2026-12-29", "days": 0,
                         "merchant": "Shop", "seq": 1, "of": 3, "instalment": k,
                         "role": "borrower"}), clock.now())
                for k in range(EACH) for p in people])  # k-th of each, then the next
            await tx.commit()
        senders = []
        for _ in range(3):
            worker = WorkerPresence(migrated_postgres_url)
            assert await worker.present()
            bot = Bot(TEST_TOKEN, base_url=api.base_url,
                      request=HTTPXRequest(connection_pool_size=8))
            await bot.initialize()
            workers.append(worker)
            bots.append(bot)
            # Small batches, so the three claim from the backlog many times over.
            senders.append(OutboxSender(bot, services_for(uow, clock), batch=10,
                                        worker=worker))
        counts = await asyncio.gather(*(s.drain(max_batches=100, lanes=(Lane.BULK,))
                                        for s in senders))
    finally:
        for bot in bots:
            await bot.shutdown()
        for worker in workers:
            await worker.release()
        await db.close()
        await api.stop()
    assert sum(c.sent for c in counts) == PEOPLE * EACH
    assert sum(1 for c in counts if c.sent) >= 2  # the work was shared
    assert q(migrated_postgres_url, "SELECT status, count(*) FROM outbox GROUP BY status") \
        == [("sent", PEOPLE * EACH)]
    for person in people:
        amounts = [re.search(r"100\.0(\d)", o.text).group(1)
                   for o in api.outputs if o.chat_id == person]
        assert amounts == [str(k) for k in range(EACH)], person  # each once, in order
