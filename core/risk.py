"""Risk rules (风险预警): small named units over facts read from the book. Each finding has a
stable key, so the same finding is raised once and stays one alert until it clears."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from core.events import person_in
from core.money import Money


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    key: str
    severity: Severity
    subject: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    overdue_days: int = 30  # an instalment unpaid this long after its due date
    exposure_cap: Money = field(default_factory=lambda: Money.yuan(20_000))
    max_borrowers_per_friend: int = 3
    burst_invitations: int = 3  # this many requests by one borrower ...
    burst_minutes: int = 10  # ... within this many minutes
    debit_failures: int = 3  # failed debits by one friend ...
    debit_failure_days: int = 30  # ... within this many days
    new_account_days: int = 7  # a friend whose account is younger than this ...
    large_purchase: Money = field(default_factory=lambda: Money.yuan(5_000))  # ... asked to
    fresh_purchase_hours: int = 24  # cover a purchase at least this large, this fresh




@dataclass(frozen=True, slots=True)
class Alert:
    """A finding raised and kept until it clears, as operators see it."""

    id: int
    key: str
    rule: str
    severity: str
    subject: str
    evidence: dict
    status: str
    raised_at: datetime

    @property
    def person(self) -> int | None:
        """Whom the alert is about, when it is about a person (who can then be frozen)."""
        return person_in(self.subject)


# -- the facts each rule reads (storage/risk.py builds them; rows of the same shape work) ---
class OverdueFact(NamedTuple):
    instalment_id: int
    borrower_id: int
    days: int
    amount_fen: int  # left to pay


class FriendCount(NamedTuple):
    """A friend and how many of something: fen they cover, borrowers, failed debits."""

    friend_id: int
    count: int


class CoverEdge(NamedTuple):
    friend_id: int
    borrower_id: int


class BurstFact(NamedTuple):
    borrower_id: int
    requests: int
    since: str  # the window's first request, UTC ISO


class SharedIdentityFact(NamedTuple):
    user_id: int
    kind: str  # the event that showed it
    other_user_id: int


class FreshCoverFact(NamedTuple):
    request_id: int
    friend_id: int
    account_days: int
    principal_fen: int
    borrower_id: int


def overdue(rows: list[OverdueFact], policy: RiskPolicy) -> list[Finding]:
    """(instalment, borrower, days overdue, amount left in fen)."""
    return [Finding("overdue", f"overdue:instalment:{i}",
                    Severity.HIGH if days > 90 else Severity.MEDIUM, f"instalment:{i}",
                    {"borrower": b, "days": days, "amount": amount})
            for i, b, days, amount in rows if days > policy.overdue_days]


def exposure(rows: list[FriendCount], policy: RiskPolicy) -> list[Finding]:
    """(friend, fen they still cover)."""
    return [Finding("exposure", f"exposure:user:{f}", Severity.HIGH, f"user:{f}",
                    {"exposure": fen, "cap": policy.exposure_cap.fen})
            for f, fen in rows if fen > policy.exposure_cap.fen]


def many_borrowers(rows: list[FriendCount], policy: RiskPolicy) -> list[Finding]:
    """(friend, distinct borrowers they cover in active agreements)."""
    return [Finding("many_borrowers", f"many_borrowers:user:{f}", Severity.MEDIUM, f"user:{f}",
                    {"borrowers": n, "max": policy.max_borrowers_per_friend})
            for f, n in rows if n > policy.max_borrowers_per_friend]


def circular(edges: list[CoverEdge]) -> list[Finding]:
    """Friend → borrower edges of active agreements; any cycle (A covers B, B covers A, or
    longer) is one finding per strongly connected group."""
    findings = []
    for group in strongly_connected(edges):
        members = sorted(group)
        findings.append(Finding("circular", "circular:" + ",".join(map(str, members)),
                                Severity.HIGH, f"user:{members[0]}", {"users": members}))
    return findings


def strongly_connected(edges: list[tuple[int, int]]) -> list[set[int]]:
    """Tarjan's algorithm, iterative (no recursion limit on long chains). Only groups that
    hold a cycle are returned: two or more people, or someone covering themselves."""
    graph: dict[int, list[int]] = defaultdict(list)
    for a, b in edges:
        graph[a].append(b)
        graph.setdefault(b, [])
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    groups: list[set[int]] = []
    counter = 0
    for root in list(graph):
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1 or node in graph[node]:
                    groups.append(group)
    return groups


def bursts(rows: list[BurstFact], policy: RiskPolicy) -> list[Finding]:
    """(borrower, requests in the burst window, window start)."""
    return [Finding("burst", f"burst:user:{b}", Severity.MEDIUM, f"user:{b}",
                    {"requests": n, "minutes": policy.burst_minutes, "since": since})
            for b, n, since in rows if n >= policy.burst_invitations]


def debit_failures(rows: list[FriendCount], policy: RiskPolicy) -> list[Finding]:
    """(friend, failed debits in the window)."""
    return [Finding("debit_failures", f"debit_failures:user:{f}", Severity.MEDIUM, f"user:{f}",
                    {"failures": n, "days": policy.debit_failure_days})
            for f, n in rows if n >= policy.debit_failures]


def shared_identity(rows: list[SharedIdentityFact]) -> list[Finding]:
    """(user, what happened, the other user): one identity on two accounts, or a friend
    whose identity is the borrower's."""
    return [Finding("shared_identity", f"shared_identity:user:{u}", Severity.HIGH, f"user:{u}",
                    {"event": kind, "other_user": other}) for u, kind, other in rows]


def new_account_large(rows: list[FreshCoverFact], policy: RiskPolicy
                      ) -> list[Finding]:
    """(request, friend, account age in days, purchase principal in fen, borrower) for open
    requests taken by a friend on a purchase made within the fresh window."""
    return [Finding("new_account_large", f"new_account_large:cover:{r}", Severity.MEDIUM,
                    f"user:{f}", {"request": r, "account_days": age, "principal": fen,
                                  "borrower": borrower})
            for r, f, age, fen, borrower in rows
            if age < policy.new_account_days and fen >= policy.large_purchase.fen]
