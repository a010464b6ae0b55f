"""Front-end throughput, latency and CPU per update against a no-op bot, in one run.

500 simulated people send a realistic mix (/start, /help, /bills, /wallet, /credit, free
text, button presses) through the offline Bot API server to the real bot (``daihuan run``,
polling, on SQLite) running in its own process; the baseline (bench/noop_bot.py) is a true
no-op: the same transport and run loop, no storage, one answer to every update. Each is
measured (1) flat out: updates/s, and CPU seconds of its process per update (steadier than
throughput on a shared machine); (2) at an offered rate: p50 and p99 from the update being
offered to the bot's first answer. The rate is 200 updates/s when the baseline sustains it
with room (its flat-out rate is at least 250/s), else 80% of the baseline's flat-out rate:
the benchmark prints which. A bot that falls behind the offered rate is not offered more
than one waiting update a person; the rate it sustained is printed beside the one offered.

    python -m bench.updates [--users 500] [--updates 4000] [--rate 200] [--seconds 10]

Goals: Daihuan >= 0.5 of the no-op rate; CPU per update <= 3x the no-op's; p99 <= 100 ms.

With several workers (``--workers 1,2,4``): the same crowd, flat out, through N
``daihuan run --webhook`` processes on one PostgreSQL book (``--database-url``, or a
throwaway server), Telegram's deliveries spread over them round robin, 64 in flight at a
time. For each N: throughput, and the CPU all workers spent per update (each worker's CPU
per update it handled, weighted by its share), which must grow by at most 20% from 1
worker to 4: that is what says the design scales. On 2 cores the workers, PostgreSQL and
this benchmark share the same CPUs, so throughput cannot grow with N here.

    python -m bench.updates --workers 1,2,4 [--offered 200]
                            [--database-url postgresql://…|throwaway]

``--offered RATE`` offers the same load to every N (RATE updates/s in all) instead of
flat out: CPU per update then compares the design at one load, not how 2 cores share out
N saturated processes.
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
from dataclasses import dataclass
from pathlib import Path

from bot.demo.botapi import FakeBotApi
from tests.support.harness import TEST_ID_KEY, TEST_TOKEN

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


@dataclass
class Result:
    throughput: float  # updates/s flat out
    cpu_ms: float  # CPU milliseconds of the bot's process per update, flat out
    latencies: list[float]  # ms, at the offered rate
    offered: float  # updates/s actually offered in the latency phase
    sustained: float  # answers/s the bot gave in it


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def flat_out(api: FakeBotApi, crowd: Crowd, updates: int, pid: int
                   ) -> tuple[float, float]:
    """Every update offered at once: updates/s and CPU ms per update."""
    start_output = len(api.outputs)
    cpu = cpu_seconds(pid)
    start = time.monotonic()
    for _ in range(updates):
        await crowd.offer(crowd.rng.choice(crowd.people))
    # Done when every update was fetched and nothing more comes out for a while (an update
    # may be answered by more than one message, so counting answers would stop early).
    await _until(lambda: api.pending_updates == 0 and len(api.outputs) > start_output
                 and time.monotonic() - api.outputs[-1].at > 0.3)
    throughput = updates / (api.outputs[-1].at - start)
    return throughput, (cpu_seconds(pid) - cpu) / updates * 1000


async def at_rate(api: FakeBotApi, crowd: Crowd, rate: float, seconds: float
                  ) -> tuple[list[float], float, float]:
    """Updates offered at ``rate``, each person with at most one waiting (their next answer
    is the answer to it): latencies, the rate offered, the rate answered."""
    waiting: dict[int, float] = {}
    latencies: list[float] = []
    seen = len(api.outputs)
    begin = time.perf_counter()
    offered = 0
    for k in range(int(rate * seconds)):
        delay = begin + k / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        seen = _collect(api, seen, waiting, latencies)
        free = [p for p in crowd.people if p.id not in waiting]
        if not free:  # everyone waits for an answer: the bot is behind the offered rate
            continue
        person = crowd.rng.choice(free)
        waiting[person.id] = await crowd.offer(person)
        offered += 1
    elapsed = time.perf_counter() - begin
    deadline = time.monotonic() + 30
    while waiting and time.monotonic() < deadline:
        seen = _collect(api, seen, waiting, latencies)
        await asyncio.sleep(0.01)
    return latencies, offered / elapsed, len(latencies) / (time.perf_counter() - begin)


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


def percentiles(latencies: list[float]) -> list[float]:
    """p1..p99; a run that timed fewer than two answers has no spread to speak of."""
    if len(latencies) < 2:
        return [latencies[0] if latencies else float("nan")] * 99
    return statistics.quantiles(latencies, n=100)


def report(name: str, result: Result, rate: float) -> None:
    q = percentiles(result.latencies)
    behind = "" if result.offered >= 0.95 * rate else (
        f"; COULD NOT KEEP UP: {result.offered:.0f}/s offered of {rate:.0f}/s")
    print(f"{name:<10} {result.throughput:8.1f} updates/s flat out, {result.cpu_ms:5.2f} ms CPU "
          f"per update; at {rate:.0f}/s: p50 {q[49]:6.1f} ms, p99 {q[98]:6.1f} ms, answered "
          f"{result.sustained:.0f}/s ({len(result.latencies)} answers timed){behind}")


class Bot:
    """``module`` as the bot in its own process (as in production: the Bot API is another
    machine), against a fresh server and database."""

    def __init__(self, module: str, tmp: Path, users: int) -> None:
        self.module, self.tmp, self.users = module, tmp, users

    async def __aenter__(self) -> Bot:
        self.api = FakeBotApi(TEST_TOKEN)
        await self.api.start()
        self.crowd = Crowd(self.api, self.users)
        # The bot's book is the benchmark's own SQLite file: a DATABASE_URL exported or in
        # .env (someone's real book) is overridden with blank, which means unset.
        env = {**os.environ, "DATABASE_URL": "", "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
               "TELEGRAM_API_BASE_URL": self.api.base_url, "ID_HASH_KEY": TEST_ID_KEY,
               "DATABASE_PATH": str(self.tmp / f"{self.module}.db"),
               "TELEGRAM_MAX_RATE": "1000", "LOG_LEVEL": "WARNING", "WEB_PORT": "0"}
        self.log = self.tmp / f"{self.module}.log"
        with self.log.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.module, env=env, stdout=asyncio.subprocess.DEVNULL,
                stderr=log)
        await _until(lambda: self.process.returncode is not None
                     or any(method == "getUpdates" for method, _ in self.api.calls), 60)
        self.check_alive()
        await asyncio.sleep(float(os.environ.get("BENCH_WARMUP", "1")))  # past start-up work
        return self

    def check_alive(self) -> None:
        if self.process.returncode is not None:
            tail = self.log.read_text(errors="replace").splitlines()[-15:]
            raise SystemExit(f"{self.module} exited with {self.process.returncode}:\n"
                             + "\n".join(tail))

    async def __aexit__(self, *exc: object) -> None:
        if self.process.returncode is not None:
            await self.api.stop()
            return
        self.process.send_signal(signal.SIGINT)
        await self.api.release_polls()
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
        await self.api.stop()

    async def measure(self, updates: int, rate: float | None, seconds: float
                      ) -> tuple[float, float, Result | None]:
        throughput, cpu = await flat_out(self.api, self.crowd, updates, self.process.pid)
        if rate is None:
            return throughput, cpu, None
        latencies, offered, sustained = await at_rate(self.api, self.crowd, rate, seconds)
        return throughput, cpu, Result(throughput, cpu, latencies, offered, sustained)


async def main(users: int, updates: int, rate: float, seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-updates-") as tmp:
        async with Bot("bench.noop_bot", Path(tmp), users) as noop:
            noop_rate, _, _ = await noop.measure(updates, None, seconds)
            chosen = rate if noop_rate >= rate / 0.8 else round(0.8 * noop_rate)
            *_, baseline = await noop.measure(updates, chosen, seconds)
        async with Bot("bot", Path(tmp), users) as daihuan:
            *_, measured = await daihuan.measure(updates, chosen, seconds)
    why = (f"{rate:.0f}/s: the baseline sustains it with room" if chosen == rate else
           f"{chosen}/s: 80% of the no-op's {noop_rate:.0f}/s flat out (this machine cannot "
           f"offer {rate:.0f}/s with room even to the baseline)")
    print(f"offered rate: {why}")
    report("no-op PTB", baseline, chosen)
    report("Daihuan", measured, chosen)
    p99 = percentiles(measured.latencies)[98]
    print(f"Daihuan / no-op throughput: {measured.throughput / baseline.throughput:.2f}"
          f"   (goal >= 0.5)")
    print(f"Daihuan / no-op CPU per update: {measured.cpu_ms / baseline.cpu_ms:.2f}"
          f"   (goal <= 3)")
    print(f"Daihuan p99 at {chosen:.0f}/s: {p99:.1f} ms   (goal <= 100)")


async def through_workers(n: int, url: str, tmp: Path, users: int, updates: int,
                          offered: float | None = None) -> tuple[float, float, float]:
    """Through ``n`` webhook workers on the book at ``url``, flat out or at ``offered``
    updates/s in all: updates/s, CPU ms of all workers together per update, and PostgreSQL
    transactions per update."""
    from bot.settings import Settings
    from tests.support.dbcheck import one
    from tests.support.worker_processes import WorkerProcess

    api = FakeBotApi(TEST_TOKEN)
    await api.start()
    # A deployment's own outbox interval, not the tests' 0.2 s (quick deliveries): each
    # worker's idle drains are CPU that does not grow with the updates it handles.
    interval = str(Settings.model_fields["outbox_interval_seconds"].default)
    workers = [WorkerProcess(api, tmp, f"worker-{n}-{i}", url, webhook=True,
                             OUTBOX_INTERVAL_SECONDS=interval)
               for i in range(n)]
    try:
        for worker in workers:
            await worker.start()  # the first registers the webhook
        api.webhook_targets = [worker.base for worker in workers]
        crowd = Crowd(api, users)
        await asyncio.sleep(float(os.environ.get("BENCH_WARMUP", "1")))
        pids = [worker.proc.pid for worker in workers]
        before = one(url, _TRANSACTIONS)
        cpu = sum(cpu_seconds(pid) for pid in pids)
        start_output = len(api.outputs)
        start = time.monotonic()
        in_flight = asyncio.Semaphore(64)

        async def offer(n: int) -> None:
            if offered:  # the n-th update at its time: the same load whatever the workers
                await asyncio.sleep(max(0.0, start + n / offered - time.monotonic()))
            async with in_flight:
                await crowd.offer(crowd.rng.choice(crowd.people))

        await asyncio.gather(*(offer(n) for n in range(updates)))
        waiting = "SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL"
        await _until(lambda: len(api.outputs) > start_output
                     and time.monotonic() - api.outputs[-1].at > 0.5
                     and not one(url, waiting))
        throughput = updates / (api.outputs[-1].at - start)
        spent = sum(cpu_seconds(pid) for pid in pids) - cpu
        for worker in workers:
            if worker.proc.returncode is not None:
                raise SystemExit(f"{worker.name} died: see {worker.log_path}")
    finally:
        for worker in workers:
            await worker.stop()
        await api.stop()
    # A backend's counts reach the statistics when it ends: read them once all have. Each
    # statement outside a transaction is one, so this counts the workers' round trips too.
    transactions = one(url, _TRANSACTIONS) - before
    return throughput, spent / updates * 1000, transactions / updates


_TRANSACTIONS = ("SELECT xact_commit + xact_rollback FROM pg_stat_database"
                 " WHERE datname = current_database()")


def main_workers(counts: list[int], database_url: str, users: int, updates: int,
                 offered: float | None) -> None:
    from bench import postgres

    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp, \
            postgres.server(database_url) as server:
        print(asyncio.run(postgres.durability(server)), flush=True)
        for n in counts:
            with postgres.fresh_database(server) as url:
                results[n] = asyncio.run(through_workers(n, url, Path(tmp), users, updates,
                                                         offered))
            how = f"offered {offered:g}/s" if offered else "flat out"
            print(f"{n} worker{'s' if n > 1 else ' '}: {results[n][0]:7.1f} updates/s {how},"
                  f" {results[n][1]:5.2f} ms CPU per update (all workers),"
                  f" {results[n][2]:5.2f} PostgreSQL transactions per update", flush=True)
    first, most = min(counts), max(counts)
    print(f"throughput, {most} workers / {first}: {results[most][0] / results[first][0]:.2f}"
          f"   (bounded here: {os.cpu_count()} cores for the workers, PostgreSQL and this)")
    print(f"CPU per update, {most} workers / {first}: "
          f"{results[most][1] / results[first][1]:.2f}   (goal <= 1.2)")
    print(f"PostgreSQL transactions per update, {most} workers / {first}: "
          f"{results[most][2] / results[first][2]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--updates", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", help="worker counts to compare, e.g. 1,2,4 (PostgreSQL)")
    parser.add_argument("--offered", type=float,
                        help="with --workers: updates/s offered in all, instead of flat out")
    parser.add_argument("--database-url", default="throwaway",
                        help="with --workers: a PostgreSQL server, or 'throwaway'")
    args = parser.parse_args()
    if args.workers:
        main_workers([int(n) for n in args.workers.split(",")], args.database_url,
                     args.users, args.updates, args.offered)
    else:
        asyncio.run(main(args.users, args.updates, args.rate, args.seconds))
