from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from core.clock import FixedClock
from storage.db import Database
from storage.migrate import migrate
from storage.uow import StorageUnitOfWorkFactory

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
def uow(db, clock) -> StorageUnitOfWorkFactory:
    return StorageUnitOfWorkFactory(db, clock)


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


# -- PostgreSQL: one throwaway server for the session (tests/support/postgres.py) ----------
_NO_POSTGRES: list[str] = []  # why the PostgreSQL tests were skipped, for the summary


@pytest.fixture(scope="session")
def postgres_server():
    from tests.support.postgres import ThrowawayPostgres, server_binaries

    bindir = server_binaries()
    if bindir is None:
        why = "no PostgreSQL server binaries (initdb, pg_ctl) on this machine"
        if os.environ.get("DAIHUAN_REQUIRE_POSTGRES") == "1":  # .ci/run: both engines or nothing
            pytest.fail(f"{why}, and DAIHUAN_REQUIRE_POSTGRES is set")
        _NO_POSTGRES.append(why)
        pytest.skip(why)
    server = ThrowawayPostgres(bindir)
    try:
        server.start()  # binaries that cannot start a server fail the run: no silent skip
    except BaseException:
        server.stop()  # no server or folder left behind
        raise
    yield server
    server.stop()


@pytest.fixture
async def postgres_url(postgres_server, request):
    """A fresh, empty database on the session's server, dropped after the test."""
    import asyncpg

    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    admin = await asyncpg.connect(postgres_server.url("postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield postgres_server.url(name)
    admin = await asyncpg.connect(postgres_server.url("postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def pytest_terminal_summary(terminalreporter):
    if _NO_POSTGRES:
        terminalreporter.write_line(
            f"!!! PostgreSQL NOT TESTED: {_NO_POSTGRES[0]}; only SQLite was tested !!!",
            red=True, bold=True)
