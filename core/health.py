"""What an operator's monitoring asks of the book: is it reachable, when did servicing last
finish, how much is waiting to be sent, what happened to debits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    last_servicing: date | None  # the last business date whose run finished
    outbox: dict[str, int] = field(default_factory=dict)  # messages by status
    outbox_due: int = 0  # pending and due now: the backlog
    debits: dict[str, int] = field(default_factory=dict)  # succeeded / failed / defaulted
    open_alerts: int = 0
    transfers: int = 0  # ledger postings (each a balanced transfer)
