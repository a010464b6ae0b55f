"""A passing Bot API failure (5xx, a dropped connection) does not lose a reply: the request
is retried before the handler sees an error, and the user sees the answer once."""

import random
from collections import Counter

from tests.fake_botapi import _error
from tests.harness import BotHarness


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
