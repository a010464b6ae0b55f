"""The append-only event log: who did what to which subject, and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.numerals import parse_int

SYSTEM = "system"


def user_actor(user_id: int) -> str:
    return f"user:{user_id}"


def user_subject(user_id: int) -> str:
    """The subject of what concerns one person (an alert about them, their wallet)."""
    return f"user:{user_id}"


def person_in(subject: str) -> int | None:
    """The person a ``user:<id>`` subject names; None for any other subject."""
    kind, _, who = subject.partition(":")
    return parse_int(who, 1, 2**63 - 1) if kind == "user" else None


def operator_actor(user_id: int) -> str:
    return f"operator:{user_id}"


@dataclass(frozen=True, slots=True)
class Event:
    """One state change. ``subject`` is ``<type>:<id>`` (``user:42``, ``instalment:7``);
    ``parties`` are the people it concerns (the borrower and the friend of a debit, say),
    so each person's record holds it. The actor, when a person, is always one of them."""

    actor: str
    subject: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    parties: tuple[int | None, ...] = ()

    def concerned(self) -> list[int]:
        """Everyone the event concerns: its parties and a person who acted, sorted."""
        people = {p for p in self.parties if p is not None}
        kind, _, who = self.actor.partition(":")
        person = parse_int(who, -(2**63), 2**63 - 1) if kind in ("user", "operator") else None
        if person:  # operator:0 is the command line, nobody's record
            people.add(person)
        return sorted(people)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    id: int
    occurred_at: datetime
    actor: str
    subject: str
    kind: str
    data: dict[str, Any]
    parties: tuple[int, ...] = ()
