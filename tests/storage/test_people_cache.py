"""The cache of people: a run's notices to one person read their language once, and a
change of language is never hidden by it."""

from __future__ import annotations

import pytest

from core.services.people import People
from core.users import Language


async def _reads(db) -> list[str]:
    statements: list[str] = []
    await db.reader.set_trace_callback(statements.append)
    return statements


@pytest.mark.sqlite_only("counts statements with SQLite's trace callback; the cache is core"
                         " code, the same in front of either engine")
async def test_language_is_read_once_then_remembered(uow, db, clock):
    people = People(uow, clock)
    async with uow() as tx:
        await tx.users.upsert_seen(7, "Li", "zh-hans")
        await tx.commit()
    statements = await _reads(db)
    assert await people.language(7) is Language.ZH
    first = len(statements)
    assert first > 0
    for _ in range(5):
        assert await people.language(7) is Language.ZH
    assert len(statements) == first


async def test_choosing_a_language_is_seen_at_once(uow, clock):
    people = People(uow, clock)
    await people.seen(8, "Wang", "en")
    assert await people.language(8) is Language.EN
    await people.choose_language(8, Language.ZH)
    assert await people.language(8) is Language.ZH


async def test_a_stranger_is_written_to_in_english_and_not_remembered(uow, clock):
    people = People(uow, clock)
    assert await people.language(99) is Language.EN
    async with uow() as tx:
        await tx.users.upsert_seen(99, "Zhao", "zh-hans")
        await tx.commit()
    assert await people.language(99) is Language.ZH


async def test_the_cache_keeps_only_its_capacity(uow, clock):
    people = People(uow, clock, capacity=3)
    for user_id in range(10, 16):
        await people.seen(user_id, f"P{user_id}", "en")
    assert list(people._known) == [13, 14, 15]
