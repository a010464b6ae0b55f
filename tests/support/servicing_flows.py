"""Shared test flows, moved out of test_servicing.py so no test module imports another."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from core.services.servicing import ServicingPolicy, run_servicing
from tests.support.dbcheck import q

TZ = ZoneInfo("Asia/Shanghai")


POLICY = ServicingPolicy()


DUE1 = date(2026, 12, 29)


async def serve(uow, clock, day):
    # Servicing runs at 06:00 local on its business date.
    clock.set(datetime.combine(day, time(6, 0), tzinfo=TZ))
    return await run_servicing(uow, clock, TZ, POLICY, day)


def state(target):
    """The book without timestamps: what must be identical across re-runs and restarts.
    ``target`` is a SQLite file or an open database of either engine."""
    return {name: q(target, sql) for name, sql in (
        ("transfers", "SELECT idem_key, kind, legs FROM transfers ORDER BY id"),
        ("balances", "SELECT code, balance FROM accounts ORDER BY code"),
        ("instalments", "SELECT id, status, paid_amount, overdue_since"
                        " FROM instalments ORDER BY id"),
        ("parts", "SELECT agreement_id, instalment_id, status, attempts, last_attempt_on,"
                  " next_attempt_on FROM agreement_instalments ORDER BY 1, 2"),
        ("agreements", "SELECT id, status FROM agreements ORDER BY id"),
        ("events", "SELECT subject, kind, data FROM events ORDER BY id"),
        ("outbox", "SELECT key, recipient_id, kind, params, urgent, not_before"
                   " FROM outbox ORDER BY id"),
        ("runs", "SELECT business_date, debited, failed, retried, defaulted, overdue_marked,"
                 " completed, reminders_planned FROM servicing_runs ORDER BY 1"),
    )}
