"""Several webhook workers on one PostgreSQL book: one user's quick updates, each reaching
another worker, are handled one at a time and in the order they were sent; other users'
are not held up by them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.commands import help_text
from bot.i18n import Texts
from core.clock import FixedClock
from core.users import Language
from tests.support.dbcheck import q
from tests.support.webhook_workers import webhook_workers

NOW = datetime(2026, 11, 29, 2, tzinfo=UTC)
SLOW = 0.8  # seconds Telegram takes to take the first reply to Jane


async def messages_to(api, chat_id: int, count: int, timeout: float = 10.0) -> list[str]:
    async def enough() -> list[str]:
        while True:
            found = [o.text for o in api.outputs if o.kind == "message" and o.chat_id == chat_id]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
    return await asyncio.wait_for(enough(), timeout)


@pytest.mark.postgres_only
async def test_one_users_quick_updates_on_three_workers_are_handled_in_order(
        tmp_path, engine, migrated_postgres_url):
    texts = Texts.load()

    def say(key: str, **params: object) -> str:
        return texts.get(Language.EN, key, **params)

    async with webhook_workers(tmp_path, FixedClock(NOW), migrated_postgres_url, 3) as (
            api, _):
        jane, bob = api.person(3201, "Jane", "en"), api.person(3202, "Bob", "en")
        slowed = []

        def slow_first_reply_to_jane(method: str, params: dict):
            if method == "sendMessage" and int(params["chat_id"]) == jane.id and not slowed:
                slowed.append(asyncio.get_running_loop().time())
                return ("slow", SLOW)  # the handler of Jane's first update is still running
            return None

        api.fault = slow_first_reply_to_jane
        sent = asyncio.get_running_loop().time()
        # Telegram sends them one after the other, each once the last is kept: the round
        # robin puts each on the next worker while the first is still being handled.
        await jane.send("/start")
        await jane.send("/help")
        await jane.send("/nonsense")
        await jane.send("hello")
        await jane.send_sticker()
        await jane.send("/cancel")
        kept = asyncio.get_running_loop().time()
        assert kept - sent < SLOW  # all six were taken before the first was done
        await bob.send("/help")  # another user, on another worker: goes ahead at once
        bobs = await messages_to(api, bob.id, 1)
        assert bobs == [help_text(texts, Language.EN)]
        bob_at = asyncio.get_running_loop().time()

        replies = await messages_to(api, jane.id, 6)
        assert replies == [say("start.greeting", name="Jane"), help_text(texts, Language.EN),
                           say("unknown.command"), say("unknown.text"),
                           say("unsupported.message"), say("common.nothing_to_cancel")]
        assert bob_at - slowed[0] < SLOW  # Bob was not held up behind Jane's slow update
        await asyncio.sleep(0.5)
        assert len(await messages_to(api, jane.id, 6)) == 6  # each handled once
        assert set(api.webhook_answers) == {200}
        # Spread over the three: each worker kept two or three of the seven updates.
        assert sorted(n for (n,) in q(migrated_postgres_url,
                                      "SELECT count(*) FROM inbox GROUP BY taken_by")) == [2, 2, 3]
        assert q(migrated_postgres_url,
                 "SELECT count(*) FROM inbox WHERE handled_at IS NULL") == [(0,)]
