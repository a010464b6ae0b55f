"""The friend opens an invitation (by link or by name), then accepts or declines it."""

from __future__ import annotations

from datetime import datetime

from core.cover import (
    CoverRequest,
    CoverStatus,
    InviteTokens,
    token_from_payload,
)
from core.events import Event, user_actor
from core.outbox import NoticeKind
from core.ports import UnitOfWorkFactory
from core.services.cover.common import (
    CoverRefusal,
    CoverRefused,
    _check_taker,
    _expire_if_due,
    _load_for,
    _parties,
    _refuse_same_identity,
    _subject,
    _tell,
)


async def open_by_token(uow: UnitOfWorkFactory, *, payload: str, user_id: int,
                        now: datetime) -> tuple[CoverRequest, bool]:
    """The friend opens a link or a card (``/start c_<token>``): holding the token is the
    right to the request, and that is recorded, so their later presses on it count. Then as
    ``open_request``."""
    token = token_from_payload(payload)
    if token is None:
        raise CoverRefused(CoverRefusal.NOT_FOUND)
    async with uow() as tx:
        request = await tx.cover.request_by_token_hash(InviteTokens.digest(token))
        if request is None:
            raise CoverRefused(CoverRefusal.NOT_FOUND)
        if user_id != request.borrower_id:
            await tx.cover.add_holder(request.id, user_id)
            await tx.commit()
    return await open_request(uow, request_id=request.id, user_id=user_id, now=now)


async def open_request(uow: UnitOfWorkFactory, *, request_id: int, user_id: int,
                       now: datetime) -> tuple[CoverRequest, bool]:
    """The friend looks at the request. Returns it and whether this was the first look."""
    async with uow() as tx:
        request = await _load_for(tx, request_id, user_id)
        await _check_taker(tx, request, user_id, now)
        if request.status is not CoverStatus.PENDING:
            return request, False
        opened = request.transition("open")
        if not await tx.cover.save_request(opened, request.status):
            raise CoverRefused(CoverRefusal.CLOSED)
        await tx.events.append(Event(user_actor(user_id), _subject(request), "cover.opened",
                                     {"by": user_id}, parties=_parties(request, user_id)))
        await _tell(tx, request.id, "opened", request.borrower_id, NoticeKind.OPENED,
                    party=user_id, id=request.id)
        await tx.commit()
    return opened, True


async def accept(uow: UnitOfWorkFactory, *, request_id: int, user_id: int,
                 now: datetime) -> tuple[CoverRequest, bool]:
    """Accept binds the request to the presser. Returns it and whether this press did it."""
    async with uow() as tx:
        request = await _load_for(tx, request_id, user_id)
        if request.status is CoverStatus.ACCEPTED and request.friend_id == user_id:
            await _expire_if_due(tx, request, now)
            return request, False  # a second tap
        await _check_taker(tx, request, user_id, now)
        await _refuse_same_identity(tx, request, user_id)
        accepted = request.transition("accept", friend_id=user_id)
        if not await tx.cover.save_request(accepted, request.status):
            raise CoverRefused(CoverRefusal.TAKEN)
        await tx.events.append(Event(user_actor(user_id), _subject(request), "cover.accepted",
                                     {"friend": user_id}, parties=_parties(accepted)))
        await _tell(tx, request.id, "accepted", request.borrower_id, NoticeKind.ACCEPTED,
                    party=user_id, id=request.id)
        await tx.commit()
    return accepted, True


async def decline(uow: UnitOfWorkFactory, *, request_id: int, user_id: int,
                  now: datetime) -> tuple[CoverRequest, bool]:
    """The friend says no. Returns the request and whether it ended: an open link or card
    that nobody accepted yet stays open when one of its viewers declines."""
    async with uow() as tx:
        request = await _load_for(tx, request_id, user_id)
        await _check_taker(tx, request, user_id, now)
        if request.friend_id is None:
            # An open link or card may be seen by many (a card shared in a group): one
            # viewer saying no must not end it for the friend it was meant for.
            return request, False
        declined = request.transition("decline")
        if not await tx.cover.save_request(declined, request.status):
            raise CoverRefused(CoverRefusal.CLOSED)
        await tx.events.append(Event(user_actor(user_id), _subject(request), "cover.declined",
                                     {"by": "friend"}, parties=_parties(request, user_id)))
        await _tell(tx, request.id, "declined", request.borrower_id, NoticeKind.DECLINED,
                    party=user_id, id=request.id)
        await tx.commit()
    return declined, True
