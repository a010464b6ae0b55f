"""The borrower asks a friend to cover a share of a bill, and may cancel it (before anyone
accepts), revoke it (before the friend signs) or let it run out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.cover import (
    FULL_SHARE_BP,
    MAX_FRIENDS_PER_BILL,
    CoverRequest,
    CoverStatus,
    IllegalTransition,
    InviteTokens,
    Route,
    friend_part,
)
from core.events import SYSTEM, Event, user_actor
from core.outbox import NoticeKind
from core.ports import UnitOfWorkFactory
from core.services.cover.common import (
    CoverConfig,
    CoverRefusal,
    CoverRefused,
    _frozen,
    _load,
    _parties,
    _subject,
    _tell,
    _tell_expired,
)


@dataclass(frozen=True, slots=True)
class Created:
    request: CoverRequest
    token: str
    pushed: bool = False  # an addressed friend who uses the bot was sent the request


async def create_request(uow: UnitOfWorkFactory, tokens: InviteTokens, config: CoverConfig, *,
                         borrower_id: int, bill_id: int, instalment_ids: list[int] | None,
                         share_bp: int, route: Route, friend_id: int | None,
                         now: datetime) -> Created:
    if not 0 < share_bp <= FULL_SHARE_BP:
        raise ValueError("share must be 1..10000 basis points")
    if friend_id == borrower_id:
        raise CoverRefused(CoverRefusal.SELF)
    async with uow() as tx:
        await tx.users.hold(borrower_id)  # the caps below count this borrower's requests
        if await _frozen(tx, borrower_id):
            raise CoverRefused(CoverRefusal.FROZEN)
        bill = await tx.bills.get(bill_id)
        if bill is None or bill.borrower_id != borrower_id:
            raise CoverRefused(CoverRefusal.NOT_FOUND)
        unpaid = {i.id: i for i in bill.unpaid}
        wanted = instalment_ids if instalment_ids is not None else sorted(unpaid)
        if not wanted or any(i not in unpaid for i in wanted):
            raise CoverRefused(CoverRefusal.NOTHING_TO_COVER)
        if await tx.cover.parties_on_bill(bill_id) >= MAX_FRIENDS_PER_BILL:
            raise CoverRefused(CoverRefusal.TOO_MANY_FRIENDS, max=MAX_FRIENDS_PER_BILL)
        room = await tx.cover.room(wanted)
        free = [i for i in wanted
                if 0 < friend_part(unpaid[i].amount, share_bp).fen <= room[i].fen]
        if (instalment_ids is not None and len(free) < len(wanted)) or not free:
            raise CoverRefused(CoverRefusal.SHARE_TAKEN)
        recent = await tx.cover.created_since(borrower_id, now - timedelta(hours=24))
        if recent >= config.invites_per_day:
            raise CoverRefused(CoverRefusal.RATE_LIMITED, limit=config.invites_per_day)
        salt = tokens.new_salt()
        token = tokens.token(salt)
        request = await tx.cover.add_request(
            borrower_id=borrower_id, bill_id=bill_id, instalment_ids=free, share_bp=share_bp,
            route=route, friend_id=friend_id, token_hash=tokens.digest(token), token_salt=salt,
            expires_at=now + timedelta(hours=config.expiry_hours))
        await tx.events.append(Event(user_actor(borrower_id), _subject(request), "cover.created",
                                     {"bill": bill_id, "instalments": free, "share_bp": share_bp,
                                      "route": route.value, "friend": friend_id},
                                     parties=_parties(request)))
        friend = await tx.users.get(friend_id) if friend_id is not None else None
        reachable = friend is not None and friend.display_name != "" and not friend.blocked
        if reachable:  # they have talked to the bot: a push reaches them
            await _tell(tx, request.id, "invite", friend_id, NoticeKind.INVITED,
                        id=request.id, party=borrower_id)
        await tx.commit()
    return Created(request, token, reachable)


# What the friend is told when the borrower withdraws the request.
_ENDED_BY_BORROWER = {CoverStatus.CANCELLED: NoticeKind.CANCELLED,
                      CoverStatus.REVOKED: NoticeKind.REVOKED}


async def _borrower_action(uow: UnitOfWorkFactory, action: str, request_id: int,
                           borrower_id: int) -> CoverRequest:
    async with uow() as tx:
        request = await _load(tx, request_id)
        if request.borrower_id != borrower_id:
            raise CoverRefused(CoverRefusal.NOT_FOUND)
        try:
            changed = request.transition(action)
        except IllegalTransition:
            raise CoverRefused(CoverRefusal.CLOSED, status=request.status.value) from None
        if not await tx.cover.save_request(changed, request.status):
            raise CoverRefused(CoverRefusal.CLOSED)
        await tx.events.append(Event(user_actor(borrower_id), _subject(request),
                                     f"cover.{changed.status.value}", {},
                                     parties=_parties(request)))
        await _tell(tx, request.id, changed.status.value, request.friend_id,
                    _ENDED_BY_BORROWER[changed.status], party=borrower_id, id=request.id)
        await tx.commit()
    return changed


async def cancel(uow: UnitOfWorkFactory, *, request_id: int, borrower_id: int) -> CoverRequest:
    """The borrower withdraws a request nobody has accepted yet."""
    return await _borrower_action(uow, "cancel", request_id, borrower_id)


async def revoke(uow: UnitOfWorkFactory, *, request_id: int, borrower_id: int) -> CoverRequest:
    """The borrower turns away the person who accepted, before they sign."""
    return await _borrower_action(uow, "revoke", request_id, borrower_id)


async def expire_due(uow: UnitOfWorkFactory, *, now: datetime,
                     limit: int = 200) -> list[CoverRequest]:
    expired = []
    async with uow() as tx:
        for request in await tx.cover.open_requests_to_expire(now, limit):
            changed = request.transition("expire")
            if await tx.cover.save_request(changed, request.status):
                await tx.events.append(Event(SYSTEM, _subject(request), "cover.expired", {},
                                             parties=_parties(request)))
                await _tell_expired(tx, changed)
                expired.append(changed)
        await tx.commit()
    return expired
