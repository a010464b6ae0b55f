"""Run servicing for some business dates in a real process that SIGKILLs itself at the Nth
commit, before or after it reaches the disk. Used by the kill-and-restart test, and by the
test of a worker killed while others service the same date:

    python -m tests.support.servicing_killer BOOK DATE[,DATE...] KILL_AT before|after|never

BOOK is a SQLite file or a PostgreSQL URL. With HOLD_FIRST_PAGE=PATH it dies in its first
page of debits instead (hold_first_page).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import sys
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from core.clock import FixedClock
from core.services.servicing import ServicingPolicy, run_servicing
from storage import db as storage_db
from storage.engine import open_book
from storage.uow import StorageUnitOfWorkFactory

TZ = ZoneInfo("Asia/Shanghai")


def arm(kill_at: int, when: str) -> None:
    """SIGKILL this process at its ``kill_at``th commit, on either engine."""
    from storage.pg.db import PgTransaction

    seen = {"commits": 0}
    for transaction in (storage_db.Transaction, PgTransaction):
        transaction.commit = _dying(transaction.commit, seen, kill_at, when)  # type: ignore
    atexit.register(lambda: print(f"commits={seen['commits']}"))


def hold_first_page(go: Path) -> None:
    """SIGKILL this process in its first page of debits, once it has done them and before
    it counts them (so it holds the page's slice, accounts and agreements, and not the run's
    row): it says so (GO.held) and waits for GO first, so a test knows another worker met
    the page."""
    from storage.servicing import ServicingStore

    add_counts = ServicingStore.add_counts

    async def dying_add_counts(self, day, **counts) -> None:
        if counts.get("debited") or counts.get("failed"):
            await _held_until(go)
            os.kill(os.getpid(), signal.SIGKILL)
        await add_counts(self, day, **counts)

    ServicingStore.add_counts = dying_add_counts  # type: ignore[method-assign]


async def _held_until(go: Path) -> None:
    go.with_name(go.name + ".held").touch()
    while not go.exists():  # noqa: ASYNC240, ASYNC110  (another process makes it)
        await asyncio.sleep(0.01)


def _dying(commit, seen: dict, kill_at: int, when: str):
    async def dying_commit(self) -> None:
        seen["commits"] += 1
        if seen["commits"] == kill_at and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        await commit(self)
        if seen["commits"] == kill_at and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)

    return dying_commit


async def main(location: str, days: list[date]) -> None:
    clock = FixedClock(datetime.combine(days[0], time(6), tzinfo=TZ))
    db = await open_book(location, clock)
    uow = StorageUnitOfWorkFactory(db, clock)
    for day in days:
        clock.set(datetime.combine(day, time(6), tzinfo=TZ))
        await run_servicing(uow, clock, TZ, ServicingPolicy(page=2, slices=4), day)
    await db.close()


if __name__ == "__main__":
    db_path, dates, kill_at, when = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    arm(kill_at, when)
    if os.environ.get("HOLD_FIRST_PAGE"):
        hold_first_page(Path(os.environ["HOLD_FIRST_PAGE"]))
    asyncio.run(main(db_path, [date.fromisoformat(d) for d in dates.split(",")]))
