"""The bot that talks to the Bot API: PTB's ExtBot, with Telegram's size limits applied to
every text that leaves, whatever built it. Features page and cut their own lists by measured
length (bot/limits.py); this is the last line of defence, and it logs when it has to act,
because a cut here means a feature let a text grow past what Telegram takes.

Answering a press is a courtesy (it stops the button's spinner, or shows a short alert).
Telegram refuses an answer that comes too late, or a second one for the same press: an
update handled again after a crash, or a press that waited behind a slow one. The press
is still acted on, and what it did is shown in the chat, so that refusal is not an error:
the answer returns False instead (the error handler then apologises in the chat)."""

from __future__ import annotations

import logging
from typing import Any

from telegram.error import BadRequest
from telegram.ext import ExtBot

from bot import limits

log = logging.getLogger(__name__)
_LIMITS = {"text": limits.MESSAGE, "caption": limits.CAPTION}
_ANSWERS = {"answerCallbackQuery": limits.ANSWER}
# Bot API: "query is too old and response timeout expired or query id is invalid"
_TOO_LATE = "query is too old"


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
        try:
            return await super()._do_post(endpoint, data, *args, **kwargs)
        except BadRequest as error:
            if endpoint == "answerCallbackQuery" and _TOO_LATE in error.message.lower():
                log.info("a press answered too late for Telegram: %s", error.message)
                return False  # not shown: a caller with something to say says it elsewhere
            raise
