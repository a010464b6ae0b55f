"""The no-op baseline of bench/updates.py runs through the bot's own run loop: it has no
post_init or post_shutdown (no database to open), and the loop must not need them."""

from __future__ import annotations

import asyncio
import sys

from bench.noop_bot import baseline
from bot.demo.botapi import FakeBotApi
from bot.serve import GIL_SWITCH_SECONDS, serve
from bot.settings import Settings
from tests.support.harness import TEST_ID_KEY, TEST_TOKEN


async def test_the_baseline_answers_and_stops_through_the_run_loop(tmp_path):
    api = FakeBotApi(TEST_TOKEN)
    settings = Settings(_env_file=None, telegram_bot_token=TEST_TOKEN,
                        telegram_api_base_url=await api.start(), id_hash_key=TEST_ID_KEY,
                        database_path=tmp_path / "unused.db", web_port=0,
                        telegram_max_rate=1000)
    app = baseline(settings)
    assert app.post_init is None and app.post_shutdown is None
    stop = asyncio.Event()
    switch = sys.getswitchinterval()
    task = asyncio.create_task(serve(settings, app=app, stop=stop))
    try:
        await api.person(7, "Ann").send("hello")
        answer = await api.wait_output(lambda o: o.chat_id == 7, timeout=10)
        assert answer.text == "ok"
        # Running, the loop hands the GIL to aiosqlite's thread and back without 5 ms waits.
        assert sys.getswitchinterval() == GIL_SWITCH_SECONDS
    finally:
        stop.set()
        await api.release_polls()
        await asyncio.wait_for(task, 30)  # raises what serve raised
        await api.stop()
    assert sys.getswitchinterval() == switch  # and back as it was once stopped
    assert not (tmp_path / "unused.db").exists()  # a true no-op: no storage


def test_updates_and_outbox_sends_in_flight_fit_in_the_connection_pool():
    # A request that finds no free connection waits; more in flight than connections would
    # queue handlers behind the outbox. Two lanes drain at once (bot.outbox_sender).
    import inspect

    from bot.composition import CONNECTIONS, UPDATES_IN_FLIGHT
    from bot.outbox_sender import OutboxSender
    from core.outbox import Lane

    sends = inspect.signature(OutboxSender).parameters["concurrency"].default
    assert UPDATES_IN_FLIGHT + len(Lane) * sends <= CONNECTIONS
