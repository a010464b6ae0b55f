"""One process of a deployment at a time does a piece of work that must not be done once per
process: registering the webhook, and running the periodic jobs.

On PostgreSQL the leader is whoever holds a session advisory lock named for the work, on a
connection of its own. The server lets it go when that connection ends, by release, exit,
crash or a cut network, so another process takes the work over at its next try; nothing has
to notice the leader died. SQLite books are served by one process by design: it leads."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path

from storage.location import is_postgres_url, redacted

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """The advisory lock's 64-bit key for ``name``, the same in every process and version."""
    digest = hashlib.sha256(f"daihuan:leader:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Leadership:
    def __init__(self, location: str | Path, name: str) -> None:
        self._location = location
        self.name = name
        self._conn = None
        # Jobs tick at once (the outbox, expiry, servicing): one asyncpg connection takes
        # one query at a time, and a second would fail as if the lead were lost.
        self._lock = asyncio.Lock()

    @property
    def shared(self) -> bool:
        """Whether other processes may serve this book (and so may lead instead)."""
        return is_postgres_url(self._location)

    async def try_lead(self) -> bool:
        """Lead if no other process does; True while this one leads. Cheap to call at every
        tick of a job: one round trip while held."""
        if not self.shared:
            return True
        async with self._lock:
            return await self._try_lead()

    async def _try_lead(self) -> bool:
        import asyncpg

        from storage.pg.db import connect

        if self._conn is not None:
            try:
                await self._conn.fetchval("SELECT 1")  # still ours while the session lives
                return True
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("lost the %s leadership's connection; trying to lead again",
                            self.name)
                self._conn.terminate()
                self._conn = None
        try:
            conn = await connect(str(self._location))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("cannot reach %s to lead %s: %s", redacted(str(self._location)),
                        self.name, type(error).__name__)
            return False
        try:
            won = await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(self.name))
        except BaseException:
            conn.terminate()
            raise
        if not won:
            await conn.close()
            return False
        self._conn = conn
        log.info("this process leads %s", self.name)
        return True

    async def release(self) -> None:
        async with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                await conn.close()  # the session's advisory locks end with it
