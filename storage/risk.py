"""Facts for the risk rules, alerts, book statistics and the network view, on SQLite."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import aiosqlite

from core.clock import Clock, parse_utc_iso, utc_iso
from core.risk import Finding

_ALERT = ("SELECT id, key, rule, severity, subject, evidence, status, raised_at FROM alerts")


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    key: str
    rule: str
    severity: str
    subject: str
    evidence: dict
    status: str
    raised_at: datetime


def _alert(r: aiosqlite.Row) -> Alert:
    return Alert(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], parse_utc_iso(r[7]))


class SqliteRisk:
    def __init__(self, conn: aiosqlite.Connection, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock

    # -- facts -----------------------------------------------------------------------------
    async def overdue(self, today: date, min_days: int) -> list[tuple[int, int, int, int]]:
        rows = await self._conn.execute_fetchall(
            "SELECT i.id, b.borrower_id, CAST(julianday(?) - julianday(i.due_date) AS INTEGER),"
            " i.principal + i.fee - i.paid_amount FROM instalments i JOIN bills b"
            " ON b.id = i.bill_id WHERE i.status = 'unpaid' AND i.due_date < ?",
            (today.isoformat(), (today - timedelta(days=min_days)).isoformat()))
        return [tuple(r) for r in rows]

    async def exposure(self) -> list[tuple[int, int]]:
        rows = await self._conn.execute_fetchall(
            "SELECT a.friend_id, SUM(ai.amount) FROM agreement_instalments ai"
            " JOIN agreements a ON a.id = ai.agreement_id WHERE ai.status = 'covered'"
            " GROUP BY a.friend_id")
        return [tuple(r) for r in rows]

    async def borrowers_per_friend(self) -> list[tuple[int, int]]:
        rows = await self._conn.execute_fetchall(
            "SELECT friend_id, COUNT(DISTINCT borrower_id) FROM agreements"
            " WHERE status = 'active' GROUP BY friend_id")
        return [tuple(r) for r in rows]

    async def cover_edges(self) -> list[tuple[int, int]]:
        rows = await self._conn.execute_fetchall(
            "SELECT DISTINCT friend_id, borrower_id FROM agreements WHERE status = 'active'")
        return [tuple(r) for r in rows]

    async def bursts(self, now: datetime, minutes: int) -> list[tuple[int, int, str]]:
        since = utc_iso(now - timedelta(minutes=minutes))
        rows = await self._conn.execute_fetchall(
            "SELECT borrower_id, COUNT(*), MIN(created_at) FROM cover_requests"
            " WHERE created_at >= ? GROUP BY borrower_id", (since,))
        return [tuple(r) for r in rows]

    async def debit_failures(self, now: datetime, days: int) -> list[tuple[int, int]]:
        since = utc_iso(now - timedelta(days=days))
        rows = await self._conn.execute_fetchall(
            "SELECT a.friend_id, COUNT(*) FROM events e JOIN agreements a"
            " ON a.id = json_extract(e.data, '$.agreement')"
            " WHERE e.kind IN ('debit.failed', 'debit.defaulted') AND e.occurred_at >= ?"
            " GROUP BY a.friend_id", (since,))
        return [tuple(r) for r in rows]

    async def shared_identities(self, now: datetime, days: int) -> list[tuple[int, str, int]]:
        since = utc_iso(now - timedelta(days=days))
        rows = await self._conn.execute_fetchall(
            "SELECT CAST(substr(subject, 6) AS INTEGER), kind,"
            " COALESCE(json_extract(data, '$.verified_user'), json_extract(data, '$.borrower'))"
            " FROM events WHERE kind = 'identity.duplicate_refused' AND occurred_at >= ?"
            " UNION SELECT json_extract(data, '$.friend'), kind, json_extract(data, '$.borrower')"
            " FROM events WHERE kind = 'cover.same_identity_refused' AND occurred_at >= ?",
            (since, since))
        return [tuple(r) for r in rows]

    async def new_accounts_on_fresh_purchases(self, now: datetime, hours: int
                                              ) -> list[tuple[int, int, int, int, int]]:
        rows = await self._conn.execute_fetchall(
            "SELECT r.id, r.friend_id, CAST(julianday(?) - julianday(u.created_at) AS INTEGER),"
            " b.principal, r.borrower_id FROM cover_requests r JOIN users u ON u.id = r.friend_id"
            " JOIN bills b ON b.id = r.bill_id WHERE r.status IN ('accepted', 'signed')"
            " AND julianday(r.created_at) - julianday(b.created_at) <= ? / 24.0"
            " AND r.updated_at >= ?",
            (utc_iso(now), hours, utc_iso(now - timedelta(days=2))))
        return [tuple(r) for r in rows]

    # -- alerts ----------------------------------------------------------------------------
    async def open_keys(self, rule: str) -> dict[str, int]:
        rows = await self._conn.execute_fetchall(
            "SELECT key, id FROM alerts WHERE rule = ? AND status != 'cleared'", (rule,))
        return {k: i for k, i in rows}

    async def raise_alert(self, finding: Finding) -> int:
        rows = await self._conn.execute_fetchall(
            "INSERT INTO alerts (key, rule, severity, subject, evidence, raised_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (finding.key, finding.rule, finding.severity.value, finding.subject,
             json.dumps(finding.evidence, ensure_ascii=False, sort_keys=True),
             utc_iso(self._clock.now())))
        return rows[0][0]

    async def clear(self, alert_id: int) -> None:
        await self._conn.execute(
            "UPDATE alerts SET status = 'cleared', cleared_at = ? WHERE id = ?"
            " AND status != 'cleared'", (utc_iso(self._clock.now()), alert_id))

    async def acknowledge(self, alert_id: int, operator_id: int) -> bool:
        cursor = await self._conn.execute(
            "UPDATE alerts SET status = 'acknowledged', acked_by = ?, acked_at = ?"
            " WHERE id = ? AND status = 'open'", (operator_id, utc_iso(self._clock.now()),
                                                   alert_id))
        return cursor.rowcount == 1

    async def alert(self, alert_id: int) -> Alert | None:
        rows = await self._conn.execute_fetchall(f"{_ALERT} WHERE id = ?", (alert_id,))
        return _alert(rows[0]) if rows else None

    async def open_alerts_after(self, after_id: int, limit: int) -> list[Alert]:
        """Open alerts in id order, a page at a time."""
        rows = await self._conn.execute_fetchall(
            f"{_ALERT} WHERE status = 'open' AND id > ? ORDER BY id LIMIT ?", (after_id, limit))
        return [_alert(r) for r in rows]

    async def open_alerts(self, limit: int = 20) -> list[Alert]:
        rows = await self._conn.execute_fetchall(
            f"{_ALERT} WHERE status = 'open' ORDER BY CASE severity WHEN 'high' THEN 0"
            " WHEN 'medium' THEN 1 ELSE 2 END, id DESC LIMIT ?", (limit,))
        return [_alert(r) for r in rows]

    # -- freezes ---------------------------------------------------------------------------
    async def set_frozen(self, user_id: int, reason: str | None) -> bool:
        cursor = await self._conn.execute(
            "UPDATE users SET frozen_reason = ?, frozen_at = ? WHERE id = ?"
            " AND (frozen_reason IS NULL) = (? IS NOT NULL)",
            (reason, utc_iso(self._clock.now()) if reason else None, user_id, reason))
        return cursor.rowcount == 1

    # -- statistics and the network ----------------------------------------------------------
    async def book_stats(self, today: date) -> dict[str, int]:
        d = today.isoformat()
        row = (await self._conn.execute_fetchall(
            "SELECT (SELECT COUNT(*) FROM users WHERE display_name != ''),"
            " (SELECT COUNT(*) FROM agreements WHERE status = 'active'),"
            " (SELECT COALESCE(SUM(amount), 0) FROM agreement_instalments"
            "  WHERE status = 'covered'),"
            " (SELECT COALESCE(SUM(principal + fee - paid_amount), 0) FROM instalments"
            "  WHERE status = 'unpaid'),"
            " (SELECT COUNT(*) FROM alerts WHERE status = 'open')"))[0]
        stats = dict(zip(("users", "active_agreements", "exposure", "outstanding",
                          "open_alerts"), row, strict=True))
        buckets = await self._conn.execute_fetchall(
            "SELECT CASE WHEN days <= 30 THEN '1-30' WHEN days <= 60 THEN '31-60'"
            " WHEN days <= 90 THEN '61-90' ELSE '90+' END, SUM(left) FROM ("
            " SELECT julianday(?) - julianday(due_date) AS days,"
            " principal + fee - paid_amount AS left FROM instalments"
            " WHERE status = 'unpaid' AND due_date < ?) GROUP BY 1", (d, d))
        for bucket in ("1-30", "31-60", "61-90", "90+"):
            stats[f"overdue_{bucket}"] = 0
        for bucket, fen in buckets:
            stats[f"overdue_{bucket}"] = fen
        return stats

    async def debit_history(self, since: date) -> list[tuple[str, int, int]]:
        """(business date, debits that succeeded, debits that failed) per servicing run."""
        rows = await self._conn.execute_fetchall(
            "SELECT business_date, debited, failed FROM servicing_runs"
            " WHERE business_date >= ? ORDER BY business_date", (since.isoformat(),))
        return [tuple(r) for r in rows]

    async def overdue_history(self, since: date) -> list[tuple[str, int]]:
        """Overdue amount at the end of each business date since ``since``, from the book:
        an instalment counts on a date after its due date until the date it was paid."""
        rows = await self._conn.execute_fetchall(
            "SELECT business_date, (SELECT COALESCE(SUM(i.principal + i.fee), 0)"
            "  FROM instalments i WHERE i.due_date < r.business_date"
            "  AND (i.paid_on IS NULL OR i.paid_on > r.business_date))"
            " FROM servicing_runs r WHERE r.business_date >= ? ORDER BY 1",
            (since.isoformat(),))
        return [tuple(r) for r in rows]
