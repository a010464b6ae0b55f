"""A flow under way lives in the book, not in one process's memory: a restart loses none,
any worker goes on where another left off, and a flow left alone for its time is over."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.drafts import DRAFTS, FLOW_TIME
from bot.i18n import Texts
from core.clock import FixedClock
from core.users import Language
from tests.support.chat_flows import ADULT_ID, say_and_expect
from tests.support.dbcheck import q
from tests.support.harness import BotHarness
from tests.support.webhook_workers import webhook_workers

NOW = datetime(2026, 11, 29, 2, tzinfo=UTC)


def settings_for(book_url):
    return {"database_url": book_url} if book_url else {}


def flows_in_memory(app) -> list:
    """What PTB's memory holds of anyone's flows and drafts: nothing, between updates."""
    flows = [h for group in app.handlers.values() for h in group if hasattr(h, "_conversations")]
    return ([f._conversations for f in flows if f._conversations]
            + [data for data in app._user_data.values() if data])


async def test_a_flow_goes_on_after_a_restart_and_is_kept_only_sealed(tmp_path, book_url):
    clock = FixedClock(NOW)
    async with BotHarness(tmp_path, clock=clock, **settings_for(book_url)) as bot:
        jane = bot.person(3301, "Jane", "en")
        await say_and_expect(jane, "/verify", "Step 1 of 3")
        await jane.share_contact("+86 138 0013 8000", owner_id=jane.id)
        assert "Step 2 of 3" in (await jane.reply()).text
        await bot.drained()
        assert flows_in_memory(bot.app) == []  # in the book only, between updates
        bodies = q(bot.book, "SELECT body FROM drafts WHERE user_id = 3301")
        assert len(bodies) == 1
        assert b"13800138000" not in bytes(bodies[0][0])  # the phone number only sealed
        assert b"verify" not in bytes(bodies[0][0])
    # A deploy: the process stops and another starts on the same book.
    async with BotHarness(tmp_path, clock=clock, **settings_for(book_url)) as bot:
        jane = bot.person(3301, "Jane", "en")
        await say_and_expect(jane, "Jane Smith", "Step 3 of 3")
        done = await say_and_expect(jane, ADULT_ID, "✅ Verified: J*** S****")
        assert "+86*******8000" in done.text  # the phone shared before the restart
        await bot.drained()
        assert q(bot.book, "SELECT count(*) FROM drafts") == [(0,)]  # over: removed


async def test_a_flow_left_alone_for_its_time_is_over_and_its_draft_removed(
        tmp_path, book_url):
    clock = FixedClock(NOW)
    async with BotHarness(tmp_path, clock=clock, **settings_for(book_url)) as bot:
        jane = bot.person(3302, "Jane", "en")
        await say_and_expect(jane, "/verify", "Step 1 of 3")
        await jane.share_contact("+86 138 0013 8000", owner_id=jane.id)
        assert "Step 2 of 3" in (await jane.reply()).text
        clock.advance(FLOW_TIME - timedelta(seconds=1))
        await say_and_expect(jane, "J4ne", "does not look like a legal name")  # still in it
        clock.advance(FLOW_TIME - timedelta(seconds=1))  # ...and its time began again
        await say_and_expect(jane, "Jane Smith", "Step 3 of 3")
        clock.advance(FLOW_TIME)
        reply = await say_and_expect(jane, ADULT_ID, "")  # after its time: not an answer
        assert "Verified" not in reply.text
        await bot.drained()
        assert q(bot.book, "SELECT count(*) FROM identities") == [(0,)]
        clock.advance(FLOW_TIME)
        await say_and_expect(jane, "/help", "/verify")
        await bot.drained()
        await bot.app.bot_data[DRAFTS].forget_expired()  # the inbox job, every few seconds
        assert q(bot.book, "SELECT count(*) FROM drafts") == [(0,)]


@pytest.mark.postgres_only
async def test_any_worker_goes_on_with_a_flow_another_began(tmp_path, engine,
                                                            migrated_postgres_url):
    async with webhook_workers(tmp_path, FixedClock(NOW), migrated_postgres_url, 3) as (
            api, _):
        jane = api.person(3303, "Jane", "en")
        # Each update reaches the next worker (round robin), sent as fast as Telegram would.
        await jane.send("/verify")
        await jane.share_contact("+86 138 0013 8000", owner_id=jane.id)
        await jane.send("Jane Smith")
        await jane.send(ADULT_ID)
        await jane.send("/language")
        texts = [(await jane.reply()).text for _ in range(4)]
        assert "Step 1 of 3" in texts[0] and "Step 2 of 3" in texts[1]
        assert "Step 3 of 3" in texts[2] and "✅ Verified: J*** S****" in texts[3]
        await jane.press(await jane.reply(), "中文")  # a press, on yet another worker
        edited = await jane.next("edit")
        assert edited.text == Texts.load().get(Language.ZH, "language.set")
        await asyncio.sleep(0.3)
        # The six updates went to all three workers, and each was handled once, in order.
        assert q(migrated_postgres_url, "SELECT count(DISTINCT taken_by) FROM inbox") == [(3,)]
        assert q(migrated_postgres_url, "SELECT count(*) FROM inbox WHERE handled_at IS NULL"
                 ) == [(0,)]
        assert q(migrated_postgres_url, "SELECT count(*) FROM identities") == [(1,)]
        assert q(migrated_postgres_url, "SELECT count(*) FROM drafts") == [(0,)]
        assert jane.unread() == []
