"""Shared test flows, moved out of test_servicing.py so no test module imports another."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from core.services.servicing import ServicingPolicy, run_servicing

TZ = ZoneInfo("Asia/Shanghai")


POLICY = ServicingPolicy()


DUE1 = date(2026, 12, 29)


async def serve(uow, clock, day):
    # Servicing runs at 06:00 local on its business date.
    clock.set(datetime.combine(day, time(6, 0), tzinfo=TZ))
    return await run_servicing(uow, clock, TZ, POLICY, day)


def state(path):
    """The book without timestamps: what must be identical across re-runs and restarts."""
    conn = sqlite3.connect(path)
    try:
        return {
            "transfers": conn.execute("SELECT idem_key, kind, legs FROM transfers ORDER BY id"
                                      ).fetchall(),
            "balances": conn.execute("SELECT code, balance FROM accounts ORDER BY code"
                                     ).fetchall(),
            "instalments": conn.execute("SELECT id, status, paid_amount, overdue_since"
                                        " FROM instalments ORDER BY id").fetchall(),
            "parts": conn.execute("SELECT agreement_id, instalment_id, status, attempts,"
                                  " last_attempt_on, next_attempt_on FROM agreement_instalments"
                                  " ORDER BY 1, 2").fetchall(),
            "agreements": conn.execute("SELECT id, status FROM agreements ORDER BY id"
                                       ).fetchall(),
            "events": conn.execute("SELECT subject, kind, data FROM events ORDER BY id"
                                   ).fetchall(),
            "outbox": conn.execute("SELECT key, recipient_id, kind, params, urgent, not_before"
                                   " FROM outbox ORDER BY id").fetchall(),
            "runs": conn.execute("SELECT business_date, debited, failed, retried, defaulted,"
                           " overdue_marked, completed, reminders_planned FROM servicing_runs"
                           " ORDER BY 1").fetchall(),
        }
    finally:
        conn.close()
