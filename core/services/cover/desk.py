"""The cover service as the bot calls it, built once in the composition root (as ``People``
is): the store, the settings, the invitation keys and the clock are bound here, so a caller
passes only who acts and on what. "Now" and "today" come from the clock in the business
timezone, never from the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from core.agreement import AgreementText
from core.capacity import IncomeBand, ReviewOutcome
from core.clock import Clock, business_date
from core.cover import CoverRequest, InviteTokens, Route
from core.ports import UnitOfWorkFactory
from core.services.cover import borrower, common, friend, review, signing
from core.services.cover.borrower import Created
from core.services.cover.common import CoverConfig
from core.services.cover.signing import Signed, Termination
from core.users import Language


@dataclass(frozen=True, slots=True)
class MessageRef:
    """The chat message a press came from: where a signature was given, for the record."""

    chat_id: int
    message_id: int


@dataclass(frozen=True)
class CoverDesk:
    uow: UnitOfWorkFactory
    config: CoverConfig
    tokens: InviteTokens
    clock: Clock
    tz: ZoneInfo

    def _today(self) -> date:
        return business_date(self.clock.now(), self.tz)

    # -- the borrower ---------------------------------------------------------------------
    async def ask(self, *, borrower_id: int, bill_id: int, instalment_ids: list[int] | None,
                  share_bp: int, route: Route, friend_id: int | None) -> Created:
        return await borrower.create_request(
            self.uow, self.tokens, self.config, borrower_id=borrower_id, bill_id=bill_id,
            instalment_ids=instalment_ids, share_bp=share_bp, route=route, friend_id=friend_id,
            now=self.clock.now())

    async def cancel(self, *, request_id: int, borrower_id: int) -> CoverRequest:
        return await borrower.cancel(self.uow, request_id=request_id, borrower_id=borrower_id)

    async def revoke(self, *, request_id: int, borrower_id: int) -> CoverRequest:
        return await borrower.revoke(self.uow, request_id=request_id, borrower_id=borrower_id)

    async def expire_due(self) -> list[CoverRequest]:
        return await borrower.expire_due(self.uow, now=self.clock.now())

    # -- the friend -----------------------------------------------------------------------
    async def visible_to(self, request_id: int, user_id: int) -> bool:
        return await common.visible_to(self.uow, request_id, user_id)

    async def open_by_token(self, *, payload: str, user_id: int) -> tuple[CoverRequest, bool]:
        return await friend.open_by_token(self.uow, payload=payload, user_id=user_id,
                                          now=self.clock.now())

    async def open_request(self, *, request_id: int, user_id: int
                           ) -> tuple[CoverRequest, bool]:
        return await friend.open_request(self.uow, request_id=request_id, user_id=user_id,
                                         now=self.clock.now())

    async def accept(self, *, request_id: int, user_id: int) -> tuple[CoverRequest, bool]:
        return await friend.accept(self.uow, request_id=request_id, user_id=user_id,
                                   now=self.clock.now())

    async def decline(self, *, request_id: int, user_id: int) -> tuple[CoverRequest, bool]:
        return await friend.decline(self.uow, request_id=request_id, user_id=user_id,
                                    now=self.clock.now())

    # -- the review and the agreement -----------------------------------------------------
    async def review(self, *, request_id: int, friend_id: int, band: IncomeBand
                     ) -> ReviewOutcome:
        return await review.review_friend(self.uow, self.config, request_id=request_id,
                                          friend_id=friend_id, band=band, today=self._today(),
                                          now=self.clock.now())

    async def preview(self, *, request_id: int, friend_id: int, share_bp: int,
                      language: Language) -> AgreementText:
        return await signing.agreement_preview(
            self.uow, self.config, request_id=request_id, friend_id=friend_id,
            share_bp=share_bp, language=language, today=self._today(), now=self.clock.now())

    async def sign(self, *, request_id: int, friend_id: int, share_bp: int, shown_sha256: str,
                   language: Language, where: MessageRef | None) -> Signed:
        return await signing.sign(
            self.uow, self.config, request_id=request_id, friend_id=friend_id,
            share_bp=share_bp, shown_sha256=shown_sha256, language=language,
            chat_id=where.chat_id if where else None,
            message_id=where.message_id if where else None,
            today=self._today(), now=self.clock.now())

    async def terminate(self, *, agreement_id: int, user_id: int) -> Termination:
        return await signing.terminate(self.uow, self.config, agreement_id=agreement_id,
                                       user_id=user_id, today=self._today())
