"""The interfaces core needs from storage. Narrow on purpose: an adapter for another database
implements these and nothing in ``core`` changes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self

from core.bills import Bill, Instalment, Quote
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

    async def mark_paid(self, instalment_id: int, paid_by: int, transfer_id: int,
                        paid_on: date) -> bool: ...

    async def outstanding_principal(self, borrower_id: int) -> Money: ...

    async def repayment_record(self, user_id: int, today: date) -> list[RepaymentRecord]: ...

    async def first_history_date(self, user_id: int) -> date | None: ...

    async def record_history(self, rows: Iterable[tuple[int, str, date, date | None, Money]],
                             at: datetime) -> int: ...


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
    events: EventLog

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
