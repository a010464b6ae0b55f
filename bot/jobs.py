"""The bot's few periodic jobs. The truth lives in the database; jobs only look at it:
daily servicing (catching up any dates missed while the bot was down), the outbox drain,
and expiring cover requests. No job per instalment or per reminder."""

from __future__ import annotations

import logging
from datetime import time

from telegram.ext import Application

from bot.context import SERVICES, BotContext, Services
from bot.drafts import DRAFTS
from bot.inbox import INBOX, take_over_orphans
from bot.outbox_sender import WORKER, send_now, sender
from bot.rate_limit import LaneRateLimiter
from bot.settings import Settings
from core.services.daily import run_daily
from core.services.servicing import business_dates_to_run

log = logging.getLogger(__name__)
# bot_data key of the storage.leadership.Leadership for the periodic jobs: of several
# processes serving one book, the one that leads runs them (on SQLite, the one process).
JOBS_LEADER = "jobs-leader"


async def _leading(context: BotContext) -> bool:
    leader = context.bot_data.get(JOBS_LEADER)
    return leader is None or await leader.try_lead()


async def servicing_job(context: BotContext) -> None:
    """Every business date not yet serviced, up to today (a bot that was down catches up),
    through the same entry point as ``daihuan servicing``: rules and the report included.
    Every worker runs it, and joins the run of a date already under way: its pages are
    shared out, each done once, and one worker finishes the date (core.services.servicing),
    so the catch-up at start is once for the deployment however many workers start."""
    found = context.services
    async with found.uow.read() as tx:
        last = await tx.servicing.last_finished()
    result = await run_daily(found.uow, found.clock, found.tz, found.servicing, found.risk.policy,
                             found.operator_ids, business_dates_to_run(last, found.today()))
    for day, counts in result.runs:
        log.info("servicing %s: %s", day, counts)
    await drain_job(context)


async def expire_requests(context: BotContext) -> None:
    """Requests past their time end as expired; the borrower is told."""
    if not await _leading(context):
        return
    found = context.services
    if await found.cover.expire_due():  # their notices are planned
        await send_now(context)


async def drain_job(context: BotContext) -> None:
    """Every worker drains: each sends the notices it claims (bot.outbox_sender), at its
    part of the bot's rate, which is shared out again at each tick as workers come and go."""
    worker = context.bot_data.get(WORKER)
    limiter = getattr(context.bot, "rate_limiter", None)
    if worker is not None and isinstance(limiter, LaneRateLimiter):
        limiter.share(await worker.workers())
    counts = await sender(context).drain()
    if counts.sent or counts.retried or counts.blocked or counts.failed:
        log.info("outbox: %s", counts)


async def inbox_job(context: BotContext) -> None:
    """Every worker takes over the kept updates of workers that are gone, and forgets
    handled ones past their day (bot.inbox), and drafts of flows past their time."""
    await take_over_orphans(context.application)
    inbox = context.bot_data.get(INBOX)
    if inbox is not None:
        await inbox.forget_handled()
    drafts = context.bot_data.get(DRAFTS)
    if drafts is not None:
        await drafts.forget_expired()


class JobContext:
    """What PTB hands a job callback, for running a job now rather than at its hour (the
    demo moving through business dates; tests)."""

    def __init__(self, app: Application) -> None:
        self.bot, self.bot_data, self.application = app.bot, app.bot_data, app

    @property
    def services(self) -> Services:
        return self.bot_data[SERVICES]


def schedule_jobs(app: Application, settings: Settings) -> None:
    jobs = app.job_queue
    at = time(settings.servicing_time.hour, settings.servicing_time.minute, tzinfo=settings.tz)
    jobs.run_daily(servicing_job, at, name="servicing")
    jobs.run_once(servicing_job, 5, name="servicing-catch-up")
    jobs.run_repeating(drain_job, interval=settings.outbox_interval_seconds, first=1,
                       name="outbox")
    jobs.run_repeating(inbox_job, interval=5, first=5, name="inbox")
    jobs.run_repeating(expire_requests, interval=60, first=10, name="expire-cover-requests")
