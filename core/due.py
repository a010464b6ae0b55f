"""What servicing reads from the book, page by page: the parts to debit on a date, the
instalments to remind about, the ones to mark overdue, and the record of each run. Storage
builds these; core.services.servicing reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from core.money import Money


@dataclass(frozen=True, slots=True)
class DebitDue:
    agreement_id: int
    instalment_id: int
    amount: Money  # the friend's part
    attempts: int
    friend_id: int
    borrower_id: int
    due_date: date
    merchant: str
    seq: int
    of: int


@dataclass(frozen=True, slots=True)
class DueInstalment:
    instalment_id: int
    borrower_id: int
    due_date: date
    amount: Money
    paid: Money
    merchant: str
    seq: int
    of: int
    parts: tuple[tuple[int, Money], ...]  # (friend, part) still covered
    debited_on_day: tuple[int, ...] = ()  # friends whose part had a debit attempt that day


@dataclass(frozen=True, slots=True)
class DebitSlice:
    """Part of a business date's debits: the due parts of the friends with ids above
    ``after_friend`` up to ``upto_friend`` (None: no end). A friend's parts are all in one
    slice, so the worker holding it is the only one debiting that friend's wallet, and
    debits them in their order."""
    business_date: date
    after_friend: int
    upto_friend: int | None


@dataclass(frozen=True, slots=True)
class ReminderSlice:
    """Part of a business date's reminders of one kind: the unpaid instalments due on
    ``due_date`` with ids above ``after_id`` up to ``upto_id`` (None: no end), planned so
    far up to ``done_upto``."""
    business_date: date
    kind: str  # "due" (before the due date) or "overdue"
    days: int
    due_date: date
    after_id: int
    upto_id: int | None
    done_upto: int


@dataclass(frozen=True, slots=True)
class ServicingRun:
    business_date: date
    started_at: str
    finished_at: str | None
    counts: dict[str, int]


class OverdueMark(NamedTuple):
    """An instalment just marked overdue, and the friends still covering a part of it."""

    instalment_id: int
    borrower_id: int
    due_date: str  # ISO
    friends: tuple[int, ...]


class RunDay(NamedTuple):
    """One servicing run as the daily report charts it."""

    business_date: str  # ISO
    debited: int
    failed: int


class OverdueDay(NamedTuple):
    business_date: str  # ISO
    overdue_fen: int
