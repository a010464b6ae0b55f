"""A webhook worker in a child process, for the lifecycle through several workers: the real
Application served as `daihuan run --webhook` serves it (bot.serve), on a clock read from a
file the test moves, looking for servicing to do every few tenths of a second instead of
once a day (from the moment the test first asks for servicing: a file beside the clock
says so; before it, the first day's report would find the operator not yet met), and
SIGKILLing itself at its Nth database commit (before or after it).

    python -m tests.support.worker_process CLOCK_FILE KILL_AT before|after|never

Settings come from the environment, as for ``daihuan run``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.composition import build_application
from bot.jobs import servicing_job
from bot.serve import serve
from bot.settings import Settings
from tests.support.bot_process import FileClock
from tests.support.servicing_killer import arm


def asked_for_servicing(clock_file: str):
    asked = Path(clock_file).with_suffix(".servicing")

    async def servicing_when_asked(context) -> None:
        if asked.exists():
            await servicing_job(context)

    return servicing_when_asked


def main(clock_file: str, kill_at: int, when: str) -> None:
    arm(kill_at, when)
    settings = Settings(_env_file=None)
    clock = FileClock(Path(clock_file))
    app = build_application(settings, clock=clock)
    for name in ("servicing", "servicing-catch-up"):
        for job in app.job_queue.get_jobs_by_name(name):
            job.schedule_removal()
    app.job_queue.run_repeating(asked_for_servicing(clock_file), interval=0.3, first=0.3,
                                name="servicing")
    asyncio.run(serve(settings, webhook=True, clock=clock, app=app))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
