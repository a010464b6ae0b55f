"""What every actor of a cover request shares: the settings, the refusals, loading a request
for someone with the right to it, naming a party, and planning the notice that reports a
change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from core.capacity import (
    CapacityPolicy,
)
from core.cover import (
    CoverRequest,
    CoverStatus,
)
from core.events import SYSTEM, Event, user_actor
from core.outbox import IMMEDIATELY, Lane, Notice, NoticeKind
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.views import PartyName


@dataclass(frozen=True, slots=True)
class CoverConfig:
    expiry_hours: int = 48
    invites_per_day: int = 5
    notice_days: int = 3
    retry_days: tuple[int, ...] = (1, 3)
    capacity: CapacityPolicy = field(default_factory=CapacityPolicy)


class CoverRefusal(StrEnum):
    FROZEN = "frozen"
    NOT_FOUND = "not_found"  # no such bill, request, link or agreement for this person
    NOTHING_TO_COVER = "nothing_to_cover"
    SHARE_TAKEN = "share_taken"  # the instalments are already asked for or covered
    TOO_MANY_FRIENDS = "too_many_friends"
    RATE_LIMITED = "rate_limited"
    SELF = "self"  # the borrower cannot cover their own bill
    EXPIRED = "expired"
    TAKEN = "taken"  # meant for, or already accepted by, someone else
    CLOSED = "closed"  # declined, cancelled, revoked or signed already
    SAME_IDENTITY = "same_identity"
    UNVERIFIED = "unverified"
    CAPACITY = "capacity"
    STALE = "stale"  # what was shown no longer matches the book
    NOT_ACTIVE = "not_active"
    NOTICE_TOO_SHORT = "notice_too_short"


class CoverRefused(Exception):
    def __init__(self, reason: CoverRefusal, **detail: object) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.detail = detail


def _subject(request: CoverRequest) -> str:
    return f"cover:{request.id}"


def _parties(request: CoverRequest, *others: int | None) -> tuple[int | None, ...]:
    """A request concerns its borrower, the friend it names, and whoever acts on it."""
    return (request.borrower_id, request.friend_id, *others)


async def display_name(tx: UnitOfWork, user_id: int | None) -> str:
    """How one party is shown to the other: Telegram name, and the masked legal name once
    verified (张* / J*** S****)."""
    if user_id is None:
        return ""
    user = await tx.users.get(user_id)
    identity = await tx.identities.get(user_id)
    return PartyName(user_id, user.display_name if user else "",
                     identity.legal_name if identity else None).shown()


async def _tell(tx: UnitOfWork, request_id: int, event: str, recipient: int | None,
                kind: NoticeKind, **params: int) -> None:
    """Plan a notice to the other party in the same transaction as the change it reports:
    it cannot be lost to a Telegram error, and a retried action cannot send it twice. It
    carries ids and amounts only; ``party`` (who acted) is shown by name when it is sent."""
    if recipient is None:
        return
    notice = Notice(f"cover:{request_id}:{event}:{recipient}", recipient, kind, params,
                    urgent=True, lane=Lane.NOW)
    await tx.outbox.plan([(notice, IMMEDIATELY)])


async def _frozen(tx: UnitOfWork, user_id: int) -> bool:
    user = await tx.users.get(user_id)
    return user is not None and user.frozen


async def _load(tx: UnitOfWork, request_id: int) -> CoverRequest:
    request = await tx.cover.request(request_id)
    if request is None:
        raise CoverRefused(CoverRefusal.NOT_FOUND)
    return request


async def has_right(tx: UnitOfWork, request: CoverRequest, user_id: int) -> bool:
    """Who may see a request at all: its borrower, the friend it names (picked as a contact,
    or the one who accepted it), and whoever opened its link or card. Request ids are
    sequential, so an id alone gives no right."""
    if user_id in (request.borrower_id, request.friend_id):
        return True
    return await tx.cover.holds(request.id, user_id)


async def _load_for(tx: UnitOfWork, request_id: int, user_id: int) -> CoverRequest:
    """The request, for someone with a right to it. To anyone else it does not exist: the
    same refusal as an id nobody has, before anything is read out or changed (not even an
    expiry is recorded on their press)."""
    request = await tx.cover.request(request_id)
    if request is None or not await has_right(tx, request, user_id):
        raise CoverRefused(CoverRefusal.NOT_FOUND)
    return request


async def visible_to(uow: UnitOfWorkFactory, request_id: int, user_id: int) -> bool:
    async with uow.read() as tx:
        request = await tx.cover.request(request_id)
        return request is not None and await has_right(tx, request, user_id)


async def _expire_if_due(uow_tx: UnitOfWork, request: CoverRequest, now: datetime) -> None:
    """An open request past its time ends as expired, and that is kept even though the
    caller's action is refused."""
    if request.status.is_open and request.is_expired(now):
        expired = request.transition("expire")
        if await uow_tx.cover.save_request(expired, request.status):
            await uow_tx.events.append(Event(SYSTEM, _subject(request), "cover.expired", {},
                                             parties=_parties(request)))
            await _tell_expired(uow_tx, expired)
            await uow_tx.commit()
        raise CoverRefused(CoverRefusal.EXPIRED)


async def _tell_expired(tx: UnitOfWork, request: CoverRequest) -> None:
    for party in (request.borrower_id, request.friend_id):
        await _tell(tx, request.id, "expired", party, NoticeKind.EXPIRED, id=request.id)


async def _check_taker(tx: UnitOfWork, request: CoverRequest, user_id: int,
                       now: datetime) -> None:
    await _expire_if_due(tx, request, now)
    if not request.status.is_open:
        raise CoverRefused(CoverRefusal.CLOSED, status=request.status.value)
    if user_id == request.borrower_id:
        raise CoverRefused(CoverRefusal.SELF)
    if not request.may_be_taken_by(user_id):
        raise CoverRefused(CoverRefusal.TAKEN)
    if await _frozen(tx, user_id):
        raise CoverRefused(CoverRefusal.FROZEN)


async def _same_identity(tx: UnitOfWork, request: CoverRequest, user_id: int) -> bool:
    friend = await tx.identities.get(user_id)
    borrower = await tx.identities.get(request.borrower_id)
    return friend is not None and borrower is not None and friend.id_hash == borrower.id_hash


async def _refuse_same_identity(tx: UnitOfWork, request: CoverRequest, user_id: int) -> None:
    if await _same_identity(tx, request, user_id):
        await tx.events.append(Event(user_actor(user_id), _subject(request),
                                     "cover.same_identity_refused",
                                     {"borrower": request.borrower_id, "friend": user_id},
                                     parties=_parties(request, user_id)))
        await tx.commit()
        raise CoverRefused(CoverRefusal.SAME_IDENTITY)


async def _friend_request(tx: UnitOfWork, request_id: int, friend_id: int,
                          now: datetime) -> CoverRequest:
    request = await _load_for(tx, request_id, friend_id)
    await _expire_if_due(tx, request, now)
    if request.friend_id != friend_id:
        raise CoverRefused(CoverRefusal.TAKEN)
    if request.status is not CoverStatus.ACCEPTED:
        raise CoverRefused(CoverRefusal.CLOSED, status=request.status.value)
    if await _frozen(tx, friend_id) or await _frozen(tx, request.borrower_id):
        raise CoverRefused(CoverRefusal.FROZEN)  # an operator's hold stops it at every step
    if await tx.identities.get(friend_id) is None:
        raise CoverRefused(CoverRefusal.UNVERIFIED)
    return request
