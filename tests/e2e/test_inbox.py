"""Updates are kept before they are acknowledged: what a stopped run kept and had not
handled is handled by the next, once, even when Telegram sends it again meanwhile."""

from __future__ import annotations

import asyncio
import json

from bot.inbox import INBOX, take_over_orphans, whose
from bot.sealing import Sealer
from core.clock import FixedClock
from tests.support.dbcheck import q
from tests.support.harness import TEST_ID_KEY, BotHarness
from tests.support.lifecycle_runs import START

DEAD_WORKER = 99  # no process holds this id's lock: the run that kept the update is gone


async def kept_by_a_dead_run(h, update: dict) -> None:
    sealer = Sealer(TEST_ID_KEY.encode())
    plain = json.dumps(update, ensure_ascii=False, sort_keys=True).encode()
    await h.app.bot_data[INBOX]._log.accept(
        [(update["update_id"], whose(update), sealer.digest(plain), sealer.seal(plain))],
        DEAD_WORKER)


async def test_an_update_a_stopped_run_kept_is_handled_by_the_next_once(tmp_path, book_url):
    async with BotHarness(tmp_path, clock=FixedClock(START), database_url=book_url) as h:
        jane = h.api.person(3001, "Jane", "en")
        start = {"update_id": 500, "message": {"message_id": 1, "date": 0, "chat": jane.chat,
                                               "from": jane.user, "text": "/start",
                                               "entities": [{"type": "bot_command",
                                                             "offset": 0, "length": 6}]}}
        # The last run kept the update and was killed before handling it; Telegram, which
        # heard nothing, sends it again to this run as well.
        await kept_by_a_dead_run(h, start)
        await h.api.push_update(start)
        await asyncio.sleep(0.5)
        assert jane.unread() == []  # fetched again, but kept by another: not handled twice
        assert await take_over_orphans(h.app) == 1  # the inbox job, every few seconds
        assert "Hello, Jane" in (await jane.reply()).text
        await asyncio.sleep(0.3)
        assert await take_over_orphans(h.app) == 0
        assert jane.unread() == []
        assert q(h.book, "SELECT update_id FROM inbox WHERE handled_at IS NOT NULL"
                         " AND body IS NULL") == [(500,)]


async def test_an_orphan_taken_over_before_telegram_sends_it_again_is_handled_once(
        tmp_path, book_url):
    async with BotHarness(tmp_path, clock=FixedClock(START), database_url=book_url) as h:
        jane = h.api.person(3003, "Jane", "en")
        start = {"update_id": 600, "message": {
            "message_id": 1, "date": 0, "chat": jane.chat, "from": jane.user, "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}
        await kept_by_a_dead_run(h, start)
        # This time the new run takes it over first (as at start), and only then fetches
        # the batch the dead run never confirmed: both copies are queued, one is handled.
        assert await take_over_orphans(h.app) == 1
        await h.api.push_update(start)
        assert "Hello, Jane" in (await jane.reply()).text
        await asyncio.sleep(0.5)
        assert jane.unread() == []


async def test_every_update_is_kept_and_emptied_once_handled(tmp_path, book_url):
    async with BotHarness(tmp_path, clock=FixedClock(START), database_url=book_url) as h:
        jane = h.api.person(3002, "Jane", "en")
        await jane.send("/start")
        assert "Hello, Jane" in (await jane.reply()).text
        await asyncio.sleep(0.2)
        assert q(h.book, "SELECT count(*) FROM inbox WHERE handled_at IS NOT NULL"
                         " AND body IS NULL AND user_key = 3002") == [(1,)]
