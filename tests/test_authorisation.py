"""The authorisation matrix: every action reachable from a button or a command, pressed or
sent by the owner, the counterparty, an unrelated user, a frozen user and an operator. Each
cell is allowed or refused as the design says; a refused cell changes nothing.

The world (built once, copied for every cell): Jane (3001) owes a bill of 3 instalments and
has money; Li (3002) covers half of it under agreement #1; request #2 is Jane's open link;
request #3 is addressed to Li; Eve (3003) is unrelated; Zed (3004) is frozen; Olga (9000) is
an operator; alert #1 concerns Eve."""

import shutil
import sqlite3
from datetime import UTC, date, datetime

import pytest

from core.clock import FixedClock
from core.cover import Route
from core.services import cover
from core.services.risk import set_frozen
from storage.db import Database
from storage.migrate import migrate
from storage.uow import SqliteUnitOfWorkFactory
from tests.harness import BotHarness
from tests.servicing_book import CONFIG, NOW, TOKENS, covered_bill, fund, person

OWNER, COUNTERPARTY, UNRELATED, FROZEN, OPERATOR = 3001, 3002, 3003, 3004, 9000
ACTORS = {"owner": OWNER, "counterparty": COUNTERPARTY, "unrelated": UNRELATED,
          "frozen": FROZEN, "operator": OPERATOR}


async def build(path):
    clock = FixedClock(NOW)
    db = await Database(path).open()
    await migrate(db, clock)
    uow = SqliteUnitOfWorkFactory(db, clock)
    for user, born in ((OWNER, date(1990, 1, 1)), (COUNTERPARTY, date(1985, 1, 1)),
                       (UNRELATED, date(1980, 1, 1)), (FROZEN, date(1975, 1, 1))):
        await person(uow, user, born)
    async with uow() as tx:
        await tx.users.upsert_seen(OPERATOR, "Olga", "en")
        await tx.commit()
    bill = await covered_bill(uow, OWNER, COUNTERPARTY, share=5_000)
    await fund(uow, OWNER, 1000, "jane")
    for friend, route in ((None, Route.LINK), (COUNTERPARTY, Route.CONTACT)):
        await cover.create_request(uow, TOKENS, CONFIG, borrower_id=OWNER, bill_id=bill,
                                   instalment_ids=None, share_bp=1_000, route=route,
                                   friend_id=friend, now=NOW)
    await set_frozen(uow, user_id=FROZEN, operator_id=OPERATOR, reason="test")
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO alerts (key, rule, severity, subject, raised_at) VALUES"
                 " ('burst:user:3003', 'burst', 'medium', 'user:3003',"
                 " '2026-11-29T00:00:00.000000+00:00')")
    conn.commit()
    conn.close()
    await db.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import asyncio

    path = tmp_path_factory.mktemp("world") / "world.db"
    asyncio.run(build(path))
    return path


def state(path):
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT * FROM {t}").fetchall() for t in (
            "transfers", "instalments", "cover_requests", "agreements",
            "agreement_instalments", "alerts", "events")} | {
            "frozen": conn.execute("SELECT id, frozen_reason FROM users ORDER BY id").fetchall()}
    finally:
        conn.close()


# (action, how it is sent, who may) — "press" sends callback data, "send" a command.
MATRIX = [
    ("pay own instalment", ("press", "payok:2:0"), {"owner"}),
    ("cancel open request", ("press", "cv:c:2"), {"owner"}),
    ("revoke (nothing accepted)", ("press", "cv:x:2"), set()),
    ("accept addressed request", ("press", "fr:a:3"), {"counterparty"}),
    ("decline addressed request", ("press", "fr:d:3"), {"counterparty"}),
    ("sign without review", ("press", "fr:s:3:1000:000000000000"), set()),
    ("terminate agreement", ("press", "ag:T:1"), {"owner", "counterparty"}),
    ("acknowledge alert", ("press", "al:a:1"), {"operator"}),
    ("freeze from alert", ("press", "al:f:1"), {"operator"}),
    ("freeze by command", ("send", "/freeze 3003 fraud"), {"operator"}),
    ("unfreeze by command", ("send", "/unfreeze 3004"), {"operator"}),
]


@pytest.mark.parametrize("actor", list(ACTORS))
@pytest.mark.parametrize(("action", "how", "allowed"), MATRIX, ids=[m[0] for m in MATRIX])
async def test_cell(world, tmp_path, action, how, allowed, actor):
    shutil.copy(world, tmp_path / "bot.db")
    async with BotHarness(tmp_path, clock=FixedClock(datetime(2026, 11, 29, 2, tzinfo=UTC)),
                          operator_ids=frozenset({OPERATOR})) as bot:
        before = state(bot.db_path)
        who = bot.person(ACTORS[actor], actor.title(), "en")
        kind, payload = how
        if kind == "press":
            await who.send_update({"callback_query": {
                "id": f"{who.id}-1", "from": who.user, "chat_instance": "x", "data": payload}})
        else:
            await who.send(payload)
        await bot.drained()
        after = state(bot.db_path)
        outputs = [o for o in bot.api.outputs if o.chat_id == who.id or o.kind == "answer"]
        assert outputs, f"{actor} got no answer to {action}"
        if actor in allowed:
            assert after != before, f"{action} by {actor} should have acted"
        else:
            assert after == before, f"{action} by {actor} changed the book"


@pytest.mark.parametrize("actor", list(ACTORS))
async def test_agreement_text_only_to_its_parties(world, tmp_path, actor):
    shutil.copy(world, tmp_path / "bot.db")
    async with BotHarness(tmp_path, operator_ids=frozenset({OPERATOR})) as bot:
        who = bot.person(ACTORS[actor], actor.title(), "en")
        await who.send_update({"callback_query": {
            "id": f"{who.id}-1", "from": who.user, "chat_instance": "x", "data": "ag:f:1"}})
        await bot.drained()
        documents = [o for o in bot.api.outputs if o.kind == "document"]
        if actor in ("owner", "counterparty"):
            assert len(documents) == 1 and documents[0].chat_id == who.id
        else:
            assert documents == []
            assert "no longer valid" in (await who.next("answer")).text
