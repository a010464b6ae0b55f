"""The ledger on SQLite. Limits, idempotency and balance caching are enforced by the schema
(triggers in migration 0001), so one INSERT either posts a whole transfer or nothing.

``LedgerStore`` works inside a caller's transaction (a unit of work). ``GroupCommitLedger``
posts standalone transfers and, when many callers post at once, commits them together in one
transaction; each transfer is still atomic and individually accepted or refused.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from core.clock import Clock, parse_utc_iso, utc_iso
from core.ledger import (
    AboveMaximum,
    Account,
    AccountKind,
    AccountSpec,
    IdempotencyConflict,
    InsufficientFunds,
    LedgerError,
    Leg,
    Movement,
    NotReversible,
    PostedTransfer,
    Transfer,
    UnknownAccount,
)
from core.money import Money
from storage.db import Database
from storage.sql import Sql

_INSERT = (
    "INSERT INTO transfers (idem_key, kind, legs, memo, reverses, content_hash, posted_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING"
)
_TRANSFER_COLUMNS = "id, idem_key, kind, legs, memo, reverses, content_hash, posted_at"
_ACCOUNT_COLUMNS = "id, code, kind, balance, min_balance, max_balance"


def _params(transfer: Transfer, posted_at: str) -> tuple:
    return (transfer.key, str(transfer.kind), transfer.legs_json(), transfer.memo,
            transfer.reverses, transfer.content_hash, posted_at)


def _posted(row: Any, replayed: bool = False) -> PostedTransfer:
    return PostedTransfer(
        id=row["id"], key=row["idem_key"], kind=row["kind"],
        legs=tuple(Leg(a, Money(f)) for a, f in json.loads(row["legs"])),
        memo=row["memo"], reverses=row["reverses"], content_hash=row["content_hash"],
        posted_at=parse_utc_iso(row["posted_at"]), replayed=replayed)


def _account(row: Any) -> Account:
    lo, hi = row["min_balance"], row["max_balance"]
    return Account(id=row["id"], code=row["code"], kind=AccountKind(row["kind"]),
                   balance=Money(row["balance"]),
                   min_balance=None if lo is None else Money(lo),
                   max_balance=None if hi is None else Money(hi))


class LedgerStore:
    """Ledger operations on a connection that is inside a transaction owned by the caller."""

    def __init__(self, conn: Sql, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock

    async def open_account(self, spec: AccountSpec) -> Account:
        account = await self.account_by_code(spec.code)
        if account is None:
            await self._insert_account(spec)
            account = await self.account_by_code(spec.code)
        assert account is not None
        if (account.kind, account.min_balance, account.max_balance) != (
                spec.kind, spec.min_balance, spec.max_balance):
            raise ValueError(f"account {spec.code} exists with different terms")
        return account

    async def _insert_account(self, spec: AccountSpec) -> None:
        # Only when the account is not there yet: on PostgreSQL an INSERT that meets the
        # conflict still takes a number from the id sequence, so "open" on every use would
        # leave a gap per call. ON CONFLICT covers two units opening it at once.
        await self._conn.execute(
            "INSERT INTO accounts (code, kind, min_balance, max_balance, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (code) DO NOTHING",
            (spec.code, spec.kind.value,
             None if spec.min_balance is None else spec.min_balance.fen,
             None if spec.max_balance is None else spec.max_balance.fen,
             utc_iso(self._clock.now())))

    async def account(self, account_id: int) -> Account | None:
        rows = await self._conn.execute_fetchall(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ?", (account_id,))
        return _account(rows[0]) if rows else None

    async def account_by_code(self, code: str) -> Account | None:
        rows = await self._conn.execute_fetchall(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE code = ?", (code,))
        return _account(rows[0]) if rows else None

    async def post(self, transfer: Transfer) -> PostedTransfer:
        rows = await self._conn.execute_fetchall(
            _INSERT + f" RETURNING {_TRANSFER_COLUMNS}", _params(transfer, self._now()))
        if rows:
            return _posted(rows[0])
        return await classify_unposted(self._conn, transfer)

    async def statement(self, account_id: int, limit: int) -> list[Movement]:
        """The latest postings on an account, newest first."""
        rows = await self._conn.execute_fetchall(
            "SELECT t.id, t.posted_at, t.kind, t.memo, p.amount FROM postings p"
            " JOIN transfers t ON t.id = p.transfer_id WHERE p.account_id = ?"
            " ORDER BY p.transfer_id DESC LIMIT ?", (account_id, limit))
        return [Movement(r[0], parse_utc_iso(r[1]), r[2], r[3], Money(r[4])) for r in rows]

    def _now(self) -> str:
        return utc_iso(self._clock.now())


async def classify_unposted(conn: Sql, transfer: Transfer) -> PostedTransfer:
    """A transfer whose INSERT wrote no row: a replay of its key, or a refusal. Say which."""
    rows = await conn.execute_fetchall(
        f"SELECT {_TRANSFER_COLUMNS} FROM transfers WHERE idem_key = ?", (transfer.key,))
    if rows:
        if rows[0]["content_hash"] != transfer.content_hash:
            raise IdempotencyConflict(transfer.key)
        return _posted(rows[0], replayed=True)
    raise await _refusal(conn, transfer)


async def _refusal(conn: Sql, transfer: Transfer) -> LedgerError:
    ids = [leg.account_id for leg in transfer.legs]
    rows = await conn.execute_fetchall(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id IN ({','.join('?' * len(ids))})", ids)
    accounts = {row["id"]: _account(row) for row in rows}
    for leg in transfer.legs:
        if leg.account_id not in accounts:
            return UnknownAccount(leg.account_id)
    if transfer.reverses is not None:
        rows = await conn.execute_fetchall(
            "SELECT (SELECT COUNT(*) FROM transfers WHERE id = ?)"
            " + (SELECT COUNT(*) FROM transfers WHERE reverses = ?)",
            (transfer.reverses, transfer.reverses))
        if rows[0][0] != 1:
            return NotReversible(transfer.reverses)
    for leg in transfer.legs:
        refused = accounts[leg.account_id].refusal(leg.amount)
        if refused is not None:
            return refused
    # In a group commit, later transfers of the batch may have moved the balance back; the
    # leg that moves an account towards its limit is the one that was refused.
    for leg in transfer.legs:
        account = accounts[leg.account_id]
        if account.min_balance is not None and leg.amount.is_negative:
            return InsufficientFunds(leg.account_id)
        if account.max_balance is not None and leg.amount.is_positive:
            return AboveMaximum(leg.account_id)
    return LedgerError("transfer refused")


class GroupCommitLedger:
    """Posts standalone transfers; concurrent callers share one transaction (group commit).

    The first caller to find the writer free commits everything queued so far; those who
    queued meanwhile are committed by the next batch. Each caller gets its own outcome.
    If a caller is cancelled after queueing, its transfer may still commit: posting the same
    key again tells it what happened.
    """

    def __init__(self, db: Database, clock: Clock, max_batch: int = 512) -> None:
        self._db = db
        self._clock = clock
        self._max_batch = max_batch
        self._queue: list[tuple[Transfer, asyncio.Future[PostedTransfer]]] = []
        self._leader = asyncio.Lock()
        self._writing: set[asyncio.Task] = set()

    async def post(self, transfer: Transfer) -> PostedTransfer:
        future: asyncio.Future[PostedTransfer] = asyncio.get_running_loop().create_future()
        self._queue.append((transfer, future))
        while not future.done():
            async with self._leader:
                if future.done():
                    break
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                # The write runs as its own task: cancelling the caller who happens to lead
                # must not cancel, or fail, the other callers' transfers in the batch.
                writing = asyncio.ensure_future(self._commit(batch))
                self._writing.add(writing)
                writing.add_done_callback(self._writing.discard)
                await asyncio.shield(writing)
        return await future

    async def post_many(self, transfers: Iterable[Transfer]) -> list[PostedTransfer | LedgerError]:
        """Post in order in one go; an outcome per transfer (posted, replayed or refused)."""
        results = await asyncio.gather(*(self.post(t) for t in transfers), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, LedgerError):
                raise result
        return results  # type: ignore[return-value]

    async def _commit(self, batch: Sequence[tuple[Transfer, asyncio.Future]]) -> None:
        try:
            outcomes = await (self._write_one(batch[0][0]) if len(batch) == 1
                              else self._write(batch))
        except BaseException as error:  # the whole batch rolled back: everyone hears why
            failure = error if isinstance(error, Exception) else RuntimeError(
                "ledger batch interrupted before commit; post the same key again to learn "
                "whether it was posted")
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            if not isinstance(error, Exception):
                raise
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    async def _write_one(self, transfer: Transfer) -> list[PostedTransfer | LedgerError]:
        """A lone transfer is one self-committing INSERT: one hop instead of five."""
        async with self._db.single_statement() as conn:
            rows = await conn.execute_fetchall(
                _INSERT + f" RETURNING {_TRANSFER_COLUMNS}",
                _params(transfer, utc_iso(self._clock.now())))
            if rows:
                return [_posted(rows[0])]
            try:
                return [await classify_unposted(conn, transfer)]
            except LedgerError as refused:
                return [refused]

    async def _insert(self, conn: Any, transfers: Sequence[Transfer], posted_at: str
                      ) -> tuple[dict[str, Any], Callable[[Any], bool]]:
        """Insert the batch (each row posts or is skipped); returns the stored row of every
        key in it, and which of those rows this batch posted."""
        keys = sorted({t.key for t in transfers})
        if self._db.dialect.postgres:
            # One pipelined executemany (asyncpg sends every row, then waits once), each row
            # its own statement so the next one's limit check sees the balances this one
            # left; in one multi-row INSERT the balance triggers would only fire at its end.
            # Writers run in parallel here, so ids above an earlier MAX(id) may be another
            # transaction's: a row is ours if this transaction wrote it (its xmin), read
            # back with the rows in the same query.
            await conn.executemany(_INSERT, [_params(t, posted_at) for t in transfers])
            rows = await conn.execute_fetchall(
                f"SELECT {_TRANSFER_COLUMNS}, xmin = pg_current_xact_id()::xid AS fresh"
                " FROM transfers WHERE idem_key = ANY(?::text[])", [keys])
            return {r["idem_key"]: r for r in rows}, lambda row: row["fresh"]
        # SQLite's one writer holds the book from BEGIN: every id above MAX(id) is this
        # batch's, and one executemany is one thread hop for the whole batch.
        rows = await conn.execute_fetchall("SELECT COALESCE(MAX(id), 0) FROM transfers")
        before = rows[0][0]
        await conn.executemany(_INSERT, [_params(t, posted_at) for t in transfers])
        found: dict[str, Any] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            rows = await conn.execute_fetchall(
                f"SELECT {_TRANSFER_COLUMNS} FROM transfers"
                f" WHERE idem_key IN ({','.join('?' * len(chunk))})", chunk)
            found.update((row["idem_key"], row) for row in rows)
        return found, lambda row: row["id"] > before

    async def _write(self, batch: Sequence[tuple[Transfer, asyncio.Future]]
                     ) -> list[PostedTransfer | LedgerError]:
        transfers = [t for t, _ in batch]
        posted_at = utc_iso(self._clock.now())
        outcomes: list[PostedTransfer | LedgerError] = []
        async with self._db.transaction() as conn:
            found, posted_here = await self._insert(conn, transfers, posted_at)
            first_claim: set[str] = set()
            for transfer in transfers:
                row = found.get(transfer.key)
                if row is None:
                    outcomes.append(await _refusal(conn, transfer))
                elif row["content_hash"] != transfer.content_hash:
                    outcomes.append(IdempotencyConflict(transfer.key))
                else:
                    fresh = posted_here(row) and transfer.key not in first_claim
                    first_claim.add(transfer.key)
                    outcomes.append(_posted(row, replayed=not fresh))
        return outcomes
