"""The whole lifecycle (tests/support/lifecycle.py) through three webhook workers on one
PostgreSQL book, each a real process, Telegram's deliveries spread over them round robin
and retried on anything but 200. Three runs:

- on a clean line: the book ends as with one process, and everyone saw every message once;
- with a fifth of all Bot API calls failing: the same;
- with workers SIGKILLed at random commits (while handling updates they have already
  acknowledged, while sending notices, while servicing) and restarted, over several seeds:
  the ledger holds after every death, the book ends the same (the event log as facts), and
  every notice planned was delivered.

``WORKER_CRASH_SEEDS`` sets the number of seeds (5 by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.demo.botapi import FakeBotApi
from core.clock import parse_utc_iso, utc_iso
from tests.support.dbcheck import one, q
from tests.support.harness import TEST_ID_KEY, TEST_TOKEN
from tests.support.ledger_checks import (
    assert_book_totals_match,
    assert_ledger_invariants,
    assert_receivables_match,
)
from tests.support.lifecycle import OPERATORS, START, book_at, last, script, seen
from tests.support.lifecycle_faults import faults
from tests.support.lifecycle_runs import NEXT_NOTICE_DUE, live
from tests.support.webhook_workers import SECRET, WEBHOOK_URL, free_port

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
SEEDS = range(int(os.environ.get("WORKER_CRASH_SEEDS", "5")))
KILLS = 3  # per seed, each at a random commit of a random worker's life

pytestmark = pytest.mark.postgres_only


class Workers:
    """The lifecycle's stage: three `daihuan run --webhook` workers on one book, a dead one
    started again on the same port (nginx's upstream stays as it was)."""

    def __init__(self, api: FakeBotApi, tmp: Path, url: str,
                 kills: list[tuple[int, int, str]] = ()) -> None:
        self.api, self.tmp, self.book = api, tmp, url
        self.clock_file = tmp / "clock"
        self.ports = [free_port() for _ in range(WORKERS)]
        self.kills = {i: [(at, when) for w, at, when in kills if w == i] for i in range(WORKERS)}
        self.procs: list[asyncio.subprocess.Process | None] = [None] * WORKERS
        self.deaths = 0
        self.died = asyncio.Event()
        self.paid: set[str] = set()  # charges Telegram has taken (never paid twice)
        self.links: dict[int, str] = {}  # invitation links friends were sent
        tmp.mkdir(parents=True)
        self.log = (tmp / "workers.log").open("a")
        api.webhook_targets = [f"http://127.0.0.1:{port}" for port in self.ports]
        self._watching: asyncio.Task | None = None

    async def start(self) -> None:
        await self.at(START)
        for i in range(WORKERS):
            await self._launch(i)
        assert self.api.webhook is not None  # the first worker registered it
        self._watching = asyncio.create_task(self._watch())

    async def _launch(self, i: int) -> None:
        while True:
            kill_at, when = self.kills[i].pop(0) if self.kills[i] else (0, "never")
            env = {**os.environ, "TELEGRAM_BOT_TOKEN": TEST_TOKEN, "ID_HASH_KEY": TEST_ID_KEY,
                   "TELEGRAM_API_BASE_URL": self.api.base_url, "DATABASE_URL": self.book,
                   "DATABASE_PATH": str(self.tmp / f"worker-{i}.db"),
                   "WEB_PORT": str(self.ports[i]), "WEBHOOK_URL": WEBHOOK_URL,
                   "WEBHOOK_SECRET": SECRET, "OPERATOR_IDS": ",".join(map(str, OPERATORS)),
                   "PAYMENT_PROVIDER_TOKEN": "284685063:TEST:provider",
                   "OUTBOX_INTERVAL_SECONDS": "0.2", "TELEGRAM_MAX_RATE": "1000",
                   "TELEGRAM_TIMEOUT_SECONDS": "0.5", "LOG_LEVEL": "WARNING"}
            proc = self.procs[i] = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.support.worker_process", str(self.clock_file),
                str(kill_at), when, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                stderr=self.log)
            for _ in range(600):
                if await self._healthy(i):
                    return
                if proc.returncode is not None:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"worker {i} never started: see {self.log.name}")
            assert proc.returncode == -9, f"worker {i} could not start: see {self.log.name}"
            self.deaths += 1  # killed while starting (its migrations, its catch-up)

    async def _healthy(self, i: int) -> bool:
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
            async with aiohttp.ClientSession() as http, http.get(
                    f"http://127.0.0.1:{self.ports[i]}/healthz",
                    timeout=aiohttp.ClientTimeout(total=2)) as answer:
                return answer.status in (200, 503)
        return False

    async def _watch(self) -> None:
        """A worker that died is started again, as systemd's Restart=always does."""
        while True:
            for i, proc in enumerate(self.procs):
                if proc is not None and proc.returncode is not None:
                    assert proc.returncode == -9, f"worker {i} exited: {proc.returncode}"
                    self.deaths += 1
                    self.died.set()
                    assert_ledger_invariants(self.book)  # after every death
                    await self._launch(i)
            await asyncio.sleep(0.05)

    async def at(self, when):
        fresh = self.clock_file.with_suffix(".new")
        fresh.write_text(utc_iso(when))
        fresh.replace(self.clock_file)  # atomically: no worker reads half a time

    def now(self):
        return parse_utc_iso(self.clock_file.read_text())

    async def service(self):
        self.clock_file.with_suffix(".servicing").touch()  # servicing from now on
        today = self.now().astimezone(START.tzinfo).date().isoformat()
        for _ in range(2400):  # two minutes at most
            if one(self.book, "SELECT COUNT(*) FROM servicing_runs WHERE business_date"
                              " = ? AND finished_at IS NOT NULL", today):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"servicing of {today} never finished")

    async def settle(self):
        quiet = 0
        while quiet < 3:  # nothing waiting and nothing to send, three looks in a row
            waiting = one(self.book, "SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL")
            due = one(self.book, NEXT_NOTICE_DUE)
            now = self.now()
            if waiting or (due is not None and parse_utc_iso(due) <= now + timedelta(hours=1)):
                quiet = 0
                if due is not None and now < parse_utc_iso(due) <= now + timedelta(hours=1):
                    await self.at(parse_utc_iso(due))  # a notice waits out a backoff
            else:
                quiet += 1
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self._watching is not None:
            self._watching.cancel()
            await asyncio.gather(self._watching, return_exceptions=True)
        for proc in self.procs:
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()
        self.log.close()


async def until_done_or_died(stage: Workers, step) -> bool:
    """Take ``step``; True if it ended as the person expects. A worker's death meanwhile
    (its update is another's to handle now, but its answer may differ) or no answer: the
    person looks at the book, as in the crash test, and takes the step again if needed."""
    stage.died.clear()
    acting = asyncio.ensure_future(step.act(stage))
    died = asyncio.ensure_future(stage.died.wait())
    finished, _ = await asyncio.wait({acting, died}, return_when=asyncio.FIRST_COMPLETED)
    died.cancel()
    if acting in finished:
        try:
            acting.result()
            return True
        except TimeoutError:
            return False
    acting.cancel()
    await asyncio.gather(acting, return_exceptions=True)
    return False


async def through_workers(tmp: Path, url: str, fault=None,
                          kills: list[tuple[int, int, str]] = ()) -> tuple[dict, Counter, int]:
    api = FakeBotApi(TEST_TOKEN)
    await api.start()
    stage = Workers(api, tmp, url, kills)
    try:
        await stage.start()
        api.fault = fault
        for step in script():
            attempts = 0
            while not step.done(stage.book):
                attempts += 1
                assert attempts <= 5, f"{step.name}: never happened; {last(api)}"
                if await until_done_or_died(stage, step):
                    await stage.settle()
                    assert step.done(stage.book), f"{step.name}; {last(api)}"
                else:
                    await stage.settle()
            await stage.settle()
        api.fault = None
        return book_at(stage.book, stage.now(), rank_transfers=True), seen(api), stage.deaths
    finally:
        await stage.stop()
        await api.release_polls()
        await api.stop()


def facts(events: list[tuple]) -> list[tuple]:
    return list(dict.fromkeys(row[1:] for row in sorted(events)))


def delivered_once(url: str, everything_seen: Counter) -> None:
    """Every notice planned was sent, and Telegram got it (a person saw its text)."""
    assert q(url, "SELECT status, COUNT(*) FROM outbox GROUP BY status"
                  " HAVING status <> 'sent'") == []
    assert sum(everything_seen.values()) > 0


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The lifecycle through one bot, on SQLite: what every run must end as."""
    return asyncio.run(live(tmp_path_factory.mktemp("one-process"), rank_transfers=True))


async def test_three_workers_end_as_one_process_on_a_clean_line(
        tmp_path, migrated_postgres_url, reference):
    got, everything_seen, deaths = await through_workers(tmp_path / "clean",
                                                         migrated_postgres_url)
    assert deaths == 0
    for table in reference[0]:
        assert got[table] == reference[0][table], table
    assert everything_seen == reference[1]  # every message once, to the right person
    for check in (assert_ledger_invariants, assert_receivables_match, assert_book_totals_match):
        check(migrated_postgres_url)


async def test_three_workers_end_as_one_process_under_bot_api_faults(
        tmp_path, migrated_postgres_url, reference):
    injected: Counter = Counter()
    got, everything_seen, _ = await through_workers(tmp_path / "faulty", migrated_postgres_url,
                                                    faults(11, injected))
    # Webhooks: no getUpdates to fail, so fewer calls than the polling run's, a fifth failing.
    assert set(injected) == {"429", "500", "timeout", "drop"} and sum(injected.values()) > 25
    for table in reference[0]:
        assert got[table] == reference[0][table], table
    assert everything_seen == reference[1]
    for check in (assert_ledger_invariants, assert_receivables_match, assert_book_totals_match):
        check(migrated_postgres_url)


@pytest.mark.parametrize("seed", SEEDS)
async def test_workers_killed_at_random_and_restarted_end_the_same(
        tmp_path, migrated_postgres_url, reference, seed):
    rng = random.Random(seed)
    kills = [(rng.randrange(WORKERS), rng.randint(1, 60), rng.choice(["before", "after"]))
             for _ in range(KILLS)]
    got, everything_seen, deaths = await through_workers(tmp_path / f"seed-{seed}",
                                                         migrated_postgres_url, kills=kills)
    assert deaths > 0, "no worker was killed"
    print(f"seed {seed}: {deaths} deaths")  # shown with -s
    for table in reference[0].keys() - {"events", "event_parties"}:
        assert got[table] == reference[0][table], (seed, table)
    assert facts(got["events"]) == facts(reference[0]["events"]), seed
    delivered_once(migrated_postgres_url, everything_seen)
    for check in (assert_ledger_invariants, assert_receivables_match, assert_book_totals_match):
        check(migrated_postgres_url)
