"""Requests to the Bot API that survive a passing failure: a 5xx, a connection that died, or
a timeout is tried again a few times with a short backoff before the handler sees an error.
429s are the rate limiter's business.

A timeout or a connection lost mid-request is ambiguous: Telegram may have done the work and
only the answer was lost. For the methods where doing it twice is refused (answering a press
or a pre-checkout query, an edit to the same text, deleting a message), a retry that Telegram
refuses for exactly that reason counts as success. Sends cannot be told apart: after such a
failure a message, invoice, photo or document may, rarely, arrive twice — chosen over losing
it: every money action behind them is idempotent (a second invoice is a second offer, never a
second charge), and a missing confirmation leaves someone guessing. Worst case a call takes
5 attempts × TELEGRAM_TIMEOUT_SECONDS plus the backoff."""

from __future__ import annotations

import asyncio
import json
import logging

from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData

from bot.http import AiohttpRequest

log = logging.getLogger(__name__)
RETRY_STATUS = frozenset({500, 502, 503, 504})
BACKOFF = (0.2, 0.5, 1.0, 2.0)
# What Telegram answers when the first, timed-out attempt did get through.
_ALREADY_DONE = {
    "answerCallbackQuery": "query is too old",
    "answerPreCheckoutQuery": "query is too old",
    "editMessageText": "message is not modified",
    "editMessageReplyMarkup": "message is not modified",
    "editMessageCaption": "message is not modified",
    "deleteMessage": "message to delete not found",
}
_DONE = (200, json.dumps({"ok": True, "result": True}).encode())


class RetryingRequest(AiohttpRequest):
    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: object, **kwargs: object) -> tuple[int, bytes]:
        api_method = _method(url)
        uncertain = False  # an earlier attempt may have reached Telegram
        for attempt, pause in enumerate((*BACKOFF, None), start=1):
            try:
                status, payload = await super().do_request(url, method, request_data, *args,
                                                           **kwargs)
            except NetworkError as error:  # TimedOut is a NetworkError too
                if pause is None:
                    raise
                uncertain = True
                log.info("Bot API %s: %s; retry %d", api_method,
                         "timed out" if isinstance(error, TimedOut) else "connection failed",
                         attempt)
                await asyncio.sleep(pause)
                continue
            if status in RETRY_STATUS and pause is not None:
                log.info("Bot API %s: %s; retry %d", api_method, status, attempt)
                await asyncio.sleep(pause)
                continue
            if status == 400 and uncertain and _done_before(api_method, payload):
                log.info("Bot API %s: an earlier attempt had got through", api_method)
                return _DONE
            return status, payload
        raise AssertionError("unreachable: the last attempt returns or raises")


def _done_before(api_method: str, payload: bytes) -> bool:
    marker = _ALREADY_DONE.get(api_method)
    return marker is not None and marker in payload.decode("utf-8", "replace")


def _method(url: str) -> str:
    return url.rsplit("/", 1)[-1]  # never the URL itself: it carries the token
