"""Run servicing for some business dates in a real process that SIGKILLs itself at the Nth
commit, before or after it reaches the disk. Used by the kill-and-restart test:

    python -m tests.support.servicing_killer DB DATE[,DATE...] KILL_AT before|after|never
"""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import sys
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from core.clock import FixedClock
from core.services.servicing import ServicingPolicy, run_servicing
from storage import db as storage_db
from storage.db import Database
from storage.uow import StorageUnitOfWorkFactory

TZ = ZoneInfo("Asia/Shanghai")


def arm(kill_at: int, when: str) -> None:
    """SIGKILL this process at its ``kill_at``th commit, on either engine."""
    from storage.pg.db import PgTransaction

    seen = {"commits": 0}
    for transaction in (storage_db.Transaction, PgTransaction):
        transaction.commit = _dying(transaction.commit, seen, kill_at, when)  # type: ignore
    atexit.register(lambda: print(f"commits={seen['commits']}"))


def _dying(commit, seen: dict, kill_at: int, when: str):
    async def dying_commit(self) -> None:
        seen["commits"] += 1
        if seen["commits"] == kill_at and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        await commit(self)
        if seen["commits"] == kill_at and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)

    return dying_commit


async def main(path: str, days: list[date]) -> None:
    db = await Database(path).open()
    clock = FixedClock(datetime.combine(days[0], time(6), tzinfo=TZ))
    uow = StorageUnitOfWorkFactory(db, clock)
    for day in days:
        clock.set(datetime.combine(day, time(6), tzinfo=TZ))
        await run_servicing(uow, clock, TZ, ServicingPolicy(page=2), day)
    await db.close()


if __name__ == "__main__":
    db_path, dates, kill_at, when = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    arm(kill_at, when)
    asyncio.run(main(db_path, [date.fromisoformat(d) for d in dates.split(",")]))
