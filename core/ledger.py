"""A double-entry ledger in the style of TigerBeetle: accounts with balance constraints,
transfers with idempotency keys, balanced legs, and reversal instead of update or delete.

Sign convention: a leg's amount is added to its account's balance. A wallet (money the
platform holds for a user) therefore has a positive balance and may not go below zero; a
receivable (what a borrower owes) has a negative balance and may not go above zero. The sum
of all balances is zero at every moment, because every transfer's legs sum to zero.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from core.money import Money

_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no spaces: safe in logs and URLs
_CODE = re.compile(r"^[a-z_]+(:[A-Za-z0-9_.-]+)*$")


class TransferKind(StrEnum):
    """Why money moved: each kind has one idempotency-key builder (core.accounts)."""

    TOP_UP = "topup"  # into a wallet, from a payment provider or a bank transfer
    REPAYMENT = "repayment"  # a borrower pays an instalment from their wallet
    DEBIT = "debit"  # a friend's wallet pays the part they cover, on its due date
    PURCHASE = "purchase"  # a purchase on credit: receivable to merchant (and fee)
    REVERSAL = "reversal"  # undoes one earlier transfer, leg by leg


class AccountKind(StrEnum):
    WALLET = "wallet"  # a user's prepaid balance; never below zero
    RECEIVABLE = "receivable"  # what a borrower owes the platform; never above zero
    EXTERNAL = "external"  # money entering or leaving the platform (bank, payment provider)
    MERCHANT = "merchant"  # settlement with merchants for purchases on credit
    INCOME = "income"  # fees earned


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """What is needed to open an account. ``code`` is its stable name, e.g. ``wallet:42``."""

    code: str
    kind: AccountKind
    min_balance: Money | None = None
    max_balance: Money | None = None

    def __post_init__(self) -> None:
        if not _CODE.match(self.code):
            raise ValueError(f"bad account code {self.code!r}")
        lo, hi = self.min_balance, self.max_balance
        if lo is not None and hi is not None and lo > hi:
            raise ValueError("min_balance above max_balance")

    @classmethod
    def wallet(cls, user_id: int) -> AccountSpec:
        return cls(f"wallet:{user_id}", AccountKind.WALLET, min_balance=Money.zero())

    @classmethod
    def receivable(cls, user_id: int) -> AccountSpec:
        return cls(f"receivable:{user_id}", AccountKind.RECEIVABLE, max_balance=Money.zero())


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    code: str
    kind: AccountKind
    balance: Money
    min_balance: Money | None
    max_balance: Money | None

    def allows(self, delta: Money) -> bool:
        return self.refusal(delta) is None

    def refusal(self, delta: Money) -> BalanceLimitBroken | None:
        """Why moving ``delta`` through this account is refused, or None if it is not."""
        after = self.balance + delta
        if self.min_balance is not None and after < self.min_balance:
            return InsufficientFunds(self.id)
        if self.max_balance is not None and after > self.max_balance:
            return AboveMaximum(self.id)
        return None


@dataclass(frozen=True, slots=True)
class Leg:
    account_id: int
    amount: Money

    def __post_init__(self) -> None:
        if type(self.account_id) is not int or self.account_id <= 0:
            raise ValueError(f"bad account id {self.account_id!r}")
        if not isinstance(self.amount, Money) or self.amount.fen == 0:
            raise ValueError("a leg moves a non-zero Money amount")


@dataclass(frozen=True, slots=True)
class Transfer:
    """One balanced entry: its legs sum to zero and name each account at most once.

    ``key`` is the idempotency key: posting the same key again returns the original result
    and posts nothing; the same key with different content is refused.
    """

    key: str
    kind: TransferKind | str  # str: tests and tools may name their own kinds
    legs: tuple[Leg, ...]
    memo: str = ""
    reverses: int | None = None
    content_hash: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not _KEY.match(self.key):
            raise ValueError("idempotency key must be 1-128 printable ASCII characters")
        if not re.fullmatch(r"[a-z][a-z0-9_.]{0,39}", self.kind or ""):
            raise ValueError(f"bad transfer kind {self.kind!r}")
        legs = tuple(self.legs)
        object.__setattr__(self, "legs", legs)
        if len(legs) < 2:
            raise ValueError("a transfer needs at least two legs")
        if len({leg.account_id for leg in legs}) != len(legs):
            raise ValueError("a transfer names each account at most once")
        if sum(leg.amount.fen for leg in legs) != 0:
            raise ValueError("unbalanced transfer: legs must sum to zero")
        if len(self.memo) > 200:
            raise ValueError("memo too long")
        object.__setattr__(self, "content_hash", _content_hash(self))

    @classmethod
    def between(cls, key: str, kind: TransferKind | str, debit: int, credit: int, amount: Money,
                memo: str = "") -> Transfer:
        """Move ``amount`` (positive) out of account ``debit`` into account ``credit``."""
        if not amount.is_positive:
            raise ValueError("transfer amount must be positive")
        return cls(key, kind, (Leg(debit, -amount), Leg(credit, amount)), memo)

    @property
    def total(self) -> Money:
        """The amount moved: the sum of the positive legs."""
        return Money(sum(leg.amount.fen for leg in self.legs if leg.amount.fen > 0))

    def legs_json(self) -> str:
        return json.dumps([[leg.account_id, leg.amount.fen] for leg in self.legs],
                          separators=(",", ":"))


def _content_hash(transfer: Transfer) -> str:
    canonical = json.dumps(
        {
            "kind": transfer.kind,
            "legs": sorted([leg.account_id, leg.amount.fen] for leg in transfer.legs),
            "memo": transfer.memo,
            "reverses": transfer.reverses,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PostedTransfer:
    id: int
    key: str
    kind: str
    legs: tuple[Leg, ...]
    memo: str
    reverses: int | None
    content_hash: str
    posted_at: datetime
    replayed: bool = False  # True when this call found the key already posted

    def reversal(self, key: str, memo: str = "") -> Transfer:
        """The transfer that undoes this one: every leg negated, linked by ``reverses``."""
        return Transfer(
            key=key,
            kind=TransferKind.REVERSAL,
            legs=tuple(Leg(leg.account_id, -leg.amount) for leg in self.legs),
            memo=memo or f"reverses {self.key}"[:200],
            reverses=self.id,
        )


@dataclass(frozen=True, slots=True)
class Movement:
    """One posting on one account, as a statement line."""

    transfer_id: int
    posted_at: datetime
    kind: str
    memo: str
    amount: Money


class LedgerError(Exception):
    """A transfer the ledger refused. Nothing of it was written."""


class BalanceLimitBroken(LedgerError):
    """A leg would take its account past one of its limits."""

    limit = "limit"

    def __init__(self, account_id: int) -> None:
        super().__init__(f"account {account_id} would go {self.limit}")
        self.account_id = account_id


class InsufficientFunds(BalanceLimitBroken):
    """Below its minimum: a wallet asked to pay more than it holds."""

    limit = "below its minimum balance"


class AboveMaximum(BalanceLimitBroken):
    """Above its maximum: a receivable paid beyond what is owed."""

    limit = "above its maximum balance"


class UnknownAccount(LedgerError):
    def __init__(self, account_id: int) -> None:
        super().__init__(f"no account {account_id}")
        self.account_id = account_id


class IdempotencyConflict(LedgerError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} was already used for a different transfer")
        self.key = key


class NotReversible(LedgerError):
    """The transfer named by ``reverses`` does not exist or was already reversed."""

    def __init__(self, transfer_id: int) -> None:
        super().__init__(f"transfer {transfer_id} cannot be reversed (missing or already reversed)")
        self.transfer_id = transfer_id
