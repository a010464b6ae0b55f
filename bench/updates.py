"""Front-end throughput and latency against a no-op PTB bot, measured in one run.

500 simulated people send a realistic mix (/start, /help, /bills, /wallet, /credit, free
text, button presses) through the offline Bot API server to the real bot (``daihuan run``,
polling, on SQLite) running in its own process; the baseline is the same Application with one
handler that answers every update at once (bench/noop_bot.py).
Both are measured (1) flat out: updates/s handled, and (2) at 200 updates/s offered: p50 and
p99 from the update being offered to the bot's first answer.

    python -m bench.updates [--users 500] [--updates 4000] [--rate 200] [--seconds 10]

Goal: Daihuan >= 0.5 of the no-op rate; p99 <= 100 ms at 200 updates/s offered.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bot.demo.botapi import FakeBotApi
from tests.harness import TEST_ID_KEY, TEST_TOKEN

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


def _who(output) -> int:
    if output.kind == "answer":
        return int(str(output.params["callback_query_id"]).split("-")[0])
    return output.chat_id


async def measure(api: FakeBotApi, crowd: Crowd, updates: int, rate: float, seconds: float
                  ) -> tuple[float, list[float]]:
    """Flat-out throughput, then latencies at a fixed offered rate (each person has at most
    one update waiting, so their next answer is the answer to it)."""
    start_output = len(api.outputs)
    start = time.monotonic()
    for _ in range(updates):
        await crowd.offer(crowd.rng.choice(crowd.people))
    # Done when every update was fetched and nothing more comes out for a while (an update
    # may be answered by more than one message, so counting answers would stop early).
    await _until(lambda: api.pending_updates == 0 and len(api.outputs) > start_output
                 and time.monotonic() - api.outputs[-1].at > 0.3)
    throughput = updates / (api.outputs[-1].at - start)

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
    deadline = time.monotonic() + 30
    while waiting and time.monotonic() < deadline:
        seen = _collect(api, seen, waiting, latencies)
        await asyncio.sleep(0.01)
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


def report(name: str, throughput: float, latencies: list[float], rate: float) -> None:
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 2 else [0] * 99
    print(f"{name:<10} {throughput:8.1f} updates/s flat out; at {rate:.0f}/s offered: "
          f"p50 {q[49]:6.1f} ms, p99 {q[98]:6.1f} ms ({len(latencies)} answers timed)")


async def against(module: str, tmp: Path, users: int, updates: int, rate: float,
                  seconds: float) -> tuple[float, list[float]]:
    """Start ``module`` as the bot in its own process (as in production: the Bot API is
    another machine) against a fresh server and database, and measure it."""
    api = FakeBotApi(TEST_TOKEN)
    await api.start()
    crowd = Crowd(api, users)
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TEST_TOKEN, "TELEGRAM_API_BASE_URL": api.base_url,
           "ID_HASH_KEY": TEST_ID_KEY, "DATABASE_PATH": str(tmp / f"{module}.db"),
           "TELEGRAM_MAX_RATE": "1000", "LOG_LEVEL": "WARNING"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    try:
        await _until(lambda: any(method == "getUpdates" for method, _ in api.calls), 60)
        await asyncio.sleep(float(os.environ.get("BENCH_WARMUP", "1")))  # past start-up work
        return await measure(api, crowd, updates, rate, seconds)
    finally:
        process.send_signal(signal.SIGINT)
        await api.release_polls()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
        await api.stop()


async def main(users: int, updates: int, rate: float, seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-updates-") as tmp:
        noop = await against("bench.noop_bot", Path(tmp), users, updates, rate, seconds)
        daihuan = await against("bot", Path(tmp), users, updates, rate, seconds)
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
