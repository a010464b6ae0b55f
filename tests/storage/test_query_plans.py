"""What runs on a schedule costs what is due, not what the book holds: every statement that
servicing, the risk rules, the daily report, the outbox, request expiry, /ops and the health
page run against a populated book is caught as it executes, and its plan may neither scan a
table that grows with the book nor sort rows into a temporary B-tree for an ORDER BY.
Deterministic, unlike timings (bench/servicing.py measures those)."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bench.servicing import DAY, build
from bot.outbox_sender import OutboxSender
from core.clock import FixedClock
from core.outbox import Lane
from core.risk import RiskPolicy
from core.services import cover
from core.services.daily import network_view, run_daily
from core.services.servicing import ServicingPolicy
from storage.db import Database
from storage.uow import StorageUnitOfWorkFactory

TZ = ZoneInfo("Asia/Shanghai")
# Tables whose rows grow with the book (people, bills, money, history). A scan of one of
# these makes a scheduled job slower every day the book grows.
GROWING = {"users", "identities", "accounts", "transfers", "postings", "bills", "instalments",
           "instalment_payments", "cover_requests", "cover_request_instalments",
           "cover_request_holders", "agreements", "agreement_instalments", "events",
           "event_parties", "outbox", "alerts", "credit_history"}
# Columns on which one value holds most of a table: unpaid instalments are every future one,
# covered parts every future friend's part, and a kind of event is all of its history. A
# search on that column alone is a scan by another name. (Open alerts, active agreements,
# pending notices and open requests are what is at hand, not the book.)
WHOLE_BOOK_BY = {"instalments": "status", "agreement_instalments": "status", "events": "kind"}


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


_KEYWORDS = {"ON", "WHERE", "JOIN", "LEFT", "INNER", "GROUP", "ORDER", "LIMIT", "USING", "AND",
             "SET", "VALUES", "RETURNING", "UNION", "AS", "SELECT"}


def tables_named(statement: str) -> dict[str, str]:
    """Each name a plan may show for a table (its alias, or itself) → the table."""
    names = {}
    for table, alias in re.findall(r"(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?",
                                   statement, re.IGNORECASE):
        names[table] = table
        if alias and alias.upper() not in _KEYWORDS:
            names[alias] = table
    return names


def offenders(conn: sqlite3.Connection, statement: str) -> list[str]:
    plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}")]
    names = tables_named(statement)
    bad = []
    for step in plan:
        scanned = re.match(r"SCAN (\w+)", step)
        if scanned and names.get(scanned.group(1), scanned.group(1)) in GROWING:
            bad.append(step)
        # A search on nothing but a status of a table whose live rows are most of the book
        # ("every unpaid instalment", "every covered part") is a scan by another name.
        searched = re.match(r"SEARCH (\w+) USING .*INDEX \w+ \((\w+)=\?\)$", step)
        if searched and WHOLE_BOOK_BY.get(names.get(searched.group(1), searched.group(1))) \
                == searched.group(2):
            bad.append(step)
        if "TEMP B-TREE FOR ORDER BY" in step or "TEMP B-TREE FOR RIGHT PART OF ORDER BY" in step:
            bad.append(step)
    return bad


@pytest.fixture(scope="module")
def statements(tmp_path_factory):
    """Every statement the scheduled paths executed on a 20,000-instalment book."""
    import asyncio

    path = tmp_path_factory.mktemp("plans") / "book.db"
    build(path, 20_000)
    executed: list[str] = []

    async def run() -> None:
        clock = FixedClock(datetime(2027, 3, 15, 2, tzinfo=UTC))
        db = await Database(path).open()
        for conn in (db.reader, db._writer):
            await conn.set_trace_callback(executed.append)
        uow = StorageUnitOfWorkFactory(db, clock)
        operators = frozenset({9000})
        for day in (DAY, DAY + timedelta(days=1)):  # a due date, then a retry day
            clock.set(datetime.combine(day, datetime.min.time(), tzinfo=TZ)
                      + timedelta(hours=6))
            await run_daily(uow, clock, TZ, ServicingPolicy(), RiskPolicy(), operators, [day])
        await cover.expire_due(uow, now=clock.now())
        from bot.i18n import Texts
        from core.services.people import People

        found = _services(uow, clock, Texts.load(), People(uow, clock))
        sender = OutboxSender(QuietBot(), found, batch=200)
        for lane in Lane:
            await sender.drain(max_batches=3, lanes=(lane,))
        async with uow.read() as tx:  # what /ops and /healthz read
            await tx.risk.book_stats(DAY)
            await tx.risk.open_alerts(10)
            await tx.servicing.runs(3)
            await tx.outbox.counts()
            await network_view(tx)
            await tx.health.snapshot(clock.now())
        await db.close()

    asyncio.run(run())
    return path, sorted({s for s in executed if s.lstrip().upper().startswith(
        ("SELECT", "UPDATE", "INSERT", "DELETE", "WITH"))})


def _services(uow, clock, texts, people):
    from bot.context import Services
    from bot.settings import Settings
    from core.services.cover.desk import CoverDesk
    from core.services.risk import RiskDesk

    settings = Settings(_env_file=None, id_hash_key="k" * 32)
    return Services(uow=uow, people=people, texts=texts, clock=clock, tz=TZ,
                    operator_ids=frozenset({9000}), hasher=settings.identity_hasher(),
                    fees=settings.fees, credit_policy=settings.credit_policy,
                    payment_token=None,
                    cover=CoverDesk(uow, settings.cover_config, settings.invite_tokens(), clock,
                                    TZ),
                    servicing=settings.servicing_policy,
                    risk=RiskDesk(uow, clock, settings.risk_policy, TZ, frozenset({9000})))


def test_scheduled_statements_were_caught(statements):
    _, caught = statements
    assert len(caught) > 30  # servicing, rules, report, outbox, /ops: many distinct ones


def test_no_scheduled_statement_scans_the_book_or_sorts_it(statements):
    path, caught = statements
    conn = sqlite3.connect(path)
    found = {}
    for statement in caught:
        bad = offenders(conn, statement)
        if bad:
            found[statement[:160]] = bad
    conn.close()
    assert found == {}, "\n".join(f"{s}\n    {b}" for s, b in found.items())
