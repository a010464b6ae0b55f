"""The whole lifecycle with the bot process SIGKILLed at random commits and started again:
the ledger holds after every crash, and the book ends as it does without crashes.

A person whose action the dead bot never answered does it again, as anyone would: each step
is taken again only if the book says it did not happen (the event log then records what was
done twice, so it is compared as facts, repeats removed). A payment Telegram has taken is
never paid twice: the payer waits for the bot to book it, which it must do after a restart.
``CRASH_SEEDS=10`` runs more seeds than the default three.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from bot.demo.botapi import FakeBotApi
from core.clock import parse_utc_iso, utc_iso
from tests.support.dbcheck import one
from tests.support.harness import TEST_ID_KEY, TEST_TOKEN
from tests.support.ledger_checks import assert_ledger_invariants, assert_receivables_match
from tests.support.lifecycle import OPERATORS, START, book_at, last, script
from tests.support.lifecycle_runs import NEXT_NOTICE_DUE, live

ROOT = Path(__file__).resolve().parents[2]
SEEDS = range(int(os.environ.get("CRASH_SEEDS", "3")))
KILLS = 4  # per seed; each at a random commit of that life of the process


class Died(Exception):
    """The bot process is gone (the test killed it, at a commit it chose)."""


class ChildProcess:
    """The lifecycle's stage when the bot runs as a real process that gets killed."""

    def __init__(self, api: FakeBotApi, tmp: Path, kills: list[tuple[int, str]]) -> None:
        self.api, self.tmp, self.kills = api, tmp, kills
        self.book = tmp / "bot.db"
        self.clock_file = tmp / "clock"
        self.proc: asyncio.subprocess.Process | None = None
        self.paid: set[str] = set()  # charges Telegram has taken (never paid twice)
        self.links: dict[int, str] = {}  # invitation links friends were sent
        self.lives = 0
        tmp.mkdir(parents=True)
        self.log = (tmp / "bot.log").open("a")  # the children's stderr, for a failure

    async def launch(self) -> None:
        while not await self._launch():
            pass  # killed while starting (a commit of its migrations): start it again

    async def _launch(self) -> bool:
        kill_at, when = self.kills.pop(0) if self.kills else (0, "never")
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TEST_TOKEN, "ID_HASH_KEY": TEST_ID_KEY,
               "TELEGRAM_API_BASE_URL": self.api.base_url, "DATABASE_PATH": str(self.book),
               "OPERATOR_IDS": ",".join(map(str, OPERATORS)),
               "PAYMENT_PROVIDER_TOKEN": "284685063:TEST:provider",
               "OUTBOX_INTERVAL_SECONDS": "0.2", "TELEGRAM_MAX_RATE": "1000",
               "LOG_LEVEL": "WARNING"}
        seen = len(self.api.calls)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.bot_process", str(self.clock_file), str(kill_at),
            when, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        self.lives += 1
        for _ in range(600):  # ready once it polls, and has handled what the last life kept
            if any(m == "getUpdates" for m, _ in self.api.calls[seen:]) and not one(
                    self.book, "SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL"):
                return True
            if self.proc.returncode is not None:
                assert self.proc.returncode == -9, "the bot could not start: see bot.log"
                return False
            await asyncio.sleep(0.05)
        raise AssertionError("the bot process never started polling")

    def alive(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            raise Died

    async def at(self, when):
        fresh = self.clock_file.with_suffix(".new")
        fresh.write_text(utc_iso(when))
        fresh.replace(self.clock_file)  # atomically: the bot never reads half a time

    def now(self):
        return parse_utc_iso(self.clock_file.read_text())

    async def service(self):
        today = self.now().astimezone(START.tzinfo).date().isoformat()
        while not one(self.book, "SELECT COUNT(*) FROM servicing_runs WHERE business_date"
                                 " = ? AND finished_at IS NOT NULL", today):
            self.alive()
            await asyncio.sleep(0.05)

    async def settle(self):
        quiet = 0
        while quiet < 3:  # nothing to send three looks in a row
            self.alive()
            due = one(self.book, NEXT_NOTICE_DUE)
            now = self.now()
            if self.api.pending_updates or (
                    due is not None and parse_utc_iso(due) <= now + timedelta(hours=1)):
                quiet = 0
                if due is not None and now < parse_utc_iso(due) <= now + timedelta(hours=1):
                    await self.at(parse_utc_iso(due))  # a notice waits out a backoff
            else:
                quiet += 1
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self.log.close()


async def guarded(stage: ChildProcess, work) -> bool:
    """Run ``work()`` until the bot dies or it ends; True if it ended."""
    task = asyncio.ensure_future(work())
    died = asyncio.ensure_future(stage.proc.wait())
    finished, _ = await asyncio.wait({task, died}, return_when=asyncio.FIRST_COMPLETED)
    if task in finished:
        died.cancel()
        try:
            task.result()
        except Died:
            pass
        else:
            return True
    else:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await stage.proc.wait()
    assert stage.proc.returncode == -9, f"the bot exited by itself: {stage.proc.returncode}"
    assert_ledger_invariants(stage.book)  # after every crash
    await stage.launch()
    return False


async def crashing(tmp: Path, seed: int) -> tuple[dict, int]:
    rng = random.Random(seed)
    kills = [(rng.randint(1, 120), rng.choice(["before", "after"])) for _ in range(KILLS)]
    api = FakeBotApi(TEST_TOKEN)
    await api.start()
    stage = ChildProcess(api, tmp, kills)
    try:
        await stage.at(START)
        await stage.launch()
        for step in script():
            attempts = 0
            while not step.done(stage.book):
                attempts += 1
                assert attempts <= 5, f"{step.name}: never happened; {last(api)}"
                try:
                    ended = await guarded(stage, lambda s=step: s.act(stage))
                except TimeoutError as error:
                    raise AssertionError(f"{step.name}: no answer; {last(api)}") from error
                if ended:
                    assert step.done(stage.book), f"{step.name}; {last(api)}"
            while not await guarded(stage, stage.settle):
                pass
        return book_at(stage.book, stage.now()), stage.lives
    finally:
        await stage.stop()
        await api.release_polls()
        await api.stop()


def facts(events: list[tuple]) -> list[tuple]:
    """The event log as facts in order: a step someone took again after a crash (a second
    capacity review, say) is recorded again, truthfully; it is the same fact."""
    return list(dict.fromkeys(row[1:] for row in sorted(events)))


def parties(state: dict[str, list[tuple]]) -> set[tuple]:
    """Whom each fact concerns: event_parties by the event's fact, not its id, which a
    repeated step shifts for every event after it."""
    fact = {row[0]: row[1:] for row in state["events"]}
    return {(fact[event_id], user_id) for event_id, user_id in state["event_parties"]}


async def test_killed_at_random_and_restarted_the_book_ends_the_same(tmp_path):
    expected, _ = await live(tmp_path / "reference")
    for seed in SEEDS:
        got, lives = await crashing(tmp_path / f"seed-{seed}", seed)
        assert lives > 1, "no crash happened"
        print(f"seed {seed}: {lives - 1} crashes")  # shown with -s
        for table in expected.keys() - {"events", "event_parties"}:
            assert got[table] == expected[table], (seed, table)
        assert facts(got["events"]) == facts(expected["events"]), seed
        assert parties(got) == parties(expected), seed
        assert_receivables_match(tmp_path / f"seed-{seed}" / "bot.db")
