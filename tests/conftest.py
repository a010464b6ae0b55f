from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.clock import FixedClock
from storage.db import Database
from storage.migrate import migrate
from storage.uow import SqliteUnitOfWorkFactory

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
async def db(tmp_path, clock):
    database = await Database(tmp_path / "test.db").open()
    await migrate(database, clock)
    yield database
    await database.close()


@pytest.fixture
def uow(db, clock) -> SqliteUnitOfWorkFactory:
    return SqliteUnitOfWorkFactory(db, clock)


@pytest.fixture
def production_logs():
    """Root logging as ``daihuan run`` sets it up (redaction included), at DEBUG, captured."""
    import io
    import logging

    from bot.logs import install_redaction, quiet_leaky_loggers
    from tests.support.harness import TEST_TOKEN

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    install_redaction(handler, [TEST_TOKEN])
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    quiet_leaky_loggers()
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)
