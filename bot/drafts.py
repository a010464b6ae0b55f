"""Where each person is in a flow (/verify, /buy, /cover) and what they have entered, kept in
the book between their updates instead of in one process's memory.

Before an update of a person is handled, their step in each flow (PTB's ConversationHandler)
and their ``user_data`` (the drafts) are read from the book into PTB's memory; after, what
PTB's memory then holds is written back and taken out of memory. Both happen under the
person's turn (bot.inbox), so whichever worker their next update reaches goes on from the
step they are at, and a restart or a deploy loses no flow.

A flow not moved on for FLOW_TIME is over, as PTB's ``conversation_timeout`` would have it,
but measured on the bot's clock and kept in the book rather than by a job in one process.

PTB has no public way to set a conversation's step from outside: ``_conversations`` and
``_user_data`` are read and written here, and nowhere else (tests/e2e/test_drafts.py fails
if PTB changes them)."""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from datetime import timedelta

from telegram.ext import Application, ConversationHandler

from bot.sealing import Sealer
from core.clock import Clock
from core.ports import DraftStore

log = logging.getLogger(__name__)
DRAFTS = "drafts"  # bot_data key of this process's Drafts
FLOW_TIME = timedelta(minutes=15)
_KNOWN_EMPTY = 100_000  # people remembered as in no flow, where this process is the only one


class Drafts:
    def __init__(self, store: DraftStore, clock: Clock, sealer: Sealer, app: Application,
                 only_writer: bool) -> None:
        """``only_writer``: no other process serves the book (SQLite), so a person this
        process saw leave every flow has no draft until this process writes one."""
        self._store, self._clock, self._sealer, self._app = store, clock, sealer, app
        self._flows = [handler for group in app.handlers.values() for handler in group
                       if isinstance(handler, ConversationHandler)]
        for flow in self._flows:
            # A step is kept by (chat, person): the person's id is the key's last part.
            if not flow.name or not flow.per_user or flow.per_message:
                raise ValueError(f"flow {flow.name!r} cannot be kept in the book")
        self._known_empty: OrderedDict[int, None] | None = OrderedDict() if only_writer else None

    async def restore(self, user_id: int) -> bool:
        """Into PTB's memory: ``user_id``'s steps and drafts from the book; whether they
        had any."""
        if self._known_empty is not None and user_id in self._known_empty:
            self._known_empty.move_to_end(user_id)
            return False
        body = await self._store.get(user_id)
        if body is None:
            self._remember_empty(user_id)
            return False
        try:
            saved = json.loads(self._sealer.open(body))
        except ValueError:  # sealed under a key this process lacks: the flow starts over
            log.error("a draft cannot be opened (ID_HASH_KEY changed?); its flow is over")
            return True
        for flow in self._flows:
            for *key, step in saved["steps"].get(flow.name, []):
                flow._conversations[tuple(key)] = step
        self._app._user_data[user_id].update(saved["data"])
        return True

    async def keep(self, user_id: int, restored: bool) -> None:
        """After the update: what PTB's memory holds for ``user_id`` to the book (a flow
        moved on, its time starts again), and out of memory."""
        now = self.take(user_id)
        if now is None:
            if restored:
                await self._store.drop(user_id)
            self._remember_empty(user_id)
            return
        if self._known_empty is not None:
            self._known_empty.pop(user_id, None)
        # Written even when unchanged: any update of theirs while in a flow gives the flow
        # its time again, as PTB's conversation_timeout did.
        await self._store.put(user_id, self._sealer.seal(json.dumps(now).encode()),
                              self._clock.now() + FLOW_TIME)

    def take(self, user_id: int) -> dict | None:
        """``user_id``'s steps and drafts, taken out of PTB's memory (None: in no flow).
        Also what a cancelled update leaves, unsaved: the book keeps the step before it."""
        steps = {}
        for flow in self._flows:
            mine = [key for key in flow._conversations if key[-1] == user_id]
            kept = []
            for key in mine:
                step = flow._conversations.pop(key)
                if isinstance(step, int):
                    kept.append([*key, step])
                else:  # a non-blocking handler's pending step: none of the flows has one
                    log.error("flow %s left a step that cannot be kept: %r", flow.name, step)
            if kept:
                steps[flow.name] = kept
        data = self._app._user_data.pop(user_id, None) or {}
        if not steps and not data:
            return None
        return {"steps": steps, "data": data}

    def _remember_empty(self, user_id: int) -> None:
        if self._known_empty is None:
            return
        self._known_empty[user_id] = None
        self._known_empty.move_to_end(user_id)
        if len(self._known_empty) > _KNOWN_EMPTY:
            self._known_empty.popitem(last=False)

    async def forget_expired(self) -> int:
        return await self._store.forget_expired()
