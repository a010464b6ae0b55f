"""The interfaces core needs from storage. Narrow on purpose: an adapter for another database
implements these and nothing in ``core`` changes."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from core.events import Event, RecordedEvent
from core.ledger import Account, AccountSpec, PostedTransfer, Transfer
from core.users import Language, User


class UserRepository(Protocol):
    async def get(self, user_id: int) -> User | None: ...

    async def upsert_seen(self, user_id: int, display_name: str,
                          telegram_language: str | None) -> tuple[User, bool]:
        """Create the user on first sight or refresh name and Telegram language.
        Returns the user and whether it was created."""
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


class EventLog(Protocol):
    async def append(self, event: Event) -> RecordedEvent: ...

    async def for_subject(self, subject: str) -> list[RecordedEvent]: ...


class UnitOfWork(Protocol):
    """One business operation, one transaction. Leaving without ``commit`` rolls back."""

    users: UserRepository
    ledger: LedgerRepository
    events: EventLog

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
