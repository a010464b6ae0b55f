"""What a list shows, read in one query: a request or agreement with its merchant and the
other party's name, so /requests and /agreements make one round trip, not three per item."""

from __future__ import annotations

from dataclasses import dataclass

from core.agreement import Agreement
from core.cover import CoverRequest
from core.identity import mask_name
from core.money import Money


@dataclass(frozen=True, slots=True)
class PartyName:
    """How one party is shown to the other: their Telegram name (or #id) and, once they
    are verified, the masked legal name (张* / J*** S****)."""

    user_id: int
    telegram_name: str
    legal_name: str | None

    def shown(self) -> str:
        name = self.telegram_name or f"#{self.user_id}"
        return f"{name} ({mask_name(self.legal_name)})" if self.legal_name else name


@dataclass(frozen=True, slots=True)
class CoverPart:
    """Who covers how much of one instalment, as the borrower's /bills shows it."""

    friend: PartyName
    amount: Money


@dataclass(frozen=True, slots=True)
class RequestView:
    request: CoverRequest
    merchant: str
    friend: PartyName | None  # None until someone is addressed or accepts


@dataclass(frozen=True, slots=True)
class AgreementView:
    agreement: Agreement
    merchant: str
    borrower: PartyName
    friend: PartyName

    def other_party(self, user_id: int) -> PartyName:
        return self.borrower if user_id == self.agreement.friend_id else self.friend
