"""Random sequences of transfers, replays, conflicting replays, reversals, overdrafts and
concurrent batches against a real SQLite file, checked against a plain-Python model."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from core.clock import FixedClock
from core.ledger import (
    AboveMaximum,
    AccountKind,
    AccountSpec,
    BalanceLimitBroken,
    IdempotencyConflict,
    InsufficientFunds,
    NotReversible,
    PostedTransfer,
    Transfer,
)
from core.money import Money
from storage.db import Database
from storage.ledger import GroupCommitLedger
from storage.migrate import migrate
from storage.uow import StorageUnitOfWorkFactory
from tests.support.ledger_checks import assert_ledger_invariants

SPECS = [
    AccountSpec("external:bank", AccountKind.EXTERNAL),
    AccountSpec.wallet(1), AccountSpec.wallet(2), AccountSpec.wallet(3),
    AccountSpec.receivable(1),
    AccountSpec("merchant:settlement", AccountKind.MERCHANT),
]
amounts = st.integers(min_value=1, max_value=5_000)
account_index = st.integers(min_value=0, max_value=len(SPECS) - 1)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = Path(tempfile.mkdtemp(prefix="ledger-"))
        self.clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
        self.db = self.run(Database(self.dir / "ledger.db").open())
        self.run(migrate(self.db, self.clock))
        uow = StorageUnitOfWorkFactory(self.db, self.clock)
        self.accounts = self.run(self._open(uow))
        self.ledger = GroupCommitLedger(self.db, self.clock, max_batch=7)
        self.uow = uow
        self.balance = {a.id: 0 for a in self.accounts}
        self.limits = {a.id: (a.min_balance, a.max_balance) for a in self.accounts}
        self.posted: dict[str, tuple[Transfer, PostedTransfer]] = {}
        self.reversed: set[int] = set()
        self.counter = 0

    async def _open(self, uow):
        async with uow() as tx:
            accounts = [await tx.ledger.open_account(spec) for spec in SPECS]
            await tx.commit()
        return accounts

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.db.close())
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- the model ---------------------------------------------------------------------
    def allowed(self, transfer: Transfer) -> bool:
        for leg in transfer.legs:
            after = self.balance[leg.account_id] + leg.amount.fen
            lo, hi = self.limits[leg.account_id]
            if (lo is not None and after < lo.fen) or (hi is not None and after > hi.fen):
                return False
        return True

    def names_a_limit_it_moves_towards(self, transfer: Transfer, refused) -> bool:
        """A refusal names an account of the transfer and the limit its leg moves towards:
        a negative leg on an account with a minimum, a positive one with a maximum."""
        legs = {leg.account_id: leg.amount.fen for leg in transfer.legs}
        if refused.account_id not in legs:
            return False
        lo, hi = self.limits[refused.account_id]
        if isinstance(refused, InsufficientFunds):
            return lo is not None and legs[refused.account_id] < 0
        return (isinstance(refused, AboveMaximum) and hi is not None
                and legs[refused.account_id] > 0)

    def apply(self, transfer: Transfer) -> None:
        for leg in transfer.legs:
            self.balance[leg.account_id] += leg.amount.fen

    def expect(self, transfer: Transfer, outcome) -> None:
        """Check one outcome against the model and advance the model."""
        known = self.posted.get(transfer.key)
        if known is not None:
            if known[0].content_hash == transfer.content_hash:
                assert isinstance(outcome, PostedTransfer) and outcome.replayed
                assert outcome.id == known[1].id
            else:
                assert isinstance(outcome, IdempotencyConflict)
            return
        if transfer.reverses is not None and transfer.reverses in self.reversed:
            assert isinstance(outcome, NotReversible), outcome
            return
        if self.allowed(transfer):
            assert isinstance(outcome, PostedTransfer) and not outcome.replayed, outcome
            self.apply(transfer)
            self.posted[transfer.key] = (transfer, outcome)
            if transfer.reverses is not None:
                self.reversed.add(transfer.reverses)
        else:
            assert isinstance(outcome, BalanceLimitBroken), outcome
            assert self.names_a_limit_it_moves_towards(transfer, outcome), outcome

    async def _post(self, transfer: Transfer):
        try:
            return await self.ledger.post(transfer)
        except (BalanceLimitBroken, IdempotencyConflict, NotReversible) as refused:
            return refused

    def new_key(self) -> str:
        self.counter += 1
        return f"k{self.counter}"

    def make(self, src: int, dst: int, amount: int) -> Transfer | None:
        if src == dst:
            return None
        return Transfer.between(self.new_key(), "move", self.accounts[src].id,
                                self.accounts[dst].id, Money(amount))

    # -- rules -------------------------------------------------------------------------
    @rule(src=account_index, dst=account_index, amount=amounts)
    def transfer(self, src, dst, amount):
        transfer = self.make(src, dst, amount)
        if transfer is not None:
            self.expect(transfer, self.run(self._post(transfer)))

    @rule(amount=amounts, wallet=st.integers(1, 3))
    def top_up(self, amount, wallet):
        transfer = self.make(0, wallet, amount)
        self.expect(transfer, self.run(self._post(transfer)))

    @precondition(lambda self: self.posted)
    @rule(data=st.data())
    def replay(self, data):
        key = data.draw(st.sampled_from(sorted(self.posted)))
        transfer = self.posted[key][0]
        self.expect(transfer, self.run(self._post(transfer)))

    @precondition(lambda self: self.posted)
    @rule(data=st.data(), amount=amounts)
    def conflicting_replay(self, data, amount):
        key = data.draw(st.sampled_from(sorted(self.posted)))
        original = self.posted[key][0]
        legs = original.legs
        if original.total.fen == amount or len(legs) != 2:
            return
        changed = Transfer.between(key, original.kind, legs[0].account_id if
                                   legs[0].amount.is_negative else legs[1].account_id,
                                   legs[1].account_id if legs[0].amount.is_negative
                                   else legs[0].account_id, Money(amount))
        self.expect(changed, self.run(self._post(changed)))

    @precondition(lambda self: self.posted)
    @rule(data=st.data())
    def reverse(self, data):
        key = data.draw(st.sampled_from(sorted(self.posted)))
        reversal = self.posted[key][1].reversal(self.new_key())
        self.expect(reversal, self.run(self._post(reversal)))

    @rule(moves=st.lists(st.tuples(account_index, account_index, amounts), min_size=2,
                         max_size=20), replay_first=st.booleans())
    def concurrent_batch(self, moves, replay_first):
        """Many callers at once: group commit must equal posting them one by one, in order."""
        transfers = [t for t in (self.make(*m) for m in moves) if t is not None]
        if replay_first and len(transfers) >= 2:
            # A double tap inside one group commit (the first caller commits alone).
            transfers.insert(2, transfers[1])
        outcomes = self.run(self.ledger.post_many(transfers))
        for transfer, outcome in zip(transfers, outcomes, strict=True):
            self.expect(transfer, outcome)

    # -- invariants ----------------------------------------------------------------------
    @invariant()
    def balances_match_model_and_invariants_hold(self):
        conn = sqlite3.connect(self.db.path)
        try:
            stored = dict(conn.execute("SELECT id, balance FROM accounts").fetchall())
        finally:
            conn.close()
        assert stored == self.balance
        assert_ledger_invariants(self.db.path)


LedgerMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=25,
                                           deadline=None)
TestLedgerStateful = LedgerMachine.TestCase
