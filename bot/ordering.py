"""Different users' updates run concurrently; one user's updates run in the order they came.

PTB's ``concurrent_updates(True)`` would let a user's quick second message overtake the
first; one lock per user id keeps conversations in order without serialising everyone.
Across the processes serving one PostgreSQL book, the user's turn (bot.inbox) does the same.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

from bot.drafts import Drafts
from bot.inbox import Inbox
from bot.logs import UPDATE_ID
from bot.metrics import Metrics, update_type


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 256, metrics: Metrics | None = None) -> None:
        super().__init__(max_concurrent_updates)
        self._metrics = metrics
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}  # how many updates of each user are in flight
        self.inbox: Inbox | None = None  # set once the database is open (attach)
        self._app: Application | None = None
        self._drafts: Drafts | None = None

    async def process_update(self, update: object, coroutine: Awaitable[object]) -> None:
        # The user's own lock first, the shared slot second: a user with a queue of updates
        # waits on their own lock without holding slots that other users need.
        key = _key(update)
        if key is None:
            await super().process_update(update, coroutine)
            return
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await super().process_update(update, coroutine)
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:  # forget idle users: memory stays bounded
                del self._users[key]
                del self._locks[key]

    def attach(self, inbox: Inbox, app: Application, drafts: Drafts) -> None:
        """Once the database is open: updates are handled through ``inbox`` (bot.inbox),
        those it hands over from other workers are dispatched to ``app``'s handlers, and
        each person's flows are read from and written to the book around each of their
        updates (bot.drafts)."""
        self.inbox, self._app, self._drafts = inbox, app, drafts

    async def do_process_update(self, update: object, coroutine: Awaitable[object]) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        inbox = self.inbox
        if inbox is None or update_id is None:
            await self._handle(update, coroutine)
            return
        if not inbox.should_handle(update_id):
            coroutine.close()  # type: ignore[attr-defined]  # another's, or a copy
            return
        async with inbox.turn(update_id) as turn:
            for raw in turn.earlier:  # the user's, kept before it by another worker: first
                earlier = Update.de_json(raw, self._app.bot)
                await self._handle(earlier, self._app.process_update(earlier))
                turn.handled(earlier.update_id)
            if not turn.due:  # handled already, before a later one of theirs
                coroutine.close()  # type: ignore[attr-defined]
                return
            await self._handle(update, coroutine)
            # Done, however it ended: the error handler has told the person; an update
            # that makes a handler fail would fail again at every run.
            turn.handled(update_id)

    async def _handle(self, update: object, coroutine: Awaitable[object]) -> None:
        # Every log line written while handling carries the update's id.
        token = UPDATE_ID.set(update.update_id if isinstance(update, Update) else None)
        started = time.perf_counter()
        drafts = self._drafts
        user = update.effective_user if isinstance(update, Update) else None
        try:
            if drafts is None or user is None:
                await coroutine
                return
            try:
                restored = await drafts.restore(user.id)
            except BaseException:
                coroutine.close()  # type: ignore[attr-defined]
                raise
            try:
                await coroutine
            except BaseException:  # cancelled: the book keeps the step before this update
                drafts.take(user.id)
                raise
            await drafts.keep(user.id, restored)
        finally:
            UPDATE_ID.reset(token)
            if self._metrics is not None:
                self._metrics.handled(update_type(update), started)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def _key(update: object) -> int | None:
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None
