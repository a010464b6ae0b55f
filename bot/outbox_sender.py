"""Drains the outbox through the bot: each planned notice is sent once, in its recipient's
language. Telegram's answers decide what happens next:

- sent: marked with the Telegram message id, never sent again;
- 429 RetryAfter: the notice waits the time Telegram asks and the batch stops (the limit is
  the bot's, not the chat's); no attempt is counted;
- 5xx, timeouts, dropped connections: tried again with backoff (2, 4, 8 … 300 s);
- 403 (blocked, never started) or "chat not found": the user is marked, their pending notices
  are held as blocked, and nothing is retried forever.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from telegram import Bot, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot import limits
from bot.context import SERVICES, BotContext, Services, Speaker
from bot.notices import render
from bot.rate_limit import BULK, retry_after
from bot.report import chart
from core.outbox import Lane, NoticeKind, OutboxMessage
from core.ports import Worker
from core.services.cover import display_name

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(seconds=300)


@dataclass(frozen=True)
class Outgoing:
    """What one notice becomes in Telegram: a message, or a photo with this caption."""

    text: str
    markup: InlineKeyboardMarkup | None = None
    photo: bytes | None = None


@dataclass
class DrainCounts:
    sent: int = 0
    retried: int = 0
    blocked: int = 0
    failed: int = 0
    rate_limited: bool = False
    blocked_users: set[int] = field(default_factory=set)

    def add(self, other: DrainCounts) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.blocked += other.blocked
        self.failed += other.failed
        self.rate_limited |= other.rate_limited
        self.blocked_users |= other.blocked_users


class OutboxSender:
    """Sends several recipients' notices at once (Telegram's latency would otherwise cap the
    rate far below its limit) and each recipient's in order, one after another.

    Each lane drains on its own: what a person's action planned (Lane.NOW) never waits for
    a bulk drain working through a servicing run's backlog, and its sends take the rate
    limiter's interactive lane, while bulk sends leave room for them (bot.rate_limit)."""

    def __init__(self, bot: Bot, services: Services, batch: int = 50,
                 concurrency: int = 8, worker: Worker | None = None) -> None:
        self._bot = bot
        # Of several processes serving the book, this one: they all drain, each sending
        # what it has claimed. Alone (SQLite, a test) it sends what is due.
        self._worker = worker
        self._limited = getattr(bot, "rate_limiter", None) is not None  # lanes need one
        self._services = services
        self._batch = batch
        self._concurrency = concurrency
        # Two drains of a lane at once (the periodic job and servicing's) would both pick
        # the same pending rows and send them twice: one drain per lane at a time. The
        # lanes hold different rows, so they drain side by side.
        self._draining = {lane: asyncio.Lock() for lane in Lane}
        self._paused_until: datetime | None = None
        self._charts: dict[date, bytes] = {}  # the last report's chart, drawn once
        self.stopping = False  # set at shutdown: finish the batch in hand, start no other

    async def drain(self, max_batches: int = 20, lanes: tuple[Lane, ...] = tuple(Lane)
                    ) -> DrainCounts:
        """Send what is due now, lane by lane (NOW first), a batch at a time, until nothing
        is due or Telegram says to slow down."""
        total = DrainCounts()
        for lane in lanes:
            async with self._draining[lane]:
                paused = self._paused_until
                if paused is not None and self._services.clock.now() < paused:
                    total.rate_limited = True  # Telegram asked the whole bot to wait
                    return total
                self._paused_until = None
                total.add(await self._drain(max_batches, lane))
        return total

    async def _drain(self, max_batches: int, lane: Lane) -> DrainCounts:
        counts = DrainCounts()
        for _ in range(max_batches):
            if self.stopping:
                break
            due = await self._next_batch(lane)
            if not due:
                break
            by_recipient: dict[int, list[OutboxMessage]] = {}
            for message in due:
                by_recipient.setdefault(message.recipient_id, []).append(message)
            slots = asyncio.Semaphore(self._concurrency)
            results = await asyncio.gather(*(self._send_in_order(m, counts, slots)
                                             for m in by_recipient.values()),
                                           return_exceptions=True)
            for result in results:  # one recipient's failure must not end the drain
                if isinstance(result, Exception):
                    log.error("outbox batch: %r", result, exc_info=result)
            if counts.rate_limited:
                break
        return counts

    async def _next_batch(self, lane: Lane) -> list[OutboxMessage]:
        found, worker = self._services, self._worker
        if worker is None or not worker.shared:
            async with found.uow.read() as tx:
                return await tx.outbox.due(found.clock.now(), self._batch, lane)
        if not await worker.present():
            return []  # cut off from the others: a claim would not stand, send nothing
        async with found.uow() as tx:
            due = await tx.outbox.claim(found.clock.now(), self._batch, lane, worker.id)
            await tx.commit()
        return due

    async def _send_in_order(self, messages: list[OutboxMessage], counts: DrainCounts,
                             slots: asyncio.Semaphore) -> None:
        async with slots:
            for message in messages:
                if counts.rate_limited or message.recipient_id in counts.blocked_users:
                    return  # slowed down, or held with the rest of their notices
                if not await self._send(message, counts):
                    return

    async def _party_name(self, message: OutboxMessage) -> str | None:
        """Who acted, by the name they have now (cover notices carry only their id)."""
        party = message.params.get("party")
        if party is None:
            return None
        async with self._services.uow.read() as tx:
            return await display_name(tx, int(party))

    async def _outgoing(self, message: OutboxMessage, say: Speaker,
                        name: str | None) -> Outgoing:
        """The notice as Telegram will take it (bot.notices says what it reads): a long
        alert's evidence or a report's caption is cut by its measured length, whole lines
        kept."""
        text, markup = render(message, say, name)
        if message.kind == NoticeKind.DAILY_REPORT:
            photo = await self._chart(message.params)
            return Outgoing(limits.cut(text, limits.CAPTION), markup, photo=photo)
        return Outgoing(limits.cut(text), markup)

    async def _chart(self, report: dict) -> bytes:
        """The chart of a daily report, drawn once per date however many operators get it,
        and saved beside the database."""
        day = date.fromisoformat(report["date"])
        png = self._charts.get(day)
        if png is None:
            # matplotlib is synchronous and takes a good second: draw in a thread, so the
            # bot keeps answering people meanwhile.
            png = await asyncio.to_thread(chart, day, report["stats"], report["debits"],
                                          report["overdue"])
            self._charts = {day: png}
            if self._services.database_path is not None:
                folder = self._services.database_path.parent / "reports"
                try:  # a copy on disk is a convenience: a full disk must not hold the report
                    folder.mkdir(parents=True, exist_ok=True)
                    (folder / f"daily-{day.isoformat()}.png").write_bytes(png)
                except OSError:
                    log.warning("daily chart not saved in %s", folder, exc_info=True)
        return png

    async def _send(self, message: OutboxMessage, counts: DrainCounts) -> bool:
        found = self._services
        say = Speaker(found.texts, await found.people.language(message.recipient_id))
        # Read before drawing: a database that does not answer now leaves the notice
        # pending for the next drain, it does not make it undrawable.
        name = await self._party_name(message)
        try:
            out = await self._outgoing(message, say, name)
        except Exception as error:  # a notice that cannot be drawn stops nobody else's
            log.exception("outbox message %s (%s) could not be rendered", message.id,
                          message.kind)
            async with found.uow() as tx:
                await tx.outbox.give_up(message.id, "failed", f"render: {error!r}"[:200])
                await tx.commit()
            counts.failed += 1
            return True
        try:
            # Bulk sends leave the last of the rate to people writing to the bot right now.
            lane = ({"rate_limit_args": BULK} if message.lane is Lane.BULK and self._limited
                    else {})
            if out.photo is not None:
                sent = await self._bot.send_photo(
                    message.recipient_id, InputFile(out.photo, filename="daily-report.png"),
                    caption=out.text, reply_markup=out.markup, **lane)
            else:
                sent = await self._bot.send_message(message.recipient_id, out.text,
                                                    reply_markup=out.markup, **lane)
        except RetryAfter as error:
            wait = retry_after(error)
            await self._retry(message, wait, f"429 retry after {wait}", counts=False)
            counts.rate_limited = True
            self._paused_until = self._services.clock.now() + wait
            return False  # the whole bot must slow down, not just this chat
        except Forbidden as error:
            await self._blocked(message, error)
            counts.blocked += 1
            counts.blocked_users.add(message.recipient_id)
            return True
        except BadRequest as error:
            if "chat not found" in error.message.lower():
                await self._blocked(message, error)
                counts.blocked += 1
                counts.blocked_users.add(message.recipient_id)
            else:  # a message Telegram will never take: keep it for operators, move on
                log.error("outbox message %s refused: %s", message.id, error.message)
                async with found.uow() as tx:
                    await tx.outbox.give_up(message.id, "failed", error.message)
                    await tx.commit()
                counts.failed += 1
            return True
        except (NetworkError, TelegramError) as error:  # 5xx, timeouts, dropped connections
            backoff = min(MAX_BACKOFF, timedelta(seconds=2 ** min(message.attempts + 1, 9)))
            await self._retry(message, backoff, type(error).__name__, counts=True)
            counts.retried += 1
            return True
        async with found.uow() as tx:
            await tx.outbox.mark_sent(message.id, sent.message_id)
            await tx.commit()
        counts.sent += 1
        return True

    async def _retry(self, message: OutboxMessage, wait: timedelta, why: str,
                     counts: bool) -> None:
        async with self._services.uow() as tx:
            await tx.outbox.retry_at(message.id, self._services.clock.now() + wait, why, counts)
            await tx.commit()

    async def _blocked(self, message: OutboxMessage, error: TelegramError) -> None:
        log.info("user %s cannot be messaged (%s): holding their notices",
                 message.recipient_id, error.message)
        async with self._services.uow() as tx:
            await tx.outbox.give_up(message.id, "blocked", error.message)
            await tx.outbox.mark_blocked(message.recipient_id)
            await tx.commit()
        self._services.people.forget(message.recipient_id)  # their next /start unblocks them


SENDER = "outbox_sender"
WORKER = "worker"  # bot_data key of this process's core.ports.Worker


def sender(holder: Application | BotContext) -> OutboxSender:
    """The one sender of this process (wiring kept in bot_data, made on first use)."""
    if SENDER not in holder.bot_data:
        holder.bot_data[SENDER] = OutboxSender(holder.bot, holder.bot_data[SERVICES],
                                               worker=holder.bot_data.get(WORKER))
    return holder.bot_data[SENDER]


async def send_now(context: BotContext) -> None:
    """After a person's action planned notices: deliver them now rather than at the next
    tick, on their own lane, so they never wait behind a bulk drain."""
    await sender(context).drain(max_batches=1, lanes=(Lane.NOW,))
