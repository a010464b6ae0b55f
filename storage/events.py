"""The append-only event log on SQLite (triggers refuse UPDATE and DELETE)."""

from __future__ import annotations

import json
from typing import Any

from core.clock import Clock, parse_utc_iso, utc_iso
from core.events import Event, RecordedEvent
from storage.sql import Sql

# The trigger events_index_parties copies ``parties`` into event_parties in the same statement.
_COLUMNS = "e.id, e.occurred_at, e.actor, e.subject, e.kind, e.data, e.parties"
_INSERT = ("INSERT INTO events (occurred_at, actor, subject, kind, data, parties)"
           " VALUES (?, ?, ?, ?, ?, ?)")


def _row(at: str, event: Event) -> tuple:
    return (at, event.actor, event.subject, event.kind,
            json.dumps(event.data, ensure_ascii=False, sort_keys=True, default=str),
            json.dumps(event.concerned()))


def _recorded(row: Any) -> RecordedEvent:
    return RecordedEvent(id=row["id"], occurred_at=parse_utc_iso(row["occurred_at"]),
                         actor=row["actor"], subject=row["subject"], kind=row["kind"],
                         data=json.loads(row["data"]), parties=tuple(json.loads(row["parties"])))


class EventStore:
    def __init__(self, conn: Sql, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock

    async def append(self, event: Event) -> RecordedEvent:
        rows = await self._conn.execute_fetchall(
            f"{_INSERT} RETURNING id, occurred_at, actor, subject, kind, data, parties",
            _row(utc_iso(self._clock.now()), event))
        return _recorded(rows[0])

    async def append_many(self, events: list[Event]) -> None:
        at = utc_iso(self._clock.now())
        await self._conn.executemany(_INSERT, [_row(at, e) for e in events])

async def export(conn: Sql, start: str, end: str, user_id: int | None,
                 page: int = 1000):
    """Events with start <= occurred_at < end (UTC ISO), oldest first, a page at a time:
    an audit of a year does not sit in memory. ``user_id`` keeps the events that concern
    that person (their parties), read along the event_parties index."""
    last = 0
    while True:
        if user_id is None:
            rows = await conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM events e WHERE e.id > ? AND e.occurred_at >= ?"
                " AND e.occurred_at < ? ORDER BY e.id LIMIT ?", (last, start, end, page))
        else:
            rows = await conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM event_parties p JOIN events e ON e.id = p.event_id"
                " WHERE p.user_id = ? AND p.event_id > ? AND e.occurred_at >= ?"
                " AND e.occurred_at < ? ORDER BY p.event_id LIMIT ?",
                (user_id, last, start, end, page))
        if not rows:
            return
        for row in rows:
            yield _recorded(row)
        last = rows[-1]["id"]
