"""The bot that talks to the Bot API: PTB's ExtBot, with Telegram's size limits applied to
every text that leaves, whatever built it. Features page and cut their own lists by measured
length (bot/limits.py); this is the last line of defence, and it logs when it has to act,
because a cut here means a feature let a text grow past what Telegram takes."""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import ExtBot

from bot import limits

log = logging.getLogger(__name__)
_LIMITS = {"text": limits.MESSAGE, "caption": limits.CAPTION}
_ANSWERS = {"answerCallbackQuery": limits.ANSWER}


class LimitedBot(ExtBot):
    async def _do_post(self, endpoint: str, data: dict[str, Any], *args: Any,
                       **kwargs: Any) -> Any:
        for field, limit in _LIMITS.items():
            if field == "text" and endpoint in _ANSWERS:
                limit = _ANSWERS[endpoint]
            value = data.get(field)
            if isinstance(value, str) and limits.length(value) > limit:
                log.warning("%s: %s of %d characters cut to %d", endpoint, field,
                            limits.length(value), limit)
                data[field] = limits.cut(value, limit)
        return await super()._do_post(endpoint, data, *args, **kwargs)
