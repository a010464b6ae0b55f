"""The real Application, polling the fake Bot API server over HTTP, on a real SQLite file."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.composition import ALLOWED_UPDATES, build_application
from bot.settings import Settings
from core.clock import Clock
from tests.fake_botapi import FakeBotApi, FakePerson

TEST_TOKEN = "123456789:TEST-token-for-the-offline-bot-api-server"
TEST_ID_KEY = "test-id-hash-key-0123456789abcdef0123456789"


class BotHarness:
    def __init__(self, tmp: Path, clock: Clock | None = None, **settings: object) -> None:
        self.api = FakeBotApi(TEST_TOKEN)
        tmp.mkdir(parents=True, exist_ok=True)
        self.db_path = tmp / "bot.db"
        self._clock = clock
        # The offline server has no Telegram-side limit unless a test sets one: let the bot
        # go as fast as the tests can (production keeps TELEGRAM_MAX_RATE's default).
        self._settings = {"telegram_max_rate": 1000, **settings}
        self.app = None

    async def __aenter__(self) -> BotHarness:
        base_url = await self.api.start()
        self.settings = Settings(
            _env_file=None, telegram_bot_token=TEST_TOKEN, telegram_api_base_url=base_url,
            database_path=self.db_path, id_hash_key=TEST_ID_KEY, **self._settings)
        self.app = build_application(self.settings, clock=self._clock)
        # Tests run servicing when they mean to, not five seconds after start.
        for job in self.app.job_queue.get_jobs_by_name("servicing-catch-up"):
            job.schedule_removal()
        # The order run_polling uses: initialize, post_init, start polling, start.
        await self.app.initialize()
        await self.app.post_init(self.app)
        await self.app.updater.start_polling(poll_interval=0.0, timeout=10,
                                             allowed_updates=ALLOWED_UPDATES)
        await self.app.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self.app is not None:
                if self.app.updater.running:
                    await self.api.release_polls()
                    await self.app.updater.stop()
                if self.app.running:
                    await self.app.stop()
                await self.app.shutdown()
                await self.app.post_shutdown(self.app)
        finally:
            await self.api.stop()

    def person(self, user_id: int, first_name: str, language_code: str | None = "en",
               **kwargs: object) -> FakePerson:
        return self.api.person(user_id, first_name, language_code, **kwargs)

    async def drained(self, timeout: float = 5.0) -> None:
        """Every update pushed so far was fetched and fully handled."""
        deadline = time.monotonic() + timeout
        processor = self.app.update_processor
        while time.monotonic() < deadline:
            if (self.api.pending_updates == 0 and self.app.update_queue.empty()
                    and processor.current_concurrent_updates == 0):
                await asyncio.sleep(0.02)  # let a just-started handler register
                if (self.app.update_queue.empty()
                        and processor.current_concurrent_updates == 0):
                    return
            await asyncio.sleep(0.01)
        raise TimeoutError("updates still being handled")
