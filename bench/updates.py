"""Front-end throughput and latency against a no-op PTB bot, measured in one run.

500 simulated people send a realistic mix (/start, /help, /bills, /wallet, /credit, free
text, button presses) through the offline Bot API server to the real Daihuan Application on
SQLite; the baseline is a PTB Application whose one handler answers every update at once.
Both are measured (1) flat out: updates/s handled, and (2) at 200 updates/s offered: p50 and
p99 from the update being offered to the bot's first answer.

    python -m bench.updates [--users 500] [--updates 4000] [--rate 200] [--seconds 10]

Goal: Daihuan >= 0.5 of the no-op rate; p99 <= 100 ms at 200 updates/s offered.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from telegram import Update
from telegram.ext import TypeHandler

from tests.fake_botapi import FakeBotApi
from tests.harness import BotHarness

MIX = ["/start", "/help", "/bills", "/wallet", "/credit", "hello there", "/language", "press"]


class Crowd:
    def __init__(self, api: FakeBotApi, users: int) -> None:
        rng = random.Random(7)
        self.api = api
        self.people = [api.person(600_000 + i, f"P{i}", rng.choice(["en", "zh-hans"]))
                       for i in range(users)]
        self.rng = rng

    async def offer(self, person) -> float:
        """One update from ``person``, answered by exactly one message or one press answer
        (edits that may follow are not counted). Returns when it was offered."""
        action = self.rng.choice(MIX)
        if action == "press":
            await person.send_update({"callback_query": {
                "id": f"{person.id}-{time.monotonic_ns()}", "from": person.user,
                "chat_instance": "x", "data": self.rng.choice(["bills:0", "lang:zh",
                                                                "lang:en"])}})
        else:
            await person.send(action)
        return time.monotonic()


def _answers(api: FakeBotApi, start: int) -> list:
    return [o for o in api.outputs[start:] if o.kind in ("message", "answer")]


def _who(output) -> int:
    if output.kind == "answer":
        return int(str(output.params["callback_query_id"]).split("-")[0])
    return output.chat_id


async def measure(api: FakeBotApi, crowd: Crowd, updates: int, rate: float, seconds: float
                  ) -> tuple[float, list[float]]:
    """Flat-out throughput, then latencies at a fixed offered rate (each person has at most
    one update waiting, so their next answer is the answer to it)."""
    start_output = len(api.outputs)
    start = time.perf_counter()
    for _ in range(updates):
        await crowd.offer(crowd.rng.choice(crowd.people))
    await _until(lambda: len(_answers(api, start_output)) >= updates)
    throughput = updates / (time.perf_counter() - start)

    waiting: dict[int, float] = {}
    latencies: list[float] = []
    seen = len(api.outputs)
    begin = time.perf_counter()
    count = int(rate * seconds)
    for k in range(count):
        delay = begin + k / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        seen = _collect(api, seen, waiting, latencies)
        person = crowd.rng.choice([p for p in crowd.people if p.id not in waiting])
        waiting[person.id] = await crowd.offer(person)
    await _until(lambda: not waiting or (not _collect(api, len(api.outputs), waiting,
                                                     latencies) and not waiting))
    _collect(api, seen, waiting, latencies)
    return throughput, latencies


def _collect(api: FakeBotApi, seen: int, waiting: dict[int, float],
             latencies: list[float]) -> int:
    outputs = api.outputs
    for output in outputs[seen:]:
        if output.kind in ("message", "answer"):
            offered = waiting.pop(_who(output), None)
            if offered is not None:
                latencies.append((output.at - offered) * 1000)
    return len(outputs)


async def _until(done, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done():
        await asyncio.sleep(0.005)


async def answer_everything(update: Update, context) -> None:
    """The baseline: answer at once, touching nothing."""
    if update.callback_query:
        await update.callback_query.answer()
    elif update.effective_message:
        await update.effective_message.reply_text("ok")


def report(name: str, throughput: float, latencies: list[float], rate: float) -> None:
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 2 else [0] * 99
    print(f"{name:<10} {throughput:8.1f} updates/s flat out; at {rate:.0f}/s offered: "
          f"p50 {q[49]:6.1f} ms, p99 {q[98]:6.1f} ms ({len(latencies)} answers timed)")


async def main(users: int, updates: int, rate: float, seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-updates-") as tmp:
        async with BotHarness(Path(tmp) / "daihuan") as harness:
            daihuan = await measure(harness.api, Crowd(harness.api, users), updates, rate,
                                    seconds)
        # The same Application, server and settings with every handler replaced by one that
        # answers at once: what PTB and the transport cost without Daihuan's work.
        async with BotHarness(Path(tmp) / "noop") as harness:
            harness.app.handlers.clear()
            harness.app.add_handler(TypeHandler(Update, answer_everything))
            noop = await measure(harness.api, Crowd(harness.api, users), updates, rate,
                                 seconds)
    report("no-op PTB", *noop, rate)
    report("Daihuan", *daihuan, rate)
    p99 = statistics.quantiles(daihuan[1], n=100)[98]
    print(f"Daihuan / no-op throughput: {daihuan[0] / noop[0]:.2f}   (goal >= 0.5); "
          f"Daihuan p99 at {rate:.0f}/s: {p99:.1f} ms   (goal <= 100)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--updates", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.users, args.updates, args.rate, args.seconds))
