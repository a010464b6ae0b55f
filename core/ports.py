"""The interfaces core needs from storage. Narrow on purpose: an adapter for another database
implements these and nothing in ``core`` changes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self

from core.agreement import Agreement, AgreementStatus, AgreementText, CoveredInstalment
from core.bills import Bill, Instalment, Quote
from core.cover import CoverRequest, CoverStatus, Route
from core.credit import RepaymentRecord
from core.events import Event, RecordedEvent
from core.identity import VerifiedIdentity
from core.ledger import Account, AccountSpec, Movement, PostedTransfer, Transfer
from core.money import Money
from core.users import Language, User


class UserRepository(Protocol):
    async def get(self, user_id: int) -> User | None: ...

    async def upsert_seen(self, user_id: int, display_name: str,
                          telegram_language: str | None) -> User:
        """Create the user on first sight or refresh name and Telegram language."""
        ...

    async def ensure(self, user_id: int) -> None:
        """Make sure a row exists for a user named by an operator before they write to us."""
        ...

    async def set_language(self, user_id: int, language: Language) -> None: ...


class LedgerRepository(Protocol):
    async def open_account(self, spec: AccountSpec) -> Account:
        """Open the account named by ``spec.code``, or return it if it is open already."""
        ...

    async def account(self, account_id: int) -> Account | None: ...

    async def account_by_code(self, code: str) -> Account | None: ...

    async def post(self, transfer: Transfer) -> PostedTransfer:
        """Post atomically or raise a ``LedgerError`` having written nothing.
        A key already posted with the same content returns the original (``replayed``)."""
        ...

    async def transfer_by_key(self, key: str) -> PostedTransfer | None: ...

    async def statement(self, account_id: int, limit: int) -> list[Movement]: ...


class IdentityRepository(Protocol):
    async def get(self, user_id: int) -> VerifiedIdentity | None: ...

    async def by_id_hash(self, id_hash: str) -> VerifiedIdentity | None: ...

    async def add(self, identity: VerifiedIdentity) -> None: ...


class BillRepository(Protocol):
    async def add(self, borrower_id: int, quote: Quote, source: str, ref: str,
                  transfer_id: int) -> Bill: ...

    async def get(self, bill_id: int) -> Bill | None: ...

    async def by_ref(self, ref: str) -> Bill | None: ...

    async def open_bills(self, borrower_id: int) -> list[Bill]: ...

    async def instalment(self, instalment_id: int) -> Instalment | None: ...

    async def record_payment(self, instalment_id: int, payer_id: int, amount: Money,
                             source: str, transfer_id: int, day: date) -> bool:
        """Book a payment; True when the instalment is now paid in full."""
        ...

    async def outstanding_principal(self, borrower_id: int) -> Money: ...

    async def repayment_record(self, user_id: int, today: date) -> list[RepaymentRecord]: ...

    async def first_history_date(self, user_id: int) -> date | None: ...

    async def record_history(self, rows: Iterable[tuple[int, str, date, date | None, Money]],
                             at: datetime) -> int: ...


class CoverRepository(Protocol):
    async def add_request(self, *, borrower_id: int, bill_id: int, instalment_ids: list[int],
                          share_bp: int, route: Route, friend_id: int | None, token_hash: str,
                          token_salt: str, expires_at: datetime) -> CoverRequest: ...

    async def request(self, request_id: int) -> CoverRequest | None: ...

    async def request_by_token_hash(self, token_hash: str) -> CoverRequest | None: ...

    async def save_request(self, request: CoverRequest, expected: CoverStatus) -> bool:
        """Store a transition only if the stored status is still ``expected``."""
        ...

    async def set_income_band(self, request_id: int, band: str) -> None: ...

    async def income_band(self, request_id: int) -> str | None: ...

    async def requests_of_borrower(self, borrower_id: int, limit: int = 20
                                   ) -> list[CoverRequest]: ...

    async def requests_to_friend(self, friend_id: int, limit: int = 20
                                 ) -> list[CoverRequest]: ...

    async def created_since(self, borrower_id: int, since: datetime) -> int: ...

    async def open_requests_to_expire(self, now: datetime, limit: int
                                      ) -> list[CoverRequest]: ...

    async def committed_shares(self, instalment_ids: list[int]) -> dict[int, int]: ...

    async def parties_on_bill(self, bill_id: int) -> int: ...

    async def add_agreement(self, request: CoverRequest, friend_id: int, share_bp: int,
                            text: AgreementText, parts: list[tuple[int, Money]],
                            shown_chat_id: int | None, shown_message_id: int | None
                            ) -> Agreement: ...

    async def agreement(self, agreement_id: int) -> Agreement | None: ...

    async def agreement_for_request(self, request_id: int) -> Agreement | None: ...

    async def agreements_of(self, user_id: int) -> list[Agreement]: ...

    async def covered(self, agreement_id: int) -> list[CoveredInstalment]: ...

    async def covering(self, instalment_id: int) -> list[CoveredInstalment]: ...

    async def covering_bill(self, bill_id: int) -> dict[int, list[tuple[int, Money]]]: ...

    async def return_instalments(self, agreement_id: int, instalment_ids: list[int]
                                 ) -> None: ...

    async def end_agreement(self, agreement_id: int, status: AgreementStatus,
                            reason: str) -> bool: ...

    async def friend_position(self, friend_id: int, today: date
                              ) -> tuple[dict[tuple[int, int], Money], int, Money, int, int]:
        """(due per month from now, active agreements, exposure, own overdue, defaults)."""
        ...


class EventLog(Protocol):
    async def append(self, event: Event) -> RecordedEvent: ...

    async def append_many(self, events: list[Event]) -> None: ...

    async def for_subject(self, subject: str) -> list[RecordedEvent]: ...


class UnitOfWork(Protocol):
    """One business operation, one transaction. Leaving without ``commit`` rolls back."""

    users: UserRepository
    ledger: LedgerRepository
    identities: IdentityRepository
    bills: BillRepository
    cover: CoverRepository
    events: EventLog

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
