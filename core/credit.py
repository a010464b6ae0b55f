"""The first-layer rating (信用评级): an explainable scorecard from repayment history.

score = 580 (base) + the points of each factor below; tier by score; line by tier.

| factor | points |
|---|---|
| identity | verified +20; unverified: tier E whatever the score (no credit without real name) |
| tenure (months since first seen or first bill) | < 3: −20; 3–11: 0; 12–23: +20; ≥ 24: +40 |
| on-time ratio (of instalments due so far; needs ≥ 3) | ≥ 98%: +60; ≥ 90%: +30; ≥ 80%: 0;
  ≥ 60%: −40; else −80 |
| overdue count | −15 each, at most −90 |
| overdue depth (worst days late, paid or not) | 0: 0; 1–30: −20; 31–90: −60; > 90: −120 |
| utilisation (outstanding principal ÷ line before this factor) | < 30%: +20 (only with
  ≥ 3 instalments of history); < 70%: 0; < 90%: −20; else −40 |

Tiers: A ≥ 700, B ≥ 650, C ≥ 600, D ≥ 550, E below. A verified newcomer with no history
scores 580 + 20 − 20 = 580: tier D.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.money import Money

BASE_SCORE = 580
MIN_RECORDS_FOR_RATIO = 3


class Tier(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


TIER_FLOORS = ((Tier.A, 700), (Tier.B, 650), (Tier.C, 600), (Tier.D, 550))

DEFAULT_LINES = {Tier.A: Money.yuan(20_000), Tier.B: Money.yuan(10_000),
                 Tier.C: Money.yuan(5_000), Tier.D: Money.yuan(2_000), Tier.E: Money.zero()}


@dataclass(frozen=True, slots=True)
class CreditPolicy:
    lines: dict[Tier, Money] = field(default_factory=lambda: dict(DEFAULT_LINES))
    # The platform timezone: tenure counts from the business date an account was opened.
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    def __post_init__(self) -> None:
        if set(self.lines) != set(Tier):
            raise ValueError("a line for every tier")
        if self.lines[Tier.E] != Money.zero():
            raise ValueError("tier E means no new credit: its line is zero")
        ordered = [self.lines[t] for t in Tier]
        if any(a < b for a, b in itertools.pairwise(ordered)):
            raise ValueError("lines must not grow from tier A down to tier E")


@dataclass(frozen=True, slots=True)
class RepaymentRecord:
    """One instalment of the user's history, imported or from Daihuan itself."""

    due_date: date
    paid_date: date | None
    amount: Money

    def days_late(self, today: date) -> int:
        end = self.paid_date if self.paid_date is not None else today
        return max(0, (end - self.due_date).days)


@dataclass(frozen=True, slots=True)
class Factor:
    """``code`` names the factor, ``case`` the band it fell in; ``detail`` fills the text."""

    code: str
    case: str
    points: int
    detail: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rating:
    score: int
    tier: Tier
    line: Money
    used: Money
    factors: tuple[Factor, ...]

    @property
    def available(self) -> Money:
        return Money(max(0, (self.line - self.used).fen))


def tier_for(score: int) -> Tier:
    for tier, floor in TIER_FLOORS:
        if score >= floor:
            return tier
    return Tier.E


def months_between(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return max(0, months - (end.day < start.day))


def rate(*, records: list[RepaymentRecord], verified: bool, first_seen: date,
         outstanding: Money, today: date, policy: CreditPolicy) -> Rating:
    factors: list[Factor] = []
    factors.append(Factor("identity", "verified", 20) if verified
                   else Factor("identity", "unverified", 0))

    since = min([first_seen, *(r.due_date for r in records)])
    months = months_between(since, today)
    tenure = -20 if months < 3 else 0 if months < 12 else 20 if months < 24 else 40
    factors.append(Factor("tenure", "months", tenure, {"months": months}))

    due = [r for r in records if r.due_date <= today]
    late = [r for r in due if r.days_late(today) > 0]
    if len(due) < MIN_RECORDS_FOR_RATIO:
        factors.append(Factor("on_time", "too_few", 0, {"count": len(due)}))
    else:
        percent = (len(due) - len(late)) * 100 // len(due)
        points = (60 if percent >= 98 else 30 if percent >= 90 else 0 if percent >= 80
                  else -40 if percent >= 60 else -80)
        factors.append(Factor("on_time", "ratio", points,
                              {"percent": percent, "count": len(due)}))

    factors.append(Factor("overdue_count", "count", -min(90, 15 * len(late)),
                          {"count": len(late)}))
    worst = max((r.days_late(today) for r in late), default=0)
    depth = 0 if worst == 0 else -20 if worst <= 30 else -60 if worst <= 90 else -120
    factors.append(Factor("overdue_depth", "days", depth, {"days": worst}))

    provisional = _tier(BASE_SCORE + sum(f.points for f in factors), verified)
    line = policy.lines[provisional]
    if line.fen > 0:
        percent = outstanding.fen * 100 // line.fen
        points = 20 if percent < 30 else 0 if percent < 70 else -20 if percent < 90 else -40
        if len(due) < MIN_RECORDS_FOR_RATIO:
            points = min(points, 0)  # low use earns nothing before there is a track record
        factors.append(Factor("utilisation", "percent", points, {"percent": percent}))
    else:
        factors.append(Factor("utilisation", "no_line", 0))

    score = BASE_SCORE + sum(f.points for f in factors)
    tier = _tier(score, verified)
    return Rating(score=score, tier=tier, line=policy.lines[tier], used=outstanding,
                  factors=tuple(factors))


def _tier(score: int, verified: bool) -> Tier:
    return tier_for(score) if verified else Tier.E
