"""The composition root: the one place that knows storage, core and the bot together."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, Defaults

from bot.application import add_handlers
from bot.book import open_database
from bot.commands import bot_commands
from bot.context import CONTEXT_TYPES, SERVICES, Services
from bot.drafts import DRAFTS, Drafts
from bot.i18n import Texts
from bot.inbox import INBOX, Inbox, take_over_orphans
from bot.jobs import JOBS_LEADER, schedule_jobs
from bot.metrics import Metrics
from bot.ordering import PerUserUpdateProcessor
from bot.outbox_sender import WORKER
from bot.payments import PaymentBookingRequest
from bot.rate_limit import LaneRateLimiter
from bot.request import RetryingRequest
from bot.settings import Settings
from bot.telegram_bot import LimitedBot
from core.clock import Clock, SystemClock
from core.services.cover.desk import CoverDesk
from core.services.people import People
from core.services.risk import RiskDesk, announce_open_alerts
from core.users import Language
from storage.db import Database
from storage.drafts import DraftStore
from storage.inbox import InboxLog
from storage.leadership import Leadership, WorkerPresence
from storage.uow import StorageUnitOfWorkFactory

log = logging.getLogger(__name__)
# Updates handled at once, and the Bot API connections they and the outbox (two lanes of
# eight sends, bot.outbox_sender) share: 48 updates in flight plus 16 sends fit in 64
# connections, so no request waits for a socket. (On aiohttp, bot.http, the pool's cost does
# not grow with its size; under httpcore it grew with its square.)
UPDATES_IN_FLIGHT = 48
CONNECTIONS = 64
DATABASE = "database"
METRICS = "metrics"


def transport(settings: Settings, metrics: Metrics,
              fetching: PaymentBookingRequest | None = None) -> ApplicationBuilder:
    """How the bot talks to Telegram, and nothing else: the bot with its limits, retries and
    rate limiter, update fetching, and per-user ordering. The real application builds on
    it; so does the no-op baseline in bench/, so the two differ only in what they do."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is required to build the application")
    bot = LimitedBot(
        token=settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_api_base_url,
        base_file_url=settings.telegram_api_base_url.removesuffix("/bot") + "/file/bot",
        defaults=Defaults(tzinfo=settings.tz),
        # A request that waits for a free connection is queued, not failed: its pool timeout
        # is as long as its read timeout (PTB's default of 1 s would turn a burst into
        # retries).
        request=RetryingRequest(connection_pool_size=CONNECTIONS,
                                read_timeout=settings.telegram_timeout_seconds,
                                write_timeout=settings.telegram_timeout_seconds,
                                pool_timeout=settings.telegram_timeout_seconds),
        get_updates_request=fetching or PaymentBookingRequest(connection_pool_size=1),
        rate_limiter=LaneRateLimiter(overall_max_rate=settings.telegram_max_rate, max_retries=3))
    return (ApplicationBuilder().bot(bot)
            .concurrent_updates(PerUserUpdateProcessor(UPDATES_IN_FLIGHT, metrics=metrics)))


def build_application(settings: Settings, clock: Clock | None = None,
                      texts: Texts | None = None) -> Application:
    """The real bot. The database opens in ``post_init`` and closes in ``post_shutdown``."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is required to build the application")
    clock = clock or SystemClock()
    texts = texts or Texts.load()
    fetching = PaymentBookingRequest(connection_pool_size=1)
    metrics = Metrics()
    fetching.on_failure = metrics.payments_unbooked.inc

    async def post_init(app: Application) -> None:
        db = await open_database(settings, clock)
        uow = StorageUnitOfWorkFactory(db, clock)
        app.bot_data[DATABASE] = db
        token = settings.payment_provider_token
        app.bot_data[SERVICES] = Services(
            uow=uow, people=People(uow, clock), texts=texts, clock=clock, tz=settings.tz,
            operator_ids=settings.operator_ids, hasher=settings.identity_hasher(),
            fees=settings.fees, credit_policy=settings.credit_policy,
            payment_token=token.get_secret_value() if token else None,
            cover=CoverDesk(uow, settings.cover_config, settings.invite_tokens(), clock,
                            settings.tz),
            servicing=settings.servicing_policy,
            risk=RiskDesk(uow, clock, settings.risk_policy, settings.tz, settings.operator_ids),
            database_path=settings.database_path)
        await app.bot_data[WORKER].present()  # one of the book's workers from now on
        inbox = app.bot_data[INBOX] = Inbox(InboxLog(db, clock), clock,
                                            app.bot_data[WORKER], settings.sealer("inbox"))
        fetching.inbox = inbox
        drafts = app.bot_data[DRAFTS] = Drafts(
            DraftStore(db, clock), clock, settings.sealer("drafts"), app,
            only_writer=not app.bot_data[WORKER].shared)
        if isinstance(app.update_processor, PerUserUpdateProcessor):
            app.update_processor.attach(inbox, app, drafts)
        # What the last run kept but had not handled goes first, before anything new.
        await take_over_orphans(app)
        fetching.services = app.bot_data[SERVICES]  # from now on, payments book on arrival
        # Alerts raised where no operator was known (a migration, the command line) reach
        # operators now; the outbox drains them once the bot runs.
        await announce_open_alerts(uow, settings.operator_ids)
        await app.bot.set_my_commands(bot_commands(texts, Language.EN))
        await app.bot.set_my_commands(bot_commands(texts, Language.ZH), language_code="zh")
        log.info("bot ready; database %s", settings.book_where)

    async def post_shutdown(app: Application) -> None:
        await app.bot_data[JOBS_LEADER].release()  # another process may lead the jobs now
        inbox: Inbox | None = app.bot_data.get(INBOX)
        if inbox is not None:  # handlers have finished: record them, none is run again
            try:
                await inbox.flush()
            except Exception:  # the next run handles them again, which changes nothing
                log.warning("could not record the last handled updates", exc_info=True)
        await app.bot_data[WORKER].release()  # what it had claimed is anyone's now
        db: Database | None = app.bot_data.pop(DATABASE, None)
        if db is not None:
            await db.close()

    app = (
        transport(settings, metrics, fetching)
        .context_types(CONTEXT_TYPES)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    app.bot_data[METRICS] = metrics
    app.bot_data[JOBS_LEADER] = leadership(settings, "jobs")
    app.bot_data[WORKER] = WorkerPresence(settings.book_location)
    add_handlers(app)
    schedule_jobs(app, settings)
    return app


ALLOWED_UPDATES = Update.ALL_TYPES


def leadership(settings: Settings, work: str) -> Leadership:
    """Which process of the deployment does ``work`` (storage.leadership): on PostgreSQL
    one of those serving the book at a time, on SQLite the one process there is."""
    return Leadership(settings.book_location, work)
