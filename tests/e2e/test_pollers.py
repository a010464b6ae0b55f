"""Long polling with several `daihuan run` processes on one PostgreSQL book: one polls
(Telegram answers a second long poll with 409 Conflict), and when it is SIGKILLed another
takes over within seconds; no update is lost or handled twice."""

from __future__ import annotations

import asyncio

import pytest

from bot.demo.botapi import FakeBotApi
from tests.support.dbcheck import q
from tests.support.harness import TEST_TOKEN
from tests.support.worker_processes import WorkerProcess

TAKEOVER = 10.0  # seconds within which another process polls after the poller dies


async def pollers(workers) -> list[bool]:
    return [await w.polling() for w in workers]


@pytest.mark.postgres_only
async def test_one_process_polls_and_another_takes_over_when_it_is_killed(
        tmp_path, engine, migrated_postgres_url):
    api = FakeBotApi(TEST_TOKEN)
    await api.start()
    workers = [WorkerProcess(api, tmp_path, name, migrated_postgres_url, webhook=False)
               for name in ("a", "b", "c")]
    try:
        for worker in workers:
            await worker.start()
        await asyncio.sleep(2.5)  # a check of every process that does not poll
        assert sorted(await pollers(workers)) == [False, False, True]  # exactly one
        jane = api.person(3401, "Jane", "en")
        await jane.send("/start")
        assert "Hello, Jane" in (await jane.reply(timeout=10)).text

        poller = next(w for w, polls in zip(workers, await pollers(workers), strict=True)
                      if polls)
        poller.kill()
        await jane.send("/help")  # waits at Telegram for whoever polls next
        loop = asyncio.get_running_loop()
        killed_at = loop.time()
        assert "/verify" in (await jane.reply(timeout=TAKEOVER)).text
        assert loop.time() - killed_at < TAKEOVER
        rest = [w for w in workers if w is not poller]
        assert sorted(await pollers(rest)) == [False, True]
        await asyncio.sleep(1.0)
        assert jane.unread() == []  # each handled once
        assert q(migrated_postgres_url,
                 "SELECT count(*) FROM inbox WHERE handled_at IS NULL") == [(0,)]
    finally:
        await api.release_polls()
        for worker in workers:
            await worker.stop()
        await api.stop()
