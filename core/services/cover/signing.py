"""Signing the agreement (the text shown is what is signed) and ending it early."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

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
    Decision,
    IncomeBand,
    ReviewOutcome,
)
from core.cover import (
    CoverRequest,
    CoverStatus,
    friend_part,
)
from core.events import Event, user_actor
from core.identity import mask_name
from core.money import Money
from core.outbox import NoticeKind
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.services.cover.common import (
    CoverConfig,
    CoverRefusal,
    CoverRefused,
    _friend_request,
    _load_for,
    _refuse_same_identity,
    _subject,
    _tell,
)
from core.services.cover.review import _review_in
from core.users import Language


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
        # The friend's caps and the borrower's room are checked again below and must still
        # hold when this unit commits, whatever else either of them signs meanwhile.
        await tx.users.hold(friend_id, request.borrower_id)
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
