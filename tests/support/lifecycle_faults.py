"""Bot API faults for the lifecycle runs: a fifth of all calls fail, seeded."""

from __future__ import annotations

import json
import random
from collections import Counter

from bot.demo.botapi import _error, too_many_requests

FAULT_RATE = 0.2


def faults(seed: int, injected: Counter):
    """A fifth of all calls fail, seeded; the same request fails at most twice in a row, so
    any client that retries a few times gets through (as it does against Telegram)."""
    rng = random.Random(seed)
    streak: Counter = Counter()

    def fault(method, params):
        key = method + json.dumps(params, sort_keys=True, default=str)
        if streak[key] >= 2 or rng.random() >= FAULT_RATE:
            streak.pop(key, None)
            return None
        streak[key] += 1
        kind = rng.choice(["429", "500", "timeout", "drop"])
        injected[kind] += 1
        return {"429": too_many_requests(1), "500": _error(500, "Internal Server Error"),
                "timeout": ("delay", 0.8), "drop": "drop"}[kind]

    return fault
