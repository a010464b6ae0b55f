"""The friend's second-layer review (第二层信用审查): can they afford what they accept?

Rules (thresholds in ``CapacityPolicy``, all settings):
- no own instalment overdue, and no past default as a friend;
- fewer than ``max_active_agreements`` active agreements before this one;
- in every calendar month from now on, the friend's own unpaid instalments plus their parts
  of active agreements plus this request's parts stay within ``max_commitment_bp`` of the
  declared monthly income (the band's lower bound: the review assumes the least);
- total uncovered-yet exposure after this request stays within ``exposure_cap``.
When the requested share does not fit, the largest smaller share (in ``share_step_bp`` steps,
at least ``min_share_bp``) that fits is offered; when none fits, the review declines. Every
outcome carries its reasons.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from core.cover import FULL_SHARE_BP, friend_part
from core.money import Money


class IncomeBand(StrEnum):
    UNDER_3K = "lt3k"
    FROM_3K = "3k"
    FROM_5K = "5k"
    FROM_10K = "10k"
    FROM_20K = "20k"


# The income the review counts for each band: its lower bound (¥1,500 below ¥3,000).
BAND_INCOME = {IncomeBand.UNDER_3K: Money.yuan(1_500), IncomeBand.FROM_3K: Money.yuan(3_000),
               IncomeBand.FROM_5K: Money.yuan(5_000), IncomeBand.FROM_10K: Money.yuan(10_000),
               IncomeBand.FROM_20K: Money.yuan(20_000)}


@dataclass(frozen=True, slots=True)
class CapacityPolicy:
    max_commitment_bp: int = 5_000
    max_active_agreements: int = 3
    exposure_cap: Money = field(default_factory=lambda: Money.yuan(20_000))
    share_step_bp: int = 500
    min_share_bp: int = 1_000


@dataclass(frozen=True, slots=True)
class FriendPosition:
    """What the friend already owes or covers, from the book."""

    monthly: dict[tuple[int, int], Money]  # (year, month) → amount due that month
    active_agreements: int
    exposure: Money  # unpaid parts of instalments they cover
    overdue_own: int
    past_defaults: int


class Decision(StrEnum):
    APPROVE = "approve"
    REDUCE = "reduce"
    DECLINE = "decline"


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    detail: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    decision: Decision
    share_bp: int  # the share approved (the requested one, a smaller one, or 0)
    reasons: tuple[Reason, ...]


def review(*, instalments: list[tuple[date, Money]], share_bp: int, income: Money,
           position: FriendPosition, policy: CapacityPolicy) -> ReviewOutcome:
    limit = Money(income.fen * policy.max_commitment_bp // FULL_SHARE_BP)
    hard = []
    if position.overdue_own:
        hard.append(Reason("own_overdue", {"count": position.overdue_own}))
    if position.past_defaults:
        hard.append(Reason("past_default", {"count": position.past_defaults}))
    if position.active_agreements >= policy.max_active_agreements:
        hard.append(Reason("too_many_agreements", {"count": position.active_agreements,
                                                   "max": policy.max_active_agreements}))
    if hard:
        return ReviewOutcome(Decision.DECLINE, 0, tuple(hard))

    def measure(share: int) -> tuple[Money, Money]:
        months: dict[tuple[int, int], Money] = defaultdict(Money.zero, position.monthly)
        added = Money.zero()
        for due, amount in instalments:
            part = friend_part(amount, share)
            months[(due.year, due.month)] += part
            added += part
        peak = max(months.values(), default=Money.zero())
        return peak, position.exposure + added

    def fits(share: int) -> bool:
        peak, exposure = measure(share)
        return peak <= limit and exposure <= policy.exposure_cap

    peak, exposure = measure(share_bp)
    facts = (Reason("monthly", {"peak": peak, "limit": limit}),
             Reason("exposure", {"exposure": exposure, "cap": policy.exposure_cap}))
    if fits(share_bp):
        return ReviewOutcome(Decision.APPROVE, share_bp, facts)
    why = tuple(r for r in (
        Reason("monthly_over", {"peak": peak, "limit": limit}) if peak > limit else None,
        Reason("exposure_over", {"exposure": exposure, "cap": policy.exposure_cap})
        if exposure > policy.exposure_cap else None) if r is not None)
    share = share_bp - share_bp % policy.share_step_bp
    if share == share_bp:
        share -= policy.share_step_bp
    while share >= policy.min_share_bp:
        if fits(share):
            return ReviewOutcome(Decision.REDUCE, share, why)
        share -= policy.share_step_bp
    return ReviewOutcome(Decision.DECLINE, 0, why)
