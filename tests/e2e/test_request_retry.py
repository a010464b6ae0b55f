"""A passing Bot API failure (5xx, a dropped connection) does not lose a reply: the request
is retried before the handler sees an error, and the user sees the answer once."""

import random
from collections import Counter

from bot.demo.botapi import _error
from tests.support.harness import BotHarness


async def test_replies_survive_5xx_and_dropped_connections(tmp_path):
    async with BotHarness(tmp_path) as bot:
        rng = random.Random(3)
        injected = Counter()

        def fault(method, params):
            if method not in ("sendMessage", "answerCallbackQuery") or rng.random() > 0.3:
                return None
            kind = rng.choice(["500", "502", "drop"])
            injected[kind] += 1
            return "drop" if kind == "drop" else _error(int(kind), "Bad Gateway")

        people = [bot.person(8000 + i, f"P{i}", "en") for i in range(10)]
        bot.api.fault = fault
        for person in people:
            for command in ("/start", "/help", "/bills", "/wallet"):
                await person.send(command)
        await bot.drained(timeout=30)
        sent = Counter((o.chat_id, o.text) for o in bot.api.outputs if o.kind == "message")
        assert sum(injected.values()) >= 5
        assert len(sent) == 40 and set(sent.values()) == {1}  # every reply, once
        assert not any("went wrong" in text for _, text in sent)


async def test_a_timed_out_call_is_retried_and_one_that_got_through_is_not_done_twice(
        tmp_path, monkeypatch):
    """A timeout before Telegram did anything: the reply is sent again and arrives once. A
    connection lost after Telegram answered the press, or a timeout after it made the edit:
    the retry is refused as already done, which counts as success, so the handler carries on
    and nobody is told something went wrong."""
    monkeypatch.setattr("bot.request.BACKOFF", (0.05, 0.05, 0.05, 0.05))
    async with BotHarness(tmp_path, telegram_timeout_seconds=0.3) as bot:
        jane = bot.person(8100, "Jane", "en")
        first = {"sendMessage": True, "answerCallbackQuery": True, "editMessageText": True}

        def fault(method, params):
            if not first.get(method):
                return None
            first[method] = False
            return {"sendMessage": ("delay", 0.6), "answerCallbackQuery": "done-drop",
                    "editMessageText": ("late", 0.6)}[method]

        bot.api.fault = fault
        await jane.send("/language")
        menu = await jane.reply()
        await jane.press(menu, "中文")
        await bot.drained(timeout=10)
        assert not any(first.values())  # each kind of call timed out once
        kinds = Counter(o.kind for o in bot.api.outputs)
        assert kinds == Counter({"message": 1, "answer": 1, "edit": 1}), kinds
        assert not any("went wrong" in (o.text or "") or "出错" in (o.text or "")
                       for o in bot.api.outputs)
