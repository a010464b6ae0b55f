"""The outbox sender against the fake Bot API: faults delay notices, never drop or duplicate
them; a blocked user is marked and not retried forever; a new sender resumes the backlog."""

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.context import services
from bot.demo.botapi import too_many_requests
from bot.outbox_sender import OutboxSender
from core.outbox import Notice
from tests.support.dbcheck import q
from tests.support.harness import TEST_TOKEN, BotHarness

NOW = datetime(2026, 12, 29, 2, tzinfo=UTC)  # 10:00 in Shanghai: not quiet


@pytest.fixture
async def harness(tmp_path):
    from core.clock import FixedClock

    clock = FixedClock(NOW)
    async with BotHarness(tmp_path, clock=clock) as h:
        for job in h.app.job_queue.get_jobs_by_name("outbox"):
            job.schedule_removal()  # these tests drain by hand
        h.clock = clock
        yield h


async def plan(h, notices):
    found = services(h.app)
    async with found.uow() as tx:
        await tx.outbox.plan([(n, found.clock.now()) for n in notices])
        await tx.commit()


def notices(people, per_person):
    return [Notice(f"{p}:{k}", p, "reminder_due",
                   {"amount": 10000 + k, "due": "2026-12-29", "days": 0, "merchant": "Shop",
                    "seq": 1, "of": 3, "instalment": k, "role": "borrower"})
            for p in people for k in range(per_person)]


async def fast_bot(h):
    bot = Bot(TEST_TOKEN, base_url=h.api.base_url,
              request=HTTPXRequest(read_timeout=0.3, write_timeout=0.3, connect_timeout=0.3,
                                   connection_pool_size=4))
    await bot.initialize()
    return bot


async def drain_until_empty(h, sender, rounds=200):
    for _ in range(rounds):
        await sender.drain()
        h.clock.advance(timedelta(seconds=301))  # past any backoff or retry-after
        found = services(h.app)
        async with found.uow() as tx:
            if not await tx.outbox.due(found.clock.now() + timedelta(days=1), 1):
                return
    raise AssertionError("outbox never emptied")


async def test_faults_delay_but_never_drop_or_duplicate(harness):
    people = [harness.person(4000 + i, f"P{i}", "en").id for i in range(5)]
    await plan(harness, notices(people, 8))
    rng = random.Random(7)
    injected = Counter()

    def fault(method, params):
        if method != "sendMessage" or rng.random() > 0.2:
            return None
        kind = rng.choice(["429", "500", "drop", "timeout"])
        injected[kind] += 1
        return {"429": too_many_requests(1), "500": too_many_requests(0).__class__(
            status=502, text='{"ok":false,"error_code":502,"description":"Bad Gateway"}',
            content_type="application/json"), "drop": "drop", "timeout": ("delay", 0.6)}[kind]

    harness.api.fault = fault
    bot = await fast_bot(harness)
    try:
        await drain_until_empty(harness, OutboxSender(bot, services(harness.app), batch=7))
    finally:
        await bot.shutdown()
    assert sum(injected.values()) >= 8 and set(injected) == {"429", "500", "drop", "timeout"}
    sent = Counter((o.chat_id, o.text) for o in harness.api.outputs if o.kind == "message")
    assert len(sent) == 40 and set(sent.values()) == {1}  # each once, none lost
    assert q(harness.db_path, "SELECT status, COUNT(*) FROM outbox GROUP BY status") == [
        ("sent", 40)]
    assert q(harness.db_path, "SELECT COUNT(*) FROM outbox WHERE message_id IS NULL") == [(0,)]


async def test_blocked_user_is_marked_and_not_retried(harness):
    alice, bob = harness.person(4100, "Alice", "en"), harness.person(4101, "Bob", "en")
    await bob.send("/start")  # he knew the bot once...
    await bob.reply()
    harness.api.blocked.add(bob.id)  # ...then blocked it
    await plan(harness, notices([alice.id, bob.id], 3))
    sender = OutboxSender(harness.app.bot, services(harness.app))
    counts = await sender.drain()
    assert (counts.sent, counts.blocked) == (3, 1)
    assert q(harness.db_path, "SELECT recipient_id, status, COUNT(*) FROM outbox"
                              " GROUP BY 1, 2 ORDER BY 1, 2") == [
        (4100, "sent", 3), (4101, "blocked", 3)]
    assert q(harness.db_path, "SELECT blocked_at IS NOT NULL FROM users WHERE id = 4101") == [
        (1,)]
    calls = len([c for c in harness.api.calls if c[0] == "sendMessage"])
    harness.clock.advance(timedelta(days=1))
    await sender.drain()
    assert len([c for c in harness.api.calls if c[0] == "sendMessage"]) == calls  # no retry
    harness.api.blocked.discard(bob.id)
    await bob.send("/start")  # Bob unblocks and writes again: he can be reached again...
    await bob.reply()
    assert q(harness.db_path, "SELECT blocked_at FROM users WHERE id = 4101") == [(None,)]
    counts = await sender.drain()  # ...and what was held for him goes out after all
    assert counts.sent == 3
    assert q(harness.db_path, "SELECT status, COUNT(*) FROM outbox WHERE recipient_id = 4101"
                              " GROUP BY 1") == [("sent", 3)]


async def test_a_new_sender_resumes_the_backlog(harness):
    people = []
    for i in range(3):
        person = harness.person(4200 + i, f"P{i}", "zh")
        await person.send("/start")  # known to the bot, in Chinese
        await person.reply()
        people.append(person.id)
    await plan(harness, notices(people, 4))
    first = OutboxSender(harness.app.bot, services(harness.app), batch=5)
    await first.drain(max_batches=1)  # stopped after five, as if the bot restarted
    assert q(harness.db_path, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'") == [(5,)]
    await OutboxSender(harness.app.bot, services(harness.app), batch=5).drain()
    sent = [o for o in harness.api.outputs if o.kind == "message" and "Shop" in o.text]
    assert len(sent) == 12 and len({(o.chat_id, o.text) for o in sent}) == 12
    assert sent[0].text.startswith("⏰ 今天：Shop 第 1/3 期 ¥100.0")
    assert sent[0].button_texts == ["📋 我的账单"]


async def test_two_drains_at_once_send_each_notice_once(harness):
    import asyncio

    from bot.jobs import JobContext, drain_job

    people = [harness.person(4300 + i, f"P{i}", "en").id for i in range(4)]
    await plan(harness, notices(people, 5))

    # Two jobs firing together.
    await asyncio.gather(drain_job(JobContext(harness.app)), drain_job(JobContext(harness.app)))
    sent = [o for o in harness.api.outputs if o.kind == "message"]
    assert len(sent) == 20 and len({(o.chat_id, o.text) for o in sent}) == 20


async def test_a_429_pauses_all_sending_for_the_time_telegram_asks(harness):
    people = [harness.person(4400 + i, f"P{i}", "en").id for i in range(4)]
    await plan(harness, notices(people, 5))
    first = {"done": False}

    def fault(method, params):
        if method == "sendMessage" and not first["done"]:
            first["done"] = True
            return too_many_requests(30)
        return None

    harness.api.fault = fault
    bot = await fast_bot(harness)  # no PTB rate limiter: its own retries would hide the 429
    sender = OutboxSender(bot, services(harness.app), concurrency=1)
    assert (await sender.drain()).rate_limited
    sent_before = len([o for o in harness.api.outputs if o.kind == "message"])
    harness.clock.advance(timedelta(seconds=2))  # the next periodic drain
    assert (await sender.drain()).rate_limited
    assert len([o for o in harness.api.outputs if o.kind == "message"]) == sent_before
    harness.clock.advance(timedelta(seconds=29))
    counts = await sender.drain()
    await bot.shutdown()
    assert not counts.rate_limited
    assert q(harness.db_path, "SELECT status, COUNT(*) FROM outbox GROUP BY 1") == [("sent", 20)]


async def test_a_notice_that_cannot_be_drawn_holds_up_nobody(harness):
    """A report whose chart cannot be drawn sorts first (it is urgent): it is set aside as
    failed, and every other notice still goes out."""
    alice = harness.person(4300, "Alice", "en")
    await plan(harness, [Notice("broken", alice.id, "daily_report", {"date": "2026-12-29"},
                                urgent=True), *notices([alice.id], 3)])
    counts = await OutboxSender(harness.app.bot, services(harness.app)).drain()
    assert (counts.sent, counts.failed) == (3, 1)
    assert q(harness.db_path, "SELECT key, status FROM outbox WHERE status != 'sent'") == [
        ("broken", "failed")]
    assert q(harness.db_path, "SELECT last_error LIKE 'render:%' FROM outbox"
                              " WHERE key = 'broken'") == [(1,)]


async def test_a_database_that_does_not_answer_delays_a_notice_never_drops_it(harness,
                                                                              monkeypatch):
    """The acting person's name is read when the notice is sent. If that read fails, the
    notice stays pending for the next drain: it is not set aside as undrawable."""
    import sqlite3

    import bot.outbox_sender as outbox_sender
    from core.outbox import NoticeKind

    alice = harness.person(4400, "Alice", "en")
    harness.person(4401, "Bob", "en")
    async with services(harness.app).uow() as tx:
        await tx.users.ensure(4401)
        await tx.commit()
    await plan(harness, [Notice("opened", alice.id, NoticeKind.OPENED,
                                {"id": 7, "party": 4401}, urgent=True)])
    real = outbox_sender.display_name

    async def unavailable(tx, user_id):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(outbox_sender, "display_name", unavailable)
    counts = await OutboxSender(harness.app.bot, services(harness.app)).drain()
    assert (counts.sent, counts.failed) == (0, 0)
    assert q(harness.db_path, "SELECT status FROM outbox WHERE key = 'opened'") == [("pending",)]
    monkeypatch.setattr(outbox_sender, "display_name", real)
    counts = await OutboxSender(harness.app.bot, services(harness.app)).drain()
    assert counts.sent == 1
    assert q(harness.db_path, "SELECT status FROM outbox WHERE key = 'opened'") == [("sent",)]
