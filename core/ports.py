"""The interfaces core needs from storage. Narrow on purpose: an adapter for another database
implements these and nothing in ``core`` changes."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self

from core.agreement import Agreement, AgreementStatus, AgreementText, CoveredInstalment
from core.bills import Bill, Instalment, Quote
from core.capacity import FriendPosition
from core.cover import CoverRequest, CoverStatus, Route
from core.credit import RepaymentRecord
from core.due import (
    DebitDue,
    DebitSlice,
    DueInstalment,
    OverdueDay,
    OverdueMark,
    ReminderSlice,
    RunDay,
    ServicingRun,
)
from core.events import Event, RecordedEvent
from core.health import HealthSnapshot
from core.identity import VerifiedIdentity
from core.ledger import Account, AccountSpec, Movement, PostedTransfer, Transfer
from core.money import Money
from core.outbox import Lane, Notice, OutboxMessage
from core.risk import (
    Alert,
    BurstFact,
    CoverEdge,
    Finding,
    FreshCoverFact,
    FriendCount,
    OverdueFact,
    SharedIdentityFact,
)
from core.users import Language, User
from core.views import AgreementView, CoverPart, RequestView


class Conflict(Exception):
    """The book refused a unit of work because another ran at the same time over the same
    rows (PostgreSQL chose it to break a deadlock): everything it wrote is undone, and the
    same unit taken again from the start goes through."""


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

    async def hold(self, *user_ids: int) -> None:
        """From here to the end of the unit, decisions about these people (their caps, room
        and state) are taken one unit at a time, whatever runs in parallel."""
        ...


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

    async def statement(self, account_id: int, limit: int) -> list[Movement]: ...


class IdentityRepository(Protocol):
    async def get(self, user_id: int) -> VerifiedIdentity | None: ...

    async def by_id_hashes(self, id_hashes: list[str]) -> VerifiedIdentity | None:
        """The identity stored under any of these hashes (one number under each key)."""
        ...

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

    async def add_holder(self, request_id: int, user_id: int) -> None:
        """Record that this person opened the request by its token (link or card)."""
        ...

    async def holds(self, request_id: int, user_id: int) -> bool: ...

    async def save_request(self, request: CoverRequest, expected: CoverStatus) -> bool:
        """Store a transition only if the stored status is still ``expected``."""
        ...

    async def set_income_band(self, request_id: int, band: str) -> None: ...

    async def income_band(self, request_id: int) -> str | None: ...

    async def request_views_of_borrower(self, borrower_id: int, limit: int = 20
                                        ) -> list[RequestView]: ...

    async def requests_of_borrower(self, borrower_id: int, limit: int = 20
                                   ) -> list[CoverRequest]: ...

    async def created_since(self, borrower_id: int, since: datetime) -> int: ...

    async def open_requests_to_expire(self, now: datetime, limit: int
                                      ) -> list[CoverRequest]: ...

    async def room(self, instalment_ids: list[int],
                   exclude_request: int | None = None) -> dict[int, Money]:
        """Per instalment, the fen still free to cover."""
        ...

    async def parties_on_bill(self, bill_id: int) -> int: ...

    async def add_agreement(self, request: CoverRequest, friend_id: int, share_bp: int,
                            text: AgreementText, parts: list[tuple[int, Money]],
                            shown_chat_id: int | None, shown_message_id: int | None,
                            translation: AgreementText | None = None) -> Agreement: ...

    async def agreement(self, agreement_id: int) -> Agreement | None: ...

    async def agreement_for_request(self, request_id: int) -> Agreement | None: ...

    async def agreement_views_of(self, user_id: int, limit: int = 20
                                 ) -> list[AgreementView]: ...

    async def covered(self, agreement_id: int) -> list[CoveredInstalment]: ...

    async def cover_parts_of_borrower(self, borrower_id: int
                                      ) -> dict[int, list[CoverPart]]: ...

    async def return_instalments(self, agreement_id: int, instalment_ids: list[int]
                                 ) -> None: ...

    async def end_agreement(self, agreement_id: int, status: AgreementStatus,
                            reason: str) -> bool: ...

    async def friend_position(self, friend_id: int, today: date
                              ) -> FriendPosition: ...


class ServicingRepository(Protocol):
    """What daily servicing reads and writes; see ``storage/servicing.py``."""

    async def finished(self, day: date) -> bool: ...

    async def start_run(self, day: date) -> None: ...

    async def add_counts(self, day: date, **counts: int) -> None: ...

    async def finish_run(self, day: date) -> bool:
        """Marks ``day`` finished; False if another worker had (then nothing is done)."""
        ...

    async def runs(self, limit: int = 10) -> list[ServicingRun]: ...

    async def last_finished(self) -> date | None: ...

    async def slice_debits(self, day: date, page: int, most: int) -> bool:
        """Cuts ``day``'s debits into slices of friends, once."""
        ...

    async def take_debit_slice(self, day: date) -> DebitSlice | None:
        """An unfinished slice no other worker holds, held by this unit until it ends."""
        ...

    async def debit_slices_left(self, day: date) -> bool: ...

    async def debit_slice_finished(self, part: DebitSlice) -> None: ...

    async def debits_due(self, part: DebitSlice, limit: int) -> list[DebitDue]:
        """The next page of the slice's parts due by its date, friend by friend."""
        ...

    async def hold_accounts(self, ids: list[int]) -> set[int]:
        """Those of the accounts this unit now holds, passing over any another holds."""
        ...

    async def claim(self, debit: DebitDue) -> bool:
        """Whether the part is still covered, held so until the unit ends: a termination
        waits for this debit, or this debit sees what it returned."""
        ...

    async def debit_succeeded(self, debit: DebitDue, day: date, transfer_id: int) -> None: ...

    async def debit_failed(self, debit: DebitDue, day: date, next_on: date | None,
                           defaulted: bool) -> None: ...

    async def debit_set_aside(self, debit: DebitDue, next_on: date) -> None: ...

    async def return_future_parts(self, agreement_id: int, after: date) -> list[int]: ...

    async def mark_overdue(self, day: date, limit: int) -> list[OverdueMark]: ...

    async def overdue_left(self, day: date) -> bool: ...

    async def has_covered_parts(self, agreement_id: int) -> bool: ...

    async def unpaid_due_on(self, due: date, after_id: int, limit: int, day: date,
                            upto_id: int | None = None) -> list[DueInstalment]:
        """Unpaid instalments due on ``due`` with ids above ``after_id`` (up to
        ``upto_id``), with their covered parts and the friends whose part had a debit
        attempt on ``day``."""
        ...

    async def slice_reminders(self, day: date, schedule: list[tuple[date, str, int]],
                              page: int, most: int) -> bool:
        """Cuts ``day``'s reminders, (due date, kind, days) each, into slices, once."""
        ...

    async def take_slice(self, day: date) -> ReminderSlice | None:
        """An unfinished slice no other worker holds, held by this unit until it ends."""
        ...

    async def slices_left(self, day: date) -> bool: ...

    async def slice_done_upto(self, part: ReminderSlice, upto: int, finished: bool
                              ) -> None: ...


class OutboxRepository(Protocol):
    async def plan(self, notices: list[tuple[Notice, datetime]]) -> int: ...

    async def due(self, now: datetime, limit: int,
                  lane: Lane = Lane.BULK) -> list[OutboxMessage]: ...

    async def claim(self, now: datetime, limit: int, lane: Lane,
                    worker: int) -> list[OutboxMessage]: ...

    async def mark_sent(self, message_id: int, telegram_message_id: int | None) -> None: ...

    async def retry_at(self, message_id: int, at: datetime, error: str,
                       counts: bool) -> None: ...

    async def give_up(self, message_id: int, status: str, error: str) -> None: ...

    async def mark_blocked(self, user_id: int) -> None: ...

    async def release_held(self, user_id: int, since: datetime) -> int: ...

    async def counts(self) -> dict[str, int]: ...


class RiskRepository(Protocol):
    """Facts for the risk rules, alerts, freezes and book statistics; see storage/risk.py."""

    async def overdue(self, today: date, min_days: int) -> list[OverdueFact]: ...

    async def exposure(self) -> list[FriendCount]: ...

    async def borrowers_per_friend(self) -> list[FriendCount]: ...

    async def cover_edges(self) -> list[CoverEdge]: ...

    async def bursts(self, now: datetime, minutes: int) -> list[BurstFact]: ...

    async def debit_failures(self, now: datetime, days: int) -> list[FriendCount]: ...

    async def shared_identities(self, now: datetime, days: int
                                ) -> list[SharedIdentityFact]: ...

    async def new_accounts_on_fresh_purchases(self, now: datetime, hours: int
                                              ) -> list[FreshCoverFact]: ...

    async def open_keys(self, rule: str) -> dict[str, int]: ...

    async def raise_alert(self, finding: Finding) -> int: ...

    async def clear(self, alert_id: int) -> None: ...

    async def acknowledge(self, alert_id: int, operator_id: int) -> bool: ...

    async def alert(self, alert_id: int) -> Alert | None: ...

    async def open_alerts(self, limit: int = 20) -> list[Alert]: ...

    async def open_alerts_after(self, after_id: int, limit: int) -> list[Alert]: ...

    async def set_frozen(self, user_id: int, reason: str | None) -> bool: ...

    async def book_stats(self, today: date) -> dict[str, int]: ...

    async def debit_history(self, since: date) -> list[RunDay]: ...

    async def overdue_history(self, since: date) -> list[OverdueDay]: ...


class HealthRepository(Protocol):
    async def snapshot(self, now: datetime) -> HealthSnapshot: ...


class EventLog(Protocol):
    async def append(self, event: Event) -> RecordedEvent: ...

    async def append_many(self, events: list[Event]) -> None: ...

class InboxLog(Protocol):
    """Telegram's updates, kept from arrival until handled (bot.inbox); each call is
    atomic by itself, outside any unit of work (storage.inbox)."""

    async def accept(self, updates: list[tuple[int, int | None, bytes, bytes]],
                     worker: int) -> set[int]: ...

    async def handled(self, update_ids: list[int]) -> None: ...

    async def waiting(self, user: int, upto: int) -> list[tuple[int, bytes | None]]: ...

    async def orphans(self, worker: int, limit: int) -> list[tuple[int, bytes | None]]: ...

    async def forget_handled(self, before: datetime, limit: int = 1000) -> int: ...


class DraftStore(Protocol):
    """Drafts of flows under way, sealed, one per person (bot.drafts, storage.drafts); each
    call atomic by itself, outside any unit of work."""

    async def get(self, user_id: int) -> bytes | None: ...

    async def put(self, user_id: int, body: bytes, expires_at: datetime) -> None: ...

    async def drop(self, user_id: int) -> None: ...

    async def forget_expired(self, limit: int = 1000) -> int: ...


class ReadUnit(Protocol):
    """Reads for one answer (a /bills page, a notice's names): the repositories, nothing to
    commit. Its writes fail (the SQLite reader connection is query_only)."""

    users: UserRepository
    ledger: LedgerRepository
    identities: IdentityRepository
    bills: BillRepository
    cover: CoverRepository
    servicing: ServicingRepository
    outbox: OutboxRepository
    risk: RiskRepository
    health: HealthRepository
    events: EventLog

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None: ...


class UnitOfWork(ReadUnit, Protocol):
    """One business operation, one transaction. Leaving without ``commit`` rolls back."""

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """A step inside the unit that can fail alone, its writes undone."""
        ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork:
        """A unit that writes: one transaction, serialised with every other writer."""
        ...

    def read(self) -> ReadUnit:
        """A unit that only reads: never waits for writers, and has no commit."""
        ...


class Worker(Protocol):
    """This process, as one of those serving a book (storage.leadership.WorkerPresence).
    Work it claims is marked with its ``id``, and stands while it is present."""

    id: int

    @property
    def shared(self) -> bool: ...  # whether other processes may serve the book

    async def present(self) -> bool: ...

    async def workers(self) -> int: ...

    def turn(self, user: int) -> AbstractAsyncContextManager[None]: ...  # one user at a time
