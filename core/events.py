"""The append-only event log: who did what to which subject, and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SYSTEM = "system"


def user_actor(user_id: int) -> str:
    return f"user:{user_id}"


def operator_actor(user_id: int) -> str:
    return f"operator:{user_id}"


@dataclass(frozen=True, slots=True)
class Event:
    """One state change. ``subject`` is ``<type>:<id>`` (``user:42``, ``instalment:7``)."""

    actor: str
    subject: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    id: int
    occurred_at: datetime
    actor: str
    subject: str
    kind: str
    data: dict[str, Any]
