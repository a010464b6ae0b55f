"""Cover requests (代还申请): a borrower asks one friend to cover instalments of one bill.

States and the only transitions allowed (anything else raises ``IllegalTransition``):

    pending ──open──▶ opened ──accept──▶ accepted ──sign──▶ signed
       │                │                   │
       ├──cancel────────┤ (borrower)        ├──revoke (borrower, before signing)
       ├──decline───────┤ (friend) ─────────┤──decline (friend, or the capacity review)
       └──expire────────┴───────────────────┘ (system, at expires_at)

A request reaches its addressee only: a request made by picking a contact names the friend;
an open link binds to the first person who accepts. Never the borrower, never a person whose
verified identity is the borrower's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from core.money import Money

FULL_SHARE_BP = 10_000
MAX_FRIENDS_PER_BILL = 3
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}$")
DEEP_LINK_PREFIX = "c_"  # /start c_<token>: invitation links, told apart from other payloads


class CoverStatus(StrEnum):
    PENDING = "pending"
    OPENED = "opened"
    ACCEPTED = "accepted"
    SIGNED = "signed"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REVOKED = "revoked"

    @property
    def is_open(self) -> bool:
        """Still waiting for the friend: counts towards shares and can still change."""
        return self in (CoverStatus.PENDING, CoverStatus.OPENED, CoverStatus.ACCEPTED)


class Route(StrEnum):
    CONTACT = "contact"  # picked with the request-users keyboard: addressed to one user id
    CARD = "card"  # shared as an inline-mode card
    LINK = "link"  # a plain t.me deep link


_TRANSITIONS: dict[str, tuple[frozenset[CoverStatus], CoverStatus]] = {
    "open": (frozenset({CoverStatus.PENDING}), CoverStatus.OPENED),
    "accept": (frozenset({CoverStatus.PENDING, CoverStatus.OPENED}), CoverStatus.ACCEPTED),
    "sign": (frozenset({CoverStatus.ACCEPTED}), CoverStatus.SIGNED),
    "decline": (frozenset({CoverStatus.PENDING, CoverStatus.OPENED, CoverStatus.ACCEPTED}),
                CoverStatus.DECLINED),
    "cancel": (frozenset({CoverStatus.PENDING, CoverStatus.OPENED}), CoverStatus.CANCELLED),
    "revoke": (frozenset({CoverStatus.ACCEPTED}), CoverStatus.REVOKED),
    "expire": (frozenset({CoverStatus.PENDING, CoverStatus.OPENED, CoverStatus.ACCEPTED}),
               CoverStatus.EXPIRED),
}


class IllegalTransition(Exception):
    def __init__(self, action: str, status: CoverStatus) -> None:
        super().__init__(f"cannot {action} a request that is {status.value}")
        self.action = action
        self.status = status


@dataclass(frozen=True, slots=True)
class CoverRequest:
    id: int
    borrower_id: int
    bill_id: int
    instalment_ids: tuple[int, ...]
    share_bp: int
    route: Route
    friend_id: int | None  # None: an open link or card not yet accepted by anyone
    status: CoverStatus
    created_at: datetime
    expires_at: datetime
    token_salt: str
    token_hash: str = ""  # SHA-256 of the token: tells which key derived it
    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def transition(self, action: str, **changes: object) -> CoverRequest:
        allowed, target = _TRANSITIONS[action]
        if self.status not in allowed:
            raise IllegalTransition(action, self.status)
        return replace(self, status=target, **changes)  # type: ignore[arg-type]

    def may_be_taken_by(self, user_id: int) -> bool:
        """Who may open and accept: the addressee; for an open link, anyone but the borrower
        until someone accepts, then that person only."""
        if user_id == self.borrower_id:
            return False
        return self.friend_id is None or self.friend_id == user_id


def friend_part(amount: Money, share_bp: int) -> Money:
    """A friend's part of an instalment: rounded down to the fen; the fen left over stay
    with the borrower, so parts never add up to more than the instalment."""
    if not 0 < share_bp <= FULL_SHARE_BP:
        raise ValueError("share must be 1..10000 basis points")
    return Money(amount.fen * share_bp // FULL_SHARE_BP)


class InviteTokens:
    """Invitation tokens: 192 bits, derived with an HMAC from a random per-request salt,
    so the bot can show the link again (inline cards) while the database holds only a hash:
    a copy of the database alone opens no invitation. After a key rotation, a request made
    under a previous key is shown again with the token that key derived: the one its
    friend already holds."""

    def __init__(self, key: bytes, previous: tuple[bytes, ...] = ()) -> None:
        self._keys = [hashlib.sha256(b"daihuan-invite:" + k).digest() for k in (key, *previous)]

    @staticmethod
    def new_salt() -> str:
        return secrets.token_hex(16)

    def token(self, salt: str) -> str:
        """The token a new request gets: derived under the current key."""
        return _token(self._keys[0], salt)

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def payload(self, salt: str) -> str:
        return DEEP_LINK_PREFIX + self.token(salt)

    def made(self, salt: str, token_hash: str) -> bool:
        """Whether one of these keys made the token stored as ``token_hash``."""
        return any(self.digest(_token(key, salt)) == token_hash for key in self._keys)

    def payload_for(self, request: CoverRequest) -> str:
        """The deep-link payload of an existing request, under whichever key made it."""
        for key in self._keys:
            token = _token(key, request.token_salt)
            if self.digest(token) == request.token_hash:
                return DEEP_LINK_PREFIX + token
        return self.payload(request.token_salt)


def _token(key: bytes, salt: str) -> str:
    digest = hmac.new(key, salt.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()  # 32 characters, 192 bits


def token_from_payload(payload: str) -> str | None:
    if not payload.startswith(DEEP_LINK_PREFIX):
        return None
    token = payload[len(DEEP_LINK_PREFIX):]
    return token if TOKEN_PATTERN.match(token) else None


def default_expiry(now: datetime, hours: int) -> datetime:
    return now + timedelta(hours=hours)
