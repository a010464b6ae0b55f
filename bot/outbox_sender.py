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
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot import keyboards
from bot.context import Services, Speaker
from bot.formatting import day
from core.money import Money
from core.outbox import OutboxMessage

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(seconds=300)


@dataclass
class DrainCounts:
    sent: int = 0
    retried: int = 0
    blocked: int = 0
    failed: int = 0
    rate_limited: bool = False
    blocked_users: set[int] = field(default_factory=set)


def render(message: OutboxMessage, say: Speaker) -> tuple[str, InlineKeyboardMarkup | None]:
    if message.kind.startswith(("notify.", "invite.")):
        return _render_cover(message, say)
    if message.kind == "alert":
        return _render_alert(message, say)
    params = dict(message.params)
    role = params.pop("role", None)
    if role is None and message.kind.startswith(("debit_", "reminder_")):
        role = "borrower"
    key = f"notice.{message.kind}" + (f".{role}" if role else "")
    if key not in say.texts.keys(say.language):
        return say("servicing.unknown_notice"), None
    if "amount" in params:
        params["amount"] = Money(int(params["amount"]))
    for name in ("due", "next"):
        if name in params:
            params[name] = day(date.fromisoformat(params[name]), say.language)
    if "days" in params:
        days = int(params["days"])
        params["when"] = say("when.0") if days == 0 else say("when.1") if days == 1 else \
            say("when.n", days=days)
    text = say(key, **params)
    if role == "friend":
        markup = keyboards.my_wallet(say)
    elif role == "borrower":
        markup = keyboards.my_bills(say)
    else:
        markup = None
    return text, markup


def _render_cover(message: OutboxMessage,
                  say: Speaker) -> tuple[str, InlineKeyboardMarkup | None]:
    """Notices about requests and agreements: the kind is the text's key."""
    params = dict(message.params)
    button = params.pop("_button", None)
    for name in params.pop("_money", []):
        params[name] = Money(int(params[name]))
    if message.kind not in say.texts.keys(say.language):
        return say("servicing.unknown_notice"), None
    markup = None
    if button and button[0] == "revoke":
        markup = keyboards.revoke_request(int(button[1]), say)
    elif button and button[0] == "view":
        markup = keyboards.view_request(int(button[1]), say)
    return say(message.kind, **params), markup


def _render_alert(message: OutboxMessage,
                  say: Speaker) -> tuple[str, InlineKeyboardMarkup | None]:
    p = message.params
    evidence = ", ".join(f"{k}={v}" for k, v in sorted(p["evidence"].items()))
    text = say("notice.alert", id=p["id"], severity=p["severity"], rule=say(f"rule.{p['rule']}"),
               subject=p["subject"], evidence=evidence)
    return text, keyboards.alert_actions([(int(p["id"]), p["subject"])], say)


def _retry_after(error: RetryAfter) -> timedelta:
    with warnings.catch_warnings():  # PTB 22 warns that the type will become timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value if isinstance(value, timedelta) else timedelta(seconds=int(value))


class OutboxSender:
    """Sends several recipients' notices at once (Telegram's latency would otherwise cap the
    rate far below its limit) and each recipient's in order, one after another."""

    def __init__(self, bot: Bot, services: Services, batch: int = 50,
                 concurrency: int = 8) -> None:
        self._bot = bot
        self._services = services
        self._batch = batch
        self._concurrency = concurrency
        # Two drains at once (the periodic job and servicing's) would both pick the same
        # pending rows and send them twice: one drain at a time per process.
        self._draining = asyncio.Lock()
        self._paused_until: datetime | None = None
        self.stopping = False  # set at shutdown: finish the batch in hand, start no other

    async def drain(self, max_batches: int = 20) -> DrainCounts:
        """Send what is due now, a batch at a time, until nothing is due or Telegram says
        to slow down."""
        async with self._draining:
            if self._paused_until is not None and self._services.clock.now() < self._paused_until:
                return DrainCounts(rate_limited=True)  # Telegram asked the whole bot to wait
            self._paused_until = None
            return await self._drain(max_batches)

    async def _drain(self, max_batches: int) -> DrainCounts:
        counts = DrainCounts()
        for _ in range(max_batches):
            if self.stopping:
                break
            found = self._services
            async with found.uow.read() as tx:
                due = await tx.outbox.due(found.clock.now(), self._batch)
            if not due:
                break
            by_recipient: dict[int, list[OutboxMessage]] = {}
            for message in due:
                by_recipient.setdefault(message.recipient_id, []).append(message)
            slots = asyncio.Semaphore(self._concurrency)
            await asyncio.gather(*(self._send_in_order(m, counts, slots)
                                   for m in by_recipient.values()))
            if counts.rate_limited:
                break
        return counts

    async def _send_in_order(self, messages: list[OutboxMessage], counts: DrainCounts,
                             slots: asyncio.Semaphore) -> None:
        async with slots:
            for message in messages:
                if counts.rate_limited or message.recipient_id in counts.blocked_users:
                    return  # slowed down, or held with the rest of their notices
                if not await self._send(message, counts):
                    return

    async def _send(self, message: OutboxMessage, counts: DrainCounts) -> bool:
        found = self._services
        say = Speaker(found.texts, await found.people.language(message.recipient_id))
        text, markup = render(message, say)
        try:
            sent = await self._bot.send_message(message.recipient_id, text, reply_markup=markup)
        except RetryAfter as error:
            wait = _retry_after(error)
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


def sender(context) -> OutboxSender:
    """The one sender of this process (wiring kept in bot_data, made on first use)."""
    from bot.context import services

    if SENDER not in context.bot_data:
        context.bot_data[SENDER] = OutboxSender(context.bot, services(context))
    return context.bot_data[SENDER]


async def send_now(context) -> None:
    """After an action planned notices: deliver them now rather than at the next tick."""
    await sender(context).drain(max_batches=1)
