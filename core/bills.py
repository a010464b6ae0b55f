"""Purchases on instalments (白条分期): plans, fees, schedules, bills and instalments.

Rounding rule: the fee is principal × rate, rounded half up to the fen. Principal and fee
are each split evenly over the instalments with ``Money.split`` (leftover fen go to the
earliest instalments), so every schedule adds back exactly to principal + fee. Instalment k
falls due k months after the purchase date, on the same day of the month or the month's last
day when it is shorter (31 January → 28/29 February).
"""

from __future__ import annotations

import calendar
import hashlib
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from core.money import ZERO, Money

PLANS = (1, 3, 6, 12)
INTEREST_FREE = frozenset({3, 6})
BASIS_POINTS = 10_000
MIN_PURCHASE = Money.yuan(1)


class PurchaseErrorReason(StrEnum):
    MERCHANT = "merchant"
    PLAN = "plan"
    TOO_SMALL = "too_small"


class PurchaseError(ValueError):
    def __init__(self, reason: PurchaseErrorReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Fee in basis points of the principal per plan; 3 and 6 are always interest-free."""

    rates_bp: dict[int, int] = field(default_factory=lambda: {1: 100, 12: 720})

    def __post_init__(self) -> None:
        for plan, bp in self.rates_bp.items():
            if plan not in PLANS or not 0 <= bp <= 3000:
                raise ValueError(f"bad fee for plan {plan}: {bp} bp")
            if plan in INTEREST_FREE and bp:
                raise ValueError(f"plan {plan} is interest-free")

    def rate_bp(self, plan: int) -> int:
        return 0 if plan in INTEREST_FREE else self.rates_bp.get(plan, 0)

    def fee(self, principal: Money, plan: int) -> Money:
        if plan not in PLANS:
            raise PurchaseError(PurchaseErrorReason.PLAN)
        return Money((principal.fen * self.rate_bp(plan) + BASIS_POINTS // 2) // BASIS_POINTS)


def add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def parse_merchant(text: str) -> str:
    name = " ".join(unicodedata.normalize("NFKC", text or "").split())
    if not 1 <= len(name) <= 40 or any(unicodedata.category(c).startswith("C") for c in name):
        raise PurchaseError(PurchaseErrorReason.MERCHANT)
    if name.startswith("/"):
        raise PurchaseError(PurchaseErrorReason.MERCHANT)
    return name


@dataclass(frozen=True, slots=True)
class PlannedInstalment:
    seq: int
    due_date: date
    principal: Money
    fee: Money

    @property
    def amount(self) -> Money:
        return self.principal + self.fee


@dataclass(frozen=True, slots=True)
class Quote:
    merchant: str
    principal: Money
    plan: int
    fee: Money
    purchased_on: date
    instalments: tuple[PlannedInstalment, ...]

    @property
    def total(self) -> Money:
        return self.principal + self.fee

    @property
    def fingerprint(self) -> str:
        """SHA-256 of everything the person is shown before confirming: a confirm button
        carries it, so what is bought is exactly what was confirmed."""
        parts = [self.merchant, str(self.principal.fen), str(self.plan), str(self.fee.fen),
                 self.purchased_on.isoformat()]
        parts += [f"{i.seq},{i.due_date.isoformat()},{i.principal.fen},{i.fee.fen}"
                  for i in self.instalments]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def make_quote(merchant: str, principal: Money, plan: int, purchased_on: date,
               fees: FeeSchedule) -> Quote:
    if plan not in PLANS:
        raise PurchaseError(PurchaseErrorReason.PLAN)
    if principal < MIN_PURCHASE:
        raise PurchaseError(PurchaseErrorReason.TOO_SMALL)
    fee = fees.fee(principal, plan)
    principals, fee_parts = principal.split(plan), fee.split(plan)
    instalments = tuple(
        PlannedInstalment(k + 1, add_months(purchased_on, k + 1), principals[k], fee_parts[k])
        for k in range(plan))
    return Quote(merchant, principal, plan, fee, purchased_on, instalments)


class InstalmentStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"


@dataclass(frozen=True, slots=True)
class Instalment:
    id: int
    bill_id: int
    borrower_id: int
    seq: int
    of: int
    due_date: date
    principal: Money
    fee: Money
    status: InstalmentStatus
    paid_at: datetime | None = None
    paid_on: date | None = None  # the business date it was paid in full on
    paid_by: int | None = None
    paid: Money = ZERO  # paid so far, by anyone
    covered: Money = ZERO  # friends' parts still to be debited

    @property
    def amount(self) -> Money:
        return self.principal + self.fee

    @property
    def outstanding(self) -> Money:
        return self.amount - self.paid

    @property
    def own_due(self) -> Money:
        """What the borrower still pays themselves: not paid, not covered by a friend."""
        return Money(max(0, (self.amount - self.paid - self.covered).fen))

    def is_overdue(self, today: date) -> bool:
        return self.status is InstalmentStatus.UNPAID and self.due_date < today


@dataclass(frozen=True, slots=True)
class Bill:
    id: int
    borrower_id: int
    merchant: str
    principal: Money
    fee: Money
    plan: int
    purchased_on: date
    source: str  # "chat" or "import"
    instalments: tuple[Instalment, ...]

    @property
    def total(self) -> Money:
        return self.principal + self.fee

    @property
    def unpaid(self) -> tuple[Instalment, ...]:
        return tuple(i for i in self.instalments if i.status is InstalmentStatus.UNPAID)

    @property
    def is_open(self) -> bool:
        return bool(self.unpaid)
