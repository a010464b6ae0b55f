"""A press answered too late (a second answer, or an update handled again after a crash)
is refused by Telegram; the bot goes on with the press instead of failing it."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest

from bot.demo.botapi import FakeBotApi
from bot.telegram_bot import LimitedBot
from tests.support.harness import TEST_TOKEN


async def test_an_answer_telegram_finds_too_late_is_not_an_error():
    api = FakeBotApi(TEST_TOKEN)
    await api.start()
    bot = LimitedBot(TEST_TOKEN, base_url=api.base_url)
    try:
        await bot.initialize()
        assert await bot.answer_callback_query("press-1") is True
        # Refused as too late: no error, and False says the person did not see it.
        assert await bot.answer_callback_query("press-1", text="again") is False
        assert [o.text for o in api.outputs if o.kind == "answer"] == [None]
        # Other refusals still are errors: a message to a chat that does not exist.
        with pytest.raises(BadRequest):
            await bot.send_message(999, "hello")
    finally:
        await bot.shutdown()
        await api.stop()
