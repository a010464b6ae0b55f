"""Callback data: short ASCII payloads (Telegram allows 1-64 bytes), one prefix per action.
Nothing in them is trusted: each parser accepts only its exact shape, and handlers re-check
who pressed and the current state before acting."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.users import Language

LANGUAGE_PATTERN = re.compile(rf"^lang:({'|'.join(lang.value for lang in Language)})$")
BUY_PATTERN = re.compile(r"^buy:(p(1|3|6|12)|ok|no):([0-9a-f]{8})$")
BILLS_PATTERN = re.compile(r"^bills:(\d{1,4})$")
PAY_PATTERN = re.compile(r"^pay(ok)?:(\d{1,12}):(\d{1,4})$")
TOPUP_PATTERN = re.compile(r"^topup:(\d{1,9})$")


def choose_language(language: Language) -> str:
    return f"lang:{language.value}"


def parse_language(data: str | None) -> Language | None:
    match = LANGUAGE_PATTERN.match(data or "")
    return Language(match.group(1)) if match else None


@dataclass(frozen=True)
class BuyPress:
    action: str  # "plan", "ok" or "no"
    plan: int | None
    nonce: str


def buy_plan(plan: int, nonce: str) -> str:
    return f"buy:p{plan}:{nonce}"


def buy_confirm(nonce: str) -> str:
    return f"buy:ok:{nonce}"


def buy_cancel(nonce: str) -> str:
    return f"buy:no:{nonce}"


def parse_buy(data: str | None) -> BuyPress | None:
    match = BUY_PATTERN.match(data or "")
    if match is None:
        return None
    if match.group(2):
        return BuyPress("plan", int(match.group(2)), match.group(3))
    return BuyPress(match.group(1), None, match.group(3))


def bills_page(page: int) -> str:
    return f"bills:{page}"


def parse_bills_page(data: str | None) -> int | None:
    match = BILLS_PATTERN.match(data or "")
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class PayPress:
    confirmed: bool
    instalment_id: int
    page: int


def pay_ask(instalment_id: int, page: int) -> str:
    return f"pay:{instalment_id}:{page}"


def pay_confirm(instalment_id: int, page: int) -> str:
    return f"payok:{instalment_id}:{page}"


def parse_pay(data: str | None) -> PayPress | None:
    match = PAY_PATTERN.match(data or "")
    if match is None:
        return None
    return PayPress(bool(match.group(1)), int(match.group(2)), int(match.group(3)))


SHOW_WALLET = "wallet"


def top_up(fen: int) -> str:
    return f"topup:{fen}"


def parse_top_up(data: str | None) -> int | None:
    match = TOPUP_PATTERN.match(data or "")
    return int(match.group(1)) if match else None


# -- asking a friend (borrower) ---------------------------------------------------------------
COVER_STEP_PATTERN = re.compile(r"^cv:(b|s|r):(\d{1,12}|[ckl]):([0-9a-f]{8})$")
COVER_FROM_BILLS_PATTERN = re.compile(r"^cv:i:(\d{1,12})$")
COVER_MANAGE_PATTERN = re.compile(r"^cv:(c|x):(\d{1,12})$")
ROUTE_CODES = {"c": "contact", "k": "card", "l": "link"}


@dataclass(frozen=True)
class CoverStep:
    step: str  # "b" bill, "s" share, "r" route
    value: str
    nonce: str


def cover_step(step: str, value: object, nonce: str) -> str:
    return f"cv:{step}:{value}:{nonce}"


def parse_cover_step(data: str | None) -> CoverStep | None:
    match = COVER_STEP_PATTERN.match(data or "")
    return CoverStep(match.group(1), match.group(2), match.group(3)) if match else None


def cover_instalment(instalment_id: int) -> str:
    return f"cv:i:{instalment_id}"


def parse_cover_instalment(data: str | None) -> int | None:
    match = COVER_FROM_BILLS_PATTERN.match(data or "")
    return int(match.group(1)) if match else None


def cancel_request(request_id: int) -> str:
    return f"cv:c:{request_id}"


def revoke_request(request_id: int) -> str:
    return f"cv:x:{request_id}"


def parse_cover_manage(data: str | None) -> tuple[str, int] | None:
    match = COVER_MANAGE_PATTERN.match(data or "")
    return (match.group(1), int(match.group(2))) if match else None


# -- the friend's side ----------------------------------------------------------------------
FRIEND_PATTERN = re.compile(
    r"^fr:(?:(v|a|d|y):(\d{1,12})|i:(lt3k|3k|5k|10k|20k):(\d{1,12})"
    r"|r:(\d{1,12}):(\d{1,5})|s:(\d{1,12}):(\d{1,5}):([0-9a-f]{12}))$")


@dataclass(frozen=True)
class FriendPress:
    action: str  # v view, a accept, d decline, y verify, i income, r reduced share, s sign
    request_id: int
    band: str | None = None
    share_bp: int | None = None
    sha_prefix: str | None = None


def friend(action: str, request_id: int) -> str:
    return f"fr:{action}:{request_id}"


def friend_income(band: str, request_id: int) -> str:
    return f"fr:i:{band}:{request_id}"


def friend_reduced(request_id: int, share_bp: int) -> str:
    return f"fr:r:{request_id}:{share_bp}"


def friend_sign(request_id: int, share_bp: int, sha256: str) -> str:
    return f"fr:s:{request_id}:{share_bp}:{sha256[:12]}"


def parse_friend(data: str | None) -> FriendPress | None:
    match = FRIEND_PATTERN.match(data or "")
    if match is None:
        return None
    g = match.groups()
    if g[0]:
        return FriendPress(g[0], int(g[1]))
    if g[2]:
        return FriendPress("i", int(g[3]), band=g[2])
    if g[4]:
        return FriendPress("r", int(g[4]), share_bp=int(g[5]))
    return FriendPress("s", int(g[6]), share_bp=int(g[7]), sha_prefix=g[8])


# -- agreements -------------------------------------------------------------------------------
AGREEMENT_PATTERN = re.compile(r"^ag:(f|t|T):(\d{1,12})$")


def agreement(action: str, agreement_id: int) -> str:
    return f"ag:{action}:{agreement_id}"


def parse_agreement(data: str | None) -> tuple[str, int] | None:
    match = AGREEMENT_PATTERN.match(data or "")
    return (match.group(1), int(match.group(2))) if match else None
