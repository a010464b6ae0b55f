"""Asking a friend to cover: requests, invitations, acceptance, the capacity review, signing
and early termination. Each action re-reads the request in its own transaction and checks
who acts and what state it is in, whatever a button or link claimed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from core.agreement import (
    Agreement,
    AgreementStatus,
    AgreementTerms,
    AgreementText,
    other_language,
    render,
)
from core.bills import InstalmentStatus
from core.capacity import (
    BAND_INCOME,
    CapacityPolicy,
    Decision,
    FriendPosition,
    IncomeBand,
    ReviewOutcome,
    review,
)
from core.cover import (
    FULL_SHARE_BP,
    MAX_FRIENDS_PER_BILL,
    CoverRequest,
    CoverStatus,
    IllegalTransition,
    InviteTokens,
    Route,
    friend_part,
    token_from_payload,
)
from core.events import SYSTEM, Event, user_actor
from core.identity import mask_name
from core.money import Money
from core.outbox import IMMEDIATELY, Lane, Notice, NoticeKind
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.users import Language


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


@dataclass(frozen=True, slots=True)
class Created:
    request: CoverRequest
    token: str
    pushed: bool = False  # an addressed friend who uses the bot was sent the request


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
    name = (user.display_name if user and user.display_name else "") or f"#{user_id}"
    return f"{name} ({mask_name(identity.legal_name)})" if identity is not None else name


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


async def create_request(uow: UnitOfWorkFactory, tokens: InviteTokens, config: CoverConfig, *,
                         borrower_id: int, bill_id: int, instalment_ids: list[int] | None,
                         share_bp: int, route: Route, friend_id: int | None,
                         now: datetime) -> Created:
    if not 0 < share_bp <= FULL_SHARE_BP:
        raise ValueError("share must be 1..10000 basis points")
    if friend_id == borrower_id:
        raise CoverRefused(CoverRefusal.SELF)
    async with uow() as tx:
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


async def _review_in(tx: UnitOfWork, config: CoverConfig, request: CoverRequest,
                     friend_id: int, band: IncomeBand, today: date) -> ReviewOutcome:
    monthly, active, exposure, overdue, defaults = await tx.cover.friend_position(
        friend_id, today)
    bill = await tx.bills.get(request.bill_id)
    assert bill is not None
    covered = [(i.due_date, i.amount) for i in bill.instalments
               if i.id in request.instalment_ids and i.status is InstalmentStatus.UNPAID]
    return review(instalments=covered, share_bp=request.share_bp, income=BAND_INCOME[band],
                  position=FriendPosition(monthly, active, exposure, overdue, defaults),
                  policy=config.capacity)


async def review_friend(uow: UnitOfWorkFactory, config: CoverConfig, *, request_id: int,
                        friend_id: int, band: IncomeBand, today: date,
                        now: datetime) -> ReviewOutcome:
    """The second-layer review. A decline ends the request; the reasons are kept."""
    async with uow() as tx:
        request = await _friend_request(tx, request_id, friend_id, now)
        await _refuse_same_identity(tx, request, friend_id)
        outcome = await _review_in(tx, config, request, friend_id, band, today)
        await tx.cover.set_income_band(request.id, band.value)
        reasons = [{"code": r.code, **{k: str(v) for k, v in r.detail.items()}}
                   for r in outcome.reasons]
        if outcome.decision is Decision.DECLINE:
            declined = request.transition("decline")
            await tx.cover.save_request(declined, request.status)
            await tx.events.append(Event(SYSTEM, _subject(request), "cover.declined",
                                         {"by": "review", "reasons": reasons},
                                         parties=_parties(request)))
            await _tell(tx, request.id, "declined", request.borrower_id,
                        NoticeKind.DECLINED_BY_REVIEW, party=friend_id, id=request.id)
        else:
            await tx.events.append(Event(SYSTEM, _subject(request), "cover.reviewed",
                                         {"decision": outcome.decision.value,
                                          "share_bp": outcome.share_bp, "reasons": reasons},
                                         parties=_parties(request)))
        await tx.commit()
    return outcome


async def _terms(tx: UnitOfWork, request: CoverRequest, friend_id: int, share_bp: int,
                 config: CoverConfig) -> tuple[AgreementTerms, list[tuple[int, Money]]]:
    bill = await tx.bills.get(request.bill_id)
    borrower = await tx.identities.get(request.borrower_id)
    friend = await tx.identities.get(friend_id)
    if bill is None or borrower is None or friend is None:
        raise CoverRefused(CoverRefusal.UNVERIFIED)
    chosen = [i for i in bill.instalments
              if i.id in request.instalment_ids and i.status is InstalmentStatus.UNPAID]
    parts = [(i, friend_part(i.amount, share_bp)) for i in chosen]
    parts = [(i, p) for i, p in parts if p.fen > 0]
    if not parts:
        raise CoverRefused(CoverRefusal.NOTHING_TO_COVER)
    # Payments or other friends since the request was made may have left less room than
    # the share asks for: then what was shown can no longer be signed.
    room = await tx.cover.room([i.id for i, _ in parts], exclude_request=request.id)
    if any(p.fen > room[i.id].fen for i, p in parts):
        raise CoverRefused(CoverRefusal.STALE)
    terms = AgreementTerms(
        borrower_name=mask_name(borrower.legal_name), borrower_id_mask=borrower.id_mask,
        friend_name=mask_name(friend.legal_name), friend_id_mask=friend.id_mask,
        merchant=bill.merchant, purchased_on=bill.purchased_on.isoformat(),
        principal=bill.principal, share_bp=share_bp,
        parts=tuple((i.seq, i.of, i.due_date.isoformat(), p) for i, p in parts),
        retry_days="/".join(f"{d}" for d in config.retry_days), notice_days=config.notice_days)
    return terms, [(i.id, p) for i, p in parts]


async def _offered_share(tx: UnitOfWork, config: CoverConfig, request: CoverRequest,
                         friend_id: int, share_bp: int, today: date) -> ReviewOutcome:
    """The review, run again on the band the friend declared: the only share they may see
    and sign is the one it offers (the request's, or the smaller one it allows). A button
    naming another share, larger or smaller, was forged or is stale."""
    band = await tx.cover.income_band(request.id)
    if band is None:  # not reviewed yet: nothing to show or sign
        raise CoverRefused(CoverRefusal.STALE)
    outcome = await _review_in(tx, config, request, friend_id, IncomeBand(band), today)
    if outcome.decision is Decision.DECLINE or share_bp > outcome.share_bp:
        raise CoverRefused(CoverRefusal.CAPACITY)
    if share_bp != outcome.share_bp:
        raise CoverRefused(CoverRefusal.STALE)
    return outcome


async def agreement_preview(uow: UnitOfWorkFactory, config: CoverConfig, *, request_id: int,
                            friend_id: int, share_bp: int, language: Language,
                            today: date, now: datetime) -> AgreementText:
    async with uow() as tx:  # a writing unit: an expired request is marked on the way
        request = await _friend_request(tx, request_id, friend_id, now)
        await _offered_share(tx, config, request, friend_id, share_bp, today)
        terms, _ = await _terms(tx, request, friend_id, share_bp, config)
    return render(terms, language)


@dataclass(frozen=True, slots=True)
class Signed:
    agreement: Agreement
    already: bool  # True: signed by an earlier press; nothing new was written


async def sign(uow: UnitOfWorkFactory, config: CoverConfig, *, request_id: int, friend_id: int,
               share_bp: int, shown_sha256: str, language: Language, chat_id: int | None,
               message_id: int | None, today: date, now: datetime) -> Signed:
    """Sign what was shown: the text is rendered again from the book and must hash to what
    the friend saw; the review runs again, so nothing changed in between slips through."""
    async with uow() as tx:
        request = await _load_for(tx, request_id, friend_id)
        if request.status is CoverStatus.SIGNED and request.friend_id == friend_id:
            existing = await tx.cover.agreement_for_request(request.id)
            assert existing is not None
            return Signed(existing, already=True)
        request = await _friend_request(tx, request_id, friend_id, now)
        await _refuse_same_identity(tx, request, friend_id)
        await _offered_share(tx, config, request, friend_id, share_bp, today)
        terms, parts = await _terms(tx, request, friend_id, share_bp, config)
        text = render(terms, language)
        if text.sha256 != shown_sha256:
            raise CoverRefused(CoverRefusal.STALE)
        signed = request.transition("sign")
        if not await tx.cover.save_request(signed, request.status):
            raise CoverRefused(CoverRefusal.CLOSED)
        # The borrower reads it in their own language: the same terms, rendered now.
        translation = render(terms, other_language(language))
        agreement = await tx.cover.add_agreement(request, friend_id, share_bp, text, parts,
                                                 chat_id, message_id, translation)
        actor, both = user_actor(friend_id), (request.borrower_id, friend_id)
        await tx.events.append_many(
            [Event(actor, _subject(request), "cover.signed", {"agreement": agreement.id},
                   parties=both),
             Event(actor, f"agreement:{agreement.id}", "agreement.signed",
                   {"request": request.id, "friend": friend_id, "share_bp": share_bp,
                    "version": text.version, "sha256": text.sha256, "message": message_id},
                   parties=both)]
            + [Event(actor, f"instalment:{i}", "instalment.covered",
                     {"agreement": agreement.id, "amount": part.fen}, parties=both)
               for i, part in parts])
        await _tell(tx, request.id, "signed", request.borrower_id, NoticeKind.SIGNED,
                    party=friend_id, agreement=agreement.id, id=request.id,
                    total=sum(p.fen for _, p in parts))
        await tx.commit()
    return Signed(agreement, already=False)


@dataclass(frozen=True, slots=True)
class Termination:
    agreement: Agreement
    returned: list[int]  # instalments back with the borrower
    kept: list[int]  # already due: still the friend's
    ended: bool


async def terminate(uow: UnitOfWorkFactory, config: CoverConfig, *, agreement_id: int,
                    user_id: int, today: date) -> Termination:
    async with uow() as tx:
        agreement = await tx.cover.agreement(agreement_id)
        if agreement is None or user_id not in (agreement.friend_id, agreement.borrower_id):
            raise CoverRefused(CoverRefusal.NOT_FOUND)
        if agreement.status is not AgreementStatus.ACTIVE:
            raise CoverRefused(CoverRefusal.NOT_ACTIVE, status=agreement.status.value)
        covered = [c for c in await tx.cover.covered(agreement.id) if c.status == "covered"]
        future = [c for c in covered if c.due_date > today]
        kept = [c.instalment_id for c in covered if c.due_date <= today]
        by_friend = user_id == agreement.friend_id
        if by_friend and future:
            next_due = min(c.due_date for c in future)
            if (next_due - today).days < config.notice_days:
                raise CoverRefused(CoverRefusal.NOTICE_TOO_SHORT, next_due=next_due,
                                   notice_days=config.notice_days)
        returned = [c.instalment_id for c in future]
        await tx.cover.return_instalments(agreement.id, returned)
        await tx.cover.end_agreement(agreement.id, AgreementStatus.TERMINATED,
                                     "friend" if by_friend else "borrower")
        actor, both = user_actor(user_id), (agreement.borrower_id, agreement.friend_id)
        await tx.events.append_many(
            [Event(actor, f"agreement:{agreement.id}", "agreement.terminated",
                   {"by": "friend" if by_friend else "borrower", "returned": returned,
                    "kept": kept}, parties=both)]
            + [Event(actor, f"instalment:{i}", "instalment.returned",
                     {"agreement": agreement.id}, parties=both) for i in returned])
        other = agreement.borrower_id if by_friend else agreement.friend_id
        await _tell(tx, agreement.request_id, "terminated", other,
                    NoticeKind.ENDED_BY_FRIEND if by_friend else NoticeKind.ENDED_BY_BORROWER,
                    party=user_id, id=agreement.id,
                    returned=len(returned), kept=len(kept))
        ended = await tx.cover.agreement(agreement.id)
        await tx.commit()
    assert ended is not None
    return Termination(ended, returned, kept, ended=True)
