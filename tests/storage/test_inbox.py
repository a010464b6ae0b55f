"""The inbox keeps each update once, for one worker at a time, until it is handled."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from storage.inbox import InboxLog
from storage.leadership import WORKERS, WorkerPresence
from tests.support.dbcheck import q


@pytest.fixture
def inbox(db, clock) -> InboxLog:
    return InboxLog(db, clock)


async def accept(inbox, worker_id, *ids):
    return await inbox.accept([(i, 7, f"digest {i}".encode(), f"body {i}".encode())
                               for i in ids], worker_id)


async def handled(inbox, update_id):
    await inbox.handled([update_id])


async def orphans(inbox, worker_id, limit=10):
    return await inbox.orphans(worker_id, limit)


async def test_an_update_kept_once_is_handled_once(inbox, book_url, tmp_path):
    book = book_url or tmp_path / "test.db"
    assert await accept(inbox, 1, 10, 11) == {10, 11}
    # Kept but not handled by the worker that kept it (its fetch failed): still its own.
    assert await accept(inbox, 1, 11, 12) == {11, 12}
    assert await accept(inbox, 2, 12) == set()  # another worker's: not handled twice
    await handled(inbox, 11)
    assert await accept(inbox, 1, 11) == set()  # sent again after it was handled
    # Handled: what the person sent is gone at once; the id stays to refuse repeats.
    assert q(book, "SELECT update_id, CASE WHEN body IS NULL THEN 'emptied' ELSE 'kept' END,"
                   " CASE WHEN handled_at IS NULL THEN 'waiting' ELSE 'handled' END"
                   " FROM inbox ORDER BY update_id") == [
        (10, "kept", "waiting"), (11, "emptied", "handled"), (12, "kept", "waiting")]


async def test_handled_updates_are_forgotten_after_their_time(inbox, clock):
    await accept(inbox, 1, 1, 2, 3)
    await handled(inbox, 1)
    await handled(inbox, 2)
    clock.advance(timedelta(hours=2))
    await handled(inbox, 3)
    assert await inbox.forget_handled(clock.now() - timedelta(hours=1)) == 2
    assert await accept(inbox, 1, 3) == set()  # still remembered: handled an hour ago


@pytest.mark.sqlite_only
async def test_the_last_runs_updates_are_the_next_runs_to_handle(inbox):
    await accept(inbox, 1, 5, 6, 7)
    await handled(inbox, 6)
    # The process died; the next run has another id and takes what was left, in order.
    assert await orphans(inbox, 2) == [(5, b"body 5"), (7, b"body 7")]
    assert await orphans(inbox, 2) == []  # its own now


@pytest.mark.postgres_only
async def test_only_a_gone_workers_updates_are_taken_over(inbox, book_url):
    keeper, other = WorkerPresence(book_url), WorkerPresence(book_url)
    try:
        assert await keeper.present() and await other.present()
        await accept(inbox, keeper.id, 5, 6)
        assert await orphans(inbox, other.id) == []  # its worker is alive: still handling
        admin = await asyncpg.connect(book_url)
        try:  # SIGKILL: the server ends its session and its lock
            await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype ="
                " 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 2",
                WORKERS, keeper.id)
        finally:
            await admin.close()
        assert await orphans(inbox, other.id) == [(5, b"body 5"), (6, b"body 6")]
        assert await orphans(inbox, other.id) == []
    finally:
        await keeper.release()
        await other.release()


async def test_an_id_telegram_numbered_afresh_is_another_update(inbox):
    assert await inbox.accept([(1, 7, b"first", b"body")], 1) == {1}
    await handled(inbox, 1)
    assert await inbox.accept([(1, 7, b"first", b"body")], 2) == set()  # a repeat
    # Same id, other content: after a week without updates Telegram numbers afresh, or
    # the book is served by another bot. It is new, and handled.
    assert await inbox.accept([(1, 8, b"second", b"other")], 2) == {1}
