"""Updates are kept before Telegram is told they arrived, and handled from there.

The webhook answers 200 only once the update is in the inbox table, and polling's batch is
kept before PTB can confirm it by asking for the next one. A process killed, out of memory
or SIGKILLed after that point leaves what it had not handled in the inbox; another worker
(or the next run of the one process on SQLite) takes it over as an orphan and handles it.
An update Telegram sends again finds its id taken and is not handled twice.

Each user's updates are handled one at a time and in update-id order across the
deployment: under the user's turn (storage.leadership.WorkerPresence.turn), a worker first
handles that user's updates kept before this one and not yet handled (another worker's,
slower, or a gone one's), then this one, and records them handled before the turn ends,
so whoever takes the turn next finds them done. On SQLite the one process's own order
(bot.ordering) is the order, and no turn is taken.

Handling is at least once: an update whose handler committed its effects just before the
process died is handled again after. Every handler re-checks the state it acts on (a
button pressed twice does what it does once), so the second time changes nothing.

A kept update may hold what a person typed, an ID number during /verify among it: bodies
are sealed with AES-GCM under a key derived from ID_HASH_KEY, and emptied once handled."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from telegram import Update
from telegram.ext import Application

from bot.sealing import Sealer
from core.clock import Clock
from core.ports import InboxLog, Worker

log = logging.getLogger(__name__)
INBOX = "inbox"  # bot_data key of this process's Inbox
KEEP_HANDLED = timedelta(days=1)
# How long a handled update waits to be recorded with others. A process killed in that
# window handles those again at its next run (harmless, see above): keep it short.
FLUSH_AFTER = 0.02
_BEGUN = 10_000  # Telegram reuses ids only after a week without updates


class Turn:
    """One update's handling under its user's turn (``Inbox.turn``)."""

    def __init__(self, earlier: list[dict], due: bool) -> None:
        self.earlier = earlier  # the user's updates kept before it, to handle first, in order
        self.due = due  # False: handled already (by another worker, before a later one)
        self.done: list[int] = []

    def handled(self, update_id: int) -> None:
        self.done.append(update_id)


class Inbox:
    def __init__(self, log: InboxLog, clock: Clock, worker: Worker, sealer: Sealer) -> None:
        self._log, self._clock = log, clock
        self._worker, self._sealer = worker, sealer
        # Kept, and queued or being handled in this process: update id → whose (whose()).
        self._here: dict[int, int | None] = {}
        self._elsewhere: set[int] = set()  # fetched again, but not this process's to handle
        self._done: list[int] = []  # handled, not yet recorded (flush)
        self._begun: OrderedDict[int, None] = OrderedDict()  # the latest begun here
        self._flushing: asyncio.Task | None = None

    async def accept(self, updates: list[dict]) -> set[int]:
        """Keep ``updates`` (raw, as Telegram sent them) before they are acknowledged; gives
        the ids this process is to handle. One kept before by another worker, or handled, is
        not this process's (a gone worker's is taken over as an orphan); a copy of one it
        is handling already is passed over when it comes to be handled (``should_handle``)."""
        rows = []
        for update in updates:
            if isinstance(update.get("update_id"), int):
                plain = json.dumps(update, ensure_ascii=False, sort_keys=True).encode()
                rows.append((update["update_id"], whose(update), self._sealer.digest(plain),
                             self._sealer.seal(plain)))
        if not rows:
            return set()
        ours = await self._log.accept(rows, self._worker.id)
        self._here.update((update_id, who) for update_id, who, _, _ in rows
                          if update_id in ours)
        return ours

    async def accept_batch(self, updates: list[dict]) -> None:
        """A polled batch, kept before PTB confirms it; PTB queues all of it, and the ones
        not this process's to handle are passed over (``elsewhere``)."""
        ours = await self.accept(updates)
        self._elsewhere.update(u["update_id"] for u in updates
                               if isinstance(u.get("update_id"), int)
                               and u["update_id"] not in ours)

    def should_handle(self, update_id: int) -> bool:
        """Asked as each queued update comes to be handled: False for one that is not this
        process's, or a copy of one it has begun (an orphan taken over at start, and the
        same update fetched again from Telegram, are both queued)."""
        if update_id in self._elsewhere:
            self._elsewhere.discard(update_id)
            return False
        if update_id in self._begun:
            return False
        self._begun[update_id] = None
        if len(self._begun) > _BEGUN:
            self._begun.popitem(last=False)  # long handled: the table refuses its copies
        return True

    @asynccontextmanager
    async def turn(self, update_id: int) -> AsyncIterator[Turn]:
        """Handle ``update_id`` in its user's turn: what the turn gives (``Turn.earlier``,
        then the update itself if ``Turn.due``) is handled in the block, each marked with
        ``Turn.handled``; they are recorded handled before the turn is let go."""
        user = self._here.get(update_id)
        if user is None or not self._worker.shared:  # one process: its own order holds
            turn = Turn([], True)
            yield turn
            for done in turn.done:
                await self.handled(done)
            return
        async with self._worker.turn(user):
            turn = Turn([], False)
            for waiting, body in await self._log.waiting(user, update_id):
                if waiting == update_id:
                    turn.due = True
                elif waiting in self._begun:  # handled here; only its record is late
                    turn.handled(waiting)
                elif (earlier := self._open(waiting, body)) is None:
                    turn.handled(waiting)  # cannot be handled by anyone: recorded, dropped
                else:
                    self._begun[waiting] = None  # a copy queued here is passed over
                    turn.earlier.append(earlier)
            if not turn.due:
                self._here.pop(update_id, None)  # another worker handled it
            try:
                yield turn
            finally:
                # Before the turn ends, so the worker that takes it next finds them done.
                await self._record(turn.done)

    async def _record(self, done: list[int]) -> None:
        if not done:
            return
        try:
            await self._log.handled(done)
        except Exception:  # kept as not done: the next flush tries again
            log.exception("could not record handled updates")
            self._done.extend(done)
            return
        for update_id in done:
            self._here.pop(update_id, None)

    async def handled(self, update_id: int) -> None:
        """Record ``update_id`` as done: within a few milliseconds, with the others done
        meanwhile, in one statement (at 200 updates a second, one write instead of ten)."""
        if update_id not in self._here:
            return  # not kept here (a test's own update, or one recorded done already)
        self._done.append(update_id)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_AFTER)
        try:
            await self.flush()
        except Exception:  # kept as not done: the next flush, or a new run, tries again
            log.exception("could not record handled updates")

    async def flush(self) -> None:
        """Record what is done now (also at stop, so a clean restart handles none again)."""
        done, self._done = self._done, []
        if not done:
            return
        try:
            await self._log.handled(done)
        except BaseException:
            self._done = done + self._done
            raise
        for update_id in done:
            self._here.pop(update_id, None)

    async def orphans(self, limit: int = 100) -> list[dict]:
        """Kept updates whose worker is gone, taken over to handle here, oldest first."""
        taken = await self._log.orphans(self._worker.id, limit)
        found = []
        for update_id, body in taken:
            update = self._open(update_id, body)
            self._here[update_id] = None if update is None else whose(update)
            if update is None:
                await self.handled(update_id)
            else:
                found.append(update)
        return found

    def _open(self, update_id: int, body: bytes | None) -> dict | None:
        try:
            return json.loads(self._sealer.open(body or b""))
        except ValueError:
            log.error("kept update %s cannot be opened (ID_HASH_KEY changed?); dropped",
                      update_id)
            return None

    async def forget_handled(self) -> int:
        return await self._log.forget_handled(self._clock.now() - KEEP_HANDLED)


async def take_over_orphans(app: Application) -> int:
    """Queue the kept updates of workers that are gone (at start: this process's last run,
    on SQLite), in update-id order; how many."""
    inbox: Inbox | None = app.bot_data.get(INBOX)
    if inbox is None:
        return 0
    orphans = await inbox.orphans()
    for raw in orphans:
        await app.update_queue.put(Update.de_json(raw, app.bot))
    if orphans:
        log.info("handling %d kept updates a stopped worker had not handled", len(orphans))
    return len(orphans)


def whose(update: dict) -> int | None:
    """The user an update comes from (else its chat), as PTB's effective_user would say,
    from the raw update: the key its handling is ordered by."""
    for value in update.values():
        if not isinstance(value, dict):
            continue
        for field in ("from", "user", "chat"):
            who = value.get(field)
            if isinstance(who, dict) and isinstance(who.get("id"), int):
                return who["id"]
        chat = (value.get("message") or {}).get("chat")  # a callback query's message
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return chat["id"]
    return None
