"""Users as the platform knows them, and the languages we speak to them in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Language(StrEnum):
    ZH = "zh"
    EN = "en"

    @classmethod
    def from_telegram(cls, language_code: str | None) -> Language:
        """Telegram's IETF tag (``zh-hans``, ``en-US``, ``None``) → one of ours.

        Chinese for any ``zh`` tag, English otherwise: English is the fallback for everyone
        whose language we do not speak.
        """
        if language_code and language_code.lower().split("-")[0] == "zh":
            return cls.ZH
        return cls.EN

    @classmethod
    def parse(cls, value: str) -> Language | None:
        try:
            return cls(value)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class User:
    id: int  # the Telegram user id
    display_name: str
    language: Language | None  # chosen with /language; None: follow Telegram's setting
    telegram_language: str | None
    created_at: datetime
    frozen_reason: str | None = None
    blocked: bool = False  # they blocked the bot: Telegram refuses our messages

    @property
    def frozen(self) -> bool:
        return self.frozen_reason is not None

    @property
    def effective_language(self) -> Language:
        return self.language or Language.from_telegram(self.telegram_language)
