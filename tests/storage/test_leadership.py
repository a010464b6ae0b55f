"""One leader per piece of work on a shared (PostgreSQL) book, taken over when it goes."""

from __future__ import annotations

import asyncpg
import pytest

from storage.leadership import Leadership, lock_key


@pytest.mark.postgres_only
async def test_one_process_leads_until_it_lets_go_then_another_does(engine, postgres_url):
    first, second = Leadership(postgres_url, "webhook"), Leadership(postgres_url, "webhook")
    other_work = Leadership(postgres_url, "servicing")
    try:
        assert await first.try_lead()
        assert await first.try_lead()  # still leading: asking again changes nothing
        assert not await second.try_lead()
        assert await other_work.try_lead()  # another piece of work has its own leader
        await first.release()
        assert await second.try_lead()
        assert not await first.try_lead()
    finally:
        for one in (first, second, other_work):
            await one.release()


@pytest.mark.postgres_only
async def test_jobs_asking_at_the_same_moment_keep_the_lead(engine, postgres_url):
    import asyncio

    leader, rival = Leadership(postgres_url, "jobs"), Leadership(postgres_url, "jobs")
    try:
        assert await leader.try_lead()
        # Several jobs of the leading process tick together: each still hears it leads.
        assert await asyncio.gather(*(leader.try_lead() for _ in range(20))) == [True] * 20
        assert not await rival.try_lead()
    finally:
        await leader.release()
        await rival.release()


@pytest.mark.postgres_only
async def test_a_leader_whose_session_dies_is_replaced(engine, postgres_url):
    leader, waiting = Leadership(postgres_url, "webhook"), Leadership(postgres_url, "webhook")
    try:
        assert await leader.try_lead()
        assert not await waiting.try_lead()
        # The leader's process is killed, or its network cut: the server ends its session.
        admin = await asyncpg.connect(postgres_url)
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks"
                " WHERE locktype = 'advisory' AND granted"
                " AND ((classid::bigint << 32) | objid::bigint) = $1", lock_key("webhook"))
        finally:
            await admin.close()
        assert ended == 1
        assert await waiting.try_lead()
        assert not await leader.try_lead()  # it notices, and the work is no longer its own
    finally:
        await leader.release()
        await waiting.release()


@pytest.mark.sqlite_only
async def test_a_sqlite_book_has_one_process_which_leads(engine, tmp_path):
    assert await Leadership(tmp_path / "book.db", "webhook").try_lead()
