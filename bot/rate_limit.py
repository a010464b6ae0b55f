"""The bot's rate limiter: PTB's limiter contract, on aiolimiter's leaky buckets (what PTB's
own AIORateLimiter uses), with two lanes.

The outbox sends bulk notices (a servicing run's thousands of reminders) as fast as the
overall limit allows. With a single queue, a reply to someone writing to the bot right then
would wait behind them. Here bulk requests (``rate_limit_args=BULK``) never take the last
``reserve`` units of the overall bucket, and wait their turn one at a time, so everyone
else finds room at once; when nobody else is sending, bulk still uses the whole rate. Per
group chats Telegram's 20 a minute applies as in PTB's limiter, and a 429 pauses every
request for the time Telegram asks, then the request is tried again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)
BULK = "bulk"


class LaneRateLimiter(BaseRateLimiter[str]):
    def __init__(self, overall_max_rate: float, max_retries: int = 3, reserve: int = 2,
                 group_max_rate: float = 20, group_period: float = 60) -> None:
        self._max_rate, self._wanted_reserve = overall_max_rate, reserve
        self._overall = _bucket(overall_max_rate)
        self._reserve = self._reserve_of(overall_max_rate)
        self._max_retries = max_retries
        self._group_rate, self._group_period = group_max_rate, group_period
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._bulk_turn = asyncio.Lock()
        # When Telegram lets the bot send again (loop time): the latest end of every 429
        # seen, so neither a request that finishes nor a shorter 429 ends a longer pause.
        self._paused_until = 0.0

    def _reserve_of(self, rate: float) -> int:
        return min(self._wanted_reserve, max(0, int(rate) - 1))

    @property
    def rate(self) -> float:
        """The requests a second this process may send now."""
        return self._overall.max_rate / self._overall.time_period

    def share(self, workers: int) -> None:
        """Take this process's part of the bot's rate, as one of ``workers`` processes
        sending for the same bot: Telegram's limit is the bot's, not each process's. Parts
        are equal (the load balancer spreads people evenly, and every worker drains the
        outbox), so the deployment stays within the rate without asking anyone per send."""
        rate = self._max_rate / max(1, workers)
        if math.isclose(rate, self.rate):
            return
        log.info("sending at %.1f a second: one of %d workers", rate, workers)
        # Requests already waiting finish on the old bucket: at most one bucket's worth.
        self._overall = _bucket(rate)
        self._reserve = self._reserve_of(rate)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self, callback: Callable[..., Coroutine[Any, Any, bool | dict | list[dict]]],
        args: Any, kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> bool | dict | list[dict]:
        chat_id = data.get("chat_id")
        loop = asyncio.get_running_loop()
        for attempt in range(self._max_retries + 1):
            if chat_id is not None:  # answers to presses and queries are not limited
                await self._take(chat_id, bulk=rate_limit_args == BULK)
            # Checked last, right before sending: a request that waited for its turn while
            # a 429 arrived waits out the pause too.
            while (pause := self._paused_until - loop.time()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(pause)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == self._max_retries:
                    raise
                wait = retry_after(error).total_seconds() + 0.1
                log.info("Telegram asked to wait %.1f s; every request waits", wait)
                self._paused_until = max(self._paused_until, loop.time() + wait)
        raise AssertionError("unreachable")  # the last attempt returns or raises

    async def _take(self, chat_id: object, bulk: bool) -> None:
        group = self._group(chat_id)
        if group is not None:
            await group.acquire()
        if not bulk:
            await self._overall.acquire()
            return
        async with self._bulk_turn:  # one bulk request at the gate at a time, in order
            # Polled, not awaited on an event: the bucket drains with time, not on a signal.
            while not self._overall.has_capacity(self._reserve + 1):  # noqa: ASYNC110
                await asyncio.sleep(1 / self.rate)
            # Capacity was just seen and nothing ran since: this takes it without waiting.
            await self._overall.acquire()

    def _group(self, chat_id: object) -> AsyncLimiter | None:
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)  # type: ignore[call-overload]
        if not ((isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str)):
            return None  # a person's private chat
        if chat_id not in self._groups:
            if len(self._groups) > 512:  # forget groups whose bucket has drained
                for key, limiter in list(self._groups.items()):
                    if limiter.has_capacity(limiter.max_rate):
                        del self._groups[key]
            self._groups[chat_id] = AsyncLimiter(self._group_rate, self._group_period)
        return self._groups[chat_id]


def _bucket(rate: float) -> AsyncLimiter:
    """``rate`` requests a second; below one, one request a period of 1/rate seconds (a
    bucket must hold at least the one request it lets through)."""
    return AsyncLimiter(rate, 1) if rate >= 1 else AsyncLimiter(1, 1 / rate)


def retry_after(error: RetryAfter) -> timedelta:
    """How long Telegram asked to wait."""
    with warnings.catch_warnings():  # PTB 22 warns that the type will become timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value if isinstance(value, timedelta) else timedelta(seconds=int(value))
