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

    async def for_subject(self, subject: str) -> list[RecordedEvent]:
        rows = await self._conn.execute_fetchall(
            "SELECT id, occurred_at, actor, subject, kind, data FROM events"
            " WHERE subject = ? ORDER BY id", (subject,))
        return [_recorded(row) for row in rows]
