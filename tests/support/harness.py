"""The end-to-end tests' bot: bot.demo.local's LocalBot with test settings."""

from __future__ import annotations

from pathlib import Path

from bot.demo.botapi import FakeBotApi
from bot.demo.local import LocalBot
from bot.settings import Settings
from core.clock import Clock

TEST_TOKEN = "123456789:TEST-token-for-the-offline-bot-api-server"
TEST_ID_KEY = "test-id-hash-key-0123456789abcdef0123456789"


class BotHarness(LocalBot):
    def __init__(self, tmp: Path, clock: Clock | None = None, **settings: object) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        # The offline server has no Telegram-side limit unless a test sets one: let the bot
        # go as fast as the tests can (production keeps TELEGRAM_MAX_RATE's default).
        overrides = {"telegram_max_rate": 1000, "web_port": 0, "id_hash_key": TEST_ID_KEY,
                     **settings}

        overrides.setdefault("database_path", tmp / "bot.db")

        def make(base_url: str) -> Settings:
            return Settings(_env_file=None, telegram_bot_token=TEST_TOKEN,
                            telegram_api_base_url=base_url, **overrides)

        super().__init__(FakeBotApi(TEST_TOKEN), make, clock)
