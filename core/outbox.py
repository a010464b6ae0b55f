"""Notices for people, planned into a durable outbox: each exists once (its key) and is sent
once. Non-urgent ones wait for the end of quiet hours in the platform's timezone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

IMMEDIATELY = datetime(2000, 1, 1, tzinfo=UTC)  # "not before" for what may go out at once


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time = time(22, 0)
    end: time = time(8, 0)

    def release(self, now: datetime, tz: ZoneInfo) -> datetime:
        """When a non-urgent notice planned at ``now`` may go out: now, or the end of the
        quiet hours it falls in."""
        local = now.astimezone(tz)
        t = local.timetz().replace(tzinfo=None)
        if self.start <= self.end:
            quiet = self.start <= t < self.end
        else:  # spans midnight, e.g. 22:00-08:00
            quiet = t >= self.start or t < self.end
        if not quiet:
            return now
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(now.tzinfo)


class Lane(StrEnum):
    """NOW: what a person's own action planned, sent at once and never behind BULK (a
    servicing run's reminders, which go as fast as the rate limit allows)."""

    NOW = "now"
    BULK = "bulk"


@dataclass(frozen=True, slots=True)
class Notice:
    key: str  # unique: recipient, subject, kind and date, so planning twice plans once
    recipient_id: int
    kind: str  # names the text: notice.<kind>
    params: dict[str, Any] = field(default_factory=dict)
    urgent: bool = False
    lane: Lane = Lane.BULK


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    key: str
    recipient_id: int
    kind: str
    params: dict[str, Any]
    urgent: bool
    attempts: int
    lane: Lane = Lane.BULK
