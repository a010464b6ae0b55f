"""The real Application polling the offline Bot API server over HTTP, in this process, on
a real SQLite file: what ``daihuan demo`` runs and the end-to-end tests' harness builds on."""

from __future__ import annotations

import asyncio
import time

from telegram.ext import Application

from bot.composition import ALLOWED_UPDATES, build_application
from bot.demo.botapi import FakeBotApi, FakePerson
from bot.inbox import INBOX
from bot.settings import Settings
from core.clock import Clock


class LocalBot:
    def __init__(self, api: FakeBotApi, make_settings, clock: Clock | None = None) -> None:
        """``make_settings(base_url)`` gives the settings once the server's port is known."""
        self.api = api
        self._make_settings = make_settings
        self._clock = clock
        self.app: Application | None = None

    async def __aenter__(self) -> LocalBot:
        base_url = await self.api.start()
        self.settings: Settings = self._make_settings(base_url)
        self.db_path = self.settings.database_path
        self.book = self.settings.book_location  # the SQLite file, or the PostgreSQL URL
        self.app = build_application(self.settings, clock=self._clock)
        # Servicing runs when the caller means it to, not five seconds after start.
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
        """Every update pushed so far was fetched, fully handled and recorded as handled."""
        assert self.app is not None
        deadline = time.monotonic() + timeout
        processor = self.app.update_processor
        while time.monotonic() < deadline:
            if (self.api.pending_updates == 0 and self.app.update_queue.empty()
                    and processor.current_concurrent_updates == 0):
                await asyncio.sleep(0.02)  # let a just-started handler register
                if (self.app.update_queue.empty()
                        and processor.current_concurrent_updates == 0):
                    inbox = self.app.bot_data.get(INBOX)
                    if inbox is not None:  # and recorded as handled: no write left to do
                        await inbox.flush()
                    return
            await asyncio.sleep(0.01)
        raise TimeoutError("updates still being handled")
