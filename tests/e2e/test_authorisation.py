"""The authorisation matrix: every action reachable from a button or a command, pressed or
sent by the owner, the counterparty, someone who holds a link, an unrelated user, a frozen
user and an operator. Each cell is allowed or refused as the design says; a refused cell
changes nothing. And a stranger who guesses ids learns nothing: every press naming an
object gets exactly the answer it gets for an id that does not exist.

The world (built once, copied for every cell): Jane (3001) owes a bill of 3 instalments and
has money; Li (3002) covers half of it under agreement #1; request #2 is Jane's open link,
which Hal (3006) opened; request #3 is addressed to Li; Eve (3003) is unrelated; Zed (3004)
is frozen; Olga (9000) is an operator; alert #1 concerns Eve."""

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
from storage.uow import StorageUnitOfWorkFactory
from tests.support.harness import BotHarness
from tests.support.servicing_book import CONFIG, NOW, TOKENS, covered_bill, fund, person, take_link

OWNER, COUNTERPARTY, UNRELATED, FROZEN, OPERATOR, HOLDER = 3001, 3002, 3003, 3004, 9000, 3006
ACTORS = {"owner": OWNER, "counterparty": COUNTERPARTY, "holder": HOLDER,
          "unrelated": UNRELATED, "frozen": FROZEN, "operator": OPERATOR}


async def build(path):
    clock = FixedClock(NOW)
    db = await Database(path).open()
    await migrate(db, clock)
    uow = StorageUnitOfWorkFactory(db, clock)
    for user, born in ((OWNER, date(1990, 1, 1)), (COUNTERPARTY, date(1985, 1, 1)),
                       (UNRELATED, date(1980, 1, 1)), (FROZEN, date(1975, 1, 1)),
                       (HOLDER, date(1970, 1, 1))):
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
    await take_link(uow, 2, HOLDER)  # the link reached Hal, who opened it
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
    ("pay own instalment", ("press", "payok:2:0:5000"), {"owner"}),
    ("cancel open request", ("press", "cv:c:2"), {"owner"}),
    ("revoke (nothing accepted)", ("press", "cv:x:2"), set()),
    ("accept addressed request", ("press", "fr:a:3"), {"counterparty"}),
    ("decline addressed request", ("press", "fr:d:3"), {"counterparty"}),
    ("accept open link", ("press", "fr:a:2"), {"holder"}),
    ("decline open link", ("press", "fr:d:2"), set()),  # one viewer's no leaves it open
    ("income before accepting", ("press", "fr:i:5k:3"), set()),
    ("sign without review", ("press", "fr:s:3:1000:000000000000"), set()),
    ("terminate agreement", ("press", "ag:e:1"), {"owner", "counterparty"}),
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


# Every press that names an object, with {} where the id goes, and the real id in the world.
GUESSES = [
    ("pay:{}:0", 2), ("payok:{}:0:5000", 2), ("cv:i:{}", 2), ("cv:b:{}:abcd1234", 1),
    ("cv:c:{}", 2), ("cv:x:{}", 2), ("cv:c:{}", 3),
    *((f"fr:{action}:{{}}", request) for action in "vady" for request in (2, 3)),
    ("fr:i:5k:{}", 2), ("fr:i:5k:{}", 3), ("fr:r:{}:5000", 3), ("fr:s:{}:1000:000000000000", 3),
    ("ag:f:{}", 1), ("ag:t:{}", 1), ("ag:e:{}", 1), ("al:a:{}", 1), ("al:f:{}", 1),
]
NOBODY_HAS = 999_999


def _seen(bot, who, after: int, payload: str) -> list[tuple]:
    """What the presser saw, with the id they typed blanked: the real and the guessed id must
    lead to the same answers, texts and buttons."""
    def blank(text: str | None) -> str | None:
        return text.replace(payload, "<payload>") if text else text
    return [(o.kind, blank(o.text), o.params.get("show_alert"),
             tuple(blank(b.get("callback_data")) for b in o.buttons))
            for o in bot.api.outputs if o.seq > after and who.sees(o)]


@pytest.mark.parametrize(("template", "real"), GUESSES,
                         ids=[t.format(r) for t, r in GUESSES])
async def test_a_stranger_who_guesses_ids_learns_nothing(world, tmp_path, template, real):
    shutil.copy(world, tmp_path / "bot.db")
    async with BotHarness(tmp_path, clock=FixedClock(datetime(2026, 11, 29, 2, tzinfo=UTC)),
                          operator_ids=frozenset({OPERATOR})) as bot:
        before = state(bot.db_path)
        eve = bot.person(UNRELATED, "Eve", "en")
        answers = []
        for object_id in (real, NOBODY_HAS):
            payload = template.format(object_id)
            after = bot.api.last_seq
            await eve.send_update({"callback_query": {
                "id": f"{eve.id}-{object_id}", "from": eve.user, "chat_instance": "x",
                "data": payload}})
            await bot.drained()
            answers.append(_seen(bot, eve, after, payload))
        assert answers[0], f"no answer to {template}"
        assert answers[0] == answers[1], f"{template}: a real id answers differently"
        assert state(bot.db_path) == before
