"""Tasks cancelled mid-write (shutdown, timeouts) must neither lose a posting nor leave the
shared writer stuck inside a transaction."""

import asyncio
import contextlib

import pytest

from core.ledger import AccountKind, AccountSpec, Transfer
from core.money import Money
from storage.ledger import GroupCommitLedger
from tests.support.dbcheck import READ_ONLY_ERRORS, q
from tests.support.ledger_checks import assert_ledger_invariants


async def accounts(uow):
    async with uow() as tx:
        bank = await tx.ledger.open_account(AccountSpec("external:bank", AccountKind.EXTERNAL))
        wallet = await tx.ledger.open_account(AccountSpec.wallet(1))
        await tx.commit()
    return bank, wallet


async def test_cancel_while_beginning_leaves_the_writer_usable(db, uow, clock):
    bank, wallet = await accounts(uow)
    for delay in range(4):  # cancel at several points of the BEGIN's journey
        async def handler():
            async with uow() as tx:
                await tx.users.get(1)

        task = asyncio.create_task(handler())
        for _ in range(delay):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        ledger = GroupCommitLedger(db, clock)
        posted = await ledger.post(Transfer.between(f"t{delay}", "topup", bank.id, wallet.id,
                                                    Money(100)))
        assert not posted.replayed
        async with uow() as tx:  # the next unit of work starts cleanly
            await tx.commit()
    await db.close()
    assert q(db, "SELECT COUNT(*) FROM transfers") == [(4,)]  # all four on disk
    assert_ledger_invariants(db)


@pytest.mark.sqlite_only("SQLite's one shared writer batches posts; on PostgreSQL each post"
                         " has its own connection and transaction")
async def test_cancelling_the_leader_does_not_fail_the_others(db, uow, clock):
    bank, wallet = await accounts(uow)
    ledger = GroupCommitLedger(db, clock)

    def post(key):
        return asyncio.create_task(ledger.post(
            Transfer.between(key, "topup", bank.id, wallet.id, Money(1))))

    busy = await db.begin()  # the writer is busy, so the posts below queue up
    first = post("a")
    await asyncio.sleep(0)
    leader, *followers = post("b"), post("c"), post("d")
    await asyncio.sleep(0)
    await busy.commit()
    await first  # "a" committed alone; "b" now leads the batch [b, c, d]
    for _ in range(200):
        await asyncio.sleep(0)
        if db._write_lock.locked():  # the batch is being written
            break
    leader.cancel()
    results = await asyncio.gather(leader, *followers, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert [type(r).__name__ for r in results[1:]] == ["PostedTransfer"] * 2
    async with uow() as tx:  # the writer is free and clean
        await tx.commit()
    await db.close()
    assert {k for (k,) in q(db, "SELECT idem_key FROM transfers")} == {"a", "b", "c", "d"}
    assert_ledger_invariants(db)


async def test_a_read_only_unit_has_nothing_to_commit_and_cannot_write(db, uow, clock):
    async with uow.read() as tx:
        assert not hasattr(tx, "commit") and not hasattr(tx, "savepoint")
        with contextlib.suppress(*READ_ONLY_ERRORS):
            await tx.users.ensure(99)  # the reader connection is query_only
    assert q(db, "SELECT COUNT(*) FROM users WHERE id = 99") == [(0,)]
