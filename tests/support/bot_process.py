"""The bot in a child process for the crash test: the real Application polling the test's
Bot API server, on a clock read from a file the test moves, looking for servicing to do
every few tenths of a second instead of once a day, and SIGKILLing itself at its Nth
database commit (before or after it reaches the disk).

    python -m tests.support.bot_process CLOCK_FILE KILL_AT before|after|never

Settings come from the environment, as for ``daihuan run``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.composition import ALLOWED_UPDATES, build_application
from bot.jobs import servicing_job
from bot.settings import Settings
from tests.support.servicing_killer import arm


class FileClock:
    def __init__(self, path: Path) -> None:
        self._path = path

    def now(self) -> datetime:
        return datetime.fromisoformat(self._path.read_text().strip()).astimezone(UTC)


def main(clock_file: str, kill_at: int, when: str) -> None:
    arm(kill_at, when)
    app = build_application(Settings(_env_file=None), clock=FileClock(Path(clock_file)))
    for name in ("servicing", "servicing-catch-up"):
        for job in app.job_queue.get_jobs_by_name(name):
            job.schedule_removal()
    app.job_queue.run_repeating(servicing_job, interval=0.3, first=0.3, name="servicing")
    app.run_polling(allowed_updates=ALLOWED_UPDATES, poll_interval=0.0, timeout=2)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
