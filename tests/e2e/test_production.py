"""Production mode, run as `daihuan run [--webhook]` runs it (bot.serve): updates by webhook
with the secret token checked on every request, /healthz and /metrics, JSON logs with the
update id on every line."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from bot.demo.botapi import FakeBotApi
from bot.logs import build_handler
from bot.serve import serve
from bot.settings import Settings
from core.clock import FixedClock
from core.services.servicing import ServicingPolicy, run_servicing
from storage.engine import open_book
from storage.uow import StorageUnitOfWorkFactory
from tests.support.dbcheck import q
from tests.support.harness import TEST_ID_KEY, TEST_TOKEN
from tests.support.webhook_workers import SECRET, WebhookWorker, free_port, start_worker

NOW = datetime(2026, 11, 29, 2, tzinfo=UTC)  # 10:00 in Shanghai, after SERVICING_TIME
TZ = ZoneInfo("Asia/Shanghai")


@contextlib.asynccontextmanager
async def running(tmp_path, webhook: bool, **settings):
    api = FakeBotApi(TEST_TOKEN)
    base_url = await api.start()
    port = free_port()
    config = Settings(_env_file=None, telegram_bot_token=TEST_TOKEN,
                      telegram_api_base_url=base_url, database_path=tmp_path / "bot.db",
                      id_hash_key=TEST_ID_KEY, web_port=port, telegram_max_rate=1000,
                      webhook_url="https://daihuan.example.com/hook/telegram",
                      webhook_secret=SECRET, payment_provider_token="284685063:TEST:provider",
                      **settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, webhook=webhook, clock=FixedClock(NOW), stop=stop))
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):  # up once the health check answers
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(base + "/healthz") as answer:
                        if answer.status in (200, 503):
                            break
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
            api.webhook_target = base
            yield api, http, base
    finally:
        stop.set()
        await api.release_polls()
        await asyncio.wait_for(task, 30)
        await api.stop()


async def test_webhook_takes_updates_with_the_secret_and_refuses_without(tmp_path):
    async with running(tmp_path, webhook=True) as (api, http, base):
        assert api.webhook == {"url": "https://daihuan.example.com/hook/telegram",
                               "secret_token": SECRET}
        jane = api.person(3001, "Jane", "en")
        await jane.send("/start")
        assert "Hello, Jane" in (await jane.reply()).text
        # Someone who found the URL but not the secret: refused, nothing handled.
        forged = {"update_id": 999, "message": {
            "message_id": 1, "date": 0, "chat": jane.chat, "from": jane.user, "text": "/start"}}
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with http.post(base + "/hook/telegram", json=forged,
                                 headers=headers) as answer:
                assert answer.status == 403
        async with http.post(base + "/hook/telegram", data=b"not json",
                             headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as answer:
            assert answer.status == 400
        await asyncio.sleep(0.3)
        assert jane.unread() == []
        # A payment is booked before Telegram hears 200, and the payer told once.
        await jane.send_successful_payment(f"topup:{jane.id}:5000:0a1b2c3d", "CNY", 5000,
                                           "tg-charge-w1")
        assert q(tmp_path / "bot.db", "SELECT balance FROM accounts"
                                      " WHERE code = 'wallet:3001'") == [(5000,)]
        assert "¥50.00 added" in (await jane.reply()).text
    assert api.webhook is not None  # a stop leaves the webhook: Telegram keeps updates


async def test_an_update_posted_again_is_handled_once(tmp_path):
    async with running(tmp_path, webhook=True) as (api, http, base):
        jane = api.person(3005, "Jane", "en")
        start = {"update_id": 777, "message": {
            "message_id": 1, "date": 0, "chat": jane.chat, "from": jane.user, "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}
        # Telegram posts again when it did not hear the 200 in time: kept the first time,
        # the second finds it kept and is answered 200 without being handled again.
        for _ in range(3):
            async with http.post(base + "/hook/telegram", json=start, headers={
                    "X-Telegram-Bot-Api-Secret-Token": SECRET}) as answer:
                assert answer.status == 200
        assert "Hello, Jane" in (await jane.reply()).text
        await asyncio.sleep(0.3)
        assert jane.unread() == []
        assert q(tmp_path / "bot.db", "SELECT update_id, body IS NULL FROM inbox") == [(777, 1)]


async def test_a_webhook_request_in_flight_at_stop_is_finished_not_lost(tmp_path, monkeypatch):
    """SIGTERM while a payment is being booked and a handler is running: the request ends,
    its update is handled, the payer told, and the bot still stops promptly."""
    import bot.web

    real = bot.web.book

    async def slow_book(found, payment):
        await asyncio.sleep(1.0)  # the writer is busy with something long
        return await real(found, payment)

    monkeypatch.setattr(bot.web, "book", slow_book)
    started = None
    async with running(tmp_path, webhook=True) as (api, _, _):
        jane = api.person(3001, "Jane", "en")
        api.fault = lambda method, params: ("late", 1.5) if method == "sendMessage" else None
        await jane.send("/start")  # its reply is slow: a handler in flight at the stop
        paying = asyncio.create_task(jane.send_successful_payment(
            f"topup:{jane.id}:5000:0a1b2c3d", "CNY", 5000, "tg-charge-stop"))
        await asyncio.sleep(0.3)
        started = asyncio.get_running_loop().time()
    assert asyncio.get_running_loop().time() - started < 15  # it stopped, it did not hang
    await paying
    assert api.webhook_answers[-1] == 200
    assert q(tmp_path / "bot.db", "SELECT balance FROM accounts WHERE code = 'wallet:3001'"
             ) == [(5000,)]
    told = [o.text for o in api.outputs if o.kind == "message" and o.chat_id == jane.id]
    assert any("Hello, Jane" in t for t in told)
    # Stopping starts no new outbox batch: the confirmation waits for the next start.
    assert q(tmp_path / "bot.db", "SELECT status FROM outbox"
                                  " WHERE key = 'topup:telegram:tg-charge-stop'") == [("pending",)]


async def test_a_secret_header_that_is_not_utf8_is_refused_not_crashed(tmp_path):
    async with running(tmp_path, webhook=True) as (_, _, base):
        port = int(base.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /hook/telegram HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                     b"X-Telegram-Bot-Api-Secret-Token: \xff\xfe\r\nConnection: close\r\n"
                     b"\r\n{}")
        await writer.drain()
        status = await reader.readline()
        writer.close()
        assert status.startswith(b"HTTP/1.1 403"), status


async def test_healthz_and_metrics_in_polling_mode(tmp_path, book_url):
    # On either engine: the health page and the metrics read the same totals there.
    on_postgres = {"database_url": SecretStr(book_url)} if book_url else {}
    async with running(tmp_path, webhook=False, **on_postgres) as (api, http, base):
        assert api.webhook is None
        people = [api.person(3100 + i, f"P{i}", "en") for i in range(3)]
        for person in people:
            await person.send("/start")
            await person.reply()
        menu_owner = people[0]
        await menu_owner.send("/language")
        menu = await menu_owner.reply()
        await menu_owner.press(menu, "中文")
        await menu_owner.next("edit")
        async with http.get(base + "/healthz") as answer:
            health = await answer.json()
        assert answer.status == 200 and health["database"] == "ok"
        assert health["outbox_backlog"] == 0 and health["open_alerts"] == 0
        assert health["last_servicing"] is None and health["status"] == "degraded"
        async with http.get(base + "/metrics") as answer:
            assert answer.status == 200
            assert answer.headers["Content-Type"].startswith("text/plain")
            text = await answer.text()
        # Servicing for today finishes (as `daihuan servicing` would, beside the bot).
        clock = FixedClock(NOW)
        db = await open_book(book_url or tmp_path / "bot.db", clock)
        await run_servicing(StorageUnitOfWorkFactory(db, clock), clock, TZ, ServicingPolicy(),
                            date(2026, 11, 29))
        await db.close()
        async with http.get(base + "/healthz") as answer:
            health = await answer.json()
        assert health["status"] == "ok" and health["last_servicing"] == "2026-11-29"
        async with http.get(base + "/metrics") as answer:
            text = await answer.text()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    midnight = datetime(2026, 11, 29, tzinfo=TZ).timestamp()  # local, not UTC
    assert samples[("daihuan_last_servicing_date", ())] == midnight
    assert samples[("daihuan_updates_total", (("type", "message"),))] == 4
    assert samples[("daihuan_updates_total", (("type", "callback_query"),))] == 1
    assert samples[("daihuan_update_seconds_count", (("type", "message"),))] == 4
    assert samples[("daihuan_outbox_messages", (("status", "pending"),))] == 0
    assert samples[("daihuan_debits_total", (("outcome", "succeeded"),))] == 0
    assert samples[("daihuan_open_alerts", ())] == 0
    assert samples[("daihuan_ledger_transfers_total", ())] == 0


@pytest.fixture
def json_logs():
    stream = io.StringIO()
    handler = build_handler([TEST_TOKEN], "json", stream)
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old)


async def test_json_logs_carry_the_update_id_and_no_secret(tmp_path, json_logs):
    async with running(tmp_path, webhook=True) as (api, _, _):
        jane = api.person(3001, "Jane", "en")
        await jane.send("/verify")
        await jane.reply()
        await jane.share_contact("+8613800138000", owner_id=jane.id)
        await jane.reply()
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    assert len(lines) > 20 and all({"time", "level", "logger", "message"} <= set(line)
                                   for line in lines)
    handled = [line for line in lines if line["update_id"] != "-"]
    assert {line["update_id"] for line in handled} >= {1, 2}  # both updates, by id
    text = json_logs.getvalue()
    assert TEST_TOKEN not in text and TEST_TOKEN.split(":")[1] not in text
    assert SECRET not in text and "13800138000" not in text


@pytest.mark.postgres_only
async def test_of_several_webhook_workers_on_one_book_one_registers_the_webhook(
        tmp_path, engine, migrated_postgres_url):
    api = FakeBotApi(TEST_TOKEN)
    await api.start()

    async def worker(name: str) -> WebhookWorker:
        return await start_worker(api, tmp_path, name, FixedClock(NOW), migrated_postgres_url)

    def registrations() -> int:
        return sum(1 for method, _ in api.calls if method == "setWebhook")

    try:
        first = await worker("a")
        assert registrations() == 1
        second = await worker("b")
        assert registrations() == 1  # the second worker left the webhook to the first
        await first.finish()
        third = await worker("c")  # the first is gone: the next to start takes over
        assert registrations() == 2
        assert api.webhook == {"url": "https://daihuan.example.com/hook/telegram",
                               "secret_token": SECRET}
        for running_worker in (second, third):
            await running_worker.finish()
    finally:
        await api.release_polls()
        await api.stop()


@pytest.mark.postgres_only
async def test_periodic_jobs_run_in_the_process_that_leads_them(engine, migrated_postgres_url):
    """Request expiry runs in the jobs' leader only; servicing in every worker, which joins
    the run of the date (core.services.servicing), so it is done once however many run it."""
    from bot.jobs import JOBS_LEADER, JobContext, expire_requests, servicing_job
    from storage.leadership import Leadership
    from tests.support.scheduled_work import QuietBot, services_for

    clock = FixedClock(NOW)
    db = await open_book(migrated_postgres_url, clock)
    other_worker = Leadership(migrated_postgres_url, "jobs")
    this_worker = Leadership(migrated_postgres_url, "jobs")
    try:
        context = JobContext.__new__(JobContext)  # what PTB hands a job, without PTB
        context.bot = QuietBot()
        context.bot_data = {JOBS_LEADER: this_worker,
                            "services": services_for(StorageUnitOfWorkFactory(db, clock),
                                                     clock)}
        expiries = []

        async def expire_due() -> int:
            expiries.append(1)
            return 0

        object.__setattr__(context.services.cover, "expire_due", expire_due)  # counted
        assert await other_worker.try_lead()
        await expire_requests(context)  # another worker leads the jobs: nothing runs here
        assert expiries == []
        await servicing_job(context)  # servicing is every worker's: it runs here too
        assert q(migrated_postgres_url, "SELECT business_date FROM servicing_runs"
                                        " WHERE finished_at IS NOT NULL") == [("2026-11-29",)]
        await servicing_job(context)  # and a date is done once
        assert q(migrated_postgres_url, "SELECT COUNT(*) FROM servicing_runs") == [(1,)]
        await other_worker.release()  # it stopped (or died): this one takes the jobs over
        await expire_requests(context)
        assert expiries == [1]
    finally:
        await other_worker.release()
        await this_worker.release()
        await db.close()
