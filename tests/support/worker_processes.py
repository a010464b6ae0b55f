"""Real `daihuan run [--webhook]` processes on one book, each with its own /healthz, for the
tests that kill workers as SIGKILL does: only a real process dies that way."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from bot.demo.botapi import FakeBotApi
from tests.support.harness import TEST_ID_KEY, TEST_TOKEN
from tests.support.webhook_workers import SECRET, WEBHOOK_URL, free_port

ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    def __init__(self, api: FakeBotApi, tmp: Path, name: str, database_url: str,
                 webhook: bool, **env: str) -> None:
        self.api, self.name, self.webhook = api, name, webhook
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "TELEGRAM_BOT_TOKEN": TEST_TOKEN, "ID_HASH_KEY": TEST_ID_KEY,
                    "TELEGRAM_API_BASE_URL": api.base_url, "DATABASE_URL": database_url,
                    "DATABASE_PATH": str(tmp / f"{name}.db"), "WEB_PORT": str(self.port),
                    "WEBHOOK_URL": WEBHOOK_URL, "WEBHOOK_SECRET": SECRET,
                    "TELEGRAM_MAX_RATE": "1000", "OUTBOX_INTERVAL_SECONDS": "0.2",
                    "LOG_LEVEL": "WARNING", **env}
        self.log_path = tmp / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        args = ["run", "--webhook"] if self.webhook else ["run"]
        with self.log_path.open("a") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", *args, cwd=ROOT, env=self.env,
                stdout=subprocess.DEVNULL, stderr=log)
        for _ in range(400):
            if await self.health() is not None:
                return
            if self.proc.returncode is not None:
                raise AssertionError(f"{self.name} could not start: see {self.log_path}")
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.name} never answered /healthz")

    async def health(self) -> dict | None:
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
            async with aiohttp.ClientSession() as http, http.get(
                    self.base + "/healthz", timeout=aiohttp.ClientTimeout(total=2)) as answer:
                if answer.status in (200, 503):
                    return await answer.json()
        return None

    async def polling(self) -> bool:
        health = await self.health()
        return bool(health and health.get("polling"))

    def kill(self) -> None:
        """SIGKILL: no handler finishes, nothing is released; the server ends its sessions."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        else:
            await self.proc.wait()
