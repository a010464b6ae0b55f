"""Several webhook workers serving one book, each run as `daihuan run --webhook` runs it
(bot.serve), in this test's event loop, each on a port of its own behind the offline Bot
API server's round robin (FakeBotApi.webhook_targets)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from pydantic import SecretStr

from bot.demo.botapi import FakeBotApi
from bot.serve import serve
from bot.settings import Settings
from core.clock import Clock
from tests.support.harness import TEST_ID_KEY, TEST_TOKEN

SECRET = "s3cret-token_for-the-webhook"
WEBHOOK_URL = "https://daihuan.example.com/hook/telegram"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class WebhookWorker:
    base: str  # http://127.0.0.1:port
    stop: asyncio.Event
    task: asyncio.Task

    async def finish(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 30)


async def start_worker(api: FakeBotApi, tmp: Path, name: str, clock: Clock,
                       database_url: str | None = None, **settings: object) -> WebhookWorker:
    config = Settings(_env_file=None, telegram_bot_token=TEST_TOKEN,
                      telegram_api_base_url=api.base_url, database_path=tmp / name,
                      **({"database_url": SecretStr(database_url)} if database_url else {}),
                      id_hash_key=TEST_ID_KEY, web_port=free_port(), telegram_max_rate=1000,
                      webhook_url=WEBHOOK_URL, webhook_secret=SECRET, **settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, webhook=True, clock=clock, stop=stop))
    base = f"http://127.0.0.1:{config.web_port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(200):  # up once the health check answers
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(base + "/healthz") as answer:
                    if answer.status in (200, 503):
                        break
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
    return WebhookWorker(base, stop, task)


@contextlib.asynccontextmanager
async def webhook_workers(tmp: Path, clock: Clock, database_url: str, count: int,
                          **settings: object) -> AsyncIterator[tuple[FakeBotApi,
                                                                     list[WebhookWorker]]]:
    """``count`` workers on the PostgreSQL book at ``database_url``, Telegram's webhook
    deliveries spread over them."""
    api = FakeBotApi(TEST_TOKEN)
    await api.start()
    workers: list[WebhookWorker] = []
    try:
        for n in range(count):
            workers.append(await start_worker(api, tmp, f"worker-{n}", clock, database_url,
                                              **settings))
        api.webhook_targets = [w.base for w in workers]
        yield api, workers
    finally:
        await api.release_polls()
        for worker in workers:
            with contextlib.suppress(Exception):
                await worker.finish()
        await api.stop()
