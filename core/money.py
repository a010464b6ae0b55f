"""Money in integer fen (分). Never a float: parsing, arithmetic and splitting are exact."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from core.numerals import canonical_digits

FEN_PER_YUAN = 100
# ¥100,000,000.00: far above any consumer-credit purchase; larger input is a typo or an attack.
MAX_AMOUNT_FEN = 100_000_000 * FEN_PER_YUAN


class MoneyError(ValueError):
    """Text that is not an amount we accept. ``reason`` is a stable code for translation."""

    def __init__(self, reason: MoneyErrorReason, text: str = "") -> None:
        super().__init__(f"{reason.value}: {text!r}")
        self.reason = reason


class MoneyErrorReason(StrEnum):
    EMPTY = "empty"
    NEGATIVE = "negative"
    ZERO = "zero"
    TOO_PRECISE = "too_precise"
    TOO_LARGE = "too_large"
    INVALID = "invalid"


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An amount of renminbi in fen. Signed: ledger legs and balances may be negative."""

    fen: int

    def __post_init__(self) -> None:
        # bool is an int subclass and float is a classic money bug: refuse both at the door.
        if type(self.fen) is not int:
            raise TypeError(f"Money needs an int number of fen, got {type(self.fen).__name__}")

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    @classmethod
    def yuan(cls, yuan: int, fen: int = 0) -> Money:
        return cls(yuan * FEN_PER_YUAN + fen)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.fen + other.fen)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.fen - other.fen)

    def __neg__(self) -> Money:
        return Money(-self.fen)

    def __mul__(self, factor: int) -> Money:
        if type(factor) is not int:
            return NotImplemented
        return Money(self.fen * factor)

    __rmul__ = __mul__

    def __bool__(self) -> bool:
        return self.fen != 0

    @property
    def is_positive(self) -> bool:
        return self.fen > 0

    @property
    def is_negative(self) -> bool:
        return self.fen < 0

    def split(self, parts: int) -> list[Money]:
        """Split into ``parts`` amounts that add back exactly to this one.

        Rounding rule: every part gets the floor of the even share and the leftover fen go
        one each to the earliest parts, so the first instalments are never smaller than the
        later ones and no part differs from another by more than one fen.
        """
        return self.allocate([1] * parts)

    def allocate(self, weights: list[int]) -> list[Money]:
        """Split by integer weights (e.g. shares in basis points), adding back exactly.

        Largest-remainder method: each part gets floor(total * w / sum(w)); the fen left over
        go one each to the parts with the largest remainders, ties to the earliest part.
        """
        if not weights or any(type(w) is not int or w < 0 for w in weights):
            raise ValueError("weights must be a non-empty list of non-negative ints")
        total_weight = sum(weights)
        if total_weight == 0:
            raise ValueError("weights must not all be zero")
        sign = -1 if self.fen < 0 else 1
        amount = abs(self.fen)
        quotients = [divmod(amount * w, total_weight) for w in weights]
        parts = [q for q, _ in quotients]
        leftover = amount - sum(parts)
        by_remainder = sorted(range(len(weights)), key=lambda i: (-quotients[i][1], i))
        for i in by_remainder[:leftover]:
            parts[i] += 1
        return [Money(sign * p) for p in parts]

    def format(self) -> str:
        """``¥1,234.56`` (``-¥1,234.56`` when negative): the one display form, in both languages."""
        sign = "-" if self.fen < 0 else ""
        yuan, fen = divmod(abs(self.fen), FEN_PER_YUAN)
        return f"{sign}¥{yuan:,}.{fen:02d}"

    def __str__(self) -> str:
        return self.format()


_AMOUNT = re.compile(
    r"""^(?:¥|rmb|cny)?\s*
        (?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)
        (?:\.(?P<frac>[0-9]+))?
        \s*(?:元|rmb|cny)?$""",
    re.IGNORECASE | re.VERBOSE | re.ASCII,
)


def parse_amount(text: str, *, allow_zero: bool = False, maximum: Money | None = None) -> Money:
    """Parse what a person types as an amount: ``12.3``, ``¥1,234.56``, ``1234``, ``８８元``,
    ``٣٠٠``.

    Refuses negatives, exponents, more than two decimals, zero (unless allowed), values above
    ``maximum`` (default ¥100,000,000) and anything else, with a reason code.
    """
    if text is None or not text.strip():
        raise MoneyError(MoneyErrorReason.EMPTY, text or "")
    # NFKC folds full-width digits, commas and ￥ typed with a Chinese IME into ASCII forms;
    # digits of other scripts (٣, ३) become ASCII too, so one amount has one reading.
    normal = canonical_digits(text).strip().replace(" ", "")
    if normal.startswith("-") or normal.startswith("¥-") or "(" in normal:
        raise MoneyError(MoneyErrorReason.NEGATIVE, text)
    match = _AMOUNT.match(normal)
    if match is None:
        raise MoneyError(MoneyErrorReason.INVALID, text)
    frac = match.group("frac")
    if frac is not None and len(frac) > 2:
        raise MoneyError(MoneyErrorReason.TOO_PRECISE, text)
    digits = match.group("int").replace(",", "")
    if len(digits) > 15:
        raise MoneyError(MoneyErrorReason.TOO_LARGE, text)
    fen = int(digits) * FEN_PER_YUAN + int((frac or "").ljust(2, "0"))
    limit = maximum if maximum is not None else Money(MAX_AMOUNT_FEN)
    if fen > limit.fen:
        raise MoneyError(MoneyErrorReason.TOO_LARGE, text)
    if fen == 0 and not allow_zero:
        raise MoneyError(MoneyErrorReason.ZERO, text)
    return Money(fen)


ZERO = Money(0)
