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


def top_up(fen: int) -> str:
    return f"topup:{fen}"


def parse_top_up(data: str | None) -> int | None:
    match = TOPUP_PATTERN.match(data or "")
    return int(match.group(1)) if match else None
