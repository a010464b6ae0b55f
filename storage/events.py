"""The append-only event log on SQLite (triggers refuse UPDATE and DELETE)."""

from __future__ import annotations

import json

import aiosqlite

from core.clock import Clock, parse_utc_iso, utc_iso
from core.events import Event, RecordedEvent


def _recorded(row: aiosqlite.Row) -> RecordedEvent:
    return RecordedEvent(id=row["id"], occurred_at=parse_utc_iso(row["occurred_at"]),
                         actor=row["actor"], subject=row["subject"], kind=row["kind"],
                         data=json.loads(row["data"]))


class SqliteEventLog:
    def __init__(self, conn: aiosqlite.Connection, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock

    async def append(self, event: Event) -> RecordedEvent:
        rows = await self._conn.execute_fetchall(
            "INSERT INTO events (occurred_at, actor, subject, kind, data) VALUES (?, ?, ?, ?, ?)"
            " RETURNING id, occurred_at, actor, subject, kind, data",
            (utc_iso(self._clock.now()), event.actor, event.subject, event.kind,
             json.dumps(event.data, ensure_ascii=False, sort_keys=True, default=str)))
        return _recorded(rows[0])

    async def append_many(self, events: list[Event]) -> None:
        at = utc_iso(self._clock.now())
        await self._conn.executemany(
            "INSERT INTO events (occurred_at, actor, subject, kind, data) VALUES (?, ?, ?, ?, ?)",
            [(at, e.actor, e.subject, e.kind,
              json.dumps(e.data, ensure_ascii=False, sort_keys=True, default=str))
             for e in events])

async def export(conn: aiosqlite.Connection, start: str, end: str, user_id: int | None,
                 page: int = 1000):
    """Events with start <= occurred_at < end (UTC ISO), oldest first, a page at a time:
    an audit of a year does not sit in memory. ``user_id`` keeps what they did, what was
    done to them, and what names them as borrower, friend or payer."""
    last = 0
    user = None if user_id is None else str(user_id)
    while True:
        rows = await conn.execute_fetchall(
            "SELECT id, occurred_at, actor, subject, kind, data FROM events"
            " WHERE id > ? AND occurred_at >= ? AND occurred_at < ? AND (? IS NULL OR"
            " actor IN ('user:' || ?, 'operator:' || ?) OR subject = 'user:' || ?"
            " OR json_extract(data, '$.borrower') = CAST(? AS INTEGER)"
            " OR json_extract(data, '$.friend') = CAST(? AS INTEGER)"
            " OR json_extract(data, '$.by') = CAST(? AS INTEGER)) ORDER BY id LIMIT ?",
            (last, start, end, user, user, user, user, user, user, user, page))
        if not rows:
            return
        for row in rows:
            yield _recorded(row)
        last = rows[-1]["id"]
