"""One user's updates are handled one at a time, in update-id order, across the workers of
one PostgreSQL book: a user's turn is held by one worker at a time, and under it a worker
handles first the user's updates that other workers kept before and have not handled."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import pytest

from bot.inbox import Inbox
from bot.sealing import Sealer
from storage.inbox import InboxLog
from storage.leadership import WORKERS, WorkerPresence
from tests.support.dbcheck import q
from tests.support.harness import TEST_ID_KEY

JANE, BOB = 3101, 3102


def message(update_id: int, user: int, text: str) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "text": text,
        "chat": {"id": user, "type": "private"},
        "from": {"id": user, "is_bot": False, "first_name": "P"}}}


async def entered(turn) -> None:
    await turn.__aenter__()


async def kill(url: str, worker: WorkerPresence) -> None:
    """What SIGKILL does to a worker's session: the server ends it, and its locks."""
    admin = await asyncpg.connect(url)
    try:
        await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype ="
            " 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 2", WORKERS, worker.id)
    finally:
        await admin.close()


@pytest.mark.postgres_only
async def test_a_users_turn_is_one_workers_at_a_time_and_ends_with_it(book_url):
    a, b = WorkerPresence(book_url), WorkerPresence(book_url)
    try:
        assert await a.present() and await b.present()
        held = a.turn(JANE)
        await held.__aenter__()
        waiting = asyncio.create_task(entered(b.turn(JANE)))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # Jane's next update waits for the one being handled
        async with b.turn(BOB):  # ...while another user's goes ahead at once
            pass
        await held.__aexit__(None, None, None)
        await asyncio.wait_for(waiting, 2)  # let go: the other worker takes it at once

        # The holder dies with the turn held (SIGKILL): its turns end with its session.
        dying = a.turn(BOB)
        await dying.__aenter__()
        after = asyncio.create_task(entered(b.turn(BOB)))
        await asyncio.sleep(0.2)
        assert not after.done()
        await kill(book_url, a)
        await asyncio.wait_for(after, 2)
    finally:
        await a.release()
        await b.release()


@pytest.mark.postgres_only
async def test_an_update_another_worker_kept_earlier_is_handled_first_and_once(
        db, clock, book_url):
    sealer = Sealer(TEST_ID_KEY.encode())
    a_worker, b_worker = WorkerPresence(book_url), WorkerPresence(book_url)
    try:
        assert await a_worker.present() and await b_worker.present()
        a = Inbox(InboxLog(db, clock), clock, a_worker, sealer)
        b = Inbox(InboxLog(db, clock), clock, b_worker, sealer)
        # Jane's two quick messages reach two workers; the first worker is slow to start.
        assert await a.accept([message(10, JANE, "/start")]) == {10}
        assert await b.accept([message(11, JANE, "/help")]) == {11}
        assert await b.accept([message(12, BOB, "/help")]) == {12}
        assert b.should_handle(11)
        async with b.turn(11) as turn:
            assert [u["update_id"] for u in turn.earlier] == [10] and turn.due
            assert turn.earlier[0] == message(10, JANE, "/start")  # opened from the inbox
            turn.handled(10)
            turn.handled(11)
        # Recorded before the turn ended: the worker that kept 10 finds it done.
        assert q(book_url, "SELECT update_id FROM inbox WHERE handled_at IS NOT NULL"
                           " ORDER BY update_id") == [(10,), (11,)]
        assert a.should_handle(10)
        async with a.turn(10) as turn:
            assert turn.earlier == [] and not turn.due
        async with b.turn(12) as turn:  # Bob's are his own: nothing of Jane's comes first
            assert turn.earlier == [] and turn.due
    finally:
        await a_worker.release()
        await b_worker.release()


@pytest.mark.postgres_only
async def test_a_gone_workers_earlier_update_is_handled_before_the_next(db, clock, book_url):
    sealer = Sealer(TEST_ID_KEY.encode())
    gone, live = WorkerPresence(book_url), WorkerPresence(book_url)
    try:
        assert await gone.present() and await live.present()
        dead = Inbox(InboxLog(db, clock), clock, gone, sealer)
        inbox = Inbox(InboxLog(db, clock), clock, live, sealer)
        await dead.accept([message(20, JANE, "/start")])
        await gone.release()  # killed after answering 200, before handling it
        await inbox.accept([message(21, JANE, "/help")])
        async with inbox.turn(21) as turn:  # not left for the orphan tick, seconds later
            assert [u["update_id"] for u in turn.earlier] == [20] and turn.due
            turn.handled(20)
            turn.handled(21)
        assert await inbox.orphans() == []
    finally:
        await gone.release()
        await live.release()


async def test_a_users_waiting_updates_are_found_by_index(db, clock, book_url, tmp_path):
    """Read under every turn: the handled day of updates is never scanned for them."""
    await InboxLog(db, clock).accept([(1, JANE, b"d", b"b")], 1)
    waiting = ("SELECT update_id, body FROM inbox WHERE user_key = {0} AND handled_at IS NULL"
               " AND update_id <= {1} ORDER BY update_id")
    if book_url:
        conn = await asyncpg.connect(book_url)
        try:
            await conn.execute("SET enable_seqscan = off")  # a tiny table: ask what it could do
            plan = "\n".join(r[0] for r in await conn.fetch(
                "EXPLAIN " + waiting.format("$1::bigint", "$2::bigint"), JANE, 5))
        finally:
            await conn.close()
        assert "inbox_waiting_by_user" in plan and "Sort" not in plan, plan
    else:
        conn = sqlite3.connect(tmp_path / "test.db")
        plan = "\n".join(r[3] for r in conn.execute(
            "EXPLAIN QUERY PLAN " + waiting.format("?", "?"), (JANE, 5)))
        conn.close()
        assert "inbox_waiting_by_user" in plan and "TEMP B-TREE" not in plan, plan

