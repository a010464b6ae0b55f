"""Telegram Payments: a successful payment is booked as soon as its update arrives.

Polling confirms updates to Telegram when it asks for the next batch, which it does before
handlers have run. A bot killed in between would lose the update, and with it money Telegram
has already taken from the payer. So the request that fetches updates books every
successful payment in a batch before PTB sees the batch: if booking fails, the fetch fails,
nothing is confirmed and the batch comes again. The handler books it again, which changes
nothing (Telegram's charge id is the idempotency key). The payer's confirmation is planned
in the outbox with the booking, so it is sent once even across a crash."""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from telegram.request import RequestData

from bot.context import Services
from bot.http import AiohttpRequest
from bot.inbox import Inbox
from core.events import user_actor
from core.ledger import PostedTransfer
from core.money import Money
from core.services.wallet import TOP_UP_AMOUNTS, top_up

log = logging.getLogger(__name__)
CURRENCY = "CNY"
_PAYLOAD = re.compile(r"^topup:([0-9]{1,15}):([0-9]{1,9}):([0-9a-f]{8})$")
ALLOWED = frozenset(amount.fen for amount in TOP_UP_AMOUNTS)


@dataclass(frozen=True, slots=True)
class Payment:
    user_id: int
    currency: str
    total: int
    payload: str
    charge_id: str


def invoice_payload(user_id: int, fen: int) -> str:
    """What an invoice carries back in its payment: payer, amount, and a random tag."""
    return f"topup:{user_id}:{fen}:{secrets.token_hex(4)}"


def valid(payload: str, user_id: int, currency: str, total: int) -> bool:
    """Only our own invoices, for their payer, as issued."""
    match = _PAYLOAD.match(payload or "")
    return (match is not None and int(match.group(1)) == user_id
            and int(match.group(2)) == total and total in ALLOWED and currency == CURRENCY)


async def book(found: Services, payment: Payment) -> PostedTransfer | None:
    if payment.currency != CURRENCY:
        # Telegram took money we cannot book as CNY: an operator must sort it out.
        log.error("payment %s in %s cannot be booked", payment.charge_id, payment.currency)
        return None
    if not valid(payment.payload, payment.user_id, payment.currency, payment.total):
        log.warning("payment %s does not match its invoice; booking what was paid",
                    payment.charge_id)
    return await top_up(found.uow, user_id=payment.user_id, amount=Money(payment.total),
                        source="telegram", ref=payment.charge_id,
                        actor=user_actor(payment.user_id), tell=True)


def payments_in(batch: bytes) -> list[Payment]:
    """The successful payments in a raw getUpdates answer."""
    if b'"successful_payment"' not in batch:
        return []  # nearly every batch: no second parse of it on the hot path
    updates = json.loads(batch).get("result") or []
    return [p for p in (payment_in(u) for u in updates if isinstance(u, dict)) if p]


def payment_in(update: dict) -> Payment | None:
    """The successful payment in one raw update, if it is one."""
    message = update.get("message") or {}
    paid, sender = message.get("successful_payment"), message.get("from")
    if not isinstance(paid, dict) or not isinstance(sender, dict):
        return None
    try:
        return Payment(int(sender["id"]), str(paid["currency"]), int(paid["total_amount"]),
                       str(paid["invoice_payload"]), str(paid["telegram_payment_charge_id"]))
    except (KeyError, TypeError, ValueError):
        log.error("a successful payment without the fields to book it: update %s",
                  update.get("update_id"))
        return None


class PaymentBookingRequest(AiohttpRequest):
    """The getUpdates request: books payments, and keeps the batch in the inbox
    (bot.inbox), before the batch can be confirmed."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.services: Services | None = None  # set once the database is open
        self.inbox: Inbox | None = None
        self.on_failure: Callable[[], None] | None = None  # counts it for /metrics

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: object, **kwargs: object) -> tuple[int, bytes]:
        status, payload = await super().do_request(url, method, request_data, *args, **kwargs)
        if status == 200 and self.services is not None and url.endswith("/getUpdates"):
            for payment in payments_in(payload):
                try:
                    await book(self.services, payment)
                except Exception:
                    # Raising fails this fetch: nothing is confirmed, the batch comes again.
                    # Every update waits behind the payment meanwhile, as it must: money
                    # Telegram took is not let go of.
                    log.exception("payment %s not booked; holding updates until it is",
                                  payment.charge_id)
                    if self.on_failure is not None:
                        self.on_failure()
                    raise
            if self.inbox is not None and b'"update_id"' in payload:  # not an empty batch
                # Raising fails this fetch here too: nothing is confirmed, it comes again.
                updates = json.loads(payload).get("result")
                if isinstance(updates, list):
                    await self.inbox.accept_batch([u for u in updates if isinstance(u, dict)])
        return status, payload
