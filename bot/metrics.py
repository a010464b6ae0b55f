"""Prometheus metrics: what the bot did in this process (updates by type, how long they
took) and what the book says now (outbox, debits, alerts, ledger), read at each scrape."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from telegram import Update

from core.clock import Clock
from core.health import HealthSnapshot
from core.ports import UnitOfWorkFactory

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def update_type(update: object) -> str:
    if isinstance(update, Update):
        for kind in Update.ALL_TYPES:
            if getattr(update, kind, None) is not None:
                return kind
    return "other"


class Metrics:
    """One registry per application, so two bots in one process (tests) do not mix."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter("daihuan_updates", "Updates handled, by type", ["type"],
                               registry=self.registry)
        self.latency = Histogram(
            "daihuan_update_seconds", "Time from taking an update to its handler's end",
            ["type"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
        self.payments_unbooked = Counter(
            "daihuan_payment_booking_failures",
            "Successful payments that could not be booked on arrival (their updates are "
            "held until booking works)", registry=self.registry)
        self.book: HealthSnapshot | None = None
        self.tz: ZoneInfo = ZoneInfo("UTC")
        self.registry.register(_Book(self))

    def handled(self, kind: str, started: float) -> None:
        self.updates.labels(kind).inc()
        self.latency.labels(kind).observe(time.perf_counter() - started)

    async def scrape(self, uow: UnitOfWorkFactory, clock: Clock, tz: ZoneInfo) -> bytes:
        async with uow.read() as tx:
            self.book = await tx.health.snapshot(clock.now())
        self.tz = tz
        return generate_latest(self.registry)


class _Book(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        book = self._metrics.book
        if book is None:
            return
        outbox = GaugeMetricFamily("daihuan_outbox_messages", "Outbox messages by status",
                                   labels=["status"])
        for status in ("pending", "sent", "failed", "blocked"):
            outbox.add_metric([status], book.outbox.get(status, 0))
        yield outbox
        yield GaugeMetricFamily("daihuan_outbox_due", "Pending messages due to be sent now",
                                value=book.outbox_due)
        debits = CounterMetricFamily("daihuan_debits", "Debit attempts by outcome",
                                     labels=["outcome"])
        for outcome in ("succeeded", "failed", "defaulted"):
            debits.add_metric([outcome], book.debits.get(outcome, 0))
        yield debits
        yield GaugeMetricFamily("daihuan_open_alerts", "Risk alerts not yet cleared",
                                value=book.open_alerts)
        yield CounterMetricFamily("daihuan_ledger_transfers", "Balanced ledger postings",
                                  value=book.transfers)
        if book.last_servicing is not None:
            day = datetime.combine(book.last_servicing, clock_time(0), tzinfo=self._metrics.tz)
            yield GaugeMetricFamily(
                "daihuan_last_servicing_date", "The last business date servicing finished, "
                "as the Unix time of its midnight in the platform timezone",
                value=day.timestamp())
