from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from core.clock import FixedClock
from storage.db import Database
from storage.migrate import migrate
from storage.uow import StorageUnitOfWorkFactory

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

# A developer's own book is never a test's: each test names its engine and its book, and a
# DATABASE_URL exported in this shell would otherwise reach every Settings built here.
os.environ.pop("DATABASE_URL", None)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


ENGINES = ("sqlite", "postgres")


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    """The storage engine a test runs on; every test that uses ``db`` runs on both. Mark one
    ``sqlite_only`` or ``postgres_only`` (with the reason) when it only makes sense on one."""
    return request.param


@pytest.fixture
def book_url(engine, request) -> str | None:
    # Sync on purpose: an async fixture cannot ask for another while its loop runs.
    return request.getfixturevalue("migrated_postgres_url") if engine == "postgres" else None


@pytest.fixture
async def db(tmp_path, clock, book_url):
    """A migrated, empty book on the test's engine."""
    if book_url is None:
        database = await Database(tmp_path / "test.db").open()
        await migrate(database, clock)
    else:
        from storage.pg.db import PostgresDatabase

        database = await PostgresDatabase(book_url).open()
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


_TEMPLATE = "daihuan_migrated"  # migrated once per session; each test's book is a copy


@pytest.fixture(scope="session")
def postgres_template(postgres_server) -> str:
    import asyncio

    import asyncpg

    from storage.pg.migrate import migrate as migrate_postgres

    async def build() -> None:
        conn = await asyncpg.connect(await postgres_server.create_database(_TEMPLATE))
        try:
            await migrate_postgres(conn, FixedClock(T0))
        finally:
            await conn.close()

    asyncio.run(build())
    return _TEMPLATE


def _database_name(request) -> str:
    return "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]


@pytest.fixture
async def postgres_url(postgres_server, request):
    """A fresh, empty database on the session's server, dropped after the test."""
    name = _database_name(request)
    yield await postgres_server.create_database(name)
    await postgres_server.drop_database(name)


@pytest.fixture
async def migrated_postgres_url(postgres_server, postgres_template, request):
    """A fresh database at the latest schema (a copy of the session's migrated template)."""
    name = _database_name(request)
    yield await postgres_server.create_database(name, template=postgres_template)
    await postgres_server.drop_database(name)


def pytest_collection_modifyitems(config, items):
    """Drop the engine a test is marked not to run on, so it is neither run nor skipped."""
    kept, dropped = [], []
    for item in items:
        engine = getattr(getattr(item, "callspec", None), "params", {}).get("engine")
        wrong = (engine == "postgres" and item.get_closest_marker("sqlite_only")) or (
            engine == "sqlite" and item.get_closest_marker("postgres_only"))
        (dropped if wrong else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_terminal_summary(terminalreporter):
    if _NO_POSTGRES:
        terminalreporter.write_line(
            f"!!! PostgreSQL NOT TESTED: {_NO_POSTGRES[0]}; only SQLite was tested !!!",
            red=True, bold=True)
