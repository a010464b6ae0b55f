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


class NoticeKind(StrEnum):
    """What a notice tells, as a fact: the core plans it with ids, amounts (fen), dates (ISO)
    and the party concerned; bot/notices.py alone decides its words and buttons. The values
    are what the outbox stores, so they stay as they are for rows already planned."""

    # a cover request or agreement; "party" is who acted, shown to the recipient by name
    INVITED = "invite.push"  # a friend the borrower picked, who uses the bot
    OPENED = "notify.opened"
    ACCEPTED = "notify.accepted"
    DECLINED = "notify.declined"
    DECLINED_BY_REVIEW = "notify.declined_review"
    CANCELLED = "notify.cancelled"
    REVOKED = "notify.revoked"
    EXPIRED = "notify.expired"
    SIGNED = "notify.signed"
    ENDED_BY_FRIEND = "notify.terminated_by_friend"
    ENDED_BY_BORROWER = "notify.terminated_by_borrower"
    # money
    TOPPED_UP = "notify.topped_up"
    DEBIT_OK = "debit_ok"  # these five carry "role": the recipient's Party
    DEBIT_FAILED = "debit_failed"
    DEBIT_DEFAULT = "debit_default"
    REMINDER_DUE = "reminder_due"
    REMINDER_OVERDUE = "reminder_overdue"
    AGREEMENT_COMPLETED = "agreement_completed"
    # operators
    ALERT = "alert"
    DAILY_REPORT = "daily_report"
    DAILY_NETWORK = "daily_network"


class Party(StrEnum):
    """Which side of an instalment a servicing notice's recipient is on."""

    FRIEND = "friend"
    BORROWER = "borrower"


@dataclass(frozen=True, slots=True)
class Notice:
    key: str  # unique: recipient, subject, kind and date, so planning twice plans once
    recipient_id: int
    kind: NoticeKind
    params: dict[str, Any] = field(default_factory=dict)
    urgent: bool = False
    lane: Lane = Lane.BULK


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    key: str
    recipient_id: int
    kind: str  # a NoticeKind's value, or one this version no longer knows
    params: dict[str, Any]
    urgent: bool
    attempts: int
    lane: Lane = Lane.BULK
