"""Who, of the processes serving one book, does what.

- **Leadership**: one process of a deployment at a time does a piece of work that must not
  be done once per process: registering the webhook, and running the periodic jobs.
- **WorkerPresence**: each process says it is alive, under an id of its own, so the others
  know whose claims on shared work (the outbox's rows) still stand; and it takes a user's
  turn, so that one user's updates are handled one at a time across the deployment.

Both are session advisory locks on PostgreSQL, each on a connection of its own. The server
lets a lock go when its connection ends, by release, exit, crash or a cut network, so
nothing has to notice a process died: the next try of another process sees it. SQLite books
are served by one process by design: it leads, and it is the only worker there is."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from storage.location import is_postgres_url, redacted

log = logging.getLogger(__name__)
# The first key of the workers' two-key advisory locks (the second is the worker's id), so
# pg_locks lists this book's workers apart from every other advisory lock: "DH" and 1.
WORKERS = 0x44480001
# This book's live workers' ids: those whose lock the server holds now, in this database.
LIVE_WORKERS = (
    "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2"
    f" AND classid = {WORKERS} AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")


# How long a worker waits between tries for a user's turn that another worker holds: the
# holder is handling one of that user's updates, which takes a few milliseconds to a second.
_TURN_FIRST_WAIT, _TURN_MOST_WAIT = 0.002, 0.05
_TURN_LONG_WAIT = 30.0  # a turn waited for this long is logged


def lock_key(name: str) -> int:
    """The advisory lock's 64-bit key for ``name``, the same in every process and version."""
    digest = hashlib.sha256(f"daihuan:leader:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class _SessionLock:
    """A session advisory lock held on a connection of its own, for as long as it lives."""

    def __init__(self, location: str | Path, name: str) -> None:
        self._location = location
        self.name = name
        self._conn = None
        # Jobs tick at once (the outbox, expiry, servicing): one asyncpg connection takes
        # one query at a time, and a second would fail as if the lock were lost.
        self._lock = asyncio.Lock()

    @property
    def shared(self) -> bool:
        """Whether other processes may serve this book."""
        return is_postgres_url(self._location)

    async def _take(self, conn) -> bool:
        """Try for the lock on the fresh connection ``conn``; True if taken."""
        raise NotImplementedError

    async def _hold(self) -> bool:
        """True while the lock is this process's: one round trip while held."""
        if not self.shared:
            return True
        async with self._lock:
            return await self._hold_locked()

    async def _hold_locked(self) -> bool:
        import asyncpg

        from storage.pg.db import connect

        if self._conn is not None:
            try:
                await self._conn.fetchval("SELECT 1")  # still ours while the session lives
                return True
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("lost the %s lock's connection; trying again", self.name)
                self._conn.terminate()
                self._conn = None
        try:
            conn = await connect(str(self._location))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("cannot reach %s for %s: %s", redacted(str(self._location)),
                        self.name, type(error).__name__)
            return False
        try:
            won = await self._take(conn)
        except BaseException:
            conn.terminate()
            raise
        if not won:
            await conn.close()
            return False
        self._conn = conn
        return True

    async def release(self) -> None:
        async with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                await conn.close()  # the session's advisory locks end with it


class Leadership(_SessionLock):
    async def try_lead(self) -> bool:
        """Lead if no other process does; True while this one leads. Cheap to call at every
        tick of a job."""
        return await self._hold()

    async def _take(self, conn) -> bool:
        won = await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(self.name))
        if won:
            log.info("this process leads %s", self.name)
        return won


class WorkerPresence(_SessionLock):
    """This process as one of the book's workers. Its ``id`` marks the work it has claimed;
    a claim whose worker is no longer present is anyone's to take."""

    def __init__(self, location: str | Path) -> None:
        super().__init__(location, "worker")
        self.id = self._new_id()

    @staticmethod
    def _new_id() -> int:
        return 1 + secrets.randbelow(2**31 - 1)  # a positive int4: the lock's second key

    async def present(self) -> bool:
        """Be present (again, after a lost connection); True while this process is."""
        return await self._hold()

    async def _take(self, conn) -> bool:
        # The lock proves the id unique among live workers: if a live one has it, take
        # another. Claims under an id of a dead worker are ours then, as they are anyone's.
        for _ in range(8):
            if await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", WORKERS, self.id):
                log.info("this process is worker %s", self.id)
                return True
            self.id = self._new_id()
        return False

    async def workers(self) -> int:
        """How many workers serve the book now, this one included (1 on SQLite)."""
        if not await self.present():
            return 1  # cut off from the others: count on ourselves alone
        import asyncpg

        async with self._lock:
            if self._conn is None:  # released meanwhile: stopping
                return 1
            try:
                return await self._conn.fetchval(f"SELECT count(*) FROM ({LIVE_WORKERS}) w")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                return 1  # the next try reconnects

    @asynccontextmanager
    async def turn(self, user: int) -> AsyncIterator[None]:
        """User ``user``'s turn: while it is held no other worker handles their updates.

        A session lock on this worker's own connection, so every turn this process holds
        ends with it, the moment it dies, as its claims do; no connection is held per
        update. Waiting is by retries a few milliseconds apart: the lock is wanted by two
        workers at once only when one user's quick updates reach two of them.

        The same session may take a lock it holds again: two turns for one user in one
        process are kept apart by the caller (bot.ordering), not here."""
        if not self.shared:
            yield
            return
        key = lock_key(f"user:{user}")
        wait, waited = _TURN_FIRST_WAIT, 0.0
        while not (taken := await self._on_session("SELECT pg_try_advisory_lock($1)", key)):
            if taken is None:  # the server cannot be reached: nothing can be handled now
                wait = 1.0
            await asyncio.sleep(wait)
            waited += wait
            wait = min(wait * 2, _TURN_MOST_WAIT)
            if waited >= _TURN_LONG_WAIT:
                log.warning("waited %.0f s for a user's turn", waited)
                waited = 0.0
        try:
            yield
        finally:
            # Shielded: a cancelled handler must not leave the user's turn held.
            await asyncio.shield(self._on_session("SELECT pg_advisory_unlock($1)", key))

    async def _on_session(self, sql: str, *args: object) -> object:
        """``sql``'s value on this worker's session; None if it cannot be reached. A lost
        connection is replaced once (its turns went with it, as its claims did)."""
        import asyncpg

        async with self._lock:
            for _ in range(2):
                if self._conn is None and not await self._hold_locked():
                    return None
                try:
                    return await self._conn.fetchval(sql, *args)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    log.warning("lost the %s lock's connection; trying again", self.name)
                    self._conn.terminate()
                    self._conn = None
            return None
