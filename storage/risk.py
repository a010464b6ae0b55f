"""Facts for the risk rules, alerts, book statistics and the network view, on SQLite."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from core.clock import Clock, parse_utc_iso, utc_iso
from core.due import OverdueDay, RunDay
from core.risk import (
    Alert,
    BurstFact,
    CoverEdge,
    Finding,
    FreshCoverFact,
    FriendCount,
    OverdueFact,
    SharedIdentityFact,
)
from storage.dialect import SQLITE, Dialect
from storage.sql import Sql

_ALERT = ("SELECT id, key, rule, severity, subject, evidence, status, raised_at FROM alerts")


def _alert(r: Any) -> Alert:
    return Alert(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], parse_utc_iso(r[7]))


class RiskStore:
    def __init__(self, conn: Sql, clock: Clock, dialect: Dialect = SQLITE) -> None:
        self._conn = conn
        self._clock = clock
        self._d = dialect

    # -- facts -----------------------------------------------------------------------------
    async def overdue(self, today: date, min_days: int) -> list[OverdueFact]:
        rows = await self._conn.execute_fetchall(
            f"SELECT i.id, b.borrower_id, {self._d.whole_days('?', 'i.due_date')},"
            " i.principal + i.fee - i.paid_amount FROM instalments i JOIN bills b"
            " ON b.id = i.bill_id WHERE i.status = 'unpaid' AND i.due_date < ?",
            (today.isoformat(), (today - timedelta(days=min_days)).isoformat()))
        return [OverdueFact(*r) for r in rows]

    async def exposure(self) -> list[FriendCount]:
        """(friend, fen they still cover), from the totals triggers keep."""
        rows = await self._conn.execute_fetchall(
            "SELECT friend_id, fen FROM friend_exposure WHERE fen > 0 ORDER BY fen DESC")
        return [FriendCount(*r) for r in rows]

    async def borrowers_per_friend(self) -> list[FriendCount]:
        rows = await self._conn.execute_fetchall(
            "SELECT friend_id, COUNT(DISTINCT borrower_id) FROM agreements"
            " WHERE status = 'active' GROUP BY friend_id")
        return [FriendCount(*r) for r in rows]

    async def cover_edges(self) -> list[CoverEdge]:
        rows = await self._conn.execute_fetchall(
            "SELECT DISTINCT friend_id, borrower_id FROM agreements WHERE status = 'active'")
        return [CoverEdge(*r) for r in rows]

    async def bursts(self, now: datetime, minutes: int) -> list[BurstFact]:
        since = utc_iso(now - timedelta(minutes=minutes))
        rows = await self._conn.execute_fetchall(
            # The last minutes' requests by time, not every borrower's by borrower.
            "SELECT borrower_id, COUNT(*), MIN(created_at) FROM cover_requests"
            f"{self._d.indexed_by('cover_requests_by_time')}"
            " WHERE created_at >= ? GROUP BY borrower_id",
            (since,))
        return [BurstFact(*r) for r in rows]

    async def debit_failures(self, now: datetime, days: int) -> list[FriendCount]:
        since = utc_iso(now - timedelta(days=days))
        rows = await self._conn.execute_fetchall(
            "SELECT a.friend_id, COUNT(*) FROM events e JOIN agreements a"
            f" ON a.id = {self._d.json_int('e.data', 'agreement')}"
            " WHERE e.kind IN ('debit.failed', 'debit.defaulted') AND e.occurred_at >= ?"
            " GROUP BY a.friend_id", (since,))
        return [FriendCount(*r) for r in rows]

    async def shared_identities(self, now: datetime, days: int) -> list[SharedIdentityFact]:
        since = utc_iso(now - timedelta(days=days))
        rows = await self._conn.execute_fetchall(
            "SELECT CAST(substr(subject, 6) AS INTEGER), kind,"
            f" COALESCE({self._d.json_int('data', 'verified_user')},"
            f" {self._d.json_int('data', 'borrower')})"
            " FROM events WHERE kind = 'identity.duplicate_refused' AND occurred_at >= ?"
            f" UNION SELECT {self._d.json_int('data', 'friend')}, kind,"
            f" {self._d.json_int('data', 'borrower')}"
            " FROM events WHERE kind = 'cover.same_identity_refused' AND occurred_at >= ?",
            (since, since))
        return [SharedIdentityFact(*r) for r in rows]

    async def new_accounts_on_fresh_purchases(self, now: datetime, hours: int
                                              ) -> list[FreshCoverFact]:
        rows = await self._conn.execute_fetchall(
            f"SELECT r.id, r.friend_id, {self._d.whole_days('?', 'u.created_at')},"
            " b.principal, r.borrower_id FROM cover_requests r JOIN users u ON u.id = r.friend_id"
            " JOIN bills b ON b.id = r.bill_id WHERE r.status IN ('accepted', 'signed')"
            f" AND {self._d.days_between('r.created_at', 'b.created_at')} <= ? / 24.0"
            " AND r.updated_at >= ?",
            (utc_iso(now), hours, utc_iso(now - timedelta(days=2))))
        return [FreshCoverFact(*r) for r in rows]

    # -- alerts ----------------------------------------------------------------------------
    async def open_keys(self, rule: str) -> dict[str, int]:
        rows = await self._conn.execute_fetchall(
            "SELECT key, id FROM alerts WHERE rule = ? AND status IN ('open', 'acknowledged')",
            (rule,))
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
        """The most severe first, newest first within each: one index range a severity."""
        found: list[Alert] = []
        for severity in ("high", "medium", "low"):
            if len(found) >= limit:
                break
            rows = await self._conn.execute_fetchall(
                f"{_ALERT} WHERE status = 'open' AND severity = ? ORDER BY id DESC LIMIT ?",
                (severity, limit - len(found)))
            found += [_alert(r) for r in rows]
        return found

    # -- freezes ---------------------------------------------------------------------------
    async def set_frozen(self, user_id: int, reason: str | None) -> bool:
        cursor = await self._conn.execute(
            "UPDATE users SET frozen_reason = ?, frozen_at = ? WHERE id = ?"
            " AND (frozen_reason IS NULL) = ?",  # freeze the unfrozen, release the frozen
            (reason, utc_iso(self._clock.now()) if reason else None, user_id,
             reason is not None))
        return cursor.rowcount == 1

    # -- statistics and the network ----------------------------------------------------------
    async def book_stats(self, today: date) -> dict[str, int]:
        d = today.isoformat()
        totals = dict(await self._conn.execute_fetchall(
            "SELECT name, SUM(value) FROM book_totals WHERE name IN ('users',"
            " 'active_agreements', 'covered_fen', 'outstanding_fen') GROUP BY name"))
        (open_alerts,), = await self._conn.execute_fetchall(
            "SELECT COUNT(*) FROM alerts WHERE status = 'open'")
        stats = {"users": totals.get("users", 0),
                 "active_agreements": totals.get("active_agreements", 0),
                 "exposure": totals.get("covered_fen", 0),
                 "outstanding": totals.get("outstanding_fen", 0), "open_alerts": open_alerts}
        buckets = await self._conn.execute_fetchall(
            "SELECT CASE WHEN days <= 30 THEN '1-30' WHEN days <= 60 THEN '31-60'"
            " WHEN days <= 90 THEN '61-90' ELSE '90+' END, SUM(owed) FROM ("
            f" SELECT {self._d.days_between('?', 'due_date')} AS days,"
            " principal + fee - paid_amount AS owed FROM instalments"
            " WHERE status = 'unpaid' AND due_date < ?) AS overdue GROUP BY 1", (d, d))
        for bucket in ("1-30", "31-60", "61-90", "90+"):
            stats[f"overdue_{bucket}"] = 0
        for bucket, fen in buckets:
            stats[f"overdue_{bucket}"] = fen
        return stats

    async def debit_history(self, since: date) -> list[RunDay]:
        """(business date, debits that succeeded, debits that failed) per servicing run."""
        rows = await self._conn.execute_fetchall(
            "SELECT business_date, debited, failed FROM servicing_runs"
            " WHERE business_date >= ? ORDER BY business_date", (since.isoformat(),))
        return [RunDay(*r) for r in rows]

    async def overdue_history(self, since: date) -> list[OverdueDay]:
        """Overdue amount (past due, not yet paid) at the end of each business date since
        ``since``, as each run recorded it when it finished."""
        rows = await self._conn.execute_fetchall(
            "SELECT business_date, COALESCE(overdue_fen, 0) FROM servicing_runs"
            " WHERE business_date >= ? AND finished_at IS NOT NULL ORDER BY business_date",
            (since.isoformat(),))
        return [OverdueDay(*r) for r in rows]
