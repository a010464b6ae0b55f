"""Callback data: short ASCII payloads (Telegram allows 1-64 bytes), one prefix per action.
Nothing in them is trusted; handlers re-check who pressed and the current state."""

from __future__ import annotations

import re

from core.users import Language

LANGUAGE = "lang"
LANGUAGE_PATTERN = re.compile(rf"^{LANGUAGE}:({'|'.join(lang.value for lang in Language)})$")


def choose_language(language: Language) -> str:
    return f"{LANGUAGE}:{language.value}"


def parse_language(data: str | None) -> Language | None:
    match = LANGUAGE_PATTERN.match(data or "")
    return Language(match.group(1)) if match else None
