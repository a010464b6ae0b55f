"""Several workers drain one outbox: each notice is claimed by one of them at a time, and
the claims of a worker that is gone are anyone's at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from core.outbox import Lane, Notice
from storage.leadership import WORKERS, WorkerPresence


async def plan(uow, clock, count, urgent_every=0, recipients=7):
    async with uow() as tx:
        await tx.outbox.plan([
            (Notice(f"n{i}", 100 + i % recipients, "reminder_due", {"i": i},
                    urgent=bool(urgent_every) and i % urgent_every == 0),
             clock.now() - timedelta(seconds=count - i))
            for i in range(count)])
        await tx.commit()


async def claim(uow, clock, worker, limit):
    async with uow() as tx:
        taken = await tx.outbox.claim(clock.now(), limit, Lane.BULK, worker.id)
        await tx.commit()
    return taken


async def sent(uow, messages):
    async with uow() as tx:
        for message in messages:
            await tx.outbox.mark_sent(message.id, 1)
        await tx.commit()


async def test_a_claim_comes_in_the_order_notices_fell_due(uow, clock, book_url, tmp_path):
    await plan(uow, clock, 12, urgent_every=4)
    worker = WorkerPresence(book_url or tmp_path / "test.db")
    try:
        assert await worker.present()
        taken = await claim(uow, clock, worker, 12)
        async with uow.read() as tx:
            due = await tx.outbox.due(clock.now(), 12)
    finally:
        await worker.release()
    assert [m.key for m in taken] == ["n0", "n4", "n8", "n1", "n2", "n3", "n5", "n6", "n7",
                                      "n9", "n10", "n11"]
    assert [m.key for m in due] == [m.key for m in taken]  # claimed, still pending


@pytest.mark.postgres_only
async def test_what_a_live_worker_claimed_is_left_to_it(uow, clock, book_url):
    await plan(uow, clock, 10, recipients=10)
    first, second = WorkerPresence(book_url), WorkerPresence(book_url)
    try:
        assert await first.present() and await second.present()
        assert first.id != second.id
        assert await first.workers() == 2
        mine = await claim(uow, clock, first, 4)
        theirs = await claim(uow, clock, second, 10)
        assert {m.key for m in mine} == {"n0", "n1", "n2", "n3"}
        assert {m.key for m in theirs} == {f"n{i}" for i in range(4, 10)}
        assert await claim(uow, clock, second, 10) == theirs  # its own, none in flight
        # A retry lets go of the claim: the next to drain takes it, whoever it is.
        async with uow() as tx:
            await tx.outbox.retry_at(mine[0].id, clock.now(), "NetworkError", counts=True)
            await tx.commit()
        assert "n0" in {m.key for m in await claim(uow, clock, second, 10)}
    finally:
        await first.release()
        await second.release()


@pytest.mark.postgres_only
async def test_a_recipient_being_sent_to_is_left_to_that_worker(uow, clock, book_url):
    await plan(uow, clock, 12, recipients=3)  # n0, n3, n6, n9 are recipient 100's
    first, second = WorkerPresence(book_url), WorkerPresence(book_url)
    try:
        assert await first.present() and await second.present()
        mine = await claim(uow, clock, first, 2)  # n0 (100) and n1 (101)
        theirs = await claim(uow, clock, second, 12)
        assert [m.key for m in mine] == ["n0", "n1"]
        # Only recipient 102's: the others' later notices would overtake their first.
        assert [m.key for m in theirs] == ["n2", "n5", "n8", "n11"]
        await sent(uow, mine)
        assert [m.key for m in await claim(uow, clock, first, 12)] == [
            "n3", "n4", "n6", "n7", "n9", "n10"]
    finally:
        await first.release()
        await second.release()


@pytest.mark.postgres_only
async def test_a_dead_workers_claims_are_taken_at_once(uow, clock, book_url):
    await plan(uow, clock, 6)
    dying, alive = WorkerPresence(book_url), WorkerPresence(book_url)
    try:
        assert await dying.present() and await alive.present()
        assert len(await claim(uow, clock, dying, 6)) == 6
        assert await claim(uow, clock, alive, 6) == []
        # The worker is SIGKILLed: its connections drop, and the server ends its lock.
        admin = await asyncpg.connect(book_url)
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype ="
                " 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 2",
                WORKERS, dying.id)
        finally:
            await admin.close()
        assert ended == 1
        assert len(await claim(uow, clock, alive, 6)) == 6  # no lease to wait out
        assert await alive.workers() == 1
    finally:
        await dying.release()
        await alive.release()


@pytest.mark.postgres_only
async def test_workers_draining_at_once_each_take_every_notice_once(uow, clock, book_url):
    await plan(uow, clock, 400, recipients=40)
    workers = [WorkerPresence(book_url) for _ in range(3)]
    taken: dict[int, list[str]] = {}

    async def drain(worker):
        # Each worker claims small batches and sends them, as the sender does; the others
        # claim at the same moments, so rows are passed over while another claim locks them.
        while True:
            batch = await claim(uow, clock, worker, 7)
            if not batch:
                async with uow.read() as tx:
                    if not await tx.outbox.due(clock.now(), 1):
                        return
                await asyncio.sleep(0.01)  # the rest is another worker's, for now
                continue
            taken.setdefault(worker.id, []).extend(m.key for m in batch)
            await asyncio.sleep(0)
            await sent(uow, batch)

    try:
        for worker in workers:
            assert await worker.present()
        await asyncio.gather(*(drain(w) for w in workers))
    finally:
        for worker in workers:
            await worker.release()
    every = [key for keys in taken.values() for key in keys]
    assert sorted(every) == sorted(f"n{i}" for i in range(400))  # each once, none lost
    assert len(taken) == 3  # all of them drained


@pytest.mark.sqlite_only
async def test_a_sqlite_book_has_one_worker(tmp_path):
    worker = WorkerPresence(tmp_path / "test.db")
    assert not worker.shared
    assert await worker.present()
    assert await worker.workers() == 1
