"""Requests to the Bot API that survive a passing server error: a 5xx, or a connection that
died before any answer, is tried again a few times with a short backoff before the handler
sees an error. A timeout is not retried: the message may have been delivered, and sending
it again would show it twice. 429s are the rate limiter's business."""

from __future__ import annotations

import asyncio
import logging

from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest, RequestData

log = logging.getLogger(__name__)
RETRY_STATUS = frozenset({500, 502, 503, 504})
BACKOFF = (0.2, 0.5, 1.0)


class RetryingRequest(HTTPXRequest):
    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: object, **kwargs: object) -> tuple[int, bytes]:
        for attempt, pause in enumerate((*BACKOFF, None), start=1):
            try:
                status, payload = await super().do_request(url, method, request_data, *args,
                                                           **kwargs)
            except TimedOut:
                raise  # maybe delivered: not ours to repeat
            except NetworkError:
                if pause is None:
                    raise
                log.info("Bot API %s: connection failed; retry %d", _method(url), attempt)
                await asyncio.sleep(pause)
                continue
            if status in RETRY_STATUS and pause is not None:
                log.info("Bot API %s: %s; retry %d", _method(url), status, attempt)
                await asyncio.sleep(pause)
                continue
            return status, payload
        raise AssertionError("unreachable: the last attempt returns or raises")


def _method(url: str) -> str:
    return url.rsplit("/", 1)[-1]  # never the URL itself: it carries the token
