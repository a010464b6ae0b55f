"""Callback data: one typed class per button, packed into a short ASCII payload.

Telegram carries 1-64 bytes of callback data and gives them back verbatim when a button is
pressed, from anyone who can see the message or forge an update. So nothing in a payload is
trusted: each class accepts only its exact shape, every field is checked for its range where
the payload is decoded (an id is 1..10^12-1, a share 1..10,000 basis points, a page 0..999),
and handlers still check who pressed and the current state before acting.

A class is a frozen dataclass whose fields are ints with a range, strings with a pattern, or
string enums; ``pack()`` writes ``<prefix>:<field>:<field>…`` (at most 64 bytes, checked),
``unpack()`` reads it back or gives None, and ``handler()`` registers a PTB handler that only
matches payloads ``unpack()`` accepts and passes the decoded press to the callback.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.context import BotContext
from core.capacity import IncomeBand
from core.money import MAX_AMOUNT_FEN
from core.users import Language

MAX_BYTES = 64  # Telegram's limit for callback_data


@dataclass(frozen=True)
class Range:
    low: int
    high: int


@dataclass(frozen=True)
class Shape:
    pattern: str


# Field types: the annotation says how a field is written and what a payload may hold.
Id = Annotated[int, Range(1, 10**12 - 1)]  # database ids: never 0, never negative
Page = Annotated[int, Range(0, 999)]
ShareBp = Annotated[int, Range(1, 10_000)]
Fen = Annotated[int, Range(1, MAX_AMOUNT_FEN)]
Plan = Annotated[int, Range(1, 12)]
Nonce = Annotated[str, Shape("[0-9a-f]{8}")]  # a draft's random tag
Fingerprint = Annotated[str, Shape("[0-9a-f]{12}")]  # the first 48 bits of a SHA-256

_CANONICAL_INT = re.compile(r"0|[1-9][0-9]{0,18}")  # ASCII, no sign, no leading zeros


@dataclass(frozen=True)
class FieldRule:
    """How one field of a payload is read: ``rule`` is a Range, a Shape or a StrEnum."""

    name: str
    rule: Range | Shape | type[StrEnum]
    decode: Callable[[str], Any]


class CallbackData:
    """Base of every button payload; subclasses are frozen dataclasses (without slots:
    ``slots=True`` rebuilds the class and would lose its prefix)."""

    prefix: ClassVar[str]
    _schema: ClassVar[tuple[FieldRule, ...]]

    def __init_subclass__(cls, prefix: str = "", **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.prefix = prefix

    @classmethod
    def schema(cls) -> tuple[FieldRule, ...]:
        if "_schema" not in cls.__dict__:
            hints = typing.get_type_hints(cls, include_extras=True)
            cls._schema = tuple(_rule(f.name, hints[f.name])
                                for f in dataclasses.fields(cls))  # type: ignore[arg-type]
        return cls._schema

    def pack(self) -> str:
        values = [str(getattr(self, field.name)) for field in self.schema()]
        data = ":".join([self.prefix, *values])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
        for field, value in zip(self.schema(), values, strict=True):
            if field.decode(value) is None:  # what we write must read back: same checks
                raise ValueError(f"{type(self).__name__}.{field.name} out of range")
        return data

    @classmethod
    def unpack(cls, data: object) -> Self | None:
        if not isinstance(data, str) or len(data.encode()) > MAX_BYTES:
            return None
        fields = cls.schema()
        if not fields:
            return cls() if data == cls.prefix else None
        head = cls.prefix + ":"
        if not data.startswith(head):
            return None
        parts = data[len(head):].split(":")
        if len(parts) != len(fields):
            return None
        values = {}
        for field, part in zip(fields, parts, strict=True):
            value = field.decode(part)
            if value is None:
                return None
            values[field.name] = value
        return cls(**values)

    @classmethod
    def matches(cls, data: object) -> bool:
        return cls.unpack(data) is not None

    @classmethod
    def handler(cls, callback: Callable[[Update, BotContext, Self],
                                        Awaitable[Any]],
                when: Callable[[Self], bool] | None = None) -> CallbackQueryHandler:
        """A handler for presses of this kind (and, with ``when``, of these values only):
        PTB matches with ``unpack``, the callback gets the decoded press as its third
        argument."""
        def matches(data: object) -> bool:
            press = cls.unpack(data)
            return press is not None and (when is None or when(press))

        async def handle(update: Update, context: BotContext) -> Any:
            press = cls.unpack(update.callback_query.data)
            assert press is not None  # the pattern matched, so it decodes
            return await callback(update, context, press)

        handle.__name__ = getattr(callback, "__name__", "handle")
        return CallbackQueryHandler(handle, pattern=matches)


def _rule(name: str, annotation: object) -> FieldRule:
    base, *extras = typing.get_args(annotation) or (annotation,)
    if isinstance(base, type) and issubclass(base, StrEnum):
        members = {m.value: m for m in base}
        return FieldRule(name, base, members.get)
    rule = extras[0] if extras else None
    if base is int and isinstance(rule, Range):
        low, high = rule.low, rule.high

        def read_int(text: str) -> int | None:
            if not _CANONICAL_INT.fullmatch(text):
                return None
            value = int(text)
            return value if low <= value <= high else None
        return FieldRule(name, rule, read_int)
    if base is str and isinstance(rule, Shape):
        shape = re.compile(rule.pattern)
        return FieldRule(name, rule, lambda text: text if shape.fullmatch(text) else None)
    raise TypeError(f"callback field {name}: {annotation!r} has no range or shape")


# -- language -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChooseLanguage(CallbackData, prefix="lang"):
    language: Language


# -- buying -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class BuyPlan(CallbackData, prefix="buy:p"):
    plan: Plan
    nonce: Nonce


@dataclass(frozen=True)
class BuyConfirm(CallbackData, prefix="buy:ok"):
    nonce: Nonce
    quote: Fingerprint  # of the schedule shown: confirming buys exactly that


@dataclass(frozen=True)
class BuyCancel(CallbackData, prefix="buy:no"):
    nonce: Nonce


# -- bills and paying -------------------------------------------------------------------------
@dataclass(frozen=True)
class BillsPage(CallbackData, prefix="bills"):
    page: Page


@dataclass(frozen=True)
class PayAsk(CallbackData, prefix="pay"):
    instalment_id: Id
    page: Page


@dataclass(frozen=True)
class PayConfirm(CallbackData, prefix="payok"):
    instalment_id: Id
    page: Page
    amount: Fen  # what the confirmation showed; anything else is refused


@dataclass(frozen=True)
class TopUp(CallbackData, prefix="topup"):
    fen: Fen


@dataclass(frozen=True)
class ShowWallet(CallbackData, prefix="wallet"):
    pass


# -- asking a friend (borrower) ---------------------------------------------------------------
class RouteCode(StrEnum):
    CONTACT = "c"
    CARD = "k"
    LINK = "l"


@dataclass(frozen=True)
class CoverBill(CallbackData, prefix="cv:b"):
    bill_id: Id
    nonce: Nonce


@dataclass(frozen=True)
class CoverShare(CallbackData, prefix="cv:s"):
    share_bp: ShareBp
    nonce: Nonce


@dataclass(frozen=True)
class CoverRoute(CallbackData, prefix="cv:r"):
    route: RouteCode
    nonce: Nonce


@dataclass(frozen=True)
class CoverInstalment(CallbackData, prefix="cv:i"):
    instalment_id: Id


class ManageAction(StrEnum):
    CANCEL = "c"
    REVOKE = "x"


@dataclass(frozen=True)
class ManageRequest(CallbackData, prefix="cv"):
    action: ManageAction
    request_id: Id


# -- the friend's side ------------------------------------------------------------------------
class FriendAction(StrEnum):
    VIEW = "v"
    ACCEPT = "a"
    DECLINE = "d"
    VERIFY = "y"


@dataclass(frozen=True)
class FriendPress(CallbackData, prefix="fr"):
    action: FriendAction
    request_id: Id


@dataclass(frozen=True)
class FriendIncome(CallbackData, prefix="fr:i"):
    band: IncomeBand
    request_id: Id


@dataclass(frozen=True)
class FriendReduced(CallbackData, prefix="fr:r"):
    request_id: Id
    share_bp: ShareBp


@dataclass(frozen=True)
class FriendSign(CallbackData, prefix="fr:s"):
    request_id: Id
    share_bp: ShareBp
    sha: Fingerprint  # of the agreement text shown

    @classmethod
    def of(cls, request_id: int, share_bp: int, sha256: str) -> FriendSign:
        return cls(request_id, share_bp, sha256[:12])


# -- agreements -------------------------------------------------------------------------------
class AgreementAction(StrEnum):
    DOCUMENT = "f"  # send the signed text as a file
    ASK_END = "t"  # ask to confirm ending it early
    END = "e"  # end it early, confirmed


@dataclass(frozen=True)
class AgreementPress(CallbackData, prefix="ag"):
    action: AgreementAction
    agreement_id: Id


# -- operators --------------------------------------------------------------------------------
class AlertAction(StrEnum):
    ACKNOWLEDGE = "a"
    FREEZE = "f"


@dataclass(frozen=True)
class AlertPress(CallbackData, prefix="al"):
    action: AlertAction
    alert_id: Id


ALL: tuple[type[CallbackData], ...] = (
    ChooseLanguage, BuyPlan, BuyConfirm, BuyCancel, BillsPage, PayAsk, PayConfirm, TopUp,
    ShowWallet, CoverBill, CoverShare, CoverRoute, CoverInstalment, ManageRequest,
    FriendPress, FriendIncome, FriendReduced, FriendSign, AgreementPress, AlertPress)
