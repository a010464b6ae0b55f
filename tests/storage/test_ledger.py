import asyncio

import pytest

from core.ledger import (
    AboveMaximum,
    AccountKind,
    AccountSpec,
    IdempotencyConflict,
    InsufficientFunds,
    Leg,
    NotReversible,
    Transfer,
    UnknownAccount,
)
from core.money import Money
from storage.ledger import GroupCommitLedger
from tests.support.dbcheck import q, refused
from tests.support.ledger_checks import assert_ledger_invariants

BANK = AccountSpec("external:bank", AccountKind.EXTERNAL)


async def open_accounts(uow, *specs):
    async with uow() as tx:
        accounts = [await tx.ledger.open_account(spec) for spec in specs]
        await tx.commit()
    return accounts


def test_transfer_must_balance():
    with pytest.raises(ValueError, match="unbalanced"):
        Transfer("k", "topup", (Leg(1, Money(-100)), Leg(2, Money(99))))
    with pytest.raises(ValueError, match="two legs"):
        Transfer("k", "topup", (Leg(1, Money(5)),))
    with pytest.raises(ValueError, match="at most once"):
        Transfer("k", "topup", (Leg(1, Money(-100)), Leg(1, Money(100))))
    with pytest.raises(ValueError, match="idempotency key"):
        Transfer("has space", "topup", (Leg(1, Money(-1)), Leg(2, Money(1))))


async def test_posts_and_caches_balances(db, uow, clock):
    bank, wallet = await open_accounts(uow, BANK, AccountSpec.wallet(7))
    ledger = GroupCommitLedger(db, clock)
    posted = await ledger.post(Transfer.between("topup:1", "topup", bank.id, wallet.id, Money(500)))
    assert not posted.replayed
    async with uow() as tx:
        assert (await tx.ledger.account(wallet.id)).balance == Money(500)
        assert (await tx.ledger.account(bank.id)).balance == Money(-500)
    assert_ledger_invariants(db)


async def test_overdraft_is_refused_and_writes_nothing(db, uow, clock):
    bank, wallet, other = await open_accounts(
        uow, BANK, AccountSpec.wallet(7), AccountSpec.wallet(8))
    ledger = GroupCommitLedger(db, clock)
    await ledger.post(Transfer.between("topup:1", "topup", bank.id, wallet.id, Money(500)))
    counts = "SELECT (SELECT COUNT(*) FROM transfers), (SELECT COUNT(*) FROM postings)"
    before = q(db, counts)
    with pytest.raises(InsufficientFunds) as refused:
        await ledger.post(Transfer.between("pay:1", "pay", wallet.id, other.id, Money(501)))
    assert refused.value.account_id == wallet.id
    assert q(db, counts) == before
    assert q(db, f"SELECT balance FROM accounts WHERE id = {wallet.id}") == [(500,)]
    # The refused key was not consumed: the same transfer posts once funds arrive.
    await ledger.post(Transfer.between("topup:2", "topup", bank.id, wallet.id, Money(1)))
    await ledger.post(Transfer.between("pay:1", "pay", wallet.id, other.id, Money(501)))
    assert_ledger_invariants(db)


async def test_refusal_inside_a_unit_of_work_rolls_back_the_unit(db, uow, clock):
    bank, wallet, other = await open_accounts(
        uow, BANK, AccountSpec.wallet(7), AccountSpec.wallet(8))
    with pytest.raises(InsufficientFunds):
        async with uow() as tx:
            await tx.ledger.post(Transfer.between("t1", "topup", bank.id, wallet.id, Money(100)))
            await tx.ledger.post(Transfer.between("t2", "pay", wallet.id, other.id, Money(101)))
            await tx.commit()
    assert q(db, "SELECT COUNT(*) FROM transfers") == [(0,)]
    assert_ledger_invariants(db)


async def test_health_counts_transfers_not_ids(db, uow, clock):
    # A rolled-back unit uses up its transfer's id on PostgreSQL: the count is kept by
    # trigger, so /metrics says how many transfers there are, not the largest id.
    bank, wallet = await open_accounts(uow, BANK, AccountSpec.wallet(7))
    ledger = GroupCommitLedger(db, clock)
    await ledger.post(Transfer.between("t1", "topup", bank.id, wallet.id, Money(100)))
    async with uow() as tx:  # left without commit
        await tx.ledger.post(Transfer.between("gone", "topup", bank.id, wallet.id, Money(5)))
    await ledger.post(Transfer.between("t2", "topup", bank.id, wallet.id, Money(100)))
    await ledger.post(Transfer.between("t2", "topup", bank.id, wallet.id, Money(100)))
    with pytest.raises(InsufficientFunds):
        await ledger.post(Transfer.between("t3", "pay", wallet.id, bank.id, Money(201)))
    async with uow.read() as read:
        health = await read.health.snapshot(clock.now())
    assert health.transfers == q(db, "SELECT COUNT(*) FROM transfers")[0][0] == 2


async def test_replay_returns_original_and_posts_nothing(db, uow, clock):
    bank, wallet = await open_accounts(uow, BANK, AccountSpec.wallet(7))
    ledger = GroupCommitLedger(db, clock)
    transfer = Transfer.between("topup:9", "topup", bank.id, wallet.id, Money(300))
    first = await ledger.post(transfer)
    again = await ledger.post(transfer)
    async with uow() as tx:
        inside = await tx.ledger.post(transfer)
    assert again.replayed and inside.replayed and again.id == first.id == inside.id
    assert q(db, "SELECT COUNT(*) FROM transfers") == [(1,)]
    assert q(db, f"SELECT balance FROM accounts WHERE id = {wallet.id}") == [(300,)]
    with pytest.raises(IdempotencyConflict):
        await ledger.post(Transfer.between("topup:9", "topup", bank.id, wallet.id, Money(301)))


async def test_concurrent_double_tap_posts_once(db, uow, clock):
    bank, wallet = await open_accounts(uow, BANK, AccountSpec.wallet(7))
    ledger = GroupCommitLedger(db, clock)
    transfer = Transfer.between("tap", "topup", bank.id, wallet.id, Money(300))
    results = await asyncio.gather(*(ledger.post(transfer) for _ in range(10)))
    assert len({r.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert q(db, f"SELECT balance FROM accounts WHERE id = {wallet.id}") == [(300,)]


async def test_group_commit_accepts_and_refuses_individually(db, uow, clock):
    bank, a, b = await open_accounts(uow, BANK, AccountSpec.wallet(1), AccountSpec.wallet(2))
    ledger = GroupCommitLedger(db, clock)
    await ledger.post(Transfer.between("seed", "topup", bank.id, a.id, Money(1000)))
    transfers = [Transfer.between(f"p{i}", "pay", a.id, b.id, Money(300)) for i in range(5)]
    transfers.append(Transfer.between("x", "pay", a.id, 999, Money(1)))
    outcomes = await ledger.post_many(transfers)
    kinds = [type(o).__name__ for o in outcomes]
    assert kinds == ["PostedTransfer"] * 3 + ["InsufficientFunds"] * 2 + ["UnknownAccount"]
    assert q(db, f"SELECT balance FROM accounts WHERE id = {a.id}") == [(100,)]
    assert_ledger_invariants(db)


async def test_one_batch_mixes_fresh_replayed_conflicting_and_reversing_transfers(
        db, uow, clock):
    # One batch is one statement on PostgreSQL, an executemany on SQLite: each row still
    # gets its own outcome, in the order it was queued.
    bank, wallet = await open_accounts(uow, BANK, AccountSpec.wallet(7))
    ledger = GroupCommitLedger(db, clock)
    original = await ledger.post(Transfer.between("t", "topup", bank.id, wallet.id, Money(250)))
    outcomes = await ledger.post_many([
        Transfer.between("fresh", "topup", bank.id, wallet.id, Money(10)),
        Transfer.between("t", "topup", bank.id, wallet.id, Money(250)),
        Transfer.between("t", "topup", bank.id, wallet.id, Money(251)),
        original.reversal("t:reversal"),
        original.reversal("t:reversal-again"),
        Transfer.between("fresh", "topup", bank.id, wallet.id, Money(10)),
    ])
    fresh, replay, conflict, reversal, second, again = outcomes
    assert not fresh.replayed and replay.replayed and replay.id == original.id
    assert isinstance(conflict, IdempotencyConflict)
    assert reversal.reverses == original.id and not reversal.replayed
    assert isinstance(second, NotReversible)
    assert again.replayed and again.id == fresh.id
    assert q(db, f"SELECT balance FROM accounts WHERE id = {wallet.id}") == [(10,)]
    assert_ledger_invariants(db)


async def test_reversal_instead_of_update(db, uow, clock):
    bank, wallet = await open_accounts(uow, BANK, AccountSpec.wallet(7))
    ledger = GroupCommitLedger(db, clock)
    original = await ledger.post(Transfer.between("t", "topup", bank.id, wallet.id, Money(250)))
    reversal = await ledger.post(original.reversal("t:reversal"))
    assert reversal.reverses == original.id
    assert q(db, f"SELECT balance FROM accounts WHERE id = {wallet.id}") == [(0,)]
    with pytest.raises(NotReversible):
        await ledger.post(original.reversal("t:reversal-again"))
    with pytest.raises(NotReversible):
        await ledger.post(Transfer("r", "reversal", (Leg(bank.id, Money(1)),
                                                     Leg(wallet.id, Money(-1))), reverses=999))
    assert_ledger_invariants(db)


async def test_reversal_refused_when_money_already_spent(db, uow, clock):
    bank, wallet, other = await open_accounts(
        uow, BANK, AccountSpec.wallet(7), AccountSpec.wallet(8))
    ledger = GroupCommitLedger(db, clock)
    original = await ledger.post(Transfer.between("t", "topup", bank.id, wallet.id, Money(250)))
    await ledger.post(Transfer.between("spend", "pay", wallet.id, other.id, Money(200)))
    with pytest.raises(InsufficientFunds):
        await ledger.post(original.reversal("t:reversal"))


async def test_receivable_never_above_zero(db, uow, clock):
    merchant, receivable = await open_accounts(
        uow, AccountSpec("merchant:settlement", AccountKind.MERCHANT), AccountSpec.receivable(5))
    ledger = GroupCommitLedger(db, clock)
    await ledger.post(Transfer.between("buy", "purchase", receivable.id, merchant.id, Money(900)))
    # Repaying more than is owed breaks the maximum: its own refusal, never "insufficient
    # funds" (servicing sets such a debit aside instead of telling a friend to top up).
    with pytest.raises(AboveMaximum) as refused:
        await ledger.post(Transfer.between("overpay", "repay", merchant.id, receivable.id,
                                           Money(901)))
    assert refused.value.account_id == receivable.id
    assert not isinstance(refused.value, InsufficientFunds)
    assert "above its maximum" in str(refused.value)
    assert_ledger_invariants(db)


@pytest.mark.parametrize("sql", [
    "UPDATE transfers SET memo = 'x'", "DELETE FROM transfers", "UPDATE postings SET amount = 1",
    "DELETE FROM postings", "DELETE FROM accounts",
    "UPDATE accounts SET balance = -1 WHERE code = 'wallet:7'",
])
async def test_storage_refuses_tampering(db, uow, clock, sql):
    bank, wallet = await open_accounts(uow, BANK, AccountSpec.wallet(7))
    await GroupCommitLedger(db, clock).post(
        Transfer.between("t", "topup", bank.id, wallet.id, Money(1)))
    refused(db, sql)


async def test_unbalanced_insert_is_refused_by_the_database(db, uow, clock):
    bank, wallet = await open_accounts(uow, BANK, AccountSpec.wallet(7))
    assert "unbalanced" in refused(
        db, "INSERT INTO transfers (idem_key, kind, legs, content_hash, posted_at)"
            f" VALUES ('bad', 'x', '[[{bank.id},-5],[{wallet.id},4]]', 'h', 'now')")


async def test_unknown_account(db, uow, clock):
    (bank,) = await open_accounts(uow, BANK)
    with pytest.raises(UnknownAccount):
        await GroupCommitLedger(db, clock).post(
            Transfer.between("t", "topup", bank.id, 4242, Money(1)))
