"""`daihuan copy-to-postgres`, run as an operator would, on a book the whole lifecycle made:
the copy is the same book, the bot carries on with it, and anything doubtful is refused
with the target left empty."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from core.clock import FixedClock
from tests.support.dbcheck import one, q
from tests.support.harness import BotHarness
from tests.support.lifecycle import LI, START, book
from tests.support.lifecycle_runs import live

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("postgres_server")  # skipped with it, loudly


@pytest.fixture(scope="module")
def lifecycle_book(tmp_path_factory) -> Path:
    """The SQLite book the lifecycle script leaves: agreements, debits, a default, alerts."""
    folder = tmp_path_factory.mktemp("lifecycle")
    asyncio.run(live(folder))
    return folder / "bot.db"


@pytest.fixture
def sqlite_book(lifecycle_book, tmp_path) -> Path:
    """A private copy of it for one test (SQLite's backup: the WAL included)."""
    path = tmp_path / "bot.db"
    src, dst = sqlite3.connect(lifecycle_book), sqlite3.connect(path)
    src.backup(dst)
    src.close()
    dst.close()
    return path


def daihuan(*args: str, database_path: Path, url: str | None = None):
    env = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    env["DATABASE_PATH"] = str(database_path)
    if url:
        env["DATABASE_URL"] = url
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=database_path.parent,
                          env=env, capture_output=True, text=True, timeout=120)


def with_password(url: str, password: str) -> str:
    # The throwaway server trusts local connections, so any password gets in: enough to
    # see that it is never printed.
    return url.replace("daihuan@", f"daihuan:{password}@")


async def test_the_copy_is_the_same_book_and_the_bot_carries_on(sqlite_book, postgres_url,
                                                                 tmp_path):
    url = with_password(postgres_url, "s3cret-pw")
    done = daihuan("copy-to-postgres", url, database_path=sqlite_book)
    assert done.returncode == 0, done.stderr
    assert "s3cret-pw" not in done.stdout + done.stderr
    assert "Checked: every table's row count" in done.stdout and "signed agreement" in done.stdout
    # Row for row, ids included: nothing renumbered, nothing derived twice.
    assert book(postgres_url) == book(sqlite_book)
    # The ids go on after the copied ones.
    last = one(postgres_url, "SELECT MAX(id) FROM transfers")
    credit = daihuan("credit-wallet", str(LI), "5", "--ref", "AFTER-COPY",
                     database_path=sqlite_book, url=url)
    assert credit.returncode == 0, credit.stderr
    assert one(postgres_url, "SELECT id FROM transfers WHERE idem_key LIKE '%AFTER-COPY%'"
               ) == last + 1
    # The bot opens the copy (its key fingerprint came along) and Li sees his money.
    wallet = one(postgres_url, "SELECT balance FROM accounts WHERE code = ?", f"wallet:{LI}")
    async with BotHarness(tmp_path / "bot", clock=FixedClock(START + timedelta(days=90)),
                          database_url=postgres_url) as bot:
        li = bot.person(LI, "Li")
        await li.send("/wallet")
        reply = await li.next("message")
    assert "Wallet balance" in reply.text and f"{wallet // 100}.{wallet % 100:02d}" in reply.text


async def test_a_target_that_is_not_empty_is_refused_and_left_alone(sqlite_book,
                                                                    postgres_url):
    assert daihuan("copy-to-postgres", postgres_url, database_path=sqlite_book).returncode == 0
    before = book(postgres_url)
    again = daihuan("copy-to-postgres", postgres_url, database_path=sqlite_book)
    assert again.returncode == 1
    assert "is not empty: " in again.stderr and "users (" in again.stderr
    assert "Traceback" not in again.stderr
    assert book(postgres_url) == before


async def test_a_database_of_something_else_is_refused(sqlite_book, postgres_url):
    q(postgres_url, "CREATE TABLE invoices (id bigint)")
    refused = daihuan("copy-to-postgres", postgres_url, database_path=sqlite_book)
    assert refused.returncode == 1 and "not a Daihuan book" in refused.stderr
    assert q(postgres_url, "SELECT table_name FROM information_schema.tables"
                           " WHERE table_schema = 'public'") == [("invoices",)]


async def test_a_signed_text_that_no_longer_matches_its_hash_stops_the_copy(sqlite_book,
                                                                           postgres_url):
    # Someone with the file changed what a friend signed, past the database's own guard.
    conn = sqlite3.connect(sqlite_book)
    conn.execute("DROP TRIGGER agreements_signed_text_is_final")
    conn.execute("UPDATE agreements SET text = text || ' (and 1,000 yuan more)' WHERE id = 1")
    conn.commit()
    conn.close()
    refused = daihuan("copy-to-postgres", postgres_url, database_path=sqlite_book)
    assert refused.returncode == 1
    assert "agreement #1: its signed text does not hash" in refused.stderr
    # Rolled back whole: the schema is there, not one row of the book.
    assert one(postgres_url, "SELECT COUNT(*) FROM agreements") == 0
    assert one(postgres_url, "SELECT COUNT(*) FROM transfers") == 0


def test_without_a_postgresql_url_a_book_or_a_server_it_says_what_is_missing(tmp_path,
                                                                             sqlite_book):
    none = daihuan("copy-to-postgres", "sqlite:///x.db", database_path=tmp_path / "a.db")
    assert none.returncode == 1 and "needs a postgresql://" in none.stderr
    missing = daihuan("copy-to-postgres", "postgresql://u@127.0.0.1:1/db",
                      database_path=tmp_path / "a.db")
    assert missing.returncode == 1 and "there is no SQLite book at" in missing.stderr
    unreachable = daihuan("copy-to-postgres", "postgresql://u:hunter2@127.0.0.1:1/db",
                          database_path=sqlite_book)
    assert unreachable.returncode == 1
    assert "cannot open postgresql://u:***@127.0.0.1:1/db" in unreachable.stderr
    assert "hunter2" not in unreachable.stderr and "Traceback" not in unreachable.stderr
