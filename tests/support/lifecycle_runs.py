"""Shared test flows, moved out of test_lifecycle_faults.py so no test module imports another."""

from __future__ import annotations

from datetime import timedelta

from bot.jobs import JobContext, drain_job
from core.clock import FixedClock, parse_utc_iso
from tests.support.harness import BotHarness
from tests.support.lifecycle import (
    OPERATORS,
    START,
    WAIT,
    book,
    last,
    one,
    script,
    seen,
)


class InProcess:
    """The lifecycle's stage when the bot runs in this process on a clock moved by hand."""

    def __init__(self, harness: BotHarness, clock: FixedClock) -> None:
        self.harness, self.clock = harness, clock
        self.api, self.db_path = harness.api, harness.db_path

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
            due = one(self.db_path, "SELECT MIN(MAX(not_before, COALESCE(next_attempt_at, '')))"
                                    " FROM outbox WHERE status = 'pending'")
            if due is None or parse_utc_iso(due) > now + timedelta(hours=1):
                await self.harness.drained(timeout=WAIT)
                return
            if parse_utc_iso(due) > now:  # a notice waits out a backoff: let time pass
                self.clock.set(parse_utc_iso(due))
        raise AssertionError("the outbox never settled")


async def live(tmp_path, fault=None):
    clock = FixedClock(START)
    async with BotHarness(tmp_path, clock=clock, operator_ids=OPERATORS,
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
            assert step.done(harness.db_path), step.name
        harness.api.fault = None
        return book(harness.db_path), seen(harness.api)
