"""The outbox on SQLite: planned once by key, drained by the sender."""

from __future__ import annotations

import json
from datetime import datetime

from core.clock import Clock, utc_iso
from core.outbox import Lane, Notice, OutboxMessage
from storage.dialect import SQLITE, Dialect
from storage.leadership import LIVE_WORKERS, lock_key
from storage.sql import Sql

_ROWS_PER_INSERT = 500  # 9 values a row: well within SQLite's 32,766 variables
_COLUMNS = "id, key, recipient_id, kind, params, urgent, attempts, lane"
_CLAIMING = lock_key("outbox claims")
_DUE = "status = 'pending' AND lane = ? AND urgent = ? AND next_attempt_at <= ?"


def _message(row) -> OutboxMessage:
    return OutboxMessage(row[0], row[1], row[2], row[3], json.loads(row[4]), bool(row[5]),
                         row[6], Lane(row[7]))


class OutboxStore:
    def __init__(self, conn: Sql, clock: Clock, dialect: Dialect = SQLITE) -> None:
        self._conn = conn
        self._clock = clock
        self._d = dialect

    async def plan(self, notices: list[tuple[Notice, datetime]]) -> int:
        """Add notices not planned before; returns how many were new."""
        if not notices:
            return 0
        now = utc_iso(self._clock.now())
        rows = [(n.key, n.recipient_id, str(n.kind),
                 json.dumps(n.params, ensure_ascii=False, sort_keys=True), int(n.urgent),
                 utc_iso(at), utc_iso(at), now, n.lane.value) for n, at in notices]
        planned = 0
        # Many rows a statement (one hop to SQLite's thread), and RETURNING counts exactly
        # the new ones: a key planned before is skipped, and triggers' changes do not count.
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start:start + _ROWS_PER_INSERT]
            inserted = await self._conn.execute_fetchall(
                "INSERT INTO outbox (key, recipient_id, kind, params, urgent, not_before,"
                " next_attempt_at, created_at, lane) VALUES "
                + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
                + " ON CONFLICT (key) DO NOTHING RETURNING id",
                [value for row in chunk for value in row])
            planned += len(inserted)
        return planned

    async def due(self, now: datetime, limit: int,
                  lane: Lane = Lane.BULK) -> list[OutboxMessage]:
        """Due notices of a lane, urgent ones first, then by when they fell due: ranges of
        the index on (status, lane, urgent, next_attempt_at), read in its order. For the one
        process of a book; processes that share one take theirs with ``claim``."""
        found: list[OutboxMessage] = []
        for urgent in (1, 0):
            if len(found) >= limit:
                break
            rows = await self._conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM outbox WHERE {_DUE} ORDER BY next_attempt_at, id LIMIT ?",
                (lane.value, urgent, utc_iso(now), limit - len(found)))
            found += [_message(r) for r in rows]
        return found

    async def claim(self, now: datetime, limit: int, lane: Lane, worker: int
                    ) -> list[OutboxMessage]:
        """``due``, taken for ``worker`` to send: rows another live worker has claimed, or
        is claiming right now, are left to it. A claim of this worker's own is taken again:
        a worker drains a lane one batch at a time, so none of them is in flight."""
        found: list[OutboxMessage] = []
        if self._d.postgres:
            # Claims one at a time across the deployment (each is one short UPDATE; the
            # sending is what runs side by side). A claim then sees every claim before it,
            # so a recipient already being sent to is seen busy, not just the rows locked.
            await self._conn.execute("SELECT pg_advisory_xact_lock(?)", (_CLAIMING,))
        for urgent in (1, 0):
            if len(found) >= limit:
                break
            if self._d.postgres:
                # SKIP LOCKED: rows another worker's claim is writing are passed over, not
                # waited for; a row it claimed before is re-checked against its new value.
                # A recipient whose notices another live worker is sending is left to it,
                # so theirs go out in the order planned.
                pick = (f"SELECT id FROM outbox WHERE {_DUE} AND (claimed_by IS NULL"
                        f" OR claimed_by = ? OR claimed_by NOT IN ({LIVE_WORKERS}))"
                        " AND NOT EXISTS (SELECT 1 FROM outbox AS busy"
                        " WHERE busy.recipient_id = outbox.recipient_id"
                        " AND busy.status = 'pending' AND busy.claimed_by <> ?"
                        f" AND busy.claimed_by IN ({LIVE_WORKERS}))"
                        " ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE OF outbox SKIP LOCKED")
                params = (worker, lane.value, urgent, utc_iso(now), worker, worker,
                          limit - len(found))
            else:  # one process, draining each lane one batch at a time: nothing to skip
                pick = f"SELECT id FROM outbox WHERE {_DUE} ORDER BY next_attempt_at, id LIMIT ?"
                params = (worker, lane.value, urgent, utc_iso(now), limit - len(found))
            rows = await self._conn.execute_fetchall(
                f"UPDATE outbox SET claimed_by = ? WHERE {self._d.among('id', pick)}"
                f" RETURNING {_COLUMNS}, next_attempt_at", params)
            # RETURNING keeps no order: each recipient's notices go in the order planned.
            rows = sorted(rows, key=lambda r: (r[-1], r[0]))
            found += [_message(r) for r in rows]
        return found

    async def mark_sent(self, message_id: int, telegram_message_id: int | None) -> None:
        await self._conn.execute(
            "UPDATE outbox SET status = 'sent', message_id = ?, sent_at = ?,"
            " attempts = attempts + 1 WHERE id = ? AND status = 'pending'",
            (telegram_message_id, utc_iso(self._clock.now()), message_id))

    async def retry_at(self, message_id: int, at: datetime, error: str, counts: bool) -> None:
        await self._conn.execute(
            "UPDATE outbox SET next_attempt_at = ?, last_error = ?, claimed_by = NULL,"
            " attempts = attempts + ? WHERE id = ? AND status = 'pending'",
            (utc_iso(at), error[:200], int(counts), message_id))

    async def give_up(self, message_id: int, status: str, error: str) -> None:
        await self._conn.execute(
            "UPDATE outbox SET status = ?, last_error = ?, attempts = attempts + 1"
            " WHERE id = ? AND status = 'pending'", (status, error[:200], message_id))

    async def mark_blocked(self, user_id: int) -> None:
        now = utc_iso(self._clock.now())
        await self._conn.execute(
            "UPDATE users SET blocked_at = ? WHERE id = ? AND blocked_at IS NULL", (now, user_id))
        # Everything else waiting for them would fail the same way.
        await self._conn.execute(
            "UPDATE outbox SET status = 'blocked', last_error = 'recipient blocked the bot'"
            " WHERE recipient_id = ? AND status = 'pending'", (user_id,))

    async def release_held(self, user_id: int, since: datetime) -> int:
        """Notices held while the user had blocked the bot, planned since ``since``: back
        to pending (older ones are stale and stay held)."""
        # Not before its time: a notice held in quiet hours waits them out still.
        released = await self._conn.execute_fetchall(
            "UPDATE outbox SET status = 'pending',"
            f" next_attempt_at = {self._d.later_of('?', 'not_before')},"
            " last_error = NULL, claimed_by = NULL WHERE recipient_id = ? AND status = 'blocked'"
            " AND created_at >= ? RETURNING id",
            (utc_iso(self._clock.now()), user_id, utc_iso(since)))
        return len(released)

    async def counts(self) -> dict[str, int]:
        """Notices by status, from the totals triggers keep (the sent ones only grow)."""
        rows = await self._conn.execute_fetchall(
            "SELECT substr(name, 8), SUM(value) FROM book_totals WHERE name >= 'outbox:'"
            " AND name < 'outbox;' GROUP BY name")
        return {status: count for status, count in rows if count}
