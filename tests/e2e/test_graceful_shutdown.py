"""SIGTERM to `daihuan run`: the handlers in flight finish, the outbox batch in hand is sent
and recorded, nothing else starts, and the process exits 0. Every reminder is sent exactly
once across the stop and the next start."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bot.demo.botapi import FakeBotApi
from core.clock import FixedClock
from core.outbox import IMMEDIATELY, Notice
from storage.db import Database
from storage.migrate import migrate
from storage.uow import StorageUnitOfWorkFactory
from tests.support.dbcheck import q
from tests.support.harness import TEST_ID_KEY, TEST_TOKEN

ROOT = Path(__file__).resolve().parents[2]
PEOPLE, EACH = 20, 10


async def plan_reminders(path: Path) -> None:
    db = await Database(path).open()
    clock = FixedClock(datetime(2026, 11, 29, 2, tzinfo=UTC))
    await migrate(db, clock)
    uow = StorageUnitOfWorkFactory(db, clock)
    async with uow() as tx:
        for person in range(PEOPLE):
            await tx.users.ensure(5000 + person)
        await tx.outbox.plan([(Notice(f"r:{p}:{k}", 5000 + p, "notify.opened",
                                      {"id": k, "name": f"Friend {k}"}, urgent=True),
                               IMMEDIATELY) for p in range(PEOPLE) for k in range(EACH)])
        await tx.commit()
    await db.close()


async def start_bot(api: FakeBotApi, db_path: Path, log) -> asyncio.subprocess.Process:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TEST_TOKEN, "ID_HASH_KEY": TEST_ID_KEY,
           "TELEGRAM_API_BASE_URL": api.base_url, "DATABASE_PATH": str(db_path),
           "OUTBOX_INTERVAL_SECONDS": "0.2", "TELEGRAM_MAX_RATE": "1000", "WEB_PORT": "0"}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=log)


def delivered(api: FakeBotApi) -> Counter:
    return Counter((o.chat_id, o.text) for o in api.outputs
                   if o.kind == "message" and o.chat_id and o.chat_id >= 5000)


async def wait_for(condition, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_sigterm_finishes_work_in_hand_and_loses_no_reminder(tmp_path):
    db_path = tmp_path / "bot.db"
    await plan_reminders(db_path)
    api = FakeBotApi(TEST_TOKEN)
    await api.start()
    for person in range(PEOPLE):
        api.remember_chat({"id": 5000 + person, "type": "private", "first_name": "P"})
    # Telegram is slow today: every message is taken, and answered 0.3 s later.
    api.fault = lambda method, params: ("late", 0.3) if method == "sendMessage" else None
    log = (tmp_path / "bot.log").open("a")
    try:
        bot = await start_bot(api, db_path, log)
        jane = api.person(3001, "Jane", "en")
        await wait_for(lambda: len(delivered(api)) >= 5)
        await jane.send("/start")  # a handler about to be in flight at the signal
        await wait_for(lambda: any(m == "sendMessage" and p.get("chat_id") == jane.id
                                   for m, p in api.calls))
        bot.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.wait(), 30) == 0
        first = delivered(api)
        assert set(first.values()) == {1}
        assert 5 <= len(first) < PEOPLE * EACH  # it stopped part-way...
        # ...with nothing half-done: what was delivered is exactly what is recorded as sent.
        assert q(db_path, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'") == [
            (len(first),)]
        assert "Hello, Jane" in (await jane.reply()).text  # the handler in flight finished
        assert q(db_path, "SELECT COUNT(*) FROM users WHERE id = 3001") == [(1,)]

        await api.release_polls()
        api.closing = False
        bot = await start_bot(api, db_path, log)
        await wait_for(lambda: len(delivered(api)) == PEOPLE * EACH)
        bot.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.wait(), 30) == 0
        assert set(delivered(api).values()) == {1}  # every reminder, once
        assert q(db_path, "SELECT status, COUNT(*) FROM outbox GROUP BY 1") == [
            ("sent", PEOPLE * EACH)]
    finally:
        if bot.returncode is None:
            bot.kill()
        log.close()
        await api.release_polls()
        await api.stop()
