"""10,000 hostile updates through the real bot: no handler fails, every private message that
needs an answer gets one in the sender's language, and nothing in the book changes but the
records of who was seen. FUZZ_UPDATES=100000 runs a longer variant."""

import itertools
import logging
import os
import random
import re
import sqlite3

from tests.support.harness import BotHarness
from tests.support.hostile import update
from tests.support.payloads import out_of_range_payloads

UPDATES = int(os.environ.get("FUZZ_UPDATES", "10000"))
USERS = 120
CJK = re.compile(r"[\u4e00-\u9fff]")


def book(path):
    conn = sqlite3.connect(path)
    try:
        tables = [t for (t,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN"
            " ('users', 'sqlite_sequence', 'inbox', 'drafts')")]
        state = {t: conn.execute(f"SELECT * FROM {t}").fetchall() for t in tables}
        # Seeing people is the one change allowed: their rows and the count of them; the
        # inbox's record of each update, which keeps nothing of it once handled; and the
        # step a hostile sender reached in a flow (a draft), the book's only memory of it.
        state["book_totals"] = [row for row in state["book_totals"] if row[0] != "users"]
        assert conn.execute("SELECT count(*) FROM inbox WHERE body IS NOT NULL"
                            " AND handled_at IS NOT NULL").fetchone() == (0,)
        return state
    finally:
        conn.close()


async def test_hostile_updates_change_nothing_and_all_get_answers(tmp_path, caplog):
    rng = random.Random(20261129)
    counter = itertools.count(10_000)
    users = [{"id": 70_000 + i, "is_bot": False, "first_name": f"U{i}",
              "language_code": rng.choice(["zh-hans", "en", "en-US", None, "xx"])}
             for i in range(USERS)]
    async with BotHarness(tmp_path, operator_ids=frozenset({70_000})) as bot:
        for user in users:
            bot.api.remember_chat({"id": user["id"], "type": "private",
                                   "first_name": user["first_name"]})
            for kind in ("group", "supergroup"):  # the groups they write from
                bot.api.remember_chat({"id": -100_000 - user["id"], "type": kind,
                                       "title": "group"})
        before = book(bot.db_path)
        caplog.set_level(logging.ERROR)
        seen: list[str] = []
        sent = 0
        missing: list[str] = []
        while sent < UPDATES:
            batch = {}
            for user in users:  # one update per user per round: each round is checkable
                upd = update(rng, [user], seen, lambda: next(counter))
                batch[user["id"]] = (upd, bot.api.last_seq)
            for upd, _ in batch.values():
                await bot.api.push_update(upd)
            sent += len(batch)
            await bot.drained(timeout=30)
            chosen = dict(sqlite3.connect(bot.db_path).execute(
                "SELECT id, language FROM users").fetchall())  # /language choices so far
            for user_id, (upd, after) in batch.items():
                outputs = [o for o in bot.api.outputs if o.seq > after]
                seen += [b["callback_data"] for o in outputs for b in o.buttons
                         if "callback_data" in b]
                problem = _check(upd, user_id, outputs, users, chosen.get(user_id))
                if problem:
                    missing.append(problem)
            del seen[:-200]
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert errors == [], errors[0].getMessage() + (errors[0].exc_text or "")
        assert missing == [], missing[:5]
        assert book(bot.db_path) == before


def _check(upd: dict, user_id: int, outputs: list, users: list[dict],
           chosen: str | None) -> str | None:
    """Whether the update got the answer it needs, in its sender's language: the one they
    chose with /language, else their Telegram app's."""
    language = chosen or next(u["language_code"] for u in users if u["id"] == user_id) or ""
    if "callback_query" in upd:
        query_id = upd["callback_query"]["id"]
        answers = [o for o in outputs if o.kind == "answer"
                   and o.params.get("callback_query_id") == query_id]
        return None if answers else f"no answer to callback {upd['callback_query']['data']!r}"
    message = upd.get("message")
    if message is None or "from" not in message:
        return None  # edits, channel posts, sender-less messages: nothing to answer
    chat = message["chat"]
    if chat["type"] != "private":  # in groups only commands (as Telegram marks them) count
        command = any(e["type"] == "bot_command" for e in message.get("entities", []))
        if command and not any(o.chat_id == chat["id"] for o in outputs):
            return f"group command unanswered: {message.get('text', '')[:40]!r}"
        return None
    replies = [o for o in outputs if o.chat_id == user_id and o.kind in ("message", "edit")]
    if not replies:
        return f"no reply to {str(message.get('text', message.keys()))[:40]!r}"
    text = replies[0].text or ""
    if language.startswith("zh") and not CJK.search(text):
        return f"reply not in Chinese: {text[:40]!r}"
    if not language.startswith("zh") and not re.search(r"[A-Za-z]{3}", text):
        return f"reply not in English: {text[:40]!r}"
    return None






async def test_out_of_range_fields_are_refused_politely(tmp_path, caplog):
    payloads = out_of_range_payloads()
    assert len(payloads) >= 5 * 20  # every Range field of every payload, five ways each
    async with BotHarness(tmp_path) as bot:
        before = book(bot.db_path)
        caplog.set_level(logging.ERROR)
        ann = bot.person(80_001, "Ann", "zh-hans")
        for payload in payloads:
            assert len(payload.encode()) <= 64
            await ann.send_update({"callback_query": {
                "id": f"{ann.id}-{payload}", "from": ann.user, "chat_instance": "x",
                "data": payload}})
            answer = await ann.next("answer")
            assert answer.text and CJK.search(answer.text), payload  # in her language
            assert answer.params.get("show_alert") is True, payload
        await bot.drained()
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
        assert book(bot.db_path) == before


async def test_a_share_out_of_range_on_a_real_request_is_refused(tmp_path, caplog):
    """The review offered Li a reduced share; a forged share of 0 or above 100% on the same,
    real request is refused where the payload is read, not deep inside the review."""
    from datetime import UTC, date, datetime

    from core.capacity import IncomeBand
    from core.clock import FixedClock
    from core.cover import Route
    from core.services import cover
    from storage.db import Database
    from storage.migrate import migrate
    from storage.uow import StorageUnitOfWorkFactory
    from tests.support.servicing_book import CONFIG, NOW, TOKENS, person

    clock = FixedClock(NOW)
    db = await Database(tmp_path / "bot.db").open()
    await migrate(db, clock)
    uow = StorageUnitOfWorkFactory(db, clock)
    await person(uow, 3001, date(1990, 1, 1))
    await person(uow, 3002, date(1985, 1, 1))
    from core.bills import FeeSchedule, make_quote
    from core.money import Money
    from core.services.purchases import record_bill

    async with uow() as tx:
        bill = await record_bill(tx, 3001, make_quote("JD", Money.yuan(300), 3, NOW.date(),
                                                      FeeSchedule()), "chat", "b1")
        await tx.commit()
    created = await cover.create_request(uow, TOKENS, CONFIG, borrower_id=3001,
                                         bill_id=bill.id, instalment_ids=None, share_bp=10_000,
                                         route=Route.CONTACT, friend_id=3002, now=NOW)
    rid = created.request.id
    await cover.accept(uow, request_id=rid, user_id=3002, now=NOW)
    await cover.review_friend(uow, CONFIG, request_id=rid, friend_id=3002,
                              band=IncomeBand.UNDER_3K, today=NOW.date(), now=NOW)
    await db.close()
    async with BotHarness(tmp_path, clock=FixedClock(datetime(2026, 11, 29, 2, tzinfo=UTC))
                          ) as bot:
        before = book(bot.db_path)
        caplog.set_level(logging.ERROR)
        li = bot.person(3002, "Li", "en")
        for share in ("0", "10001", "99999", "-1"):
            await li.send_update({"callback_query": {
                "id": f"{li.id}-{share}", "from": li.user, "chat_instance": "x",
                "data": f"fr:r:{rid}:{share}"}})
            assert "no longer valid" in (await li.next("answer")).text
        await bot.drained()
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
        assert book(bot.db_path) == before
