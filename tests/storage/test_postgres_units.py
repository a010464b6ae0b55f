"""The units of work and the ledger on PostgreSQL: the same repositories as on SQLite,
through storage.pg.db (the whole storage suite on both engines is the next step of issue
16; these pin what it rests on)."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from core.clock import FixedClock
from core.ledger import AccountKind, AccountSpec, InsufficientFunds, Transfer
from core.money import Money
from storage.pg.db import PostgresDatabase, redacted
from storage.pg.migrate import migrate, postgres_migrations
from storage.uow import StorageUnitOfWorkFactory
from tests.support.ledger_checks import assert_ledger_invariants

CLOCK = FixedClock(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
BANK = AccountSpec("external:bank", AccountKind.EXTERNAL)


@pytest.fixture
async def pg(postgres_url):
    db = await PostgresDatabase(postgres_url).open()
    async with db.pool.acquire() as conn:
        assert await migrate(conn, CLOCK) == [m.version for m in postgres_migrations()]
        assert await migrate(conn, CLOCK) == []  # again: nothing to do
    yield db
    await db.close()


async def test_post_replay_refuse_and_read(pg):
    uow = StorageUnitOfWorkFactory(pg, CLOCK)
    async with uow() as tx:
        bank = await tx.ledger.open_account(BANK)
        wallet = await tx.ledger.open_account(AccountSpec.wallet(7))
        posted = await tx.ledger.post(Transfer.between("t1", "topup", bank.id, wallet.id,
                                                       Money(500)))
        await tx.commit()
    async with uow() as tx:
        again = await tx.ledger.post(Transfer.between("t1", "topup", bank.id, wallet.id,
                                                      Money(500)))
        with pytest.raises(InsufficientFunds):
            await tx.ledger.post(Transfer.between("t2", "debit", wallet.id, bank.id,
                                                  Money(501)))
        await tx.commit()
    assert again.replayed and again.id == posted.id
    async with uow.read() as read:
        assert (await read.ledger.account(wallet.id)).balance == Money(500)
        assert [m.amount for m in await read.ledger.statement(wallet.id, 10)] == [Money(500)]
    assert_ledger_invariants(pg)


async def test_a_savepoint_undoes_its_step_and_the_unit_goes_on(pg):
    uow = StorageUnitOfWorkFactory(pg, CLOCK)
    async with uow() as tx:
        bank = await tx.ledger.open_account(BANK)
        wallet = await tx.ledger.open_account(AccountSpec.wallet(7))
        with pytest.raises(RuntimeError):
            async with tx.savepoint():
                await tx.ledger.post(Transfer.between("gone", "topup", bank.id, wallet.id,
                                                      Money(5)))
                raise RuntimeError("this step fails")
        await tx.ledger.post(Transfer.between("kept", "topup", bank.id, wallet.id, Money(7)))
        await tx.commit()
    async with uow.read() as read:
        assert (await read.ledger.account(wallet.id)).balance == Money(7)


async def test_leaving_without_commit_rolls_back(pg):
    uow = StorageUnitOfWorkFactory(pg, CLOCK)
    async with uow() as tx:
        await tx.ledger.open_account(BANK)
    async with uow.read() as read:
        assert await read.ledger.account_by_code(BANK.code) is None


async def test_a_read_unit_cannot_write(pg):
    uow = StorageUnitOfWorkFactory(pg, CLOCK)
    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        async with uow.read() as read:
            await read.ledger.open_account(BANK)


async def test_every_unit_reads_times_as_utc_whatever_the_servers_time_zone(postgres_url):
    admin = await asyncpg.connect(postgres_url)
    database = postgres_url.rsplit("/", 1)[1]
    await admin.execute(f"ALTER DATABASE {database} SET timezone = 'Asia/Shanghai'")
    await admin.close()
    db = await PostgresDatabase(postgres_url, pool_size=1).open()
    try:
        for _ in range(3):  # the same connection, handed back to the pool between units
            async with db.reading() as conn:
                (row,) = await conn.execute_fetchall(
                    "SELECT current_setting('TimeZone'),"
                    " '2026-12-01T16:30:00+00:00'::timestamptz::date::text")
                assert tuple(row) == ("UTC", "2026-12-01")
    finally:
        await db.close()


def test_the_password_never_shows():
    assert redacted("postgresql://bob:s3cret@db.example:5433/book") == \
        "postgresql://bob:***@db.example:5433/book"
    assert redacted("postgresql://localhost/book") == "postgresql://localhost/book"
