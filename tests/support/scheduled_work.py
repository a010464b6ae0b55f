"""What runs on a schedule, in one place, for the query-plan tests of both engines:
servicing on a due date and on a retry day, the risk rules and the daily report, request
expiry, the outbox's lanes, and what /ops and /healthz read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bench.servicing import DAY
from bot.outbox_sender import OutboxSender
from core.clock import FixedClock
from core.outbox import Lane
from core.risk import RiskPolicy
from core.services import cover
from core.services.daily import network_view, run_daily
from core.services.servicing import ServicingPolicy
from storage.uow import StorageUnitOfWorkFactory

TZ = ZoneInfo("Asia/Shanghai")
OPERATORS = frozenset({9000})
# Tables whose rows grow with the book (people, bills, money, history). A scan of one of
# these makes a scheduled job slower every day the book grows.
GROWING = {"users", "identities", "accounts", "transfers", "postings", "bills", "instalments",
           "instalment_payments", "cover_requests", "cover_request_instalments",
           "cover_request_holders", "agreements", "agreement_instalments", "events",
           "event_parties", "outbox", "alerts", "credit_history"}


@dataclass
class Sent:
    message_id: int


class QuietBot:
    """Stands in for Telegram: every message goes through at once."""

    rate_limiter = None

    def __init__(self) -> None:
        self.sent = 0

    async def send_message(self, chat_id, text, **kwargs):
        self.sent += 1
        return Sent(self.sent)

    async def send_photo(self, chat_id, photo, **kwargs):
        self.sent += 1
        return Sent(self.sent)


def clock_for_the_book() -> FixedClock:
    return FixedClock(datetime(2027, 3, 15, 2, tzinfo=UTC))


async def run_scheduled_work(uow: StorageUnitOfWorkFactory, clock: FixedClock,
                             worker=None) -> None:
    """Every scheduled path once, on a book from bench.servicing.build; the outbox drained
    by claims when a (present) ``worker`` of a shared book is given."""
    for day in (DAY, DAY + timedelta(days=1)):  # a due date, then a retry day
        clock.set(datetime.combine(day, datetime.min.time(), tzinfo=TZ) + timedelta(hours=6))
        await run_daily(uow, clock, TZ, ServicingPolicy(), RiskPolicy(), OPERATORS, [day])
    await cover.expire_due(uow, now=clock.now())
    found = services_for(uow, clock)
    sender = OutboxSender(QuietBot(), found, batch=200, worker=worker)
    for lane in Lane:
        await sender.drain(max_batches=3, lanes=(lane,))
    async with uow.read() as tx:  # what /ops and /healthz read
        await tx.risk.book_stats(DAY)
        await tx.risk.open_alerts(10)
        await tx.servicing.runs(3)
        await tx.outbox.counts()
        await network_view(tx)
        await tx.health.snapshot(clock.now())


def services_for(uow: StorageUnitOfWorkFactory, clock: FixedClock):
    """The bot's services on this book, wired as the application wires them."""
    from bot.context import Services
    from bot.i18n import Texts
    from bot.settings import Settings
    from core.services.cover.desk import CoverDesk
    from core.services.people import People
    from core.services.risk import RiskDesk

    settings = Settings(_env_file=None, id_hash_key="k" * 32)
    return Services(uow=uow, people=People(uow, clock), texts=Texts.load(), clock=clock, tz=TZ,
                    operator_ids=OPERATORS, hasher=settings.identity_hasher(),
                    fees=settings.fees, credit_policy=settings.credit_policy,
                    payment_token=None,
                    cover=CoverDesk(uow, settings.cover_config, settings.invite_tokens(), clock,
                                    TZ),
                    servicing=settings.servicing_policy,
                    risk=RiskDesk(uow, clock, settings.risk_policy, TZ, OPERATORS))
