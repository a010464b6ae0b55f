"""Time as a dependency: code that needs "now" or "today" is handed a clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock tests move by hand, so nothing ever sleeps or reads the wall clock."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._at += delta


def business_date(instant: datetime, tz: ZoneInfo) -> date:
    """The calendar day of ``instant`` in the platform timezone (营业日)."""
    if instant.tzinfo is None:
        raise ValueError("business_date needs a timezone-aware datetime")
    return instant.astimezone(tz).date()


def utc_iso(instant: datetime) -> str:
    """The one storage form of an instant: ISO 8601 in UTC with microseconds."""
    if instant.tzinfo is None:
        raise ValueError("refusing to store a naive datetime")
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


def parse_utc_iso(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"stored instant without timezone: {text!r}")
    return value.astimezone(UTC)
