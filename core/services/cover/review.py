"""The affordability review of the friend who accepted: what they may cover, from their income
band and what they already cover."""

from __future__ import annotations

from datetime import date, datetime

from core.bills import InstalmentStatus
from core.capacity import (
    BAND_INCOME,
    Decision,
    IncomeBand,
    ReviewOutcome,
    review,
)
from core.cover import (
    CoverRequest,
)
from core.events import SYSTEM, Event
from core.outbox import NoticeKind
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.services.cover.common import (
    CoverConfig,
    _friend_request,
    _parties,
    _refuse_same_identity,
    _subject,
    _tell,
)


async def _review_in(tx: UnitOfWork, config: CoverConfig, request: CoverRequest,
                     friend_id: int, band: IncomeBand, today: date) -> ReviewOutcome:
    position = await tx.cover.friend_position(friend_id, today)
    bill = await tx.bills.get(request.bill_id)
    assert bill is not None
    covered = [(i.due_date, i.amount) for i in bill.instalments
               if i.id in request.instalment_ids and i.status is InstalmentStatus.UNPAID]
    return review(instalments=covered, share_bp=request.share_bp, income=BAND_INCOME[band],
                  position=position,
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
