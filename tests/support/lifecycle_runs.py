"""Shared test flows, moved out of test_lifecycle_faults.py so no test module imports another."""

from __future__ import annotations

from datetime import timedelta

from bot.jobs import JobContext, drain_job
from core.clock import FixedClock, parse_utc_iso
from tests.support.dbcheck import one
from tests.support.harness import BotHarness
from tests.support.lifecycle import (
    OPERATORS,
    START,
    WAIT,
    book,
    last,
    script,
    seen,
)

# When the next pending notice may go: the later of its not-before and its next attempt.
NEXT_NOTICE_DUE = ("SELECT MIN(CASE WHEN next_attempt_at > not_before THEN next_attempt_at"
                   " ELSE not_before END) FROM outbox WHERE status = 'pending'")


class InProcess:
    """The lifecycle's stage when the bot runs in this process on a clock moved by hand."""

    def __init__(self, harness: BotHarness, clock: FixedClock) -> None:
        self.harness, self.clock = harness, clock
        self.api, self.book = harness.api, harness.book

    async def at(self, when):
        self.clock.set(when)

    async def service(self):
        app = self.harness.app
        await app.job_queue.get_jobs_by_name("servicing")[0].run(app)

    async def settle(self):
        for _ in range(500):
            await self.harness.drained(timeout=WAIT)
            await drain_job(JobContext(self.harness.app))
            now = self.clock.now()
            due = one(self.book, NEXT_NOTICE_DUE)
            if due is None or parse_utc_iso(due) > now + timedelta(hours=1):
                await self.harness.drained(timeout=WAIT)
                return
            if parse_utc_iso(due) > now:  # a notice waits out a backoff: let time pass
                self.clock.set(parse_utc_iso(due))
        raise AssertionError("the outbox never settled")


async def live(tmp_path, fault=None, database_url: str | None = None,
               rank_transfers: bool = False):
    """The whole script through one bot, on SQLite in ``tmp_path`` or on the PostgreSQL
    database at ``database_url``; gives the book (lifecycle.book) and what everybody saw."""
    clock = FixedClock(START)
    async with BotHarness(tmp_path, clock=clock, operator_ids=OPERATORS,
                          database_url=database_url,
                          payment_provider_token="284685063:TEST:provider",
                          telegram_timeout_seconds=0.5) as harness:
        harness.api.fault = fault
        stage = InProcess(harness, clock)
        for step in script():
            try:
                await step.act(stage)
            except TimeoutError as error:
                raise AssertionError(f"{step.name}: no answer; {last(harness.api)}") from error
            await stage.settle()
            assert step.done(harness.book), step.name
        harness.api.fault = None
        return book(harness.book, rank_transfers), seen(harness.api)
